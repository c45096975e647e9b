// Package redisx connects to the Redis that replicas share (the bindings'
// redis: section) for WebSocket connections and rate limits: one node, a
// Sentinel-watched master, or a cluster, with or without TLS. Every call is
// bounded by one timeout, and a circuit breaker makes calls fail at once
// while Redis does not answer, so that a frozen Redis costs a request
// milliseconds, not seconds.
package redisx

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultPrefix starts every key apigw writes unless redis.prefix says
// otherwise.
const DefaultPrefix = "apigw:"

// DefaultTimeout bounds every Redis call unless redis.timeout says
// otherwise.
const DefaultTimeout = 500 * time.Millisecond

// Prefix is prefix, or DefaultPrefix when empty.
func Prefix(prefix string) string {
	if prefix == "" {
		return DefaultPrefix
	}
	return prefix
}

// Config says how to reach Redis.
type Config struct {
	// URL is a redis:// or rediss:// URL: the node itself, or, with
	// MasterName or Addrs, where the credentials, database and TLS come
	// from.
	URL string
	// Addrs are a cluster's seed nodes, or with MasterName the Sentinels.
	Addrs []string
	// MasterName is the master the Sentinels watch.
	MasterName       string
	SentinelPassword string
	// Timeout bounds every call (DefaultTimeout when 0).
	Timeout time.Duration
}

// ErrUnavailable is what a call returns at once while the breaker is open.
var ErrUnavailable = errors.New("redis is unavailable (failing fast until it answers again)")

// Client is a Redis client with a circuit breaker.
type Client struct {
	redis.UniversalClient
	breaker *breaker
}

// Dial connects and checks that Redis answers.
func Dial(ctx context.Context, c Config) (*Client, error) {
	opt, err := universalOptions(c)
	if err != nil {
		return nil, err
	}
	rdb := redis.NewUniversalClient(opt)
	b := &breaker{threshold: 3, cooldown: 2 * time.Second, timeout: opt.ReadTimeout}
	rdb.AddHook(b)
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("redis %v: %w", opt.Addrs, err)
	}
	return &Client{UniversalClient: rdb, breaker: b}, nil
}

func universalOptions(c Config) (*redis.UniversalOptions, error) {
	opt := &redis.UniversalOptions{Addrs: c.Addrs, MasterName: c.MasterName, SentinelPassword: c.SentinelPassword}
	if c.URL != "" {
		u, err := redis.ParseURL(c.URL)
		if err != nil {
			return nil, fmt.Errorf("redis url: %w", err)
		}
		opt.Username, opt.Password, opt.DB, opt.TLSConfig = u.Username, u.Password, u.DB, u.TLSConfig
		if len(opt.Addrs) == 0 {
			opt.Addrs = []string{u.Addr}
		}
		if opt.TLSConfig != nil && (len(c.Addrs) > 0 || c.MasterName != "") {
			opt.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12} // the nodes' own names
		}
	}
	if len(opt.Addrs) == 0 {
		return nil, errors.New("redis: give url, or addrs (a cluster's nodes, or Sentinels with master_name)")
	}
	// A cluster even when one seed is given: the client learns the rest.
	opt.IsClusterMode = c.MasterName == "" && len(c.Addrs) > 0
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	// go-redis ignores context deadlines unless told, and its own read
	// timeout defaults to 3 s: every bound is the one timeout here.
	opt.ContextTimeoutEnabled = true
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout, opt.PoolTimeout = timeout, timeout, timeout, timeout
	opt.MaxRetries = -1 // a retry doubles the wait for a Redis that does not answer
	// The pool is a hard ceiling (go-redis documents PoolSize as a base it
	// may dial past): a Redis that stalls under a flood of requests holds
	// at most these connections, and a request past them waits PoolTimeout
	// for a turn and then fails (the limiter fails open).
	opt.PoolSize = 10 * runtime.GOMAXPROCS(0)
	opt.MaxActiveConns = opt.PoolSize
	return opt, nil
}

// Subscribe subscribes to channels on any topology. On a cluster it uses
// sharded pub/sub (SSUBSCRIBE), whose messages stay on the channel's shard
// and whose PUBLISH counts receivers truthfully (a plain PUBLISH counts only
// the receiving node's): the channels must then share a hash tag, as
// Channel makes them.
func (c *Client) Subscribe(ctx context.Context, channels ...string) *redis.PubSub {
	if cc, ok := c.UniversalClient.(*redis.ClusterClient); ok {
		return cc.SSubscribe(ctx, channels...)
	}
	return c.UniversalClient.Subscribe(ctx, channels...)
}

