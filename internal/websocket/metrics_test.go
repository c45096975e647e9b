package websocket

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	cws "github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestMetrics: a connection counts while open; messages and their bytes
// are counted by direction.
func TestMetrics(t *testing.T) {
	open0, in0, out0 := testutil.ToFloat64(openConnections), testutil.ToFloat64(messagesIn), testutil.ToFloat64(bytesOut)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, "id", nil, Options{Limits: Limits{MaxFrame: 32 << 10, MaxMessage: 128 << 10}}, nil)
		if err != nil {
			return
		}
		c.Serve(func(m Message) { c.Send(m.Op, append([]byte("echo "), m.Data...)) })
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := cws.Dial(ctx, "ws"+srv.URL[4:], nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Write(ctx, cws.MessageText, []byte("hello"))
	c.Read(ctx)
	if d := testutil.ToFloat64(openConnections) - open0; d != 1 {
		t.Errorf("open connections +%v, want +1", d)
	}
	if d := testutil.ToFloat64(messagesIn) - in0; d != 1 {
		t.Errorf("messages in +%v, want +1", d)
	}
	if d := testutil.ToFloat64(bytesOut) - out0; d != float64(len("echo hello")) {
		t.Errorf("bytes out +%v, want %d", d, len("echo hello"))
	}
	c.Close(cws.StatusNormalClosure, "")
	for deadline := time.Now().Add(2 * time.Second); testutil.ToFloat64(openConnections) != open0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if testutil.ToFloat64(openConnections) != open0 {
		t.Error("a closed connection is still counted")
	}
}
