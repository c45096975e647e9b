package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apigw/apigw/internal/console"
	"github.com/apigw/apigw/internal/httperr"
	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/params"
	"github.com/apigw/apigw/internal/policy/cors"
	"github.com/apigw/apigw/internal/policy/ratelimit"
	"github.com/apigw/apigw/internal/policy/security"
	"github.com/apigw/apigw/internal/router"
	"github.com/apigw/apigw/internal/tracing"
	"github.com/apigw/apigw/internal/websocket"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Handler serves requests from the current snapshot. Swap replaces the
// snapshot atomically; a request keeps the snapshot it started with.
type Handler struct {
	snap    atomic.Pointer[Snapshot]
	fleet   atomic.Pointer[Fleet] // the control plane's gateways (nil: none)
	log     *slog.Logger
	metrics *Metrics
	access  atomic.Bool
	// draining: the process is shutting down; answers say Connection:
	// close, so that keep-alive clients go elsewhere.
	draining atomic.Bool

	storeWarned atomic.Int64 // when the rate-limit store's failure was last logged

	// tracer records spans when tracing is on (nil: off).
	tracer trace.Tracer
	// console records exchanges for the developer console (nil: off).
	console atomic.Pointer[console.Recorder]

	// ws holds the open WebSocket connections (outliving snapshots);
	// wsActive counts the sessions still running (their disconnect calls
	// included), wsCtx ends their integration calls at shutdown.
	ws       *websocket.Hub
	wsSlots  wsSlots
	wsActive sync.WaitGroup
	wsCtx    context.Context
	wsStop   context.CancelFunc
}

// NewHandler returns a handler with no snapshot (it answers 503 until Swap).
func NewHandler(log *slog.Logger, m *Metrics) *Handler {
	h := &Handler{log: log, metrics: m, ws: websocket.NewHub("")}
	h.wsCtx, h.wsStop = context.WithCancel(context.Background())
	h.access.Store(true)
	return h
}

// SetDraining marks the shutdown: every HTTP/1 answer from now on closes its
// connection.
func (h *Handler) SetDraining() { h.draining.Store(true) }

// SetTracer turns tracing on (before serving).
func (h *Handler) SetTracer(t trace.Tracer) { h.tracer = t }

// WebSockets is the registry of open connections (for the management API).
func (h *Handler) WebSockets() *websocket.Hub { return h.ws }

func (h *Handler) wsContext() context.Context { return h.wsCtx }

// CloseWebSockets closes every connection with 1001 and waits (up to
// timeout) for their disconnect calls.
func (h *Handler) CloseWebSockets(timeout time.Duration) {
	h.ws.CloseAll(websocket.CloseGoingAway, "the gateway is shutting down")
	done := make(chan struct{})
	go func() { h.wsActive.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
		h.log.Warn("WebSocket disconnect calls did not finish before the shutdown timeout")
	}
	h.wsStop()
}

// Swap makes s the snapshot for new requests and returns the previous one.
func (h *Handler) Swap(s *Snapshot) *Snapshot {
	h.access.Store(*s.Bindings.Log.Access)
	h.ws.SetGatewayID(s.Bindings.GatewayID)
	return h.snap.Swap(s)
}

// Snapshot returns the current snapshot (nil before the first Swap).
func (h *Handler) Snapshot() *Snapshot { return h.snap.Load() }

// exchange is the per-request state of the gateway, pooled so that a
// request costs the gateway as few allocations as possible.
type exchange struct {
	rec       recorder
	call      integration.Call
	params    params.Request
	pbuf      [8]router.Param
	route     string
	opID      string
	typ       string
	err       error
	requestID string
	gatewayID string             // the serving snapshot's gateway_id, for the access log
	auth      string             // the authorizers' verdict for the access log
	sws       *security.Decision // a cloud security profile's decision
	// inIntegration is the time the integration took; generated marks an
	// answer the gateway wrote itself (for the error metric).
	inIntegration time.Duration
	generated     bool
	span          trace.Span    // the request's server span (tracing on)
	trace         *consoleTrace // what the console records (console on)
}

