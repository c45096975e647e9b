// Package cloudfunctions is the cloud_functions integration (digest §3.2):
// the request becomes the event of §8, the function bound to function_id
// (and tag) in the bindings file answers, and its response JSON becomes the
// client's response (§8.7).
package cloudfunctions

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/apigw/apigw/internal/functions"
	"github.com/apigw/apigw/internal/httperr"
	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/params"
	"github.com/apigw/apigw/internal/yamlx"
	"go.yaml.in/yaml/v3"
)

type settings struct {
	Type                 string    `yaml:"type"`
	FunctionID           string    `yaml:"function_id"`
	Tag                  string    `yaml:"tag"`
	ServiceAccountID     string    `yaml:"service_account_id"`
	PayloadFormatVersion string    `yaml:"payload_format_version"`
	Context              yaml.Node `yaml:"context"`
}

// Integration is a compiled cloud_functions integration.
type Integration struct {
	functionID string
	tag        params.Template
	version    string
	context    *params.Value // nil: no `context`
	gatewayID  string
	target     *functions.Target
}

var _ integration.Handler = (*Integration)(nil)

// New decodes and checks a cloud_functions integration and resolves its
// binding.
func New(b *integration.Build, n *yaml.Node, path string) (integration.Handler, yamlx.List) {
	var s settings
	errs := yamlx.DecodeExtension(n, &s, path)
	if errs.Err() != nil {
		return nil, errs
	}
	it := &Integration{functionID: s.FunctionID, version: "0.1", gatewayID: b.Bindings.GatewayID}
	if s.FunctionID == "" {
		errs.Errorf(n, path, "cloud_functions integration needs function_id")
	}
	switch v := s.PayloadFormatVersion; v {
	case "", "0.1":
	case "1.0", "1":
		it.version = "1.0"
	default:
		errs.Errorf(yamlx.Get(n, "payload_format_version"), yamlx.Join(path, "payload_format_version"), "must be \"0.1\" or \"1.0\", not %q", v)
	}
	tag := s.Tag
	if tag == "" {
		tag = "$latest"
	}
	it.tag = params.Compile(tag, b.Declared)
	if s.Context.Kind != 0 {
		v, e := params.CompileValue(&s.Context, yamlx.Join(path, "context"), b.Declared)
		errs.Add(e...)
		it.context = v
	}
	if len(errs.Errors()) > 0 {
		return nil, errs
	}

	// Resolve the binding now: a function bound nowhere is a start-up
	// error with the spec line, not a 502 at request time. A local
	// function needs no account; the real one without a key of its own is
	// invoked as the spec's.
	if b.Bindings.Function(s.FunctionID, tag) == nil && b.Bindings.MockTarget("functions", s.FunctionID, tag) {
		return b.Unbound("functions", s.FunctionID, tag), errs
	}
	tokens, e := b.AccountTokens(b.Bindings.KeylessYandex(s.FunctionID), s.ServiceAccountID, n, path)
	errs.Add(e...)
	target, err := b.Deps.Functions.Target(b.Bindings, s.FunctionID, tag, !it.tag.Static(), int64(b.Bindings.Limits.MaxResponseBody), tokens)
	if err != nil {
		errs.Errorf(yamlx.Get(n, "function_id"), yamlx.Join(path, "function_id"), "%v", err)
		return nil, errs
	}
	it.target = target
	if len(errs.Errors()) > 0 {
		return nil, errs
	}
	return it, errs
}

// Serve invokes the function and writes its response.
func (it *Integration) Serve(w http.ResponseWriter, r *http.Request, c *integration.Call) error {
	tag := it.tag.Expand(c.Params, nil)
	if it.target.For(tag) == nil {
		return httperr.New(http.StatusNotFound, fmt.Sprintf("function %s has no binding for tag %q", it.functionID, tag))
	}
	body, err := integration.ReadBody(r)
	if err != nil {
		return err
	}
	q := &functions.Request{
		Authorizer: c.Authorizer,
		WebSocket:  c.WebSocket,
		HTTP:       r, Body: body, Version: it.version, Template: c.Route, OperationID: c.OperationID,
		PathParams: pathParams(c.Params), Declared: c.Params.Declared(),
		RequestID: c.RequestID, ClientIP: c.ClientIP, RemoteAddr: c.RemoteAddr, GatewayID: it.gatewayID, Time: c.Start,
	}
	if it.context != nil {
		q.OperationContext = it.context.Expand(c.Params)
	}
	event, err := functions.Event(q)
	if err != nil {
		return httperr.Wrap(http.StatusInternalServerError, "could not build the function event", err)
	}
	answer, err := it.target.Invoke(r.Context(), tag, c.RequestID, event)
	if o := c.Observed; o != nil {
		o.Kind, o.Target, o.Event, o.Answer = "function", it.functionID+":"+tag, event, answer
	}
	if err != nil {
		return it.invokeError(w, r, err)
	}
	res, err := functions.ParseResponse(answer)
	if err != nil {
		var m *functions.Malformed
		if errors.As(err, &m) {
			writeJSON(w, http.StatusBadGateway, m.Body(), nil)
			return err // logged; the response is written
		}
		return httperr.Wrap(http.StatusBadGateway, "function response could not be read", err)
	}
	h := w.Header()
	for k, vv := range res.Header {
		if k == "X-Request-Id" {
			continue // the gateway's own stays the only one
		}
		h[k] = vv
	}
	h["Content-Length"] = []string{strconv.Itoa(len(res.Body))}
	w.WriteHeader(res.Status)
	if r.Method != http.MethodHead {
		w.Write(res.Body)
	}
	return nil
}

// invokeError answers a failed invocation: the function's own error and the
// statuses its endpoint chose pass through; the rest is the gateway's 502/504.
func (it *Integration) invokeError(w http.ResponseWriter, r *http.Request, err error) error {
	var fe *functions.FunctionError
	var se *functions.StatusError
	var tl *functions.TooLarge
	switch {
	case errors.As(err, &fe):
		writeJSON(w, http.StatusBadGateway, fe.Body, map[string]string{"X-Function-Error": "true"})
		return err
	case errors.As(err, &se):
		writeJSON(w, se.Status, se.Body, nil)
		return err
	case errors.As(err, &tl):
		return httperr.Wrap(http.StatusBadGateway, tl.Error(), err)
	case errors.Is(err, context.DeadlineExceeded):
		return httperr.Wrap(http.StatusGatewayTimeout, fmt.Sprintf("function %s did not answer in time", it.functionID), err)
	case r.Context().Err() != nil:
		return httperr.Wrap(499, "client closed the request", err)
	}
	return httperr.Wrap(http.StatusBadGateway, fmt.Sprintf("function %s could not be invoked (the gateway log has the cause)", it.functionID), err)
}

// writeJSON writes a body that is JSON when it parses as JSON, text otherwise.
func writeJSON(w http.ResponseWriter, status int, body []byte, extra map[string]string) {
	h := w.Header()
	ct := "text/plain; charset=utf-8"
	if len(body) > 0 && (body[0] == '{' || body[0] == '[') {
		ct = "application/json"
	}
	h.Set("Content-Type", ct)
	for k, v := range extra {
		h.Set(k, v)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

func pathParams(v *params.Request) map[string]string {
	ps := v.Path()
	out := make(map[string]string, len(ps))
	for _, p := range ps {
		out[p.Name] = p.Value
	}
	return out
}
