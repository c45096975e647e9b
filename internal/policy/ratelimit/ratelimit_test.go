package ratelimit

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

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
	a, err := NewRedis(ctx, url, "apigw-test-"+time.Now().Format("150405.000000")+":")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("Redis: %v", err)
		}
		t.Skipf("no Redis: %v", err)
	}
	defer a.Close()
	b, err := NewRedis(ctx, url, a.prefix[:len(a.prefix)-len("ratelimit:")])
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
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

// TestLocalSweep: buckets of clients that went quiet are dropped, so that
// many client keys cannot grow the store without bound.
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
	if n := s.Len(); n > 2*minSweep {
		t.Errorf("%d buckets held after 5000 clients came and went, want at most %d", n, 2*minSweep)
	}
	// A client still within its window keeps its count.
	for i := 0; i < 10; i++ {
		s.Take(context.Background(), "busy", l)
	}
	if ok, _, _ := s.Take(context.Background(), "busy", l); ok {
		t.Error("a busy client's bucket was reset")
	}
}
