package headers

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
)

func TestEndToEnd(t *testing.T) {
	in := http.Header{
		"Connection": {"keep-alive, X-Private"}, "X-Private": {"p"}, "Keep-Alive": {"timeout=5"},
		"Transfer-Encoding": {"chunked"}, "Upgrade": {"h2c"}, "Te": {"trailers"},
		"Accept": {"*/*"}, "Cookie": {"a=1"}, "Authorization": {"Bearer x"}, "X-Drop": {"d"},
	}
	got := EndToEnd(in, map[string]bool{"X-Drop": true})
	want := http.Header{"Accept": {"*/*"}, "Cookie": {"a=1"}, "Authorization": {"Bearer x"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("EndToEnd = %v, want %v", got, want)
	}
	if v := AppendForwardedFor(http.Header{"X-Forwarded-For": {"10.0.0.1", "10.0.0.2"}}, "1.2.3.4"); v != "10.0.0.1, 10.0.0.2, 1.2.3.4" {
		t.Errorf("AppendForwardedFor = %q", v)
	}
	if v := AppendForwardedFor(http.Header{}, "1.2.3.4"); v != "1.2.3.4" {
		t.Errorf("AppendForwardedFor without a prior value = %q", v)
	}
}

// TestForwardedIsWhatSetForwardedSets: what an authorizer reads of the
// gateway's headers is exactly what an integration receives.
func TestForwardedIsWhatSetForwardedSets(t *testing.T) {
	for _, in := range []*http.Request{
		{Header: http.Header{"X-Forwarded-For": {"6.6.6.6"}, "X-Request-Id": {"spoofed"}, "X-Real-Remote-Address": {"spoofed"}, "X-Serverless-Gateway-Id": {"spoofed"}}},
		{Header: http.Header{"X-Forwarded-Proto": {"https"}}},
		{Header: http.Header{}},
	} {
		for _, gw := range []string{"gw1", ""} {
			h := EndToEnd(in.Header, map[string]bool{"X-Request-Id": true, "X-Forwarded-For": true, "X-Real-Remote-Address": true, "X-Serverless-Gateway-Id": true})
			SetForwarded(h, in, "1.2.3.4", "1.2.3.4:5678", "req-1", gw)
			for _, name := range forwardedNames {
				v, ok := Forwarded(name, in, "1.2.3.4", "1.2.3.4:5678", "req-1", gw)
				if got, set := h[name]; set != ok || ok && (len(got) != 1 || got[0] != v) {
					t.Errorf("%v, gateway %q: %s set to %q (%v), Forwarded says %q (%v)", in.Header, gw, name, got, set, v, ok)
				}
			}
			if h.Get("X-Forwarded-For") != AppendForwardedFor(in.Header, "1.2.3.4") || h.Get("X-Request-Id") != "req-1" || h.Get("X-Real-Remote-Address") != "1.2.3.4:5678" {
				t.Errorf("a client's copy was kept: %v", h)
			}
		}
	}
	if _, ok := Forwarded("Authorization", &http.Request{Header: http.Header{}}, "", "", "", ""); ok {
		t.Error("Authorization is not the gateway's")
	}
}

func TestHasBearer(t *testing.T) {
	for _, tt := range []struct {
		auth string
		want bool
	}{
		{"Bearer s3cret", true},
		{"Bearer s3cre", false},
		{"Bearer s3cret ", false},
		{"bearer s3cret", false},
		{"Basic s3cret", false},
		{"", false},
	} {
		r := httptest.NewRequest("GET", "/metrics", nil)
		if tt.auth != "" {
			r.Header.Set("Authorization", tt.auth)
		}
		if got := HasBearer(r, "s3cret"); got != tt.want {
			t.Errorf("HasBearer(%q) = %v, want %v", tt.auth, got, tt.want)
		}
	}
}
