package websocket

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/apigw/apigw/internal/redisx"
	"github.com/apigw/apigw/internal/redisx/redistest"
)

// TestRedisTrouble: with the shared Redis frozen (SIGSTOP), management
// calls answer within the timeout and then at once (the breaker), and new
// WebSocket upgrades do not wait for it; thawed, the connections are
// registered again. After Redis comes back empty, a connection held by
// another replica is "location unknown, retry" (503), not "not found",
// until its replica has re-registered it.
func TestRedisTrouble(t *testing.T) {
	srv := redistest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	replica := func() (*Hub, *RedisRegistry) {
		rdb, err := redisx.Dial(ctx, redisx.Config{URL: "redis://" + srv.Addr, Timeout: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rdb.Close() })
		hub := NewHub("gw")
		reg, err := newRedisRegistry(ctx, rdb, "trouble:", hub, log, 3*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return hub, reg
	}
	hubA, _ := replica()
	_, regB := replica()
	wsA, _ := echoServer(t, hubA, DefaultOptions)
	c, _ := dial(t, wsA.URL)
	defer c.CloseNow()
	waitFor(t, func() bool { return hubA.Len() == 1 })
	id := hubA.Conns()[0].ID
	if err := regB.Send(ctx, id, OpText, []byte("through B")); err != nil {
		t.Fatalf("cross-replica Send with Redis up: %v", err)
	}

	srv.Stop()
	var calls []time.Duration
	for i := 0; i < 10; i++ {
		start := time.Now()
		err := regB.Send(ctx, id, OpText, []byte("frozen"))
		calls = append(calls, time.Since(start))
		if err == nil || errors.Is(err, ErrNotFound) {
			t.Fatalf("Send with Redis frozen: %v, want an unavailable error", err)
		}
	}
	t.Logf("management Sends with Redis frozen took %v", calls)
	for i, d := range calls {
		if d > time.Second {
			t.Errorf("Send %d took %v", i, d)
		}
	}
	if calls[len(calls)-1] > 20*time.Millisecond {
		t.Errorf("the breaker does not fail fast: the last Send took %v", calls[len(calls)-1])
	}
	start := time.Now()
	c2, _ := dial(t, wsA.URL)
	defer c2.CloseNow()
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("an upgrade with Redis frozen took %v", d)
	}
	waitFor(t, func() bool { return hubA.Len() == 2 })
	id2 := ""
	for _, cc := range hubA.Conns() {
		if cc.ID != id {
			id2 = cc.ID
		}
	}

	srv.Cont()
	// The connection accepted during the outage is registered once Redis
	// answers again.
	deadline := time.Now().Add(8 * time.Second)
	for regB.Send(ctx, id2, OpText, []byte("after the thaw")) != nil {
		if time.Now().After(deadline) {
			t.Fatal("the connection accepted while Redis was frozen never became reachable from the other replica")
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Redis loses its data: the other replica answers "location unknown"
	// until A has re-registered, then delivers again.
	if _, err := srv.Do("FLUSHALL"); err != nil {
		t.Fatal(err)
	}
	if err := regB.Send(ctx, id, OpText, []byte("x")); !errors.Is(err, ErrLocationUnknown) {
		t.Errorf("Send right after Redis lost its data: %v, want ErrLocationUnknown", err)
	}
	deadline = time.Now().Add(8 * time.Second)
	for regB.Send(ctx, id, OpText, []byte("re-registered")) != nil {
		if time.Now().After(deadline) {
			t.Fatal("the connection was never re-registered")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// An ID nobody holds is not found once the registry has settled.
	time.Sleep(3 * time.Second)
	if err := regB.Send(ctx, "nosuchconnection", OpText, []byte("x")); !errors.Is(err, ErrNotFound) {
		t.Errorf("an unknown connection after the registry settled: %v, want ErrNotFound", err)
	}
}

// TestReplicaNotListening: a Send for a connection whose replica does not
// listen is "retry" (503) while that replica's mark lives, since it may be
// between two subscriptions (a failover), and "not found" once the mark is
// gone (it died); the entry is never deleted by another replica, so a
// replica that comes back is reachable again at once.
func TestReplicaNotListening(t *testing.T) {
	srv := redistest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rdb, err := redisx.Dial(ctx, redisx.Config{URL: "redis://" + srv.Addr})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	regB, err := newRedisRegistry(ctx, rdb, "quiet:", NewHub("gw"), log, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// Replica A as Redis sees it while A is cut off: its entry and its
	// mark, and nobody subscribed to its channel.
	entryKey, mark := regB.key("c1"), regB.aliveKey("replica-a")
	rdb.Set(ctx, entryKey, `{"replica":"replica-a","path":"/ws"}`, time.Minute)
	rdb.Set(ctx, mark, 1, aliveTTL)
	if err := regB.Send(ctx, "c1", OpText, []byte("x")); !errors.Is(err, ErrLocationUnknown) {
		t.Errorf("Send while the replica's mark lives: %v, want ErrLocationUnknown", err)
	}
	rdb.Del(ctx, mark) // the mark expired: the replica is dead
	if err := regB.Send(ctx, "c1", OpText, []byte("x")); !errors.Is(err, ErrNotFound) {
		t.Errorf("Send once the mark is gone: %v, want ErrNotFound", err)
	}
	if n, _ := rdb.Exists(ctx, entryKey).Result(); n != 1 {
		t.Error("another replica deleted the entry; it must expire instead")
	}
	// This replica's own mark is renewed while it runs.
	if ttl, _ := rdb.PTTL(ctx, regB.aliveKey(regB.Replica())).Result(); ttl <= 0 || ttl > aliveTTL {
		t.Errorf("this replica's mark: TTL %v, want up to %v", ttl, aliveTTL)
	}
	regB.Close()
	if n, _ := rdb.Exists(ctx, regB.aliveKey(regB.Replica())).Result(); n != 0 {
		t.Error("a replica that closes leaves its mark")
	}
}
