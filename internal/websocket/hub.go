package websocket

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Info is what the management API's Get answers (§6.5).
type Info struct {
	ID           string    `json:"id"`
	GatewayID    string    `json:"gatewayId"`
	Identity     Identity  `json:"identity"`
	ConnectedAt  time.Time `json:"connectedAt"`
	LastActiveAt time.Time `json:"lastActiveAt"`
}

// Identity of a connection's client.
type Identity struct {
	SourceIP  string `json:"sourceIp"`
	UserAgent string `json:"userAgent"`
}

// ErrNotFound is an unknown or closed connection.
var ErrNotFound = errors.New("connection not found")

// Registry finds connections and delivers to them. Hub serves one process;
// a shared implementation lets a management call reach the replica that
// holds the socket.
type Registry interface {
	Get(ctx context.Context, id string) (Info, error)
	Send(ctx context.Context, id string, op Opcode, data []byte) error
	Disconnect(ctx context.Context, id string) error
	// Broadcast queues a message for every connection open on a path
	// (§6.6) and returns how many took it (a full queue refuses it).
	Broadcast(ctx context.Context, path string, op Opcode, data []byte) (int, error)
}

// Hub is the in-process Registry.
type Hub struct {
	// gatewayID is the bindings' gateway_id, which a reload may change
	// while the management API reads it.
	gatewayID atomic.Pointer[string]
	// OnAdd and OnRemove let a shared registry follow the connections (set
	// before the first Add).
	OnAdd, OnRemove func(*Conn)
	mu              sync.RWMutex
	conns           map[string]*Conn
	// observe, when set (the console records), sees every message of the
	// connections added after it is set.
	observe atomic.Pointer[func(c *Conn, in bool, op Opcode, data []byte)]
}

// Observe makes f see every message of the connections added from now on
// (in: from the client); nil stops that for new connections.
func (h *Hub) Observe(f func(c *Conn, in bool, op Opcode, data []byte)) {
	if f == nil {
		h.observe.Store(nil)
		return
	}
	h.observe.Store(&f)
}

var _ Registry = (*Hub)(nil)

// NewHub returns an empty hub.
func NewHub(gatewayID string) *Hub {
	h := &Hub{conns: map[string]*Conn{}}
	h.SetGatewayID(gatewayID)
	return h
}

// SetGatewayID sets the gateway_id that Get reports.
func (h *Hub) SetGatewayID(id string) { h.gatewayID.Store(&id) }

// Add registers a connection until it ends.
func (h *Hub) Add(c *Conn) {
	// Removed when it ends, by whoever ends it: no goroutine waits on it
	// (an idle connection's memory is the budget that matters).
	c.onDone = h.remove
	if f := h.observe.Load(); f != nil {
		c.observe = *f
	}
	h.mu.Lock()
	h.conns[c.ID] = c
	h.mu.Unlock()
	if h.OnAdd != nil {
		h.OnAdd(c)
	}
}

// remove forgets a connection once (OnRemove runs once).
func (h *Hub) remove(c *Conn) {
	h.mu.Lock()
	mine := h.conns[c.ID] == c
	if mine {
		delete(h.conns, c.ID)
	}
	h.mu.Unlock()
	if mine && h.OnRemove != nil {
		h.OnRemove(c)
	}
}

func (h *Hub) conn(id string) (*Conn, error) {
	h.mu.RLock()
	c := h.conns[id]
	h.mu.RUnlock()
	if c == nil {
		return nil, ErrNotFound
	}
	return c, nil
}

// Len is the number of open connections.
func (h *Hub) Len() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.conns)
}

// Get implements Registry.
func (h *Hub) Get(_ context.Context, id string) (Info, error) {
	c, err := h.conn(id)
	if err != nil {
		return Info{}, err
	}
	return Info{ID: c.ID, GatewayID: *h.gatewayID.Load(), Identity: Identity{c.SourceIP, c.UserAgent},
		ConnectedAt: c.ConnectedAt.UTC(), LastActiveAt: c.LastActive().UTC()}, nil
}

// Send implements Registry.
func (h *Hub) Send(_ context.Context, id string, op Opcode, data []byte) error {
	c, err := h.conn(id)
	if err != nil {
		return err
	}
	if err := c.Send(op, data); errors.Is(err, net.ErrClosed) {
		return ErrNotFound
	} else if err != nil {
		return err
	}
	return nil
}

// Disconnect implements Registry: the client sees 1000 with no reason, as
// the cloud sends.
func (h *Hub) Disconnect(_ context.Context, id string) error {
	c, err := h.conn(id)
	if err != nil {
		return err
	}
	c.Close(CloseNormal, "")
	h.remove(c) // at once: a Get right after a Disconnect must not find it
	return nil
}

// Broadcast implements Registry.
func (h *Hub) Broadcast(_ context.Context, path string, op Opcode, data []byte) (int, error) {
	h.mu.RLock()
	var targets []*Conn
	for _, c := range h.conns {
		if c.Path == path {
			targets = append(targets, c)
		}
	}
	h.mu.RUnlock()
	n := 0
	for _, c := range targets {
		if c.Send(op, data) == nil {
			n++
		}
	}
	return n, nil
}

// Conns returns the open connections.
func (h *Hub) Conns() []*Conn {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make([]*Conn, 0, len(h.conns))
	for _, c := range h.conns {
		out = append(out, c)
	}
	return out
}

// CloseAll closes every connection (gateway shutdown: 1001).
func (h *Hub) CloseAll(code int, reason string) {
	h.mu.RLock()
	conns := make([]*Conn, 0, len(h.conns))
	for _, c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.RUnlock()
	for _, c := range conns {
		c.Close(code, reason)
	}
}

// MaxSend is the largest Send payload (131072 bytes, §6.5).
const MaxSend = 128 << 10
