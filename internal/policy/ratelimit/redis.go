package ratelimit

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/apigw/apigw/internal/redisx"
)

// Redis is the Store replicas share: each bucket is a Redis hash updated
// by one script, atomically, with Redis's own clock, so that replicas with
// skewed clocks still agree.
type Redis struct {
	rdb    *redis.Client
	prefix string
}

// takeScript refills and spends one token. KEYS[1] the bucket; ARGV rate
// (tokens per second), burst. Returns {allowed, wait in microseconds}.
var takeScript = redis.NewScript(`
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'us')
local tokens = tonumber(b[1]) or burst
local last = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - last) * rate / 1000000)
local ok, wait = 0, 0
if tokens >= 1 then
  tokens = tokens - 1
  ok = 1
else
  wait = math.ceil((1 - tokens) * 1000000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'us', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {ok, wait}
`)

// NewRedis connects to Redis (a redis:// URL); keys start with prefix.
func NewRedis(ctx context.Context, url, prefix string) (*Redis, error) {
	rdb, err := redisx.Dial(ctx, url)
	if err != nil {
		return nil, err
	}
	return &Redis{rdb: rdb, prefix: redisx.Prefix(prefix) + "ratelimit:"}, nil
}

// Take implements Store.
func (s *Redis) Take(ctx context.Context, key string, l *Limit) (bool, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	res, err := takeScript.Run(ctx, s.rdb, []string{s.prefix + key}, l.Rate, l.Burst).Int64Slice()
	if err != nil {
		return true, 0, err
	}
	return res[0] == 1, time.Duration(res[1]) * time.Microsecond, nil
}

// Close disconnects.
func (s *Redis) Close() error { return s.rdb.Close() }
