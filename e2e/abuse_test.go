package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
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
	// 1024 descriptors: 256 kept back, half the rest (384) for client
	// connections, 288 of them WebSockets.
	if !strings.Contains(g.Logs(), `"connections":384`) || !strings.Contains(g.Logs(), `"websockets":288`) {
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
	for i := 0; i < 288+100; i++ {
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
	if accepted != 288 || refused != 100 {
		t.Errorf("%d upgrades accepted, %d refused; want 288 and 100", accepted, refused)
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

// TestStuckBackendKeepsDescriptors: a backend that takes requests and
// never answers, and more clients calling it than the gateway takes
// connections. Each accepted call holds a client and an upstream
// descriptor; the caps leave room for both, so the process never runs out
// of descriptors: the calls beyond the cap get 503 at once, the admin
// listener answers, a reload reads its files, no "too many open files"
// anywhere; and once those clients leave, other routes answer again.
// (With the client cap at the whole file limit less a reserve, 600 such
// calls under 1024 descriptors exhausted them: upstream dials and the
// reload failed with EMFILE.)
func TestStuckBackendKeepsDescriptors(t *testing.T) {
	stuck, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := stuck.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
			go io.Copy(io.Discard, c) // reads the request, never answers
		}
	}()
	defer func() {
		stuck.Close()
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	}()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "healthy") }))
	defer up.Close()
	dir := t.TempDir()
	src := `openapi: 3.0.0
paths:
  /stuck:
    get:
      x-yc-apigateway-integration: {type: http, url: 'http://` + stuck.Addr().String() + `/'}
  /ok:
    get:
      x-yc-apigateway-integration: {type: http, url: '` + up.URL + `/'}
`
	spec := writeFile(t, dir, "api.yaml", src)
	cfg := writeFile(t, dir, "apigw.yaml", "reload: {interval: 100ms}\n")
	g := startWithFileLimit(t, 1024, "--spec", spec, "--config", cfg)
	addr := strings.TrimPrefix(g.URL, "http://")
	var clients []net.Conn
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	var all []net.Conn
	for i := 0; i < 600; i++ {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		all = append(all, c)
		io.WriteString(c, "GET /stuck HTTP/1.1\r\nHost: x\r\n\r\n")
	}
	time.Sleep(time.Second) // the refusals are answered at once
	refused := 0
	for i, c := range all {
		c.SetReadDeadline(time.Now().Add(5 * time.Millisecond))
		line, err := bufio.NewReader(c).ReadString('\n')
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			clients = append(clients, c) // waiting on the stuck backend
			continue
		}
		// Refused: a 503, or closed unanswered past 64 refusals at once.
		if err == nil && !strings.Contains(line, " 503 ") {
			t.Fatalf("client %d: %q", i, line)
		}
		refused++
		c.Close()
	}
	t.Logf("%d calls held on the stuck backend, %d refused at once", len(clients), refused)
	if len(clients) > 384 || refused < 600-384 {
		t.Errorf("%d calls held, %d refused: the cap is 384", len(clients), refused)
	}
	if code, _, _ := get(t, g.Admin+"/healthz"); code != 200 {
		t.Errorf("healthz: %d", code)
	}
	os.WriteFile(spec, []byte(src+"  /new:\n    get:\n      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': new}}\n"), 0o644)
	if !g.waitLog(`"msg":"reloaded"`, 5*time.Second) {
		t.Errorf("the reload did not happen:\n%s", grepLines(g.Logs(), "reload"))
	}
	for _, c := range clients {
		c.Close()
	}
	clients = nil
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, _, body := get(t, g.URL+"/ok")
		if code == 200 && body == "healthy" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/ok after the stuck clients left: %d %q", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if strings.Contains(g.Logs(), "too many open files") {
		t.Errorf("the process ran out of descriptors:\n%s", grepLines(g.Logs(), "too many open files"))
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
