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

// TestMetrics: a connection counts while open and as a disconnection when
// it ends; messages and their bytes are counted by direction and type.
func TestMetrics(t *testing.T) {
	// The counters are the process's: the connections of the tests before
	// this one must have ended (their servers notice the clients' close
	// asynchronously).
	for deadline := time.Now().Add(5 * time.Second); testutil.ToFloat64(openConnections) != 0; {
		if time.Now().After(deadline) {
			t.Fatalf("%v connections of earlier tests are still open", testutil.ToFloat64(openConnections))
		}
		time.Sleep(10 * time.Millisecond)
	}
	textIn, textOut, binIn := &messageSeries[dirIn][0], &messageSeries[dirOut][0], &messageSeries[dirIn][1]
	open0, gone0 := testutil.ToFloat64(openConnections), testutil.ToFloat64(disconnections)
	in0, out0, bin0 := testutil.ToFloat64(textIn.messages), testutil.ToFloat64(textOut.bytes), testutil.ToFloat64(binIn.bytes)
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
	c.Write(ctx, cws.MessageBinary, []byte{1, 2, 3})
	c.Read(ctx)
	if d := testutil.ToFloat64(openConnections) - open0; d != 1 {
		t.Errorf("open connections +%v, want +1", d)
	}
	if d := testutil.ToFloat64(textIn.messages) - in0; d != 1 {
		t.Errorf("text messages in +%v, want +1", d)
	}
	if d := testutil.ToFloat64(textOut.bytes) - out0; d != float64(len("echo hello")) {
		t.Errorf("text bytes out +%v, want %d", d, len("echo hello"))
	}
	if d := testutil.ToFloat64(binIn.bytes) - bin0; d != 3 {
		t.Errorf("binary bytes in +%v, want 3", d)
	}
	c.Close(cws.StatusNormalClosure, "")
	for deadline := time.Now().Add(2 * time.Second); testutil.ToFloat64(openConnections) != open0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if testutil.ToFloat64(openConnections) != open0 {
		t.Error("a closed connection is still counted")
	}
	if d := testutil.ToFloat64(disconnections) - gone0; d != 1 {
		t.Errorf("disconnections +%v, want +1", d)
	}
}
