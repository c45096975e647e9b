package websocket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/apigw/apigw/internal/redisx"
)

// RedisRegistry shares connections between replicas: each connection's Info
// and owning replica live in Redis under a TTL its replica keeps refreshing
// (so the entries of a replica that died expire), and Send/Disconnect for a
// connection held elsewhere travel to its replica over pub/sub, which
// answers on the caller's own channel.
type RedisRegistry struct {
	local   *Hub
	rdb     *redisx.Client
	replica string
	prefix  string
	ttl     time.Duration
	timeout time.Duration
	log     *slog.Logger

	mu      sync.Mutex
	waiting map[string]chan string
	seq     uint64
}

var _ Registry = (*RedisRegistry)(nil)

type entry struct {
	Replica string `json:"replica"`
	Info    Info   `json:"info"`
	Path    string `json:"path"`
}

// command travels between replicas: a request (Kind send/disconnect/
// broadcast) or a reply (Kind reply, Err "" or "notfound" or a message).
type command struct {
	Kind  string `json:"kind"`
	ReqID string `json:"req,omitempty"`
	From  string `json:"from,omitempty"`
	ID    string `json:"id,omitempty"`
	Path  string `json:"path,omitempty"`
	Op    Opcode `json:"op,omitempty"`
	Data  []byte `json:"data,omitempty"`
	Err   string `json:"err,omitempty"`
}

// NewRedisRegistry starts following the local hub's connections in Redis
// (a client redisx dialled). Stop it with Close.
func NewRedisRegistry(ctx context.Context, rdb *redisx.Client, prefix string, local *Hub, log *slog.Logger) (*RedisRegistry, error) {
	return newRedisRegistry(ctx, rdb, prefix, local, log, 30*time.Second)
}

// registerWait bounds how long an upgrade waits for its entry to reach
// Redis (past it, or while Redis is down, the entry is written by the next
// refresh, and the upgrade goes on), and a closed connection for its entry
// to go.
const registerWait = 100 * time.Millisecond

func newRedisRegistry(ctx context.Context, rdb *redisx.Client, prefix string, local *Hub, log *slog.Logger, ttl time.Duration) (*RedisRegistry, error) {
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	r := &RedisRegistry{local: local, rdb: rdb, replica: NewID(), prefix: redisx.Prefix(prefix) + "ws:", ttl: ttl,
		timeout: 3 * time.Second, log: log, waiting: map[string]chan string{}}
	// An entry is written when its connection opens (else by the next
	// refresh, once Redis answers) and deleted when it closes, so that a Get
	// right after a Disconnect through any replica finds nothing (else it
	// expires with its TTL, and a Send to it meanwhile is answered "not
	// found" by this replica).
	local.OnAdd = func(c *Conn) { r.briefly(func(ctx context.Context) { r.store(ctx, c) }) }
	local.OnRemove = func(c *Conn) { r.briefly(func(ctx context.Context) { r.rdb.Del(ctx, r.key(c.ID)) }) }
	// Redis answering again may have lost its data (a restart): register
	// every connection at once rather than at the next refresh.
	rdb.OnRecover(func() { r.storeAll(context.Background()) })
	// A registry without a mark is new, not emptied: nothing is being
	// rebuilt, so an unknown connection is simply not found. (A Redis that
	// loses its data later loses the mark too, and the first miss or
	// recovery after that sets it to now.)
	r.rdb.SetNX(pctx, r.sinceKey(), time.Now().Add(-r.rebuildWindow()).UnixMilli(), 0)
	sub := rdb.Subscribe(ctx, r.channel(r.replica), r.channel("broadcast"))
	if _, err := sub.Receive(pctx); err != nil {
		sub.Close()
		return nil, fmt.Errorf("redis subscribe: %w", err)
	}
	r.rdb.Set(pctx, r.aliveKey(r.replica), 1, aliveTTL)
	go r.listen(ctx, sub)
	go r.refresh(ctx)
	return r, nil
}

// Replica is this process's ID in the registry.
func (r *RedisRegistry) Replica() string { return r.replica }

func (r *RedisRegistry) key(id string) string { return r.prefix + "conn:" + id }

// channel names a replica's channel (or "broadcast"): all of them share one
// hash tag, so that on a cluster they live on one shard.
func (r *RedisRegistry) channel(replica string) string {
	if replica == "broadcast" {
		return redisx.Channel(r.prefix+"bus", "broadcast")
	}
	return redisx.Channel(r.prefix+"bus", "replica:"+replica)
}

