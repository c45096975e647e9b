package conncap

import (
	"bufio"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	for _, tt := range []struct {
		files uint64
		want  Limits
	}{
		{1024, Limits{384, 288, 100}},
		{1 << 20, Limits{458752, 344064, 34406}},
		{300, Limits{64, 48, 100}},
		{0, Limits{28672, 21504, 2150}},
	} {
		if got := Defaults(tt.files); got != tt.want {
			t.Errorf("Defaults(%d) = %+v, want %+v", tt.files, got, tt.want)
		}
	}
}

// TestListenerCap: past the cap a connection gets a 503 and is closed; a
// connection that closes gives its place back.
func TestListenerCap(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var open atomic.Int64
	ln := NewListener(raw, 3, &open, true)
	defer ln.Close()
	held := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held <- c
		}
	}()
	var clients, server []net.Conn
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", raw.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
		server = append(server, <-held)
	}
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	extra, err := net.Dial("tcp", raw.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	extra.SetDeadline(time.Now().Add(5 * time.Second))
	extra.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	res, err := http.ReadResponse(bufio.NewReader(extra), nil)
	if err != nil || res.StatusCode != 503 || res.Header.Get("Retry-After") == "" {
		t.Fatalf("the fourth connection: %v %v", res, err)
	}
	extra.Close()
	if open.Load() != 3 {
		t.Errorf("%d counted open, want 3", open.Load())
	}
	// The server closes one (net/http, or a WebSocket that ended): its
	// place is free for the next client.
	server[0].Close()
	server[0].Close() // twice: counted once
	if open.Load() != 2 {
		t.Fatalf("%d counted open after a close, want 2", open.Load())
	}
	next, err := net.Dial("tcp", raw.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer next.Close()
	select {
	case c := <-held:
		c.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("a connection within the cap was not accepted")
	}
}

// TestRefusalsBounded: clients that flood past the cap and never send a
// byte cannot make the refusals themselves hold descriptors without end:
// at most maxPolite are answered at a time, the rest are closed at once.
func TestRefusalsBounded(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var open atomic.Int64
	ln := NewListener(raw, 0, &open, true)
	defer ln.Close()
	go ln.Accept() // refuses every connection; returns when ln closes
	var clients []net.Conn
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	for i := 0; i < 3*maxPolite; i++ {
		c, err := net.Dial("tcp", raw.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	closedAtOnce := 0
	for _, c := range clients {
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		buf := make([]byte, 512)
		n, err := c.Read(buf)
		if n == 0 && err != nil && !isTimeout(err) {
			closedAtOnce++
		}
	}
	if got := ln.refusing.Load(); got > maxPolite {
		t.Errorf("%d refusals under way, want at most %d", got, maxPolite)
	}
	if closedAtOnce < maxPolite {
		t.Errorf("%d of %d silent clients past the polite refusals were closed at once", closedAtOnce, 3*maxPolite)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
