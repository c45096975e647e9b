package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
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
	g := start(t, "--spec", spec)
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
