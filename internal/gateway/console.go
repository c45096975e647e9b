package gateway

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/apigw/apigw/internal/console"
	"github.com/apigw/apigw/internal/httperr"
	"github.com/apigw/apigw/internal/integration"
)

// SetConsole installs the console's recorder (nil: off). Off, a request
// costs one atomic load more and nothing else.
func (h *Handler) SetConsole(rc *console.Recorder) { h.console.Store(rc) }

// HeaderReplayOf marks a request the console replays: the value is the
// ID of the exchange it repeats.
const HeaderReplayOf = "X-Apigw-Replay-Of"

// consoleTrace is what the console records of one exchange while it is served:
// the request as it came, the bodies as they pass, the time of each stage.
type consoleTrace struct {
	rc       *console.Recorder
	e        console.Exchange
	reqBody  *console.Capture
	resBody  *console.Capture
	observed integration.Observed
	last     time.Time
}

func beginTrace(rc *console.Recorder, r *http.Request, start time.Time) *consoleTrace {
	t := &consoleTrace{rc: rc, last: start, reqBody: console.NewCapture(rc.MaxBody()), resBody: console.NewCapture(rc.MaxBody())}
	t.e = console.Exchange{
		Time: start, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Host: r.Host, Proto: r.Proto,
		ClientIP: clientIP(r.RemoteAddr), Request: console.Message{Headers: rc.Mask(r.Header)},
	}
	rc.KeepSecrets(&t.e, r.Header)
	if id, err := strconv.ParseInt(r.Header.Get(HeaderReplayOf), 10, 64); err == nil {
		t.e.ReplayOf = id
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
	if x.err != nil {
		e.Error = x.err.Error()
		var he *httperr.Error
		if errors.As(x.err, &he) && he.Details != nil {
			e.Details = he.Details
		}
	}
	e.Request.Body = t.rc.NewBody(t.reqBody.Bytes(), t.reqBody.Total(), r.Header.Get("Content-Type"))
	hdr := x.rec.Header()
	e.Response = console.Message{Headers: t.rc.Mask(hdr), Body: t.rc.NewBody(t.resBody.Bytes(), t.resBody.Total(), hdr.Get("Content-Type"))}
	if o := t.observed; o.Kind != "" {
		up := &console.Upstream{Kind: o.Kind, Target: o.Target}
		if o.Event != nil {
			ev := t.rc.MaskEvent(o.Event)
			b := t.rc.NewBody(ev[:min(len(ev), t.rc.MaxBody())], int64(len(ev)), "application/json")
			up.Event = &b
		}
		if o.Answer != nil {
			b := t.rc.NewBody(o.Answer[:min(len(o.Answer), t.rc.MaxBody())], int64(len(o.Answer)), "application/json")
			up.Answer = &b
		}
		e.Upstream = up
	}
	if e.Phases == nil {
		e.Phases = []console.Phase{}
	}
	t.rc.Add(e)
}
