// Package ratelimit enforces x-yc-apigateway-rate-limit (digest §5.3): one
// token bucket per scope (the gateway, a path item or an operation), not
// per client, as the cloud counts. The buckets live in a Store: in the
// process (the default), or in Redis, so that replicas share one budget.
package ratelimit

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/apigw/apigw/internal/yamlx"
	"go.yaml.in/yaml/v3"
)

// Limit is a budget: Burst requests at once, refilled at Rate per second.
type Limit struct {
	Rate  float64
	Burst int
	// Text is the limit as the spec wrote it ("10 rps", "100 rpm").
	Text string
}

// Compile reads a RateLimitObject ($ref resolved): allRequests with
// exactly one of rps and rpm, a positive integer.
func Compile(n *yaml.Node, path string) (*Limit, yamlx.List) {
	if n == nil {
		return nil, nil
	}
	var s struct {
		AllRequests *struct {
			RPS *int `yaml:"rps"`
			RPM *int `yaml:"rpm"`
		} `yaml:"allRequests"`
	}
	errs := yamlx.DecodeExtension(n, &s, path)
	if errs.Err() != nil {
		return nil, errs
	}
	ar := yamlx.Get(n, "allRequests")
	switch {
	case s.AllRequests == nil:
		errs.Errorf(n, path, "needs allRequests: {rps: N} or {rpm: N}")
	case (s.AllRequests.RPS == nil) == (s.AllRequests.RPM == nil):
		errs.Errorf(ar, yamlx.Join(path, "allRequests"), "needs exactly one of rps and rpm")
	case s.AllRequests.RPS != nil && *s.AllRequests.RPS <= 0, s.AllRequests.RPM != nil && *s.AllRequests.RPM <= 0:
		errs.Errorf(ar, yamlx.Join(path, "allRequests"), "the limit must be a positive number of requests")
	case s.AllRequests.RPS != nil:
		return &Limit{Rate: float64(*s.AllRequests.RPS), Burst: *s.AllRequests.RPS, Text: strconv.Itoa(*s.AllRequests.RPS) + " rps"}, errs
	default:
		return &Limit{Rate: float64(*s.AllRequests.RPM) / 60, Burst: *s.AllRequests.RPM, Text: strconv.Itoa(*s.AllRequests.RPM) + " rpm"}, errs
	}
	return nil, errs
}

// Store keeps the buckets. Take spends one token of the bucket key, which
// holds the budget l, and says how long until one is back when none is
// left.
type Store interface {
	Take(ctx context.Context, key string, l *Limit) (ok bool, retryAfter time.Duration, err error)
}

// Local is the in-process Store. Its buckets outlive snapshots: a reload
// that keeps a limit keeps its count (the key names the limit too).
//
// Per-client limits make a bucket per client: buckets that have refilled
// completely hold no information and are dropped when the map has doubled
// since the last sweep, so that a scan of many addresses cannot grow it
// without bound.
type Local struct {
	mu      sync.Mutex
	buckets map[string]*bucket
	sweepAt int
	now     func() time.Time
}

type bucket struct {
	mu     sync.Mutex
	tokens float64
	last   time.Time
	full   time.Duration // how long an empty bucket takes to refill
}

// minSweep is the map size below which no sweep runs.
const minSweep = 1024

// NewLocal returns an empty in-process store.
func NewLocal() *Local {
	return &Local{buckets: map[string]*bucket{}, sweepAt: minSweep, now: time.Now}
}

// Len is the number of buckets held (tests, metrics).
func (s *Local) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.buckets)
}

// sweep drops the buckets that have refilled completely. s.mu is held.
func (s *Local) sweep(now time.Time) {
	for k, b := range s.buckets {
		b.mu.Lock()
		idle := now.Sub(b.last) >= b.full
		b.mu.Unlock()
		if idle {
			delete(s.buckets, k)
		}
	}
	s.sweepAt = max(minSweep, 2*len(s.buckets))
}

// Take implements Store.
func (s *Local) Take(_ context.Context, key string, l *Limit) (bool, time.Duration, error) {
	s.mu.Lock()
	b := s.buckets[key]
	if b == nil {
		if len(s.buckets) >= s.sweepAt {
			s.sweep(s.now())
		}
		b = &bucket{tokens: float64(l.Burst), last: s.now(), full: time.Duration(float64(l.Burst) / l.Rate * float64(time.Second))}
		s.buckets[key] = b
	}
	s.mu.Unlock()
	now := s.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tokens = math.Min(float64(l.Burst), b.tokens+now.Sub(b.last).Seconds()*l.Rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0, nil
	}
	return false, time.Duration((1 - b.tokens) / l.Rate * float64(time.Second)), nil
}

// Scope is one compiled limit in one place of the spec.
type Scope struct {
	Key   string // where it applies and what it is, e.g. "op:GET /a|10 rps"
	Limit *Limit
}

// NewScope names the bucket of limit l at a place ("gateway", "path /a",
// "operation GET /a").
func NewScope(place string, l *Limit) *Scope {
	return &Scope{Key: fmt.Sprintf("%s|%s", place, l.Text), Limit: l}
}

// RetryAfter is the Retry-After value for a wait: whole seconds, at least 1.
func RetryAfter(d time.Duration) string {
	s := int(math.Ceil(d.Seconds()))
	if s < 1 {
		s = 1
	}
	return strconv.Itoa(s)
}
