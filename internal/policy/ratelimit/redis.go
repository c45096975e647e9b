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
	rdb    redis.UniversalClient
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

// NewRedis keeps buckets in Redis (a client redisx dialled, whose timeout
// and circuit breaker bound every call); keys start with prefix. A bucket
// is one key, which its one script touches: nothing needs a hash tag on a
// cluster.
func NewRedis(rdb *redisx.Client, prefix string) *Redis {
	return &Redis{rdb: rdb, prefix: redisx.Prefix(prefix) + "ratelimit:"}
}

// Take implements Store. When Redis fails (or its breaker is open) the
// request is let through with the error: an outage of the shared store must
// not take the API down with it.
func (s *Redis) Take(ctx context.Context, key string, l *Limit) (bool, time.Duration, error) {
	res, err := takeScript.Run(ctx, s.rdb, []string{s.prefix + key}, l.Rate, l.Burst).Int64Slice()
	if err != nil {
		return true, 0, err
	}
	return res[0] == 1, time.Duration(res[1]) * time.Microsecond, nil
}
