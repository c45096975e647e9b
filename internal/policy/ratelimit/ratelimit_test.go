package ratelimit

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apigw/apigw/internal/redisx"
	"github.com/apigw/apigw/internal/redisx/redistest"
	"go.yaml.in/yaml/v3"
)

func node(t *testing.T, src string) *yaml.Node {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		t.Fatal(err)
	}
	return n.Content[0]
}

func TestCompile(t *testing.T) {
	tests := []struct {
		src     string
		rate    float64
		burst   int
		wantErr string
	}{
		{src: "{allRequests: {rps: 10}}", rate: 10, burst: 10},
		{src: "{allRequests: {rpm: 120}}", rate: 2, burst: 120},
		{src: "{allRequests: {rps: 1, rpm: 60}}", wantErr: "exactly one of rps and rpm"},
		{src: "{allRequests: {}}", wantErr: "exactly one of rps and rpm"},
		{src: "{allRequests: {rps: 0}}", wantErr: "positive"},
		{src: "{allRequests: {rps: many}}", wantErr: "rl.allRequests.rps"},
		{src: "{}", wantErr: "needs allRequests"},
		{src: "{allRequests: {rps: 1}, burst: 5}", rate: 1, burst: 1}, // ignored, with a warning
	}
	for _, tt := range tests {
		l, errs := Compile(node(t, tt.src), "rl")
		if tt.wantErr != "" {
			if errs.Err() == nil || !strings.Contains(errs.Error(), tt.wantErr) {
				t.Errorf("%s: errors %v, want %q", tt.src, errs, tt.wantErr)
			}
			continue
		}
		if l == nil || l.Rate != tt.rate || l.Burst != tt.burst {
			t.Errorf("%s: %+v (%v), want rate %v burst %d", tt.src, l, errs, tt.rate, tt.burst)
		}
	}
}

func TestLocalTokenBucket(t *testing.T) {
	now := time.Unix(1000, 0)
	s := NewLocal()
	s.now = func() time.Time { return now }
	l := &Limit{Rate: 2, Burst: 2, Text: "2 rps"}
	take := func() (bool, time.Duration) {
		ok, wait, err := s.Take(context.Background(), "k", l)
		if err != nil {
			t.Fatal(err)
		}
		return ok, wait
	}
	if ok, _ := take(); !ok {
		t.Fatal("first request refused")
	}
	if ok, _ := take(); !ok {
		t.Fatal("second request (the burst) refused")
	}
	ok, wait := take()
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("third: ok=%v wait=%v, want refused, 500ms", ok, wait)
	}
	now = now.Add(500 * time.Millisecond)
	if ok, _ := take(); !ok {
		t.Fatal("refilled token refused")
	}
	now = now.Add(time.Hour)
	for i := 0; i < 2; i++ {
		if ok, _ := take(); !ok {
			t.Fatalf("after an idle hour, request %d refused", i)
		}
	}
	if ok, _ := take(); ok {
		t.Fatal("the bucket holds more than its burst after idling")
	}
	if RetryAfter(wait) != "1" || RetryAfter(2100*time.Millisecond) != "3" {
		t.Errorf("RetryAfter = %s, %s", RetryAfter(wait), RetryAfter(2100*time.Millisecond))
	}
}

// TestRedisShared: two stores on one real Redis (two replicas) share a
// bucket: together they admit the burst, not twice it.
func TestRedisShared(t *testing.T) {
	url := os.Getenv("APIGW_TEST_REDIS")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	ctx := context.Background()
	dial := func() *redisx.Client {
		rdb, err := redisx.Dial(ctx, redisx.Config{URL: url})
		if err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("Redis: %v", err)
			}
			t.Skipf("no Redis: %v", err)
		}
		t.Cleanup(func() { rdb.Close() })
		return rdb
	}
	prefix := "apigw-test-" + time.Now().Format("150405.000000") + ":"
	a, b := NewRedis(dial(), prefix), NewRedis(dial(), prefix)
	l := &Limit{Rate: 1, Burst: 5, Text: "5 rpm-ish"}
	admitted := 0
	var lastWait time.Duration
	for i := 0; i < 10; i++ {
		s := a
		if i%2 == 1 {
			s = b
		}
		ok, wait, err := s.Take(ctx, "scope", l)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			admitted++
		} else {
			lastWait = wait
		}
	}
	if admitted != 5 {
		t.Errorf("two replicas admitted %d of 10, want the shared burst of 5", admitted)
	}
	if lastWait <= 0 || lastWait > time.Second {
		t.Errorf("wait = %v, want up to 1s at 1 token/s", lastWait)
	}
}

