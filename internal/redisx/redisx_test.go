package redisx

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apigw/apigw/internal/redisx/redistest"
)

// TestOptions: each topology becomes the client go-redis's universal
// client picks for it, with TLS from rediss://, credentials from the URL,
// and one timeout on everything.
func TestOptions(t *testing.T) {
	for _, tt := range []struct {
		name    string
		c       Config
		addrs   int
		cluster bool
		master  string
		tls     bool
		pass    string
	}{
		{"one node", Config{URL: "redis://u:p@10.0.0.1:6379/2"}, 1, false, "", false, "p"},
		{"one node over TLS", Config{URL: "rediss://10.0.0.1:6380"}, 1, false, "", true, ""},
		{"a cluster from one seed", Config{URL: "rediss://:secret@ignored:1", Addrs: []string{"10.0.0.1:6379"}}, 1, true, "", true, "secret"},
		{"Sentinel", Config{Addrs: []string{"10.0.0.1:26379", "10.0.0.2:26379"}, MasterName: "mymaster"}, 2, false, "mymaster", false, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o, err := universalOptions(tt.c)
			if err != nil {
				t.Fatal(err)
			}
			if len(o.Addrs) != tt.addrs || o.IsClusterMode != tt.cluster || o.MasterName != tt.master || (o.TLSConfig != nil) != tt.tls || o.Password != tt.pass {
				t.Errorf("options %+v", o)
			}
			if o.MaxActiveConns == 0 || o.MaxActiveConns != o.PoolSize {
				t.Errorf("connections unbounded: pool %d, active %d", o.PoolSize, o.MaxActiveConns)
			}
			if !o.ContextTimeoutEnabled || o.ReadTimeout != DefaultTimeout || o.DialTimeout != DefaultTimeout || o.MaxRetries != -1 {
				t.Errorf("timeouts: context %v, read %v, dial %v, retries %d", o.ContextTimeoutEnabled, o.ReadTimeout, o.DialTimeout, o.MaxRetries)
			}
		})
	}
	if _, err := universalOptions(Config{}); err == nil {
		t.Error("no address accepted")
	}
	if o, _ := universalOptions(Config{URL: "redis://x:1", Timeout: 2 * time.Second}); o.WriteTimeout != 2*time.Second || o.PoolTimeout != 2*time.Second {
		t.Errorf("redis.timeout not applied: %+v", o)
	}
}

// TestTripAndRecover: a frozen Redis trips the breaker on the third
// failed call (calls then fail at once), and the first answer after the
// thaw recovers it; each transition is announced once.
func TestTripAndRecover(t *testing.T) {
	srv := redistest.Start(t)
	c, err := Dial(context.Background(), Config{URL: "redis://" + srv.Addr, Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	trips, recoveries := make(chan struct{}, 10), make(chan struct{}, 10)
	c.OnTrip(func() { trips <- struct{}{} })
	c.OnRecover(func() { recoveries <- struct{}{} })
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil || !c.Answering() {
		t.Fatalf("a live Redis: %v, answering %v", err, c.Answering())
	}
	srv.Stop()
	for i := 0; i < 5; i++ {
		c.Get(ctx, "k")
	}
	start := time.Now()
	if err := c.Get(ctx, "k").Err(); !errors.Is(err, ErrUnavailable) || time.Since(start) > 10*time.Millisecond {
		t.Errorf("a call with the breaker open: %v after %v, want ErrUnavailable at once", err, time.Since(start))
	}
	if c.Answering() {
		t.Error("Answering while Redis is frozen")
	}
	srv.Cont()
	deadline := time.Now().Add(5 * time.Second)
	for c.Get(ctx, "k").Err() != nil {
		if time.Now().After(deadline) {
			t.Fatal("Redis did not answer after the thaw")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !c.Answering() {
		t.Error("not Answering after a successful call")
	}
	time.Sleep(50 * time.Millisecond) // the announcements run in goroutines
	if len(trips) != 1 || len(recoveries) != 1 {
		t.Errorf("%d trips and %d recoveries announced, want 1 and 1", len(trips), len(recoveries))
	}
}

// TestRecoversUnderLoad: 32 callers keep calling while Redis is frozen and
// thawed three times. No call takes much longer than the timeout, and each
// time Redis answers again within the breaker's cooldown and a timeout or
// two. (Once dials have failed PoolSize times go-redis's pool stops dialing
// and probes in the background; a breaker that refused that probe kept the
// client failing after the thaw, for as long as the load went on.)
func TestRecoversUnderLoad(t *testing.T) {
	// A short accept queue: a frozen Redis's backlog fills and dials fail,
	// as they do once a real outage has lasted a while.
	srv := redistest.Start(t, "tcp-backlog 4")
	const timeout = 100 * time.Millisecond
	c, err := Dial(context.Background(), Config{URL: "redis://" + srv.Addr, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var stop atomic.Bool
	var slowest atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				start := time.Now()
				c.Incr(context.Background(), "n")
				if d := int64(time.Since(start)); d > slowest.Load() {
					slowest.Store(d)
				}
			}
		}()
	}
	defer func() { stop.Store(true); wg.Wait() }()
	for cycle := 0; cycle < 3; cycle++ {
		time.Sleep(300 * time.Millisecond)
		srv.Stop()
		time.Sleep(2500 * time.Millisecond) // the pool's dials fail, the breaker opens and probes
		srv.Cont()
		thaw := time.Now()
		for !c.Answering() && time.Since(thaw) < 10*time.Second {
			time.Sleep(10 * time.Millisecond)
		}
		took := time.Since(thaw)
		t.Logf("cycle %d: answering again %v after the thaw", cycle, took.Round(time.Millisecond))
		if !c.Answering() || took > 4*time.Second {
			t.Fatalf("cycle %d: Redis answers, but the client still fails %v after the thaw (pool %+v)", cycle, took, c.PoolStats())
		}
	}
	// The bound catches a call held past its timeout (a hang is seconds);
	// its slack is the scheduling of 32 callers under -race on a loaded
	// 2-core machine, which was seen to reach 5.4 timeouts while the
	// whole suite ran.
	if d := time.Duration(slowest.Load()); d > 10*timeout {
		t.Errorf("the slowest call took %v with redis.timeout %v", d, timeout)
	} else {
		t.Logf("the slowest call took %v", d)
	}
}
