package upstream

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// countingServer is an upstream that counts the connections it accepts.
func countingServer(t *testing.T, idle time.Duration, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(h)
	srv.Config.IdleTimeout = idle
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

func roundTrip(t *testing.T, rt http.RoundTripper, method, url, body string) (int, string) {
	t.Helper()
	var rb io.Reader
	if body != "" {
		rb = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, url, rb)
	if body != "" {
		// A streaming body, as the gateway forwards it: it cannot be replayed.
		req.Body = io.NopCloser(req.Body)
		req.GetBody = nil
	}
	res, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatalf("%s %s: body: %v", method, url, err)
	}
	return res.StatusCode, string(b)
}

// TestUpstreamBodyAfterIdleClose: an upstream that closes idle connections
// (Node.js does after 5 s) must not turn the next POST, whose body cannot be
// sent twice, into a failure.
func TestUpstreamBodyAfterIdleClose(t *testing.T) {
	srv, conns := countingServer(t, 100*time.Millisecond, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	})
	rt := New(time.Second)
	if code, body := roundTrip(t, rt, "POST", srv.URL, "one"); code != 200 || body != "one" {
		t.Fatalf("first POST: %d %q", code, body)
	}
	time.Sleep(probeAfter + 200*time.Millisecond)
	if code, body := roundTrip(t, rt, "POST", srv.URL, "two"); code != 200 || body != "two" {
		t.Fatalf("POST after the upstream closed the idle connection: %d %q", code, body)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2 (the closed one was not reused)", n)
	}
}

func TestUpstreamReuse(t *testing.T) {
	srv, conns := countingServer(t, 0, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/close" {
			w.Header().Set("Connection", "close")
		}
		w.Header().Set("Content-Length", "5")
		if r.Method != "HEAD" {
			io.WriteString(w, "hello")
		}
	})
	rt := New(time.Second)
	for i := 0; i < 3; i++ {
		if code, body := roundTrip(t, rt, "HEAD", srv.URL+"/", ""); code != 200 || body != "" {
			t.Fatalf("HEAD: %d %q", code, body)
		}
		if code, body := roundTrip(t, rt, "GET", srv.URL+"/", ""); code != 200 || body != "hello" {
			t.Fatalf("GET: %d %q", code, body)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("HEAD and GET used %d connections, want 1", n)
	}
	roundTrip(t, rt, "GET", srv.URL+"/close", "")
	roundTrip(t, rt, "GET", srv.URL+"/", "")
	if n := conns.Load(); n != 2 {
		t.Errorf("after Connection: close, %d connections, want 2", n)
	}
}

// TestUpstreamInterimResponses: 1xx responses (100 Continue, 103 Early
// Hints) are skipped, the final response is returned.
func TestUpstreamInterimResponses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		http.ReadRequest(bufio.NewReader(c))
		io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\ndone")
	}()
	rt := New(time.Second)
	if code, body := roundTrip(t, rt, "GET", "http://"+ln.Addr().String()+"/", ""); code != 201 || body != "done" {
		t.Fatalf("got %d %q, want 201 done", code, body)
	}
}

// TestUpstreamCancel: a cancelled request (the client left, a timeout) stops
// waiting for an upstream that never answers.
func TestUpstreamCancel(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	srv, _ := countingServer(t, 0, func(w http.ResponseWriter, r *http.Request) { <-block })
	rt := New(time.Second)
	req, _ := http.NewRequest("GET", srv.URL, nil)
	ctx, cancel := contextWithTimeout(100 * time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := rt.RoundTrip(req.WithContext(ctx))
	if err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("RoundTrip = %v after %v, want a prompt error", err, time.Since(start))
	}
}

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
