package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	cws "github.com/coder/websocket"
)

// TestWebSocketThroughTheBinary: a real client, the management API on the
// admin listener, and SIGTERM closing the socket with 1001 after which the
// disconnect integration still runs.
func TestWebSocketThroughTheBinary(t *testing.T) {
	var mu sync.Mutex
	var disconnects []http.Header
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		disconnects = append(disconnects, r.Header.Clone())
		mu.Unlock()
	}))
	defer up.Close()
	dir := t.TempDir()
	spec := writeFile(t, dir, "api.yaml", `openapi: 3.0.0
paths:
  /ws:
    x-yc-apigateway-websocket-message:
      x-yc-apigateway-integration:
        type: dummy
        http_code: 200
        http_headers: {Content-Type: text/plain}
        content: {'*': pong}
    x-yc-apigateway-websocket-disconnect:
      x-yc-apigateway-integration: {type: http, url: '`+up.URL+`/gone', headers: {'*': '*'}}
`)
	g := start(t, "--spec", spec, "--config", writeFile(t, dir, "apigw.yaml", "limits: {drain_delay: 0.3s}\n"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, res, err := cws.Dial(ctx, "ws"+strings.TrimPrefix(g.URL, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	id := res.Header.Get("X-Yc-Apigateway-Websocket-Connection-Id")
	c.Write(ctx, cws.MessageText, []byte("ping"))
	if _, got, err := c.Read(ctx); err != nil || string(got) != "pong" {
		t.Fatalf("message: %q %v", got, err)
	}
	send, err := http.Post(g.Admin+"/apigateways/websocket/v1/connections/"+id+":send", "application/json", strings.NewReader(`{"data":"aGk=","type":"TEXT"}`))
	if err != nil || send.StatusCode != 200 {
		t.Fatalf("send through the admin listener: %v %v", send, err)
	}
	if _, got, _ := c.Read(ctx); string(got) != "hi" {
		t.Errorf("sent message: %q", got)
	}
	g.cmd.Process.Signal(syscall.SIGTERM)
	if _, _, err := c.Read(ctx); cws.CloseStatus(err) != 1001 {
		t.Errorf("on shutdown the client saw %v, want 1001", err)
	}
	select {
	case <-g.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the gateway did not exit")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(disconnects) != 1 || disconnects[0].Get("X-Yc-Apigateway-Websocket-Disconnect-Status-Code") != "1001" ||
		disconnects[0].Get("X-Yc-Apigateway-Websocket-Connection-Id") != id {
		t.Errorf("disconnect calls: %v", disconnects)
	}
}

// TestWebSocketAcrossReplicas: two gateway processes share connections
// through the machine's real Redis; a socket on A is reached through B's
// management API, and a dead replica's connection answers 404.
func TestWebSocketAcrossReplicas(t *testing.T) {
	if c, err := net.DialTimeout("tcp", "127.0.0.1:6379", time.Second); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("Redis is not running on 127.0.0.1:6379 (scripts/test starts it)")
		}
		t.Skip("Redis is not running on 127.0.0.1:6379")
	} else {
		c.Close()
	}
	dir := t.TempDir()
	spec := writeFile(t, dir, "api.yaml", `openapi: 3.0.0
paths:
  /ws:
    x-yc-apigateway-websocket-message:
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': ''}}
`)
	cfg := writeFile(t, dir, "apigw.yaml", fmt.Sprintf("redis: {url: 'redis://127.0.0.1:6379/0', prefix: 'apigw-test-%d:'}\n", time.Now().UnixNano()))
	a := start(t, "--spec", spec, "--config", cfg)
	b := start(t, "--spec", spec, "--config", cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, res, err := cws.Dial(ctx, "ws"+strings.TrimPrefix(a.URL, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	id := res.Header.Get("X-Yc-Apigateway-Websocket-Connection-Id")
	api := b.Admin + "/apigateways/websocket/v1/connections/" + id

	getRes, err := http.Get(api)
	if err != nil || getRes.StatusCode != 200 {
		t.Fatalf("Get through B: %v %v", getRes, err)
	}
	var info map[string]any
	json.NewDecoder(getRes.Body).Decode(&info)
	if info["id"] != id {
		t.Errorf("Get through B: %v", info)
	}
	if res, err := http.Post(api+":send", "application/json", strings.NewReader(`{"data":"ZnJvbSBC","type":"TEXT"}`)); err != nil || res.StatusCode != 200 {
		t.Fatalf("Send through B: %v %v", res, err)
	}
	if _, got, err := c.Read(ctx); err != nil || string(got) != "from B" {
		t.Fatalf("the client on A got %q %v", got, err)
	}
	if res, _ := http.Post(b.Admin+"/apigateways/websocket/v1/broadcast", "application/json", strings.NewReader(`{"path":"/ws","data":"YWxs","type":"TEXT"}`)); res == nil || res.StatusCode != 200 {
		t.Fatalf("broadcast through B: %v", res)
	}
	if _, got, _ := c.Read(ctx); string(got) != "all" {
		t.Errorf("broadcast reached A's client as %q", got)
	}
	req, _ := http.NewRequest("DELETE", api, nil)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 {
		t.Fatalf("Disconnect through B: %v %v", res, err)
	}
	if _, _, err := c.Read(ctx); cws.CloseStatus(err) != 1000 {
		t.Errorf("after Disconnect through B: %v", err)
	}
	if res, _ := http.Get(api); res.StatusCode != 404 {
		t.Errorf("Get after disconnect: %d", res.StatusCode)
	}

	// A replica that dies without cleaning up: its connections answer 503
	// (retry) while its mark lasts, since it may be between two
	// subscriptions, and 404 once the mark has expired (5 s).
	c2, res2, err := cws.Dial(ctx, "ws"+strings.TrimPrefix(a.URL, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.CloseNow()
	id2 := res2.Header.Get("X-Yc-Apigateway-Websocket-Connection-Id")
	a.cmd.Process.Kill()
	<-a.done
	killed := time.Now()
	for {
		res, _ = http.Post(b.Admin+"/apigateways/websocket/v1/connections/"+id2+":send", "application/json", strings.NewReader(`{"data":"eA=="}`))
		if res == nil || res.StatusCode != 503 && res.StatusCode != 404 {
			t.Fatalf("Send to a dead replica's connection: %v", res)
		}
		if res.StatusCode == 404 {
			t.Logf("a dead replica's connection is not found %v after the kill", time.Since(killed).Round(time.Millisecond))
			break
		}
		if time.Since(killed) > 8*time.Second {
			t.Fatal("a dead replica's connection still answers 503 after 8 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestWebSocketChatExample runs examples/websocket as the README says: two
// clients, messages broadcast through the management API by Python
// handlers, a leave notice on disconnect.
func TestWebSocketChatExample(t *testing.T) {
	needInterpreter(t, "python3")
	api, admin := freePort(t), freePort(t)
	cfg := writeFile(t, t.TempDir(), "apigw.yaml", strings.ReplaceAll(mustRead(t, "../examples/websocket/apigw.yaml"),
		"http://127.0.0.1:9090", fmt.Sprintf("http://127.0.0.1:%d", admin)))
	abs, _ := filepath.Abs("../examples/websocket/functions")
	os.WriteFile(cfg, []byte(strings.ReplaceAll(mustRead(t, cfg), "./functions", abs)), 0o644)
	g := startOn(t, api, admin, "--spec", "../examples/websocket/api.yaml", "--config", cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	dial := func(name string) *cws.Conn {
		c, _, err := cws.Dial(ctx, "ws"+strings.TrimPrefix(g.URL, "http")+"/chat?name="+name, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.CloseNow() })
		return c
	}
	read := func(c *cws.Conn) string {
		_, m, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		return string(m)
	}
	ann, bob := dial("ann"), dial("bob")
	if got := read(ann); got != "welcome, ann! say something." {
		t.Errorf("ann's welcome: %q", got)
	}
	read(bob)
	ann.Write(ctx, cws.MessageText, []byte("hi bob"))
	if got := read(bob); got != "ann: hi bob" {
		t.Errorf("bob got %q", got)
	}
	if got := read(ann); got != "ann: hi bob" {
		t.Errorf("ann got %q", got)
	}
	ann.Close(cws.StatusNormalClosure, "")
	if got := read(bob); got != "ann left (1000)" {
		t.Errorf("bob got %q", got)
	}
}

// TestWebSocketInBrowser: headless Chromium opens the chat page the
// example serves, connects, sends and receives through the gateway; the
// page reports what arrived with a request the access log records.
func TestWebSocketInBrowser(t *testing.T) {
	needInterpreter(t, "python3")
	needInterpreter(t, "chromium")
	api, admin := freePort(t), freePort(t)
	abs, _ := filepath.Abs("../examples/websocket/functions")
	cfg := writeFile(t, t.TempDir(), "apigw.yaml", strings.ReplaceAll(strings.ReplaceAll(mustRead(t, "../examples/websocket/apigw.yaml"),
		"http://127.0.0.1:9090", fmt.Sprintf("http://127.0.0.1:%d", admin)), "./functions", abs))
	g := startOn(t, api, admin, "--spec", "../examples/websocket/api.yaml", "--config", cfg)
	browser := exec.Command("chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+t.TempDir(), "--remote-debugging-port=0",
		g.URL+"/?name=chrome&say=hello-from-chrome&report=1")
	if err := browser.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { browser.Process.Kill(); browser.Wait() }()
	if !g.waitLog(`"path":"/report/chrome-hello-from-chrome"`, 20*time.Second) {
		t.Fatalf("the browser never reported its broadcast message; gateway log:\n%s", g.Logs())
	}
	if !strings.Contains(g.Logs(), `"path":"/report/welcome-chrome-say-something-"`) {
		t.Error("the browser did not get the connect answer as its first message")
	}
}

// TestWebSocketSurvivesReload: an open socket keeps the snapshot it
// connected on; new connections get the new spec.
func TestWebSocketSurvivesReload(t *testing.T) {
	dir := t.TempDir()
	version := func(v string) string {
		return "openapi: 3.0.0\npaths:\n  /ws:\n    x-yc-apigateway-websocket-message:\n      x-yc-apigateway-integration: {type: dummy, http_code: 200, http_headers: {Content-Type: text/plain}, content: {'*': " + v + "}}\n"
	}
	spec := writeFile(t, dir, "api.yaml", version("v1"))
	cfg := writeFile(t, dir, "apigw.yaml", "reload: {interval: 100ms}\n")
	g := start(t, "--spec", spec, "--config", cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ask := func(c *cws.Conn) string {
		c.Write(ctx, cws.MessageText, []byte("?"))
		_, got, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		return string(got)
	}
	old, _, err := cws.Dial(ctx, "ws"+strings.TrimPrefix(g.URL, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer old.CloseNow()
	if got := ask(old); got != "v1" {
		t.Fatalf("before the reload: %q", got)
	}
	os.WriteFile(spec, []byte(version("v2")), 0o644)
	if !g.waitLog(`"msg":"reloaded"`, 5*time.Second) {
		t.Fatal("no reload")
	}
	if got := ask(old); got != "v1" {
		t.Errorf("the open socket after the reload: %q, want v1 (it keeps its snapshot)", got)
	}
	fresh, _, err := cws.Dial(ctx, "ws"+strings.TrimPrefix(g.URL, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.CloseNow()
	if got := ask(fresh); got != "v2" {
		t.Errorf("a new connection after the reload: %q, want v2", got)
	}
}