// Publish publishes to a channel Subscribe subscribes to.
func (c *Client) Publish(ctx context.Context, channel string, message any) *redis.IntCmd {
	if cc, ok := c.UniversalClient.(*redis.ClusterClient); ok {
		return cc.SPublish(ctx, channel, message)
	}
	return c.UniversalClient.Publish(ctx, channel, message)
}

// Channel names a channel of a bus: every channel of one bus shares the
// hash tag {bus}, so that a cluster keeps them on one shard.
func Channel(bus, name string) string { return "{" + bus + "}" + name }

// OnRecover runs f (in a goroutine) each time Redis answers again after
// the breaker had opened.
func (c *Client) OnRecover(f func()) {
	c.breaker.mu.Lock()
	c.breaker.recover = append(c.breaker.recover, f)
	c.breaker.mu.Unlock()
}

// OnTrip runs f (in a goroutine) each time the breaker opens: Redis
// stopped answering.
func (c *Client) OnTrip(f func()) {
	c.breaker.mu.Lock()
	c.breaker.trip = append(c.breaker.trip, f)
	c.breaker.mu.Unlock()
}

// Answering reports whether Redis answered since the breaker last opened
// (for a gauge: Healthy turns true again each time a cooldown ends).
func (c *Client) Answering() bool {
	c.breaker.mu.Lock()
	defer c.breaker.mu.Unlock()
	return !c.breaker.opened
}

// Healthy reports whether calls go to Redis (the breaker is closed).
func (c *Client) Healthy() bool { return !c.breaker.isOpen(time.Now()) }

// breaker opens after threshold consecutive failures to reach Redis:
// calls then fail at once with ErrUnavailable for cooldown; the next call
// after it goes to Redis, and its success closes the breaker again.
type breaker struct {
	threshold int
	cooldown  time.Duration
	timeout   time.Duration // the whole of one call: a turn in the pool, a dial, the answer

	mu        sync.Mutex
	failures  int
	openUntil time.Time
	opened    bool // open since the last success
	recover   []func()
	trip      []func()
}

func (b *breaker) isOpen(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return now.Before(b.openUntil)
}

// record counts one call's outcome. Redis's own answers (a missing key, a
// script error) are successes: Redis answered.
func (b *breaker) record(err error) {
	var reply redis.Error
	failed := err != nil && !errors.Is(err, redis.Nil) && !errors.As(err, &reply) && !errors.Is(err, context.Canceled)
	b.mu.Lock()
	var announce []func()
	if failed {
		b.failures++
		if b.failures >= b.threshold {
			if !b.opened {
				announce = b.trip
			}
			b.openUntil, b.opened = time.Now().Add(b.cooldown), true
		}
	} else {
		if b.opened {
			announce = b.recover
		}
		b.failures, b.opened = 0, false
	}
	b.mu.Unlock()
	for _, f := range announce {
		go f()
	}
}

// DialHook counts failed dials but never refuses one: once dials have
// failed PoolSize times, go-redis's pool stops dialing for callers and
// probes in the background until a dial succeeds. Refusing that probe while
// the breaker is open kept the pool (and so the breaker) failing after
// Redis was back.
func (b *breaker) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := next(ctx, network, addr)
		if err != nil {
			b.record(err)
		}
		return c, err
	}
}

// bound gives a call one deadline for all of it: go-redis bounds each
// step (a turn in the pool, each of its dial attempts, the read) by the
// timeout on its own, which adds up to several times the timeout.
func (b *breaker) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok && time.Until(d) <= b.timeout || b.timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, b.timeout)
}

func (b *breaker) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if b.isOpen(time.Now()) {
			cmd.SetErr(ErrUnavailable)
			return ErrUnavailable
		}
		ctx, cancel := b.bound(ctx)
		defer cancel()
		err := next(ctx, cmd)
		b.record(err)
		return err
	}
}

func (b *breaker) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if b.isOpen(time.Now()) {
			for _, c := range cmds {
				c.SetErr(ErrUnavailable)
			}
			return ErrUnavailable
		}
		ctx, cancel := b.bound(ctx)
		defer cancel()
		err := next(ctx, cmds)
		b.record(err)
		return err
	}
}
