package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/apigw/apigw/internal/functions"
	"github.com/apigw/apigw/internal/httperr"
	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/params"
	"github.com/apigw/apigw/internal/router"
	"github.com/apigw/apigw/internal/websocket"
)

// wsRoute holds a path's WebSocket operations (digest §6).
type wsRoute struct {
	connect, message, disconnect *Operation
	accepts                      bool // message present, or push-only paths allowed
}

// The headers of §6.2–6.4 that the gateway sets on WebSocket events; a
// client's own copies are dropped.
const (
	hdrConnID      = "X-Yc-Apigateway-Websocket-Connection-Id"
	hdrEventType   = "X-Yc-Apigateway-Websocket-Event-Type"
	hdrConnectedAt = "X-Yc-Apigateway-Websocket-Connected-At"
	hdrMessageID   = "X-Yc-Apigateway-Websocket-Message-Id"
	hdrCloseCode   = "X-Yc-Apigateway-Websocket-Disconnect-Status-Code"
	hdrCloseReason = "X-Yc-Apigateway-Websocket-Disconnect-Reason"
)

var messageSeq atomic.Uint64

// newMessageID is unique and sorts in time order: the time in nanoseconds
// and a process-wide counter, both fixed-width hex.
func newMessageID() string {
	return fmt.Sprintf("%016x%08x", time.Now().UnixNano(), uint32(messageSeq.Add(1)))
}

// session is one WebSocket connection's context for its events.
type session struct {
	h           *Handler
	s           *Snapshot
	ws          *wsRoute
	route       string
	upgrade     *http.Request // the client's upgrade request
	path        []router.Param
	clientIP    string
	id          string
	connectedAt time.Time
	authorizer  map[string]any
	ctx         context.Context // ends when the gateway shuts down
}

// serveWebSocket handles an upgrade on a WebSocket path: the connect
// authorizers and integration, the 101, the message loop, the disconnect
// call. The connection keeps the snapshot it started on until it ends.
func (h *Handler) serveWebSocket(x *exchange, w http.ResponseWriter, r *http.Request, s *Snapshot, rt *Route, ps []router.Param) {
	x.route, x.typ = rt.Template.Raw, "websocket"
	if err := websocket.Handshake(r); err != nil {
		h.fail(x, httperr.New(http.StatusBadRequest, "not a valid WebSocket handshake (RFC 6455 §4.2.1)"))
		return
	}
	ws := rt.ws
	sess := &session{h: h, s: s, ws: ws, route: rt.Template.Raw, upgrade: slim(r), path: append([]router.Param(nil), ps...),
		clientIP: clientIP(r.RemoteAddr), id: websocket.NewID(), connectedAt: time.Now(), ctx: h.wsContext()}
	if ok, reason := h.wsSlots.take(sess.clientIP); !ok {
		w.Header().Set("Retry-After", "5")
		h.fail(x, httperr.New(http.StatusServiceUnavailable, reason))
		return
	}
	upgraded := false
	defer func() {
		if !upgraded {
			h.wsSlots.release(sess.clientIP) // the session gives it back when it ends
		}
	}()
	if op := ws.connect; op != nil {
		x.opID = op.OperationID
		if op.guard != nil {
			var pr params.Request
			op.Declared.BindTo(&pr, r, sess.path)
			call := integration.Call{RequestID: x.requestID, Route: sess.route, OperationID: op.OperationID, Params: &pr,
				ClientIP: sess.clientIP, RemoteAddr: r.RemoteAddr, Start: sess.connectedAt}
			actx, err := op.guard.Authorize(&x.rec, r, &call)
			if err != nil {
				x.auth = "denied"
				h.fail(x, err) // 401/403, no upgrade
				return
			}
			x.auth, sess.authorizer = "allowed", actx
		}
	}
	extra := http.Header{hdrConnID: {sess.id}}
	if x.rec.canary { // the connection's release, picked once
		extra.Set("X-Yc-Apigateway-Release", "canary")
	}
	var first *eventResponse
	if ws.connect != nil {
		first = sess.call(ws.connect, http.MethodGet, nil, "", &functions.WebSocketEvent{EventType: "CONNECT"})
		if first.status < 200 || first.status > 299 {
			// The connect integration refused: its answer, no upgrade.
			for k, vv := range first.header {
				x.rec.Header()[k] = vv
			}
			x.rec.Header().Set("Content-Length", strconv.Itoa(first.body.Len()))
			x.rec.WriteHeader(first.status)
			x.rec.Write(first.body.Bytes())
			return
		}
		if p := first.header.Get("Sec-Websocket-Protocol"); p != "" {
			extra.Set("Sec-Websocket-Protocol", p)
		}
	}
	b := s.Bindings.WebSocket
	conn, err := websocket.Accept(w, r, sess.id, extra, websocket.Options{
		Limits: websocket.Limits{MaxFrame: int64(b.MaxFrame), MaxMessage: int64(b.MaxMessage)},
		Idle:   b.Idle.D(), Lifetime: b.Lifetime.D(),
		MaxQueued: int(b.MaxQueued), WriteTimeout: b.WriteTimeout.D(),
	}, h.ws.Add)
	if err != nil {
		x.err = err
		return
	}
	x.rec.status = http.StatusSwitchingProtocols
	upgraded = true
	h.wsActive.Add(1)
	// The connection lives on in a goroutine of its own: it starts with a
	// small stack (the handler's has grown), and the handler returns, so
	// the access log and metrics record the upgrade, not the session.
	go sess.run(conn, first)
}