func (r *RedisRegistry) store(ctx context.Context, c *Conn) error {
	info, _ := r.local.Get(ctx, c.ID)
	b, _ := json.Marshal(entry{Replica: r.replica, Info: info, Path: c.Path})
	return r.rdb.Set(ctx, r.key(c.ID), b, r.ttl).Err()
}

// storeAll writes every local connection's entry, and marks when the
// registry's data began if Redis has no mark (it is new, or lost its
// data): lookups that miss within a refresh of that answer "location
// unknown", since every replica has not re-registered yet.
func (r *RedisRegistry) storeAll(ctx context.Context) {
	r.rdb.SetNX(ctx, r.sinceKey(), time.Now().UnixMilli(), 0)
	failed := 0
	var last error
	for _, c := range r.local.Conns() {
		if err := r.store(ctx, c); err != nil {
			failed, last = failed+1, err
		}
	}
	if failed > 0 {
		r.log.Warn("websocket registry: redis writes failed; connections are registered once Redis answers", "failed", failed, "error", last.Error())
	}
}

func (r *RedisRegistry) sinceKey() string { return r.prefix + "since" }

// aliveKey marks a replica as running. A Send for a connection whose
// replica nobody listens for is "not found" only when the mark is gone too:
// while it lasts, the replica is alive and has not (re)subscribed yet, as
// during a Sentinel failover, and the caller should retry.
func (r *RedisRegistry) aliveKey(replica string) string { return r.prefix + "replica:" + replica }

// The mark's lifetime, and how often a replica renews it: a replica that
// dies is known dead within aliveTTL, and one cut off from Redis for less
// (a Sentinel failover takes its down-after time and a second or two) is
// not taken for dead.
const (
	aliveTTL   = 5 * time.Second
	aliveEvery = time.Second
)

// briefly runs a write the data path waits for, within registerWait, and
// not at all while Redis is down.
func (r *RedisRegistry) briefly(write func(context.Context)) {
	if !r.rdb.Healthy() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), registerWait)
	defer cancel()
	write(ctx)
}

// rebuildWindow is how long after Redis lost its data every replica has
// re-registered its connections: two refreshes, and a second to spare.
func (r *RedisRegistry) rebuildWindow() time.Duration { return 2*r.ttl/3 + time.Second }

// refresh, while the registry runs, renews this replica's mark every
// aliveEvery and its entries (and their lastActiveAt) every third of their
// TTL.
func (r *RedisRegistry) refresh(ctx context.Context) {
	t := time.NewTicker(aliveEvery)
	defer t.Stop()
	stored := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if !r.rdb.Healthy() {
				continue
			}
			r.rdb.Set(ctx, r.aliveKey(r.replica), 1, aliveTTL)
			if now.Sub(stored) >= r.ttl/3 {
				r.storeAll(ctx)
				stored = now
			}
		}
	}
}

// ErrLocationUnknown is a connection the registry has no entry for while
// its data is recent (Redis was restarted or emptied): the replica that
// holds it may not have re-registered yet, so the caller should retry.
var ErrLocationUnknown = errors.New("the connection's location is not known yet (the registry is being rebuilt); retry")

// missing answers a lookup that found no entry: not found, unless the
// registry's data is younger than two refreshes.
func (r *RedisRegistry) missing(ctx context.Context) error {
	since, err := r.rdb.Get(ctx, r.sinceKey()).Int64()
	switch {
	case errors.Is(err, redis.Nil):
		r.rdb.SetNX(ctx, r.sinceKey(), time.Now().UnixMilli(), 0)
		return ErrLocationUnknown
	case err != nil:
		return fmt.Errorf("websocket registry: %w", err)
	case time.Since(time.UnixMilli(since)) < r.rebuildWindow():
		return ErrLocationUnknown
	}
	return ErrNotFound
}

func (r *RedisRegistry) listen(ctx context.Context, sub *redis.PubSub) {
	defer sub.Close()
	ch := sub.Channel()
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-ch:
			if !ok {
				return
			}
			var cmd command
			if json.Unmarshal([]byte(m.Payload), &cmd) != nil {
				continue
			}
			go r.handle(ctx, cmd)
		}
	}
}

