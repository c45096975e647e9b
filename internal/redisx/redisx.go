// Package redisx connects to the Redis that replicas share (the bindings'
// redis.url): WebSocket connections and rate limits each keep a client.
package redisx

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultPrefix starts every key apigw writes unless redis.prefix says
// otherwise.
const DefaultPrefix = "apigw:"

// Dial connects to a redis:// URL and checks that Redis answers (3 s).
func Dial(ctx context.Context, url string) (*redis.Client, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis url: %w", err)
	}
	rdb := redis.NewClient(opt)
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("redis %s: %w", opt.Addr, err)
	}
	return rdb, nil
}

// Prefix is prefix, or DefaultPrefix when empty.
func Prefix(prefix string) string {
	if prefix == "" {
		return DefaultPrefix
	}
	return prefix
}