var exchanges = sync.Pool{New: func() any { return new(exchange) }}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	x := exchanges.Get().(*exchange)
	x.rec = recorder{ResponseWriter: w}
	x.requestID = RequestID(r.Header.Get("X-Request-Id"))
	w.Header()["X-Request-Id"] = []string{x.requestID}
	// A chunked HTTP/1.1 request closes its connection after the answer.
	// net/http reads a request that has both Transfer-Encoding and
	// Content-Length by the former and drops the latter, so the two are
	// indistinguishable here; RFC 9112 §6.1 asks the server to close after
	// such a request, or the request hidden in what Content-Length
	// covered would be served next (smuggling). Clients rarely chunk
	// uploads, so keep-alive is lost only for them.
	if r.ProtoMajor == 1 && (h.draining.Load() || len(r.TransferEncoding) > 0) {
		w.Header()["Connection"] = []string{"close"}
	}
	if h.tracer != nil {
		ctx, span := h.tracer.Start(tracing.Extract(r.Context(), r.Header), "HTTP "+r.Method, trace.WithSpanKind(trace.SpanKindServer))
		r, x.span = r.WithContext(ctx), span
	}
	if rc := h.console.Load(); rc != nil {
		x.trace = beginTrace(rc, r, start)
		x.rec.tap = &x.trace.resBody
	}
	defer h.finish(x, r, start)

	s := h.snap.Load()
	if f := h.fleet.Load(); f != nil {
		if g, r2 := f.match(r); g != nil {
			switch {
			case g.Stopped:
				x.gatewayID = g.ID
				h.fail(x, httperr.New(http.StatusServiceUnavailable, "the API gateway "+g.ID+" is stopped"))
				return
			case g.Snap == nil:
				x.gatewayID = g.ID
				h.fail(x, httperr.New(http.StatusBadGateway, "the API gateway "+g.ID+" has no specification that builds"))
				return
			}
			s, r = g.Snap, r2
		}
	}
	if s == nil {
		h.fail(x, httperr.New(http.StatusServiceUnavailable, "the gateway has no specification loaded yet"))
		return
	}
	if s.hosts != nil {
		d, ok := s.hosts.byHost(&x.rec, r)
		if !ok {
			if x.rec.status == 0 { // not redirected to HTTPS
				h.fail(x, httperr.New(http.StatusNotFound, "no API is served at this host"))
			}
			return
		}
		s = d
	}
	if s.canary != nil {
		s, x.rec.canary = s.release(r)
	}
	x.gatewayID = s.Bindings.GatewayID
	if x.trace != nil {
		x.trace.secrets = s.secrets
	}
	if s.security != nil {
		v := s.security.Check(r.Context(), r, s.limits)
		if v.Err != nil {
			h.storeTrouble(v.Err)
		}
		x.sws = v.Decision
		h.metrics.observeSWS(s.security.ID, v.Decision)
		if v.Page != nil {
			x.typ, x.generated = "security-profile", true
			x.err = httperr.New(v.Status, v.Message)
			hd := x.rec.Header()
			for k, val := range v.Page.Headers {
				hd.Set(k, val)
			}
			hd.Set("Content-Type", v.Page.ContentType)
			x.rec.WriteHeader(v.Page.Status)
			io.WriteString(&x.rec, v.Page.Body)
			return
		}
		if v.Status != 0 {
			if v.RetryAfter > 0 {
				w.Header().Set("Retry-After", ratelimit.RetryAfter(v.RetryAfter))
			}
			x.typ = "security-profile"
			h.fail(x, httperr.New(v.Status, v.Message))
			return
		}
	}
	clean, ok := cleanPath(r.URL.EscapedPath())
	if !ok {
		h.fail(x, httperr.New(http.StatusBadRequest, "the path contains an encoded dot segment (%2e)"))
		return
	}
	rt, _, ps, found := s.router.Match(clean, x.pbuf[:0])
	if !found {
		h.fail(x, httperr.New(http.StatusNotFound, "Not Found"))
		return
	}
	x.route = rt.Template.Raw
	x.mark("routing")
	if !h.limitBody(x, r, s.maxBody) {
		return
	}
	if x.trace != nil && r.Body != nil && r.Body != http.NoBody {
		x.trace.reqBody = console.NewCapture(x.trace.rc.MaxBody())
		r.Body = console.TeeBody(r.Body, x.trace.reqBody)
	}
	if rt.cors != nil {
		if cors.IsPreflight(r) {
			x.typ = "cors-preflight"
			if h.drainBody(x, r) {
				rt.cors.Preflight(&x.rec, r)
			}
			return
		}
		x.rec.cors, x.rec.origin = rt.cors, r.Header.Get("Origin")
	}
	if rt.ws != nil && rt.ws.accepts && websocket.IsUpgrade(r) {
		h.serveWebSocket(x, w, r, s, rt, ps)
		return
	}
	op := rt.ops[r.Method]
	if op == nil {
		op = rt.any
	}
	if op == nil && rt.ws != nil && rt.ws.accepts {
		w.Header().Set("Upgrade", "websocket")
		h.fail(x, httperr.New(http.StatusUpgradeRequired, rt.Template.Raw+" is a WebSocket path: connect with a WebSocket client"))
		return
	}
	if op == nil {
		if s.methodNotAllowed == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", rt.allow)
			h.fail(x, httperr.New(http.StatusMethodNotAllowed, fmt.Sprintf("method %s is not defined for %s", r.Method, rt.Template.Raw)))
		} else {
			h.fail(x, httperr.New(http.StatusNotFound, "Not Found"))
		}
		return
	}
	x.opID, x.typ = op.OperationID, op.Type
	if op.limit != nil {
		ok, wait, err := s.limits.Take(r.Context(), op.limit.Key, op.limit.Limit)
		if err != nil {
			h.storeTrouble(err)
		}
		if !ok {
			w.Header().Set("Retry-After", ratelimit.RetryAfter(wait))
			h.fail(x, httperr.New(http.StatusTooManyRequests, "rate limit exceeded: "+op.limit.Limit.Text))
			return
		}
	}

	var deadline time.Time
	if s.execTimeout > 0 {
		deadline = start.Add(s.execTimeout)
		if !op.timed {
			ctx, cancel := context.WithDeadline(r.Context(), deadline)
			defer cancel()
			r = r.WithContext(ctx)
		}
	}
	op.Declared.BindTo(&x.params, r, ps)
	x.call = integration.Call{
		Deadline:    deadline,
		RequestID:   x.requestID,
		Route:       x.route,
		OperationID: op.OperationID,
		Params:      &x.params,
		ClientIP:    clientIP(r.RemoteAddr),
		RemoteAddr:  r.RemoteAddr,
		Start:       start,
	}
	if x.trace != nil {
		x.call.Observed = &x.trace.observed
	}
	x.mark("policies") // rate limits, parameters
	if op.guard != nil {
		ar, span := h.childSpan(x, r, "authorize", trace.SpanKindInternal)
		actx, err := op.guard.Authorize(&x.rec, ar, &x.call)
		endSpan(span)
		if err != nil {
			x.auth = "denied"
			h.fail(x, err)
			return
		}
		x.auth = "allowed"
		x.call.Authorizer = actx
		x.mark("auth")
	}
	if op.validation != nil && op.validation.v.ValidatesRequest() {
		if !h.checkRequest(x, r, op, ps) {
			return
		}
		x.mark("validation")
	}
	if op.reqMap != nil {
		if err := mapRequest(r, op.reqMap, deadline); err != nil {
			h.fail(x, err)
			return
		}
		x.mark("mapping")
	}
	x.rec.statusMap = op.statusMap
	if r.Method != http.MethodHead {
		x.rec.respMap = op.respMap
		x.rec.holdAll = op.validation != nil && op.validation.v.ValidatesResponse()
	}
	if op.ignoresBody && !h.drainBody(x, r) {
		return
	}
	began := time.Now()
	ir, span := h.childSpan(x, r, op.spanName, trace.SpanKindClient)
	err := op.Handler.Serve(&x.rec, ir, &x.call)
	endSpan(span)
	x.inIntegration = time.Since(began)
	x.mark("integration")
	if x.rec.holding {
		h.releaseHeld(x, r, op)
		x.mark("response") // mapping and validation of the answer
	}
	if err != nil {
		h.fail(x, err)
	}
}