// run serves a connection's messages until it ends, then calls the
// disconnect integration.
func (sess *session) run(conn *websocket.Conn, first *eventResponse) {
	defer sess.h.wsActive.Done()
	defer sess.h.wsSlots.release(sess.clientIP)
	ws := sess.ws
	if first != nil && first.body.Len() > 0 {
		conn.Send(frameType(first.header), first.body.Bytes())
	}
	res := conn.Serve(func(m websocket.Message) {
		if ws.message == nil {
			return // a push-only path drops client messages
		}
		ct := "application/octet-stream"
		if m.Op == websocket.OpText {
			ct = "application/json"
		}
		out := sess.call(ws.message, http.MethodPost, m.Data, ct, &functions.WebSocketEvent{EventType: "MESSAGE", MessageID: newMessageID()})
		if out.status >= 200 && out.status <= 299 && out.body.Len() > 0 {
			conn.Send(frameType(out.header), out.body.Bytes())
		}
	})
	if ws.disconnect != nil {
		sess.call(ws.disconnect, http.MethodDelete, nil, "", &functions.WebSocketEvent{EventType: "DISCONNECT", DisconnectCode: res.Code, DisconnectReason: res.Reason})
	}
}

// slim keeps of the upgrade request what events are made of (method, URL,
// headers, host, peer), not its context and server state: a connection may
// stay open for an hour.
func slim(r *http.Request) *http.Request {
	u := *r.URL
	h := r.Header.Clone()
	// The handshake's own headers mean nothing to the events (the
	// sub-protocol offer stays: the connect integration chooses from it).
	for _, k := range []string{"Sec-Websocket-Key", "Sec-Websocket-Version", "Sec-Websocket-Extensions", "Connection", "Upgrade"} {
		delete(h, k)
	}
	return &http.Request{Method: r.Method, URL: &u, Proto: r.Proto, ProtoMajor: r.ProtoMajor, ProtoMinor: r.ProtoMinor,
		Header: h, Host: r.Host, RemoteAddr: r.RemoteAddr, RequestURI: r.RequestURI, TLS: r.TLS, Body: http.NoBody}
}

// frameType applies §6.3: application/json and text/* answers go as text
// frames, everything else as binary.
func frameType(h http.Header) websocket.Opcode {
	ct := strings.ToLower(h.Get("Content-Type"))
	if strings.HasPrefix(ct, "application/json") || strings.HasPrefix(ct, "text/") {
		return websocket.OpText
	}
	return websocket.OpBinary
}