// TestSweepIdle: when requests stop, the timed sweep empties the store of
// refilled buckets, a batch at a time, and keeps those still counting.
func TestSweepIdle(t *testing.T) {
	now := time.Unix(1000, 0)
	s := NewLocal()
	s.now = func() time.Time { return now }
	slow := &Limit{Rate: 1.0 / 60, Burst: 1} // refills in a minute
	fast := &Limit{Rate: 10, Burst: 10}      // refills in a second
	s.Take(context.Background(), "quiet-but-counting", slow)
	for i := 0; i < 10_000; i++ {
		s.Take(context.Background(), "client-"+strconv.Itoa(i), fast)
	}
	if got := s.SweepIdle(); got != 0 {
		t.Errorf("swept %d buckets that are still refilling", got)
	}
	now = now.Add(2 * time.Second)
	total := 0
	for i := 0; i < 10; i++ {
		total += s.SweepIdle()
	}
	if total != 10_000 || s.Len() != 1 {
		t.Errorf("swept %d, %d held; want the 10,000 refilled buckets gone and the counting one kept", total, s.Len())
	}
	if ok, _, _ := s.Take(context.Background(), "quiet-but-counting", slow); ok {
		t.Error("the bucket still refilling lost its count")
	}
}

// TestLocalSweep: buckets of clients that went quiet are dropped as they
// age, so that many client keys cannot grow the store; a busy client keeps
// its count.
func TestLocalSweep(t *testing.T) {
	now := time.Unix(1000, 0)
	s := NewLocal()
	s.now = func() time.Time { return now }
	l := &Limit{Rate: 10, Burst: 10}
	for i := 0; i < 5000; i++ {
		s.Take(context.Background(), "client-"+strconv.Itoa(i), l)
		if i%100 == 0 {
			now = now.Add(time.Second) // older clients' buckets refill
		}
	}
	if n := s.Len(); n > 200 {
		t.Errorf("%d buckets held after 5000 clients came and went, want at most the last second's", n)
	}
	// A client still within its window keeps its count.
	for i := 0; i < 10; i++ {
		s.Take(context.Background(), "busy", l)
	}
	if ok, _, _ := s.Take(context.Background(), "busy", l); ok {
		t.Error("a busy client's bucket was reset")
	}
}

// TestLocalCap: past the cap the least recently used bucket goes, however
// fast new clients arrive.
func TestLocalCap(t *testing.T) {
	s := NewLocal()
	s.SetMax(100)
	l := &Limit{Rate: 1, Burst: 1} // nothing refills during the test
	s.Take(context.Background(), "kept", l)
	for i := 0; i < 1000; i++ {
		s.Take(context.Background(), "client-"+strconv.Itoa(i), l)
		if i%10 == 0 {
			s.Take(context.Background(), "kept", l) // recently used
		}
	}
	if n := s.Len(); n != 100 {
		t.Errorf("%d buckets, want the cap of 100", n)
	}
	if ok, _, _ := s.Take(context.Background(), "kept", l); ok {
		t.Error("the recently used bucket was evicted (its count reset)")
	}
	if ok, _, _ := s.Take(context.Background(), "client-0", l); !ok {
		t.Error("the least recently used bucket was kept")
	}
}

