package gateway

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	cws "github.com/coder/websocket"

	"github.com/apigw/apigw/internal/connectionapi"
)

func wsDial(t *testing.T, url string, header http.Header) (*cws.Conn, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	opts := &cws.DialOptions{HTTPHeader: header}
	if p := header.Get("Sec-Websocket-Protocol"); p != "" {
		opts.Subprotocols = []string{p}
		header.Del("Sec-Websocket-Protocol")
	}
	c, res, err := cws.Dial(ctx, "ws"+strings.TrimPrefix(url, "http"), opts)
	if c != nil {
		c.SetReadLimit(1 << 20)
		t.Cleanup(func() { c.CloseNow() })
	}
	return c, res, err
}

func TestWebSocketDummy(t *testing.T) {
	src := `openapi: 3.0.0
paths:
  /ws:
    x-yc-apigateway-websocket-message:
      parameters:
        - {name: X-Yc-Apigateway-Websocket-Connection-Id, in: header, required: true, schema: {type: string}}
      x-yc-apigateway-integration:
        type: dummy
        http_code: 200
        http_headers: {Content-Type: text/plain}
        content: {'*': 'you are {X-Yc-Apigateway-Websocket-Connection-Id}'}
  /push:
    x-yc-apigateway-websocket-connect:
      x-yc-apigateway-integration: {type: dummy, http_code: 200, http_headers: {Content-Type: text/plain}, content: {'*': 'subscribed'}}
  /bin:
    x-yc-apigateway-websocket-message:
      x-yc-apigateway-integration:
        type: dummy
        http_code: 200
        http_headers: {Content-Type: application/octet-stream}
        content: {'*': 'bytes'}
`
	srv := serve(t, src, "")
	ctx := context.Background()
	// Conformance 46: 101 with the connection id; a text frame back.
	c, res, err := wsDial(t, srv.URL+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	id := res.Header.Get("X-Yc-Apigateway-Websocket-Connection-Id")
	if res.StatusCode != 101 || id == "" || len(id) > 50 {
		t.Fatalf("upgrade: %d id %q", res.StatusCode, id)
	}
	c.Write(ctx, cws.MessageText, []byte("hi"))
	typ, got, err := c.Read(ctx)
	if err != nil || typ != cws.MessageText || string(got) != "you are "+id {
		t.Errorf("message: %v %q %v", typ, got, err)
	}
	// Conformance 48: a 200 KB message closes with 1009.
	w, _ := c.Writer(ctx, cws.MessageBinary)
	for i := 0; i < 13; i++ {
		w.Write(make([]byte, 16<<10))
	}
	w.Close()
	if _, _, err := c.Read(ctx); cws.CloseStatus(err) != 1009 {
		t.Errorf("200 KB message: %v", err)
	}
	// Conformance 47: an octet-stream answer is a binary frame.
	c2, _, _ := wsDial(t, srv.URL+"/bin", nil)
	c2.Write(ctx, cws.MessageText, []byte("x"))
	if typ, got, _ := c2.Read(ctx); typ != cws.MessageBinary || string(got) != "bytes" {
		t.Errorf("binary answer: %v %q", typ, got)
	}
	// A push-only path (only -connect): the upgrade is accepted, client
	// messages are dropped, the connect answer arrives.
	c3, _, err := wsDial(t, srv.URL+"/push", nil)
	if err != nil {
		t.Fatalf("push-only path: %v", err)
	}
	if _, got, _ := c3.Read(ctx); string(got) != "subscribed" {
		t.Errorf("push-only first message: %q", got)
	}
	c3.Write(ctx, cws.MessageText, []byte("ignored"))
	rctx, rcancel := context.WithTimeout(ctx, 300*time.Millisecond)
	if _, got, err := c3.Read(rctx); err == nil {
		t.Errorf("a push-only path answered a client message: %q", got)
	}
	rcancel()
	// A plain GET on a WebSocket-only path.
	if r := do(t, "GET", srv.URL+"/ws", nil, nil); r.status != 426 || r.header.Get("Upgrade") != "websocket" {
		t.Errorf("plain GET: %d %v", r.status, r.header)
	}
}

func TestWebSocketFunctionsAndManagement(t *testing.T) {
	fn := newFakeFunction(t)
	var mu sync.Mutex
	var events []map[string]any
	fn.set(func(ev map[string]any) (int, string) {
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
		switch get(ev, "requestContext", "eventType") {
		case "CONNECT":
			if get(ev, "headers", "X-Deny") == "1" {
				return 200, `{"statusCode": 403, "body": "go away"}`
			}
			return 200, `{"statusCode": 200, "headers": {"Sec-WebSocket-Protocol": "chat", "Content-Type": "text/plain"}, "body": "welcome"}`
		case "MESSAGE":
			return 200, `{"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{\"echo\": true}"}`
		}
		return 200, `{"statusCode": 200}`
	})
	authz := newFakeFunction(t)
	authz.set(func(ev map[string]any) (int, string) {
		return 200, `{"isAuthorized": ` + map[bool]string{true: "true", false: "false"}[get(ev, "headers", "X-Key") == "good"] + `, "context": {"user": "u1"}}`
	})
	src := `openapi: 3.0.0
components:
  securitySchemes:
    key:
      type: apiKey
      in: header
      name: X-Key
      x-yc-apigateway-authorizer: {type: function, function_id: authz}
paths:
  /chat:
    x-yc-apigateway-websocket-connect:
      operationId: wsConnect
      security: [{key: []}]
      x-yc-apigateway-integration: {type: cloud_functions, function_id: fn}
    x-yc-apigateway-websocket-message:
      operationId: wsMessage
      x-yc-apigateway-integration: {type: cloud_functions, function_id: fn}
    x-yc-apigateway-websocket-disconnect:
      operationId: wsDisconnect
      x-yc-apigateway-integration: {type: cloud_functions, function_id: fn}
`
	srv, h := serveHandler(t, src, "functions:\n  fn: {url: '"+fn.srv.URL+"'}\n  authz: {url: '"+authz.srv.URL+"'}\n")
	admin := httptest.NewServer(&connectionapi.API{Registry: h.WebSockets()})
	defer admin.Close()
	ctx := context.Background()

	// No credential: 401, no upgrade.
	if _, res, err := wsDial(t, srv.URL+"/chat", nil); err == nil || res == nil || res.StatusCode != 401 {
		t.Errorf("connect without a credential: %v %v", res, err)
	}
	// Conformance 49: a denying authorizer refuses the upgrade.
	if _, res, err := wsDial(t, srv.URL+"/chat", http.Header{"X-Key": {"bad"}}); err == nil || res == nil || res.StatusCode != 403 {
		t.Errorf("denied connect: %v %v", res, err)
	}
	// A connect integration answering 403: its answer, no upgrade.
	if _, res, err := wsDial(t, srv.URL+"/chat", http.Header{"X-Key": {"good"}, "X-Deny": {"1"}}); err == nil || res == nil || res.StatusCode != 403 {
		t.Errorf("connect integration refusing: %v %v", res, err)
	}
	c, res, err := wsDial(t, srv.URL+"/chat", http.Header{"X-Key": {"good"}, "Sec-Websocket-Protocol": {"chat"}})
	if err != nil {
		t.Fatal(err)
	}
	id := res.Header.Get("X-Yc-Apigateway-Websocket-Connection-Id")
	if c.Subprotocol() != "chat" {
		t.Errorf("sub-protocol = %q", c.Subprotocol())
	}
	// The connect body is the first message.
	if typ, got, _ := c.Read(ctx); typ != cws.MessageText || string(got) != "welcome" {
		t.Errorf("first message: %v %q", typ, got)
	}
	c.Write(ctx, cws.MessageBinary, []byte{0xff, 0x00})
	if typ, got, _ := c.Read(ctx); typ != cws.MessageText || string(got) != `{"echo": true}` {
		t.Errorf("message answer: %v %q", typ, got)
	}
	// Management API: Send, Get (conformance 50, 51).
	post, _ := http.Post(admin.URL+"/apigateways/websocket/v1/connections/"+id+":send", "application/json", strings.NewReader(`{"data":"aGVsbG8=","type":"TEXT"}`))
	if b, _ := io.ReadAll(post.Body); post.StatusCode != 200 || strings.TrimSpace(string(b)) != "{}" {
		t.Errorf("send: %d %s", post.StatusCode, b)
	}
	if typ, got, _ := c.Read(ctx); typ != cws.MessageText || string(got) != "hello" {
		t.Errorf("sent message: %v %q", typ, got)
	}
	getRes, _ := http.Get(admin.URL + "/apigateways/websocket/v1/connections/" + id)
	var info map[string]any
	json.NewDecoder(getRes.Body).Decode(&info)
	if info["id"] != id {
		t.Errorf("get: %v", info)
	}
	// Conformance 52: Disconnect → 1000 at the client, the disconnect event.
	req, _ := http.NewRequest("DELETE", admin.URL+"/apigateways/websocket/v1/connections/"+id, nil)
	http.DefaultClient.Do(req)
	if _, _, err := c.Read(ctx); cws.CloseStatus(err) != 1000 {
		t.Errorf("after disconnect: %v", err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		mu.Lock()
		n := len(events)
		mu.Unlock()
		if n >= 4 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	byType := map[any]map[string]any{}
	for _, ev := range events {
		byType[get(ev, "requestContext", "eventType")] = ev
	}
	conn, msg, disc := byType["CONNECT"], byType["MESSAGE"], byType["DISCONNECT"]
	if conn == nil || msg == nil || disc == nil {
		t.Fatalf("events: %v", events)
	}
	for _, c := range []struct {
		desc      string
		got, want any
	}{
		{"connect method", conn["httpMethod"], "GET"},
		{"connect has no body", conn["body"], nil},
		{"connect sees the sub-protocol", get(conn, "headers", "Sec-Websocket-Protocol"), "chat"},
		{"connect operationId", conn["operationId"], "wsConnect"},
		{"connection id", get(conn, "requestContext", "connectionId"), id},
		{"authorizer context on every event", get(msg, "requestContext", "authorizer", "user"), "u1"},
		{"message method", msg["httpMethod"], "POST"},
		{"binary message is Base64", msg["body"], "/wA="},
		{"binary message flag", msg["isBase64Encoded"], true},
		{"message content type", get(msg, "headers", "Content-Type"), "application/octet-stream"},
		{"message event header", get(msg, "headers", "X-Yc-Apigateway-Websocket-Event-Type"), "MESSAGE"},
		{"disconnect method", disc["httpMethod"], "DELETE"},
		{"disconnect code header", get(disc, "headers", "X-Yc-Apigateway-Websocket-Disconnect-Status-Code"), "1000"},
		{"disconnect code in context", get(disc, "requestContext", "disconnectStatusCode"), float64(1000)},
	} {
		if c.got != c.want {
			t.Errorf("%s: %v, want %v", c.desc, c.got, c.want)
		}
	}
	if mid, _ := get(msg, "requestContext", "messageId").(string); len(mid) != 24 {
		t.Errorf("message id %q", mid)
	}
	if ca, _ := get(conn, "requestContext", "connectedAt").(float64); time.Since(time.UnixMilli(int64(ca))) > time.Minute {
		t.Errorf("connectedAt %v is not epoch milliseconds", ca)
	}
}

// TestWebSocketIsolationAndLimits: a slow message integration on one
// connection does not hold up another; limits come from the bindings.
func TestWebSocketIsolationAndLimits(t *testing.T) {
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if string(body) == "slow" {
			<-release
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Write(append([]byte("re: "), body...))
	}))
	defer up.Close()
	defer close(release)
	srv := serve(t, `openapi: 3.0.0
paths:
  /ws:
    x-yc-apigateway-websocket-message:
      x-yc-apigateway-integration: {type: http, url: "`+up.URL+`/", method: POST}
`, "websocket: {max_message: 1KB, max_frame: 1KB}\n")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	slow, _, err := wsDial(t, srv.URL+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	fast, _, _ := wsDial(t, srv.URL+"/ws", nil)
	slow.Write(ctx, cws.MessageText, []byte("slow"))
	for i := 0; i < 3; i++ {
		fast.Write(ctx, cws.MessageText, []byte("quick"))
		rctx, rcancel := context.WithTimeout(ctx, 2*time.Second)
		_, got, err := fast.Read(rctx)
		rcancel()
		if err != nil || string(got) != "re: quick" {
			t.Fatalf("the other connection waited on the slow one: %q %v", got, err)
		}
	}
	// Messages of one connection stay in order behind the slow one.
	slow.Write(ctx, cws.MessageText, []byte("next"))
	release <- struct{}{}
	for _, want := range []string{"re: slow", "re: next"} {
		if _, got, _ := slow.Read(ctx); string(got) != want {
			t.Errorf("slow connection got %q, want %q", got, want)
		}
	}
	// max_message: 1KB from the bindings.
	fast.Write(ctx, cws.MessageText, []byte(strings.Repeat("x", 1500)))
	if _, _, err := fast.Read(ctx); cws.CloseStatus(err) != 1009 {
		t.Errorf("a 1.5 KB message with max_message 1KB: %v", err)
	}
}