// eventResponse is an integration's answer to a WebSocket event, buffered
// (bounded by limits.max_response_body).
type eventResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
	limit  int
}

func (e *eventResponse) Header() http.Header { return e.header }
func (e *eventResponse) WriteHeader(code int) {
	if e.status == 0 {
		e.status = code
	}
}
func (e *eventResponse) Write(p []byte) (int, error) {
	if e.status == 0 {
		e.status = http.StatusOK
	}
	if e.body.Len()+len(p) > e.limit {
		return 0, errors.New("integration answer exceeds limits.max_response_body")
	}
	return e.body.Write(p)
}

// call runs an operation's integration for one event: a request like the
// upgrade (its headers, path and query) with the event's method, body and
// X-Yc-Apigateway-Websocket-* headers.
func (sess *session) call(op *Operation, method string, body []byte, contentType string, ev *functions.WebSocketEvent) *eventResponse {
	ev.ConnectionID, ev.ConnectedAt = sess.id, sess.connectedAt
	ctx := sess.ctx
	var cancel context.CancelFunc
	deadline := time.Time{}
	if t := sess.s.execTimeout; t > 0 {
		deadline = time.Now().Add(t)
		ctx, cancel = context.WithDeadline(ctx, deadline)
	} else {
		ctx, cancel = context.WithCancel(ctx)
	}
	defer cancel()
	r := sess.upgrade.Clone(ctx)
	r.Method = method
	for _, k := range []string{"Connection", "Upgrade", "Content-Length", "Content-Type", hdrConnID, hdrEventType, hdrConnectedAt, hdrMessageID, hdrCloseCode, hdrCloseReason} {
		r.Header.Del(k)
	}
	r.Body, r.ContentLength = http.NoBody, 0
	if body != nil {
		r.Body, r.ContentLength = nopCloser{bytes.NewReader(body)}, int64(len(body))
		r.Header.Set("Content-Type", contentType)
		r.Header.Set("Content-Length", strconv.Itoa(len(body)))
	}
	r.Header.Set(hdrConnID, sess.id)
	r.Header.Set(hdrEventType, ev.EventType)
	r.Header.Set(hdrConnectedAt, strconv.FormatInt(sess.connectedAt.UnixMilli(), 10))
	if ev.MessageID != "" {
		r.Header.Set(hdrMessageID, ev.MessageID)
	}
	if ev.EventType == "DISCONNECT" {
		r.Header.Set(hdrCloseCode, strconv.Itoa(ev.DisconnectCode))
		r.Header.Set(hdrCloseReason, ev.DisconnectReason)
	}
	var pr params.Request
	op.Declared.BindTo(&pr, r, sess.path)
	call := integration.Call{
		RequestID: newUUID(), Route: sess.route, OperationID: op.OperationID, Params: &pr,
		ClientIP: sess.clientIP, RemoteAddr: sess.upgrade.RemoteAddr, Start: time.Now(),
		Authorizer: sess.authorizer, WebSocket: ev, Deadline: deadline,
	}
	out := &eventResponse{header: http.Header{}, limit: int(sess.s.Bindings.Limits.MaxResponseBody)}
	err := sess.h.serveEvent(op, out, r, &call)
	if err != nil && out.status == 0 {
		var he *httperr.Error
		if !errors.As(err, &he) {
			he = httperr.Wrap(http.StatusBadGateway, "integration failed", err)
		}
		out.status = he.Status
		out.header.Set("Content-Type", "application/json")
		fmt.Fprintf(&out.body, `{"message":%q,"status":%d}`, he.Message, he.Status)
	}
	if out.status == 0 {
		out.status = http.StatusOK
	}
	sess.h.log.Info("websocket event", "connection_id", sess.id, "event", ev.EventType, "route", sess.route,
		"operation_id", op.OperationID, "integration_type", op.Type, "status", out.status, "error", errString(err))
	return out
}

// serveEvent runs the handler, turning a panic into an error.
func (h *Handler) serveEvent(op *Operation, w http.ResponseWriter, r *http.Request, c *integration.Call) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return op.Handler.Serve(w, r, c)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }
