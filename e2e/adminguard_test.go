package e2e

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	cws "github.com/coder/websocket"
)

// adminRequest sends one request to the admin listener with the given
// Host (empty: the address) and headers.
func adminRequest(t *testing.T, method, url, host, body string, header ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

// TestAdminListenerRefusesForeignPages: what a page on another site can
// make a browser send to the admin listener is refused on every endpoint,
// not only the console's: a cross-site text/plain broadcast reached real
// clients, a rebound host name read /metrics and pprof; and with the
// management token set, the console needs it too.
func TestAdminListenerRefusesForeignPages(t *testing.T) {
	dir := t.TempDir()
	spec := writeFile(t, dir, "api.yaml", `openapi: 3.0.0
paths:
  /ws:
    x-yc-apigateway-websocket-message:
      x-yc-apigateway-integration: {type: dummy, http_code: 200, http_headers: {Content-Type: text/plain}, content: {'*': pong}}
  /hello:
    get:
      operationId: hello
      x-yc-apigateway-integration: {type: dummy, http_code: 200, http_headers: {Content-Type: text/plain}, content: {'*': hi}}
`)
	g := start(t, "--spec", spec)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := cws.Dial(ctx, "ws"+strings.TrimPrefix(g.URL, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	rebound := "evil.example:" + g.Admin[strings.LastIndexByte(g.Admin, ':')+1:]
	broadcast := g.Admin + "/apigateways/websocket/v1/broadcast"
	for _, tc := range []struct {
		name, method, url, host, body string
		header                        []string
		want                          int
	}{
		{"a form's text/plain broadcast from another site", "POST", broadcast, "", `{"path":"/ws","data":"aGk=","type":"TEXT"}`,
			[]string{"Content-Type", "text/plain", "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}, 403},
		{"a text/plain broadcast", "POST", broadcast, "", `{"path":"/ws","data":"aGk=","type":"TEXT"}`, []string{"Content-Type", "text/plain"}, 415},
		{"a broadcast under a rebound name", "POST", broadcast, rebound, `{"path":"/ws","data":"aGk=","type":"TEXT"}`, []string{"Content-Type", "application/json"}, 403},
		{"metrics under a rebound name", "GET", g.Admin + "/metrics", rebound, "", nil, 403},
		{"pprof under a rebound name", "GET", g.Admin + "/debug/pprof/heap", rebound, "", nil, 403},
		{"a connection under a rebound name", "GET", g.Admin + "/apigateways/websocket/v1/connections/x", rebound, "", nil, 403},
		{"the console under a rebound name", "GET", g.Admin + "/console/api/exchanges", rebound, "", nil, 403},
		{"Try from another site's <img>", "GET", g.Admin + "/console/api/try?operation=hello", "", "",
			[]string{"Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "no-cors", "Sec-Fetch-Dest", "image"}, 403},
		{"probes under any name", "GET", g.Admin + "/readyz", rebound, "", nil, 200},
		{"metrics at the address", "GET", g.Admin + "/metrics", "", "", nil, 200},
		{"a link to a console page", "GET", g.Admin + "/console/routes", "", "",
			[]string{"Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document"}, 200},
	} {
		status, h, body := adminRequest(t, tc.method, tc.url, tc.host, tc.body, tc.header...)
		if status != tc.want {
			t.Errorf("%s: %d, want %d: %.200s", tc.name, status, tc.want, body)
		}
		if h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: X-Frame-Options %q", tc.name, h.Get("X-Frame-Options"))
		}
	}
	// None of the refused broadcasts reached the client; the script's does.
	if status, _, body := adminRequest(t, "POST", broadcast, "", `{"path":"/ws","data":"b2s=","type":"TEXT"}`, "Content-Type", "application/json"); status != 200 {
		t.Fatalf("a JSON broadcast: %d %s", status, body)
	}
	if _, got, err := c.Read(ctx); err != nil || string(got) != "ok" {
		t.Errorf("the client got %q (%v), want only the JSON broadcast", got, err)
	}
	if _, h, _ := adminRequest(t, "GET", g.Admin+"/console/", "", ""); !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("the console's CSP: %q", h.Get("Content-Security-Policy"))
	}

	// With the management token set, every power needs it: the console's
	// reads and its WebSocket actions too.
	g = start(t, "--spec", spec, "--config", writeFile(t, dir, "apigw.yaml", "websocket: {management_token: mgmt-secret}\n"))
	for _, path := range []string{"/console/api/exchanges", "/console/api/websocket", "/metrics", "/debug/pprof/heap", "/apigateways/websocket/v1/connections/x"} {
		if status, _, _ := adminRequest(t, "GET", g.Admin+path, "", ""); status != 401 {
			t.Errorf("%s without the token: %d, want 401", path, status)
		}
	}
	if status, _, _ := adminRequest(t, "POST", g.Admin+"/console/api/websocket/x/disconnect", "", "{}", "Content-Type", "application/json"); status != 401 {
		t.Errorf("a console disconnect without the token: %d, want 401", status)
	}
	if status, _, body := adminRequest(t, "GET", g.Admin+"/console/api/exchanges", rebound, "", "Authorization", "Bearer mgmt-secret"); status != 200 {
		t.Errorf("the console with the token, under any name: %d %s", status, body)
	}
}
