package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// wsHandshake opens a connection, asks for a WebSocket upgrade and returns
// the status line's code; the connection stays open (the caller closes it).
func wsHandshake(t *testing.T, addr string) (net.Conn, int) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	if res.StatusCode != 101 {
		io.Copy(io.Discard, res.Body)
		if res.Header.Get("Retry-After") == "" || res.Header.Get("Content-Type") != "application/json" {
			t.Errorf("a refused upgrade: %d without Retry-After or a JSON body", res.StatusCode)
		}
	}
	c.SetDeadline(time.Time{})
	return c, res.StatusCode
}

// TestConnectionCaps: with 1024 descriptors, unauthenticated WebSocket
// connections beyond the cap derived from them are refused with 503, and
// the gateway stays reachable: the admin listener, a dummy route and an
// http route (which needs a descriptor of its own upstream) answer at once.
func TestConnectionCaps(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "upstream") }))
	defer up.Close()
	dir := t.TempDir()
	spec := writeFile(t, dir, "api.yaml", `openapi: 3.0.0
paths:
  /ws:
    x-yc-apigateway-websocket-connect:
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': ''}}
  /hello:
    get:
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': hi}}
  /up:
    get:
      x-yc-apigateway-integration: {type: http, url: '`+up.URL+`/'}
`)
	cfg := writeFile(t, dir, "apigw.yaml", "websocket: {max_connections_per_ip: 100000}\nlog: {access: false}\n")
	g := startWithFileLimit(t, 1024, "--spec", spec, "--config", cfg)
	// 1024 descriptors: 256 kept back, 768 client connections, 576 of
	// them WebSockets.
	if !strings.Contains(g.Logs(), `"connections":768`) || !strings.Contains(g.Logs(), `"websockets":576`) {
		t.Fatalf("caps not derived from the file limit:\n%s", g.Logs())
	}
	addr := strings.TrimPrefix(g.URL, "http://")
	accepted, refused := 0, 0
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < 576+100; i++ {
		c, code := wsHandshake(t, addr)
		switch code {
		case 101:
			accepted++
			conns = append(conns, c)
		case 503:
			refused++
			c.Close()
		default:
			t.Fatalf("upgrade %d: %d", i, code)
		}
	}
	if accepted != 576 || refused != 100 {
		t.Errorf("%d upgrades accepted, %d refused; want 576 and 100", accepted, refused)
	}
	for _, u := range []string{g.Admin + "/healthz", g.URL + "/hello", g.URL + "/up"} {
		start := time.Now()
		code, _, body := get(t, u)
		d := time.Since(start)
		t.Logf("%s with %d WebSockets open: %d in %v", u, accepted, code, d)
		if code != 200 || body == "" || d > 500*time.Millisecond {
			t.Errorf("%s: %d %q in %v", u, code, body, d)
		}
	}
	_, _, metrics := get(t, g.Admin+"/metrics")
	if !strings.Contains(metrics, `apigw_connections_refused_total{reason="websocket"} 100`) {
		t.Errorf("the refusals are not counted:\n%s", grepLines(metrics, "refused"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestAdminTokens: with a management token, /debug/pprof/ and /metrics need
// it too; metrics_token, when set, is what /metrics takes; the probes stay
// open.
func TestAdminTokens(t *testing.T) {
	dir := t.TempDir()
	spec := writeFile(t, dir, "api.yaml", "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': a}}\n")
	cfg := writeFile(t, dir, "apigw.yaml", "websocket: {management_token: mgmt-secret}\nmetrics_token: scrape-secret\n")
	g := start(t, "--spec", spec, "--config", cfg)
	for _, c := range []struct {
		path, token string
		want        int
	}{
		{"/healthz", "", 200}, {"/readyz", "", 200},
		{"/metrics", "", 401}, {"/metrics", "mgmt-secret", 401}, {"/metrics", "scrape-secret", 200},
		{"/debug/pprof/", "", 401}, {"/debug/pprof/", "scrape-secret", 401}, {"/debug/pprof/", "mgmt-secret", 200},
		{"/apigateways/websocket/v1/connections/nope", "", 401}, {"/apigateways/websocket/v1/connections/nope", "mgmt-secret", 404},
	} {
		var h []string
		if c.token != "" {
			h = []string{"Authorization", "Bearer " + c.token}
		}
		if code, _, body := get(t, g.Admin+c.path, h...); code != c.want {
			t.Errorf("%s with %q: %d %s, want %d", c.path, c.token, code, body, c.want)
		}
	}
}
