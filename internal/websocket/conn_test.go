package websocket

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	cws "github.com/coder/websocket"
)

// echoServer accepts WebSockets and echoes each message; ended receives
// how each connection ended.
func echoServer(t *testing.T, hub *Hub, opts Options) (*httptest.Server, chan *CloseError) {
	ended := make(chan *CloseError, 1024)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := Handshake(r); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		id := NewID()
		extra := http.Header{"X-Yc-Apigateway-Websocket-Connection-Id": {id}}
		if p := r.Header.Get("Sec-Websocket-Protocol"); p != "" {
			extra.Set("Sec-Websocket-Protocol", strings.Split(p, ",")[0])
		}
		c, err := Accept(w, r, id, extra, opts, hub.Add)
		if err != nil {
			return
		}
		ended <- c.Serve(func(m Message) { c.Send(m.Op, m.Data) })
	}))
	t.Cleanup(srv.Close)
	return srv, ended
}

func dial(t *testing.T, url string, protocols ...string) (*cws.Conn, *http.Response) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, res, err := cws.Dial(ctx, "ws"+strings.TrimPrefix(url, "http"), &cws.DialOptions{Subprotocols: protocols})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c.SetReadLimit(1 << 20)
	return c, res
}

func closeStatus(err error) int { return int(cws.CloseStatus(err)) }

