package gateway

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/apigw/apigw/internal/console"
	"github.com/apigw/apigw/internal/httperr"
	"github.com/apigw/apigw/internal/integration"
)

// SetConsole installs the console's recorder (nil: off). Off, a request
// costs one atomic load more and nothing else.
func (h *Handler) SetConsole(rc *console.Recorder) { h.console.Store(rc) }

// consoleTrace is what the console records of one exchange while it is served:
// the request as it came, the bodies as they pass, the time of each stage.
type consoleTrace struct {
	rc *console.Recorder
	e  console.Exchange
	// reqBody is allocated per exchange, when the request has a body: an
	// upstream transport may still read the body (through the tee) after
	// the exchange is over, so it must not be pooled with the trace.
	reqBody  *console.Capture
	resBody  console.Capture
	observed integration.Observed
	// secrets are the serving snapshot's credentials (nil until routing
	// picks a snapshot).
	secrets *console.Secrets
	last    time.Time
	phases  [8]console.Phase // e.Phases's room
}

// traces are pooled: recording then costs the record the ring keeps, not
// a trace per request besides.
var traces = sync.Pool{New: func() any { return new(consoleTrace) }}

func beginTrace(rc *console.Recorder, r *http.Request, start time.Time) *consoleTrace {
	t := traces.Get().(*consoleTrace)
	res := t.resBody
	*t = consoleTrace{rc: rc, last: start, resBody: res}
	t.resBody.Reset(rc.MaxBody())
	// The path as it came (escaped): a replay or a curl line of the
	// decoded one would be another request (/a%3Fb=1 is not /a?b=1).
	t.e = console.Exchange{
		Time: start, Method: r.Method, Path: r.URL.EscapedPath(), Host: r.Host, Proto: r.Proto,
		ClientIP: clientIP(r.RemoteAddr),
	}
	t.e.Phases = t.phases[:0]
	if v := r.Header.Get(console.ReplayHeader); v != "" {
		t.e.ReplayOf, _ = strconv.ParseInt(v, 10, 64)
	}
	return t
}

// mark ends the stage name: the time since the previous mark is its.
func (x *exchange) mark(name string) {
	if t := x.trace; t != nil {
		now := time.Now()
		t.e.Phases = append(t.e.Phases, console.Phase{Name: name, MS: float64(now.Sub(t.last).Microseconds()) / 1000})
		t.last = now
	}
}

// endTrace completes the record and hands it to the recorder.
func (x *exchange) endTrace(r *http.Request, status int, elapsed time.Duration) {
	t := x.trace
	e := &t.e
	e.Route, e.OperationID, e.Integration, e.RequestID = x.route, x.opID, x.typ, x.requestID
	e.Status, e.DurationMS, e.Bytes = status, float64(elapsed.Microseconds())/1000, x.rec.bytes
	e.Auth, e.AuthContext = x.auth, x.call.Authorizer
	if d := x.sws; d != nil {
		e.SWS = &console.SWSVerdict{Action: d.Action, Rule: d.Rule, DryRuns: d.DryRuns, WafRules: d.WafRules, ARLRule: d.ARLRule, ARLDryRuns: d.ARLDryRuns}
	}
	if x.err != nil {
		e.Error = x.err.Error()
		var he *httperr.Error
		if errors.As(x.err, &he) && he.Details != nil {
			e.Details = he.Details
		}
	}
	// The header maps are the request's and the answer's own: nobody
	// writes to them once the exchange is over, so one without secrets is
	// kept as it is. An upgraded connection lives on: its maps are copied.
	e.Query = t.rc.KeepSecrets(e, r.Header, r.URL.RawQuery, t.secrets)
	view := t.rc.View
	if status == http.StatusSwitchingProtocols {
		view = t.rc.Mask
	}
	e.Request.Headers = view(r.Header, t.secrets)
	if t.reqBody != nil {
		e.Request.Body = t.rc.NewBody(t.reqBody.Bytes(), t.reqBody.Total(), r.Header.Get("Content-Type"))
	}
	hdr := x.rec.Header()
	e.Response = console.Message{Headers: view(hdr, t.secrets), Body: t.rc.NewBody(t.resBody.Bytes(), t.resBody.Total(), hdr.Get("Content-Type"))}
	if o := t.observed; o.Kind != "" {
		up := &console.Upstream{Kind: o.Kind, Target: t.rc.MaskTarget(o.Target, t.secrets)}
		if o.Event != nil {
			ev := t.rc.MaskEvent(o.Event, t.secrets)
			b := t.rc.NewBody(ev[:min(len(ev), t.rc.MaxBody())], int64(len(ev)), "application/json")
			up.Event = &b
		}
		if o.Answer != nil {
			ans := t.rc.MaskEvent(o.Answer, t.secrets) // its headers: Set-Cookie
			b := t.rc.NewBody(ans[:min(len(ans), t.rc.MaxBody())], int64(len(ans)), "application/json")
			up.Answer = &b
		}
		e.Upstream = up
	}
	// The ring keeps a copy, by value; the trace goes back to its pool.
	t.rc.Add(e)
	x.trace = nil
	*t = consoleTrace{resBody: t.resBody}
	traces.Put(t)
}
