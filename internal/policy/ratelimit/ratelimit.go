// Package ratelimit enforces x-yc-apigateway-rate-limit (digest §5.3): one
// token bucket per scope (the gateway, a path item or an operation), not
// per client, as the cloud counts. The buckets live in a Store: in the
// process (the default), or in Redis, so that replicas share one budget.
package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash/maphash"
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
// Per-client limits make a bucket per client, and clients are whoever
// sends requests: the store is bounded. A bucket is held under a 128-bit
// hash of its key (about 100 bytes each, whatever the key); at most max
// buckets are held, the least recently used going first; and buckets that
// have refilled completely, which hold no information, are dropped from the
// least recently used end as requests come.
type Local struct {
	mu      sync.Mutex
	max     int // the most buckets held (DefaultMaxBuckets when 0)
	buckets map[bucketKey]*bucket
	lru     bucket // the list's sentinel: lru.next is the most recently used
	seeds   [2]maphash.Seed
	now     func() time.Time
}

// DefaultMaxBuckets bounds the in-process buckets: about 5 MB.
const DefaultMaxBuckets = 50_000

type bucketKey [2]uint64

type bucket struct {
	key        bucketKey
	tokens     float64
	last       int64 // unix nanoseconds
	full       int64 // nanoseconds an empty bucket takes to refill
	prev, next *bucket
}

// NewLocal returns an empty in-process store.
func NewLocal() *Local {
	s := &Local{buckets: map[bucketKey]*bucket{}, seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}, now: time.Now}
	s.lru.next, s.lru.prev = &s.lru, &s.lru
	return s
}

// SetMax sets the most buckets held (0: DefaultMaxBuckets).
func (s *Local) SetMax(n int) {
	s.mu.Lock()
	s.max = n
	s.mu.Unlock()
}

// Len is the number of buckets held (tests, metrics).
func (s *Local) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.buckets)
}

func (s *Local) unlink(b *bucket) {
	b.prev.next, b.next.prev = b.next, b.prev
}

func (s *Local) pushFront(b *bucket) {
	b.prev, b.next = &s.lru, s.lru.next
	s.lru.next.prev = b
	s.lru.next = b
}

// sweepLimit bounds the idle buckets one Take drops, so that no request
// pays for a large sweep.
const sweepLimit = 64

// sweep drops, from the least recently used end, buckets that have
// refilled completely, and any beyond the cap. s.mu is held.
func (s *Local) sweep(now int64) {
	max := s.max
	if max <= 0 {
		max = DefaultMaxBuckets
	}
	for n := 0; s.lru.prev != &s.lru; n++ {
		b := s.lru.prev
		if len(s.buckets) <= max && (n >= sweepLimit || now-b.last < b.full) {
			return
		}
		s.unlink(b)
		delete(s.buckets, b.key)
	}
}

// idleSweepBatch bounds the buckets one timed sweep visits under the lock.
const idleSweepBatch = 4096

// SweepIdle drops buckets that have refilled completely, visiting at most
// idleSweepBatch from the least recently used end, and says how many it
// dropped. Take sweeps as requests come; this empties the store of
// clients that went quiet when none do.
func (s *Local) SweepIdle() int {
	now := s.now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	dropped := 0
	b := s.lru.prev
	for n := 0; n < idleSweepBatch && b != &s.lru; n++ {
		prev := b.prev
		if now-b.last >= b.full {
			s.unlink(b)
			delete(s.buckets, b.key)
			dropped++
		}
		b = prev
	}
	return dropped
}

// SweepEvery calls SweepIdle every d until ctx ends.
func (s *Local) SweepEvery(ctx context.Context, d time.Duration) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.SweepIdle()
		}
	}
}

// Take implements Store.
func (s *Local) Take(_ context.Context, key string, l *Limit) (bool, time.Duration, error) {
	now := s.now().UnixNano()
	k := bucketKey{maphash.String(s.seeds[0], key), maphash.String(s.seeds[1], key)}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[k]
	if b == nil {
		b = &bucket{key: k, tokens: float64(l.Burst), last: now, full: int64(float64(l.Burst) / l.Rate * float64(time.Second))}
		s.buckets[k] = b
	} else {
		s.unlink(b)
	}
	s.pushFront(b)
	b.tokens = math.Min(float64(l.Burst), b.tokens+float64(now-b.last)/float64(time.Second)*l.Rate)
	b.last = now
	ok, wait := true, time.Duration(0)
	if b.tokens >= 1 {
		b.tokens--
	} else {
		ok, wait = false, time.Duration((1-b.tokens)/l.Rate*float64(time.Second))
	}
	s.sweep(now) // b, just used, is at the other end
	return ok, wait, nil
}

// Key makes the client part of a bucket key fixed-size: a hash of it, so
// that a client cannot spend the store's memory (or Redis's) with long or
// ever-new values (an 8 KB API key per request).
func Key(client string) string {
	sum := sha256.Sum256([]byte(client))
	return base64.RawURLEncoding.EncodeToString(sum[:18])
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