func (r *RedisRegistry) handle(ctx context.Context, cmd command) {
	var err error
	switch cmd.Kind {
	case "reply":
		r.mu.Lock()
		w := r.waiting[cmd.ReqID]
		r.mu.Unlock()
		if w != nil {
			w <- cmd.Err
		}
		return
	case "broadcast":
		if cmd.From != r.replica {
			r.local.Broadcast(ctx, cmd.Path, cmd.Op, cmd.Data)
		}
		return
	case "send":
		err = r.local.Send(ctx, cmd.ID, cmd.Op, cmd.Data)
	case "disconnect":
		err = r.local.Disconnect(ctx, cmd.ID)
	default:
		return
	}
	reply := command{Kind: "reply", ReqID: cmd.ReqID}
	switch {
	case errors.Is(err, ErrNotFound):
		reply.Err = "notfound"
	case errors.Is(err, ErrQueueFull):
		reply.Err = "queuefull"
	case err != nil:
		reply.Err = err.Error()
	}
	b, _ := json.Marshal(reply)
	r.rdb.Publish(ctx, r.channel(cmd.From), b)
}

// lookup finds a connection's entry; ErrNotFound when there is none.
func (r *RedisRegistry) lookup(ctx context.Context, id string) (*entry, error) {
	b, err := r.rdb.Get(ctx, r.key(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, r.missing(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("websocket registry: %w", err)
	}
	var e entry
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("websocket registry: bad entry: %w", err)
	}
	return &e, nil
}

// remote sends a command to the replica that holds id and waits for its
// answer.
func (r *RedisRegistry) remote(ctx context.Context, kind, id string, op Opcode, data []byte) error {
	e, err := r.lookup(ctx, id)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.seq++
	reqID := fmt.Sprintf("%s-%d", r.replica, r.seq)
	w := make(chan string, 1)
	r.waiting[reqID] = w
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.waiting, reqID)
		r.mu.Unlock()
	}()
	b, _ := json.Marshal(command{Kind: kind, ReqID: reqID, From: r.replica, ID: id, Op: op, Data: data})
	n, err := r.rdb.Publish(ctx, r.channel(e.Replica), b).Result()
	if err != nil {
		return fmt.Errorf("websocket registry: %w", err)
	}
	if n == 0 {
		// Nobody listens for that replica. Alive, it is between two
		// subscriptions (a failover): retry. Dead, the connection is gone.
		// The entry stays either way: a live replica still refreshes it,
		// and a dead one's expires.
		if alive, err := r.rdb.Exists(ctx, r.aliveKey(e.Replica)).Result(); err != nil || alive > 0 {
			return ErrLocationUnknown
		}
		return ErrNotFound
	}
	select {
	case res := <-w:
		switch res {
		case "":
			return nil
		case "notfound":
			return ErrNotFound
		case "queuefull":
			return ErrQueueFull
		default:
			return errors.New(res)
		}
	case <-time.After(r.timeout):
		return fmt.Errorf("websocket registry: replica %s did not answer", e.Replica)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Get implements Registry.
func (r *RedisRegistry) Get(ctx context.Context, id string) (Info, error) {
	if info, err := r.local.Get(ctx, id); err == nil {
		return info, nil
	}
	e, err := r.lookup(ctx, id)
	if err != nil {
		return Info{}, err
	}
	return e.Info, nil
}

// Send implements Registry.
func (r *RedisRegistry) Send(ctx context.Context, id string, op Opcode, data []byte) error {
	if err := r.local.Send(ctx, id, op, data); !errors.Is(err, ErrNotFound) {
		return err
	}
	return r.remote(ctx, "send", id, op, data)
}

// Disconnect implements Registry.
func (r *RedisRegistry) Disconnect(ctx context.Context, id string) error {
	if err := r.local.Disconnect(ctx, id); !errors.Is(err, ErrNotFound) {
		return err
	}
	return r.remote(ctx, "disconnect", id, 0, nil)
}

// Broadcast implements Registry: every replica delivers to its own
// connections on the path; the count is this replica's.
func (r *RedisRegistry) Broadcast(ctx context.Context, path string, op Opcode, data []byte) (int, error) {
	n, _ := r.local.Broadcast(ctx, path, op, data)
	b, _ := json.Marshal(command{Kind: "broadcast", From: r.replica, Path: path, Op: op, Data: data})
	if err := r.rdb.Publish(ctx, r.channel("broadcast"), b).Err(); err != nil {
		return n, fmt.Errorf("websocket registry: %w", err)
	}
	return n, nil
}

// Close stops following and drops this replica's entries.
func (r *RedisRegistry) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	keys := []string{r.aliveKey(r.replica)}
	for _, c := range r.local.Conns() {
		keys = append(keys, r.key(c.ID))
	}
	pipe := r.rdb.Pipeline() // a DEL per key: on a cluster they live on different slots
	for _, k := range keys {
		pipe.Del(ctx, k)
	}
	pipe.Exec(ctx)
}