func TestEchoAndHandshake(t *testing.T) {
	hub := NewHub("gw")
	srv, _ := echoServer(t, hub, DefaultOptions)
	c, res := dial(t, srv.URL, "chat.v1", "chat.v2")
	defer c.CloseNow()
	id := res.Header.Get("X-Yc-Apigateway-Websocket-Connection-Id")
	if len(id) != 32 || c.Subprotocol() != "chat.v1" {
		t.Errorf("connection id %q, protocol %q", id, c.Subprotocol())
	}
	ctx := context.Background()
	big := bytes.Repeat([]byte("ab"), 50_000) // 100 KB: the server answers in 32 KB frames
	for _, m := range []struct {
		typ  cws.MessageType
		data []byte
	}{{cws.MessageText, []byte("hello")}, {cws.MessageBinary, []byte{0, 1, 2}}, {cws.MessageText, big}} {
		if m.typ == cws.MessageText && len(m.data) > 32<<10 {
			// send it fragmented, as a browser does for large messages
			w, _ := c.Writer(ctx, m.typ)
			for i := 0; i < len(m.data); i += 16 << 10 {
				w.Write(m.data[i:min(i+16<<10, len(m.data))])
			}
			w.Close()
		} else {
			c.Write(ctx, m.typ, m.data)
		}
		typ, got, err := c.Read(ctx)
		if err != nil || typ != m.typ || !bytes.Equal(got, m.data) {
			t.Fatalf("echo of %d bytes: %v %d bytes %v", len(m.data), typ, len(got), err)
		}
	}
	if hub.Len() != 1 {
		t.Errorf("hub holds %d connections", hub.Len())
	}
	c.Close(cws.StatusNormalClosure, "bye")
	waitFor(t, func() bool { return hub.Len() == 0 })

	// Not an upgrade: refused.
	if res, _ := http.Get(srv.URL); res.StatusCode != 400 {
		t.Errorf("plain GET: %d", res.StatusCode)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestLimitsAndTimers(t *testing.T) {
	ctx := context.Background()
	t.Run("frame over 32 KB: 1009", func(t *testing.T) {
		srv, ended := echoServer(t, NewHub(""), DefaultOptions)
		c, _ := dial(t, srv.URL)
		defer c.CloseNow()
		c.Write(ctx, cws.MessageBinary, make([]byte, 33<<10))
		if _, _, err := c.Read(ctx); closeStatus(err) != 1009 {
			t.Errorf("client saw %v", err)
		}
		if res := <-ended; res.Code != 1009 {
			t.Errorf("server recorded %v", res)
		}
	})
	t.Run("message over 128 KB in small frames: 1009", func(t *testing.T) {
		srv, _ := echoServer(t, NewHub(""), DefaultOptions)
		c, _ := dial(t, srv.URL)
		defer c.CloseNow()
		w, _ := c.Writer(ctx, cws.MessageBinary)
		for i := 0; i < 20; i++ {
			if _, err := w.Write(make([]byte, 16<<10)); err != nil {
				break
			}
		}
		w.Close()
		if _, _, err := c.Read(ctx); closeStatus(err) != 1009 {
			t.Errorf("client saw %v", err)
		}
	})
	t.Run("idle timeout: 1001, pings keep it open", func(t *testing.T) {
		srv, _ := echoServer(t, NewHub(""), Options{Limits: DefaultLimits, Idle: 300 * time.Millisecond})
		c, _ := dial(t, srv.URL)
		defer c.CloseNow()
		readErr := make(chan error, 1)
		go func() { _, _, err := c.Read(ctx); readErr <- err }() // the reader also answers pongs
		for i := 0; i < 6; i++ {
			pctx, cancel := context.WithTimeout(ctx, time.Second)
			if err := c.Ping(pctx); err != nil {
				t.Fatalf("ping %d: %v", i, err)
			}
			cancel()
			time.Sleep(100 * time.Millisecond)
		}
		select {
		case err := <-readErr:
			t.Fatalf("closed while pinging: %v", err)
		default:
		}
		select {
		case err := <-readErr:
			if closeStatus(err) != 1001 {
				t.Errorf("after going idle: %v", err)
			}
		case <-time.After(3 * time.Second):
			t.Error("an idle connection stayed open")
		}
	})
	t.Run("lifetime: 1001", func(t *testing.T) {
		srv, _ := echoServer(t, NewHub(""), Options{Limits: DefaultLimits, Lifetime: 300 * time.Millisecond})
		c, _ := dial(t, srv.URL)
		defer c.CloseNow()
		if _, _, err := c.Read(ctx); closeStatus(err) != 1001 {
			t.Errorf("client saw %v", err)
		}
	})
	t.Run("a client that vanishes: 1006 recorded", func(t *testing.T) {
		srv, ended := echoServer(t, NewHub(""), DefaultOptions)
		c, _ := dial(t, srv.URL)
		c.CloseNow() // no close frame
		select {
		case res := <-ended:
			if res.Code != CloseAbnormal {
				t.Errorf("recorded %v", res)
			}
		case <-time.After(3 * time.Second):
			t.Error("the server did not notice")
		}
	})
	t.Run("the client's close code is recorded", func(t *testing.T) {
		srv, ended := echoServer(t, NewHub(""), DefaultOptions)
		c, _ := dial(t, srv.URL)
		c.Close(4001, "done here")
		if res := <-ended; res.Code != 4001 || res.Reason != "done here" || !res.Remote {
			t.Errorf("recorded %v", res)
		}
	})
}

func TestManagementAPI(t *testing.T) {
	hub := NewHub("gw1")
	srv, _ := echoServer(t, hub, DefaultOptions)
	api := httptest.NewServer(&ManagementAPI{Registry: hub})
	defer api.Close()
	c, res := dial(t, srv.URL)
	defer c.CloseNow()
	id := res.Header.Get("X-Yc-Apigateway-Websocket-Connection-Id")
	ctx := context.Background()
	call := func(method, path, body string, header ...string) (int, map[string]any) {
		req, _ := http.NewRequest(method, api.URL+path, strings.NewReader(body))
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		b, _ := io.ReadAll(res.Body)
		json.Unmarshal(b, &out)
		return res.StatusCode, out
	}
	base := "/apigateways/websocket/v1/connections/"
	// Send (conformance 50), both path spellings.
	for _, path := range []string{base + id + ":send", base + id + "/:send"} {
		status, out := call("POST", path, `{"data":"aGVsbG8=","type":"TEXT"}`)
		if status != 200 || len(out) != 0 {
			t.Fatalf("send %s: %d %v", path, status, out)
		}
		typ, got, err := c.Read(ctx)
		if err != nil || typ != cws.MessageText || string(got) != "hello" {
			t.Fatalf("client got %v %q %v", typ, got, err)
		}
	}
	// Get (conformance 51).
	status, info := call("GET", base+id, "")
	if status != 200 || info["id"] != id || info["gatewayId"] != "gw1" || info["identity"].(map[string]any)["sourceIp"] != "127.0.0.1" {
		t.Errorf("get: %d %v", status, info)
	}
	if _, err := time.Parse(time.RFC3339, fmt.Sprint(info["connectedAt"])); err != nil {
		t.Errorf("connectedAt %v", info["connectedAt"])
	}
	for _, tt := range []struct {
		method, path, body string
		status, code       int
	}{
		{"POST", base + "nope:send", `{"data":"aGk="}`, 404, 5},
		{"GET", base + "nope", "", 404, 5},
		{"POST", base + id + ":send", `{"data":"not base64!"}`, 400, 3},
		{"POST", base + id + ":send", `{"type":"TEXT"}`, 400, 3},
		{"POST", base + id + ":send", `{"data":"` + base64.StdEncoding.EncodeToString(make([]byte, MaxSend+1)) + `"}`, 400, 3},
		{"GET", base + strings.Repeat("x", 51), "", 400, 3},
	} {
		status, out := call(tt.method, tt.path, tt.body)
		if status != tt.status || out["code"] != float64(tt.code) || out["message"] == "" {
			t.Errorf("%s %.60s: %d %v, want %d code %d", tt.method, tt.path, status, out, tt.status, tt.code)
		}
	}
	// Broadcast to the path.
	if status, out := call("POST", BroadcastPath, `{"path":"/","data":"YWxs","type":"BINARY"}`); status != 200 || out["delivered"] != float64(1) {
		t.Errorf("broadcast: %d %v", status, out)
	}
	if typ, got, _ := c.Read(ctx); typ != cws.MessageBinary || string(got) != "all" {
		t.Errorf("broadcast arrived as %v %q", typ, got)
	}
	// Disconnect (conformance 52): the client sees 1000.
	if status, _ := call("DELETE", base+id, ""); status != 200 {
		t.Errorf("delete: %d", status)
	}
	if _, _, err := c.Read(ctx); closeStatus(err) != 1000 {
		t.Errorf("after delete the client saw %v", err)
	}
	// With a token, callers must present it.
	secured := httptest.NewServer(&ManagementAPI{Registry: hub, Token: "s3cret"})
	defer secured.Close()
	for _, h := range []string{"", "Bearer wrong"} {
		req, _ := http.NewRequest("GET", secured.URL+base+"x", nil)
		if h != "" {
			req.Header.Set("Authorization", h)
		}
		if res, _ := http.DefaultClient.Do(req); res.StatusCode != 401 {
			t.Errorf("token %q: %d", h, res.StatusCode)
		}
	}
	req, _ := http.NewRequest("GET", secured.URL+base+"x", nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	if res, _ := http.DefaultClient.Do(req); res.StatusCode != 404 {
		t.Errorf("right token: %d", res.StatusCode)
	}
}

// TestManyConnections: many clients exchanging messages at once; nothing is
// lost or reordered.
func TestManyConnections(t *testing.T) {
	n, msgs := 1000, 5
	if testing.Short() {
		n = 50
	}
	srv, _ := echoServer(t, NewHub(""), DefaultOptions)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c, _, err := cws.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
			if err != nil {
				errs <- err
				return
			}
			defer c.CloseNow()
			go func() {
				for j := 0; j < msgs; j++ {
					c.Write(ctx, cws.MessageText, []byte(fmt.Sprintf("%d-%d", i, j)))
				}
			}()
			for j := 0; j < msgs; j++ {
				_, got, err := c.Read(ctx)
				if want := fmt.Sprintf("%d-%d", i, j); err != nil || string(got) != want {
					errs <- fmt.Errorf("conn %d: got %q (%v), want %q", i, got, err, want)
					return
				}
			}
			c.Close(cws.StatusNormalClosure, "")
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
