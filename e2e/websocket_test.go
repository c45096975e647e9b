package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
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

// chatExample starts examples/websocket as the README says, on free ports:
// its handlers call the cloud's connection API, which apigw intercepts.
func chatExample(t *testing.T) *gateway {
	needInterpreter(t, "python3")
	needInterpreter(t, "node")
	if _, err := os.Stat("../examples/websocket/functions/node_modules/@yandex-cloud/nodejs-sdk"); err != nil {
		t.Fatal("the example's Node.js SDK is not installed: run scripts/test-servers (npm install in examples/websocket/functions)")
	}
	api, admin := freePort(t), freePort(t)
	abs, _ := filepath.Abs("../examples/websocket/functions")
	cfg := writeFile(t, t.TempDir(), "apigw.yaml", strings.ReplaceAll(mustRead(t, "../examples/websocket/apigw.yaml"), "./functions", abs))
	return startOn(t, api, admin, "--spec", "../examples/websocket/api.yaml", "--config", cfg)
}

// TestWebSocketChatExample: in each room of the example (Python with
// urllib, Node.js with fetch, Node.js with the SDK over gRPC) two clients
// chat through handlers that post to the cloud's URL, and a leave notice
// follows a disconnect.
func TestWebSocketChatExample(t *testing.T) {
	g := chatExample(t)
	for _, room := range []string{"chat", "chat-node", "chat-sdk"} {
		t.Run(room, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			dial := func(name string) *cws.Conn {
				c, _, err := cws.Dial(ctx, "ws"+strings.TrimPrefix(g.URL, "http")+"/"+room+"?name="+name, nil)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.CloseNow() })
				return c
			}
			read := func(c *cws.Conn) string {
				_, m, err := c.Read(ctx)
				if err != nil {
					t.Fatalf("read: %v; gateway log:\n%s", err, g.Logs())
				}
				return string(m)
			}
			ann, bob := dial("ann"), dial("bob")
			if got := read(ann); got != "welcome, ann! say something." {
				t.Errorf("ann's welcome: %q", got)
			}
			read(bob)
			// A connection the handlers remember but that is gone: their
			// send gets NOT_FOUND (404 in REST) and they forget it.
			stale := filepath.Join(os.TempDir(), "apigw-chat", strings.ReplaceAll(strings.TrimPrefix(g.URL, "http://"), ":", "_"), room, "gone0000000000000000000000000000")
			if err := os.WriteFile(stale, []byte("ghost"), 0o644); err != nil {
				t.Fatal(err)
			}
			ann.Write(ctx, cws.MessageText, []byte("hi bob"))
			if got := read(bob); got != "ann: hi bob" {
				t.Errorf("bob got %q", got)
			}
			if got := read(ann); got != "ann: hi bob" {
				t.Errorf("ann got %q", got)
			}
			// (the handler may reach it after ann's send: wait a little)
			for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
				if _, err := os.Stat(stale); os.IsNotExist(err) {
					break
				}
			}
			if _, err := os.Stat(stale); !os.IsNotExist(err) {
				t.Errorf("the handler kept a connection that the API called not found (%v)", err)
			}
			ann.Close(cws.StatusNormalClosure, "")
			if got := read(bob); got != "ann left (1000)" {
				t.Errorf("bob got %q", got)
			}
		})
	}
	// The handlers' calls went to apigw's own API: REST from urllib and
	// fetch, gRPC from the SDK, all through the intercept.
	res, err := http.Get(g.Admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, form := range []string{"rest", "grpc"} {
		line := `apigw_connection_api_calls_total{call="Send",code="OK",form="` + form + `",via="intercept"} `
		if !strings.Contains(string(metrics), line) {
			t.Errorf("no %s Sends through the intercept in /metrics", form)
		}
	}
}

// TestWebSocketInBrowser: in each room of the chat example, two tabs of
// headless Chromium (opened over the DevTools protocol) chat: what one tab
// says reaches the other through the handlers' calls to the cloud's URL.
// Each page reports what arrived with a request the access log records.
func TestWebSocketInBrowser(t *testing.T) {
	needInterpreter(t, "chromium")
	g := chatExample(t)
	devtools := startChromium(t)
	for _, room := range []string{"chat", "chat-node", "chat-sdk"} {
		bob := "bob-" + room
		newTarget(t, devtools, g.URL+"/?room="+room+"&name="+bob+"&report=1")
		if !g.waitLog(`"path":"/report/`+bob+`/welcome-`+bob+`-say-something-"`, 20*time.Second) {
			t.Fatalf("%s: the first tab never got its welcome; gateway log:\n%s", room, g.Logs())
		}
		ann := "ann-" + room
		newTarget(t, devtools, g.URL+"/?room="+room+"&name="+ann+"&say=hello-from-"+ann+"&report=1")
		if !g.waitLog(`"path":"/report/`+bob+`/`+ann+`-hello-from-`+ann+`"`, 20*time.Second) {
			t.Fatalf("%s: the other tab never got the message; gateway log:\n%s", room, g.Logs())
		}
	}
}

// startChromium starts headless Chromium with the DevTools protocol on and
// returns its address.
func startChromium(t *testing.T) string {
	t.Helper()
	profile := t.TempDir()
	browser := exec.Command("chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+profile, "--remote-debugging-port=0", "about:blank")
	if err := browser.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { browser.Process.Kill(); browser.Wait() })
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if b, err := os.ReadFile(filepath.Join(profile, "DevToolsActivePort")); err == nil {
			if port := strings.SplitN(string(b), "\n", 2)[0]; port != "" {
				return "127.0.0.1:" + port
			}
		}
	}
	t.Fatal("Chromium did not open its DevTools port")
	return ""
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
