package websocket

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
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

// stuckClient completes a handshake over a raw socket and then never
// reads, with a small receive buffer so that the kernel holds little.
func stuckClient(t *testing.T, url string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).SetReadBuffer(4 << 10)
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReaderSize(c, 16)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("handshake: %v", err)
		}
		if line == "\r\n" {
			return c
		}
	}
}

// TestSlowReaderNeverDelaysOthers: a client that never reads does not hold
// up broadcasts to the others, which receive every message whole and in
// order; the stuck one is cut off (1011), its queue bounded meanwhile.
func TestSlowReaderNeverDelaysOthers(t *testing.T) {
	hub := NewHub("gw")
	opts := DefaultOptions
	opts.WriteTimeout = 500 * time.Millisecond
	srv, ended := echoServer(t, hub, opts)
	stuckClient(t, srv.URL)
	var healthy []*cws.Conn
	for i := 0; i < 3; i++ {
		c, _ := dial(t, srv.URL)
		defer c.CloseNow()
		healthy = append(healthy, c)
	}
	waitFor(t, func() bool { return hub.Len() == 4 })
	payload := func(i int) []byte {
		b := bytes.Repeat([]byte{byte(i)}, 120<<10)
		copy(b, fmt.Sprintf("message %d", i))
		return b
	}
	var worst time.Duration
	ctx := context.Background()
	for i := 0; i < 40; i++ {
		start := time.Now()
		n, err := hub.Broadcast(ctx, "/", OpBinary, payload(i))
		if err != nil || n < 3 {
			t.Fatalf("broadcast %d reached %d connections: %v", i, n, err)
		}
		if d := time.Since(start); d > 50*time.Millisecond {
			t.Errorf("broadcast %d took %v: it waits on a client", i, d)
		}
		for j, c := range healthy {
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			typ, got, err := c.Read(rctx)
			cancel()
			if err != nil || typ != cws.MessageBinary || !bytes.Equal(got, payload(i)) {
				t.Fatalf("healthy client %d, message %d: %v (%d bytes, want %d, byte-exact)", j, i, err, len(got), 120<<10)
			}
		}
		worst = max(worst, time.Since(start))
	}
	t.Logf("the slowest broadcast reached all three healthy clients in %v", worst)
	if worst > 500*time.Millisecond {
		t.Errorf("a healthy client waited %v for a broadcast", worst)
	}
	select {
	case res := <-ended:
		if res.Code != CloseInternal {
			t.Errorf("the stuck client ended with %d %q, want 1011", res.Code, res.Reason)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the client that never reads is still connected")
	}
	// The connection leaves the hub just after its Serve returns.
	waitFor(t, func() bool { return hub.Len() == 3 })
}

// TestFullQueueAnswersAtOnce: a Send to a client whose queue is full
// returns ErrQueueFull at once (the management API answers it as 429:
// connectionapi's tests).
func TestFullQueueAnswersAtOnce(t *testing.T) {
	hub := NewHub("gw")
	opts := DefaultOptions
	opts.MaxQueued, opts.WriteTimeout = 256<<10, time.Hour
	srv, _ := echoServer(t, hub, opts)
	stuckClient(t, srv.URL)
	waitFor(t, func() bool { return hub.Len() == 1 })
	id := hub.Conns()[0].ID
	msg := bytes.Repeat([]byte("x"), 100<<10)
	full := false
	for i := 0; i < 200 && !full; i++ {
		start := time.Now()
		err := hub.Send(context.Background(), id, OpBinary, msg)
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Fatalf("Send %d waited %v", i, d)
		}
		full = errors.Is(err, ErrQueueFull)
	}
	if !full {
		t.Fatal("200 Sends of 100 KB to a client that never reads were all queued")
	}
}

// TestPingsWithoutReading: a client that pings and never reads the pongs
// cannot grow its outbound queue past MaxQueued (and a pong). The pings are
// handed to the connection as its reader does, 100,000 of them (12.5 MB of
// pongs, past any socket buffer here).
func TestPingsWithoutReading(t *testing.T) {
	hub := NewHub("gw")
	opts := DefaultOptions
	opts.MaxQueued, opts.WriteTimeout = 64<<10, time.Hour
	srv, _ := echoServer(t, hub, opts)
	stuckClient(t, srv.URL)
	waitFor(t, func() bool { return hub.Len() == 1 })
	conn := hub.Conns()[0]
	ping := bytes.Repeat([]byte("p"), 125)
	for i := 0; i < 100_000; i++ {
		conn.queuePong(ping)
	}
	conn.qmu.Lock()
	queued := conn.queued
	conn.qmu.Unlock()
	if queued > opts.MaxQueued+125 {
		t.Errorf("%d bytes of pongs queued for a client that does not read, want at most %d", queued, opts.MaxQueued+125)
	}
}
