package websocket

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apigw/apigw/internal/headers"
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

// ManagementAPI serves the connection management REST API of §6.5 (plus a
// broadcast extension) for a registry. With a token, callers must present
// it as a bearer token; without one, only loopback callers are served.
type ManagementAPI struct {
	Registry Registry
	Token    string
	// TokenFunc, if set, gives the current token (a reload may change it).
	TokenFunc func() string
}

const apiPrefix = "/apigateways/websocket/v1/connections/"

// BroadcastPath is the extension's path: POST {"path", "data", "type"}.
const BroadcastPath = "/apigateways/websocket/v1/broadcast"

// status is a google.rpc.Status error body.
type status struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Details []any  `json:"details"`
}

var grpcHTTP = map[int]int{3: 400, 5: 404, 7: 403, 16: 401, 8: 429, 13: 500, 14: 503, 4: 504}

func writeStatus(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(grpcHTTP[code])
	json.NewEncoder(w).Encode(status{Code: code, Message: msg, Details: []any{}})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func (m *ManagementAPI) authorized(w http.ResponseWriter, r *http.Request) bool {
	token := m.Token
	if m.TokenFunc != nil {
		token = m.TokenFunc()
	}
	if token == "" {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			writeStatus(w, 7, "the management API answers only loopback callers unless websocket.management_token is set")
			return false
		}
		return true
	}
	if !headers.HasBearer(r, token) {
		writeStatus(w, 16, "a valid bearer token is required")
		return false
	}
	return true
}

type sendBody struct {
	Data *string `json:"data"`
	Type string  `json:"type"`
	Path string  `json:"path"`
}

// decodeSend reads {"data": base64, "type": TEXT|BINARY}.
func decodeSend(w http.ResponseWriter, r *http.Request) (sendBody, Opcode, []byte, bool) {
	var b sendBody
	raw, err := io.ReadAll(io.LimitReader(r.Body, MaxSend*2))
	if err != nil || json.Unmarshal(raw, &b) != nil || b.Data == nil {
		writeStatus(w, 3, `the body must be {"data": "<base64>", "type": "TEXT"|"BINARY"}`)
		return b, 0, nil, false
	}
	data, err := base64.StdEncoding.DecodeString(*b.Data)
	if err != nil {
		writeStatus(w, 3, "data is not valid Base64")
		return b, 0, nil, false
	}
	if len(data) > MaxSend {
		writeStatus(w, 3, "data is larger than 131072 bytes")
		return b, 0, nil, false
	}
	op := OpBinary
	switch b.Type {
	case "TEXT":
		op = OpText
	case "BINARY", "", "DATA_TYPE_UNSPECIFIED":
	default:
		writeStatus(w, 3, "type must be TEXT or BINARY")
		return b, 0, nil, false
	}
	return b, op, data, true
}

func (m *ManagementAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !m.authorized(w, r) {
		return
	}
	if r.URL.Path == BroadcastPath && r.Method == http.MethodPost {
		b, op, data, ok := decodeSend(w, r)
		if !ok {
			return
		}
		if b.Path == "" {
			writeStatus(w, 3, "path is required")
			return
		}
		n, err := m.Registry.Broadcast(r.Context(), b.Path, op, data)
		if err != nil {
			writeStatus(w, 14, err.Error())
			return
		}
		// delivered: the connections the message was queued for.
		writeJSON(w, map[string]int{"delivered": n})
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, apiPrefix)
	if !ok {
		writeStatus(w, 5, "no such operation")
		return
	}
	id, send := strings.CutSuffix(rest, ":send")
	id = strings.TrimSuffix(id, "/") // {id}/:send, as one client library writes it
	if id == "" || len(id) > 50 || strings.Contains(id, "/") {
		writeStatus(w, 3, "connectionId must be 1 to 50 characters")
		return
	}
	var err error
	switch {
	case send && r.Method == http.MethodPost:
		_, op, data, ok := decodeSend(w, r)
		if !ok {
			return
		}
		err = m.Registry.Send(r.Context(), id, op, data)
		if err == nil {
			// The cloud answers {}; the header says what that means here:
			// the message is queued, in order, for the connection's writer.
			w.Header().Set("X-Apigw-Delivery", "queued")
			writeJSON(w, struct{}{})
			return
		}
	case !send && r.Method == http.MethodGet:
		var info Info
		if info, err = m.Registry.Get(r.Context(), id); err == nil {
			writeJSON(w, info)
			return
		}
	case !send && r.Method == http.MethodDelete:
		if err = m.Registry.Disconnect(r.Context(), id); err == nil {
			writeJSON(w, struct{}{})
			return
		}
	default:
		writeStatus(w, 3, "unsupported method "+r.Method)
		return
	}
	switch {
	case errors.Is(err, ErrNotFound):
		writeStatus(w, 5, "connection "+id+" not found")
	case errors.Is(err, ErrLocationUnknown):
		writeStatus(w, 14, "connection "+id+": "+err.Error())
	case errors.Is(err, ErrQueueFull):
		writeStatus(w, 8, "connection "+id+": its outbound queue is full (the client does not keep up); the message was not queued")
	default:
		writeStatus(w, 14, err.Error())
	}
}
