package adminguard

import (
	"net/http/httptest"
	"testing"
)

// What another site could make a browser send is refused: a rebound host
// name without a token, requests marked as another site's (but following
// a link to a page), and changes that are not JSON.
func TestCheck(t *testing.T) {
	for _, tt := range []struct {
		name         string
		guarded      bool
		method, host string
		header       []string
		want         int // 0: let through
	}{
		{"loopback address", false, "GET", "127.0.0.1:9090", nil, 0},
		{"localhost", false, "GET", "localhost:9090", nil, 0},
		{"a .localhost name", false, "GET", "apigw.localhost:9090", nil, 0},
		{"IPv6 loopback", false, "GET", "[::1]:9090", nil, 0},
		{"a pod's address", false, "GET", "10.1.2.3:9090", nil, 0},
		{"a rebound name", false, "GET", "evil.example:9090", nil, 403},
		{"a rebound name, no port", false, "GET", "evil.example", nil, 403},
		{"a listed name", false, "GET", "apigw.internal:9090", nil, 0},
		{"a rebound name with a token", true, "GET", "evil.example:9090", nil, 0},
		{"no host", false, "GET", "", nil, 403},
		{"same origin", false, "DELETE", "127.0.0.1:9090", []string{"Origin", "http://127.0.0.1:9090"}, 0},
		{"another origin", false, "DELETE", "127.0.0.1:9090", []string{"Origin", "https://evil.example"}, 403},
		{"another origin, with a token", true, "DELETE", "console.example:9090", []string{"Origin", "https://evil.example"}, 403},
		{"cross-site", false, "DELETE", "127.0.0.1:9090", []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"same-site (another port of localhost)", false, "DELETE", "localhost:9090", []string{"Sec-Fetch-Site", "same-site"}, 403},
		{"an image on another site", false, "GET", "localhost:9090", []string{"Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "no-cors", "Sec-Fetch-Dest", "image"}, 403},
		{"a frame on another site", false, "GET", "localhost:9090", []string{"Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "iframe"}, 403},
		{"a link from another site", false, "GET", "localhost:9090", []string{"Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document"}, 0},
		{"the page itself", false, "POST", "localhost:9090", []string{"Sec-Fetch-Site", "same-origin", "Content-Type", "application/json"}, 0},
		{"typed in the address bar", false, "GET", "localhost:9090", []string{"Sec-Fetch-Site", "none"}, 0},
		{"text/plain", false, "POST", "localhost:9090", []string{"Content-Type", "text/plain"}, 415},
		{"a form", false, "POST", "localhost:9090", []string{"Content-Type", "application/x-www-form-urlencoded"}, 415},
		{"no type", false, "POST", "localhost:9090", nil, 415},
		{"JSON with a charset", false, "PUT", "localhost:9090", []string{"Content-Type", "application/json; charset=utf-8"}, 0},
		{"gRPC", true, "POST", "localhost:9090", []string{"Content-Type", "application/grpc+proto"}, 0},
	} {
		r := httptest.NewRequest(tt.method, "/x", nil)
		r.Host = tt.host
		for i := 0; i+1 < len(tt.header); i += 2 {
			r.Header.Set(tt.header[i], tt.header[i+1])
		}
		got := 0
		if no := Check(r, tt.guarded, []string{"apigw.internal"}); no != nil {
			got = no.Status
			if no.Message == "" {
				t.Errorf("%s: a refusal without a message", tt.name)
			}
		}
		if got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}
}