// limitBody holds the request body to the limit on every route: a body
// declared too large is refused at once; any other is read through a
// limit, so that whoever reads it (the validator, a mapping, an
// integration that holds it whole, the proxy that streams it) stops at the
// limit with a 413. It reports whether the request goes on.
func (h *Handler) limitBody(x *exchange, r *http.Request, limit int64) bool {
	switch {
	case r.Body == nil || r.Body == http.NoBody:
	case r.ContentLength > limit:
		h.fail(x, httperr.New(http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d bytes", limit)))
		return false
	default:
		r.Body = http.MaxBytesReader(&x.rec, r.Body, limit)
	}
	return true
}

// drainBody reads and discards a body of unknown length (chunked) before
// an answer that never reads it (a preflight, a dummy answer): otherwise a
// body over the limit would pass unnoticed. It reports whether the request
// goes on.
func (h *Handler) drainBody(x *exchange, r *http.Request) bool {
	if r.ContentLength >= 0 || r.Body == nil || r.Body == http.NoBody {
		return true // a declared length was checked by limitBody
	}
	if _, err := io.Copy(io.Discard, r.Body); err != nil { // io.Discard pools its buffers
		h.fail(x, integration.BodyError(err))
		return false
	}
	return true
}

// childSpan starts a span under the request's, when tracing is on, and
// returns r with it in its context, so that the calls made meanwhile carry
// it as traceparent. Tracing off, it returns r and no span, allocating
// nothing.
func (h *Handler) childSpan(x *exchange, r *http.Request, name string, kind trace.SpanKind) (*http.Request, trace.Span) {
	if x.span == nil {
		return r, nil
	}
	ctx, span := h.tracer.Start(r.Context(), name, trace.WithSpanKind(kind))
	return r.WithContext(ctx), span
}

func endSpan(s trace.Span) {
	if s != nil {
		s.End()
	}
}

// storeTrouble logs that the rate-limit store failed, at most every 10
// seconds. The request goes on (fail open): an outage of the shared store
// must not take the API down with it.
func (h *Handler) storeTrouble(err error) {
	now := time.Now().UnixNano()
	last := h.storeWarned.Load()
	if now-last > int64(10*time.Second) && h.storeWarned.CompareAndSwap(last, now) {
		h.log.Warn("the rate-limit store failed; requests are let through until it answers", "error", err)
	}
}

// fail renders a gateway-generated error unless the response has started.
func (h *Handler) fail(x *exchange, err error) {
	x.err = err
	var he *httperr.Error
	if !errors.As(err, &he) {
		he = httperr.Wrap(http.StatusBadGateway, "integration failed", err)
	}
	if x.rec.status != 0 {
		return // the response started; the access log records the cause
	}
	if he.Status == 499 {
		x.rec.status = 499 // the client is gone: nothing to write
		return
	}
	x.generated = true
	// The gateway's own error is never held for a schema mapping or the
	// response validator: they check what the integration answers.
	x.rec.respMap, x.rec.holdAll = nil, false
	if he.Status == http.StatusRequestEntityTooLarge {
		// The rest of the body is never read: the connection cannot carry
		// another request.
		x.rec.Header().Set("Connection", "close")
	}
	httperr.WriteDetails(&x.rec, he.Status, he.Message, he.Details)
}

// finish writes the access log line and the metrics, and turns a panic into a
// 500 (http.ErrAbortHandler is the proxy aborting a broken stream: it is
// logged and passed on so that net/http cuts the connection).
func (h *Handler) finish(x *exchange, r *http.Request, start time.Time) {
	p := recover()
	if p != nil && p != http.ErrAbortHandler {
		h.log.Error("panic serving request", "request_id", x.requestID, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		x.err = fmt.Errorf("panic: %v", p)
		if x.rec.status == 0 {
			x.generated = true
			httperr.Write(&x.rec, http.StatusInternalServerError, "internal gateway error")
		}
	}
	if p == http.ErrAbortHandler && x.err == nil {
		x.err = errors.New("response aborted: the upstream stream broke")
	}
	status := x.rec.status
	if status == 0 {
		status = http.StatusOK
	}
	elapsed := time.Since(start)
	release := "stable"
	if x.rec.canary {
		release = "canary"
	}
	if x.span != nil {
		if x.route != "" {
			x.span.SetName(r.Method + " " + x.route)
		}
		x.span.SetAttributes(
			attribute.String("http.request.method", r.Method), attribute.String("url.path", r.URL.Path),
			attribute.String("http.route", x.route), attribute.Int("http.response.status_code", status),
			attribute.String("apigw.integration", x.typ), attribute.String("apigw.release", release),
			attribute.String("apigw.request_id", x.requestID))
		if status >= 500 {
			x.span.SetStatus(codes.Error, http.StatusText(status))
		}
		x.span.End()
	}
	h.metrics.observe(sample{route: x.route, method: r.Method, integration: x.typ, release: release, status: status,
		gatewayError: x.generated, elapsed: elapsed, inIntegration: x.inIntegration})
	if x.trace != nil {
		x.endTrace(r, status, elapsed)
	}
	if h.access.Load() {
		attrs := []slog.Attr{
			slog.String("request_id", x.requestID),
			slog.String("gateway_id", x.gatewayID),
			slog.String("method", r.Method),
			slog.String("host", r.Host),
			slog.String("path", r.URL.Path),
			slog.String("route", x.route),
			slog.String("operation_id", x.opID),
			slog.Int("status", status),
			slog.Float64("latency_ms", float64(elapsed.Microseconds())/1000),
			slog.String("integration_type", x.typ),
			slog.Int64("bytes", x.rec.bytes),
			slog.String("client_ip", clientIP(r.RemoteAddr)),
			slog.String("user_agent", r.UserAgent()),
			slog.String("release", release),
		}
		if x.auth != "" {
			attrs = append(attrs, slog.String("auth_result", x.auth))
		}
		if d := x.sws; d != nil {
			// As the cloud's SWS log names them.
			attrs = append(attrs, slog.String("sws_action", d.Action), slog.String("sws_rule", d.Rule))
			if len(d.DryRuns) > 0 {
				attrs = append(attrs, slog.String("sws_dry_run", strings.Join(d.DryRuns, ",")))
			}
			if d.WafOverloaded {
				attrs = append(attrs, slog.Bool("sws_waf_overloaded", true))
			}
			if d.WafReason != "" {
				attrs = append(attrs, slog.String("sws_waf_reason", d.WafReason))
			}
			if d.ARLRule != "" {
				attrs = append(attrs, slog.String("sws_arl_rule", d.ARLRule))
			}
			if len(d.ARLDryRuns) > 0 {
				attrs = append(attrs, slog.String("sws_arl_dry_run", strings.Join(d.ARLDryRuns, ",")))
			}
			if len(d.WafRules) > 0 {
				ids := make([]string, len(d.WafRules))
				for i, id := range d.WafRules {
					ids[i] = strconv.Itoa(id)
				}
				attrs = append(attrs, slog.String("sws_waf_rules", strings.Join(ids, ",")))
			}
		}
		if x.err != nil {
			attrs = append(attrs, slog.String("error", x.err.Error()))
		}
		h.log.LogAttrs(context.Background(), slog.LevelInfo, "request", attrs...)
	}
	*x = exchange{}
	exchanges.Put(x)
	if p == http.ErrAbortHandler {
		panic(p)
	}
}

func clientIP(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return remote
	}
	return host
}

// cleanPath removes "." and ".." segments the way RFC 3986 §5.2.4 resolves
// them (as browsers and curl do before sending), so that no template can be
// escaped with them. An encoded dot segment (%2e) is only ever an attack or a
// mistake: it is refused (ok=false).
func cleanPath(p string) (string, bool) {
	if p == "" {
		return "/", true
	}
	if !strings.Contains(p, ".") && !strings.Contains(p, "%2") {
		return p, true // the common case: nothing to resolve
	}
	segs := strings.Split(p[1:], "/")
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		last := i == len(segs)-1
		switch s {
		case ".":
			if last {
				out = append(out, "")
			}
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		default:
			if l := strings.ToLower(s); strings.Contains(l, "%2e") {
				d := strings.ReplaceAll(l, "%2e", ".")
				if d == "." || d == ".." {
					return "", false
				}
			}
			out = append(out, s)
		}
	}
	return "/" + strings.Join(out, "/"), true
}

// RequestID keeps a well-formed incoming X-Request-Id (so a trace continues)
// and generates a UUID otherwise. (Exported for bench/cores, whose
// prototypes do what the gateway does per request.)
func RequestID(in string) string {
	if in != "" && len(in) <= 128 {
		ok := true
		for i := 0; i < len(in); i++ {
			c := in[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
				ok = false
				break
			}
		}
		if ok {
			return in
		}
	}
	return newUUID()
}