// TestFloodOfKeys: 100,000 requests, each with a new 8 KB key, leave the
// heap within a few MB of where it started: keys are hashed to a fixed
// size and the store is capped.
func TestFloodOfKeys(t *testing.T) {
	s := NewLocal()
	// A bucket that takes an hour to refill: the cap, not the sweep of
	// refilled buckets, is what bounds the store however slow the run.
	l := &Limit{Rate: 1.0 / 3600, Burst: 1, Text: "1 rph per client"}
	value := make([]byte, 8<<10)
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	for i := 0; i < 100_000; i++ {
		copy(value, strconv.Itoa(i))
		s.Take(context.Background(), "sws p|1 rps per client|"+Key(string(value)), l)
	}
	after := heap()
	grew := (int64(after) - int64(before)) >> 20
	t.Logf("heap %d MB before, %d MB after 100,000 distinct 8 KB keys; %d buckets", before>>20, after>>20, s.Len())
	if grew > 8 {
		t.Errorf("the heap grew by %d MB", grew)
	}
	if s.Len() != DefaultMaxBuckets {
		t.Errorf("%d buckets, want the cap of %d", s.Len(), DefaultMaxBuckets)
	}
}

// BenchmarkFloodOfKeys reports the heap a flood of distinct 8 KB keys
// leaves behind (heap-MB), and the cost of a Take with a hashed key.
func BenchmarkFloodOfKeys(b *testing.B) {
	s := NewLocal()
	l := &Limit{Rate: 1, Burst: 1, Text: "1 rps per client"}
	value := make([]byte, 8<<10)
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	before := m.HeapAlloc
	i := 0
	for b.Loop() {
		i++
		copy(value, strconv.Itoa(i))
		s.Take(context.Background(), "sws p|1 rps per client|"+Key(string(value)), l)
	}
	runtime.GC()
	runtime.ReadMemStats(&m)
	b.ReportMetric(float64(int64(m.HeapAlloc)-int64(before))/(1<<20), "heap-MB")
	runtime.KeepAlive(s)
}

// TestRedisFrozen: with Redis frozen (SIGSTOP) a Take fails open within
// the client's timeout, and at once once the breaker has opened; thawed,
// the limit holds again.
func TestRedisFrozen(t *testing.T) {
	srv := redistest.Start(t)
	rdb, err := redisx.Dial(context.Background(), redisx.Config{URL: "redis://" + srv.Addr, Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	s := NewRedis(rdb, "frozen:")
	l := &Limit{Rate: 1, Burst: 1, Text: "1 rps"}
	ctx := context.Background()
	if ok, _, err := s.Take(ctx, "k", l); !ok || err != nil {
		t.Fatalf("first Take: %v %v", ok, err)
	}
	srv.Stop()
	var took []time.Duration
	for i := 0; i < 10; i++ {
		start := time.Now()
		ok, _, err := s.Take(ctx, "k", l)
		took = append(took, time.Since(start))
		if !ok || err == nil {
			t.Fatalf("Take %d with Redis frozen: ok=%v err=%v, want let through with the error", i, ok, err)
		}
	}
	t.Logf("Takes with Redis frozen: %v", took)
	if took[0] > time.Second || took[len(took)-1] > 20*time.Millisecond {
		t.Errorf("Takes with Redis frozen took %v", took)
	}
	srv.Cont()
	waitTaken(t, s, l)

	// A flood that arrives all at once, before the breaker opens: the
	// client never holds more connections than its pool.
	srv.Stop()
	var wg sync.WaitGroup
	for i := 0; i < 300; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); s.Take(ctx, "k", l) }()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	var most uint32
	for sampling := true; sampling; {
		select {
		case <-done:
			sampling = false
		case <-time.After(5 * time.Millisecond):
		}
		most = max(most, rdb.PoolStats().TotalConns)
	}
	t.Logf("300 concurrent Takes with Redis frozen: at most %d connections", most)
	if pool := uint32(10 * runtime.GOMAXPROCS(0)); most > pool {
		t.Errorf("%d connections to a frozen Redis, want at most the pool's %d", most, pool)
	}
	srv.Cont()
	waitTaken(t, s, l)
}

// waitTaken waits until Redis answers again and the bucket is spent.
func waitTaken(t *testing.T, s Store, l *Limit) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ok, _, err := s.Take(ctx, "k", l)
		if err == nil && !ok {
			break // Redis answers, and the bucket is spent
		}
		if time.Now().After(deadline) {
			t.Fatalf("the limit did not hold again after the thaw: %v %v", ok, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
