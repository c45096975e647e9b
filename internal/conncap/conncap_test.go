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
		{1024, Limits{768, 576, 100}},
		{1 << 20, Limits{917504, 688128, 68812}},
		{300, Limits{64, 48, 100}},
		{0, Limits{57344, 43008, 4300}},
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
