package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/apigw/apigw/internal/httperr"
	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/policy/schemamap"
	"github.com/apigw/apigw/internal/spec"
	"github.com/apigw/apigw/internal/yamlx"
)

// bodyMap is the schema mappings of one body, by media type. The key ""
// holds the template that x-yc-mapping-index selects for every media type.
type bodyMap map[string]*schemamap.Template

// mappings is an operation's response schema mappings, by spec.ResponseKey:
// a status, a range's first digit, or 0 for `default`.
type mappings map[int]bodyMap

// match finds the template for a Content-Type: its media type exactly,
// then type/*, then */*.
func (m bodyMap) match(contentType string) *schemamap.Template {
	if m == nil {
		return nil
	}
	if t := m[""]; t != nil {
		return t
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(contentType))
	}
	if t := m[mt]; t != nil {
		return t
	}
	if i := strings.IndexByte(mt, '/'); i > 0 {
		if t := m[mt[:i]+"/*"]; t != nil {
			return t
		}
	}
	return m["*/*"]
}

// forResponse finds the template for an answer: the status's own
// response, else its range's (2XX), else `default`'s, as OpenAPI picks the
// response object that describes a status.
func (m mappings) forResponse(code int, contentType string) *schemamap.Template {
	b, ok := m[code]
	if !ok {
		if b, ok = m[code/100]; !ok {
			b = m[0]
		}
	}
	return b.match(contentType)
}

// compileMappings compiles an operation's x-yc-schema-mapping objects.
func compileMappings(op *spec.Operation, budget time.Duration, errs *yamlx.List) (bodyMap, mappings) {
	body := func(src map[string]spec.Mapping) bodyMap {
		var out bodyMap
		for mt, m := range src {
			tpl, e := schemamap.Compile(m.Node, m.Path)
			errs.Add(e...)
			if tpl != nil {
				tpl.Budget = budget
				if out == nil {
					out = bodyMap{}
				}
				out[strings.ToLower(mt)] = tpl
			}
		}
		return out
	}
	req := body(op.RequestMapping)
	var resp mappings
	for code, src := range op.ResponseMapping {
		if b := body(src); b != nil {
			if resp == nil {
				resp = mappings{}
			}
			resp[code] = b
		}
	}
	for code, mt := range op.MappingIndex {
		if t := resp[code][strings.ToLower(mt)]; t != nil {
			resp[code][""] = t
		}
	}
	return req, resp
}

// mapRequest rewrites a JSON request body through the operation's
// request mapping, when its media type has one. deadline (when set) bounds
// a jq program.
func mapRequest(r *http.Request, m bodyMap, deadline time.Time) error {
	tpl := m.match(r.Header.Get("Content-Type"))
	if tpl == nil {
		return nil
	}
	body, err := integration.ReadBody(r)
	if err != nil {
		return err
	}
	out, err := applyMapping(r.Context(), tpl, body, deadline)
	if err != nil {
		return mappingError(err, "request", http.StatusBadRequest)
	}
	r.Body = io.NopCloser(bytes.NewReader(out))
	r.ContentLength = int64(len(out))
	r.Header.Set("Content-Length", strconv.Itoa(len(out)))
	r.Header.Set("Content-Type", "application/json")
	return nil
}

// applyMapping applies tpl to body. A jq program is bounded by the
// execution deadline: integrations that apply it themselves leave the
// request's context without it.
func applyMapping(ctx context.Context, tpl *schemamap.Template, body []byte, deadline time.Time) ([]byte, error) {
	if tpl.UsesJQ() && !deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	return tpl.Apply(ctx, body)
}

// mappingError turns a failed mapping of the request or the response
// body into the gateway's answer: a body that is not JSON is the client's
// (400) or the integration's (502) fault; a jq expression that fails is
// the spec's, a 500 that names the expression (and the message of an
// error(...) it raised; other jq messages may quote the body, so they go
// to the log only).
func mappingError(err error, side string, notJSON int) error {
	var ee *schemamap.EvalError
	switch {
	case errors.Is(err, schemamap.ErrBudget) && errors.As(err, &ee):
		return httperr.Wrap(http.StatusInternalServerError, "the "+side+" body could not be mapped: x-yc-schema-mapping expression ${"+ee.Expr+"} ran past its time budget (limits.mapping_timeout)", err)
	case errors.Is(err, context.DeadlineExceeded):
		return httperr.Wrap(http.StatusGatewayTimeout, "execution timeout expired while mapping the "+side+" body", err)
	case errors.As(err, &ee):
		msg := "the " + side + " body could not be mapped: x-yc-schema-mapping expression ${" + ee.Expr + "} failed"
		if raised, ok := ee.Raised(); ok {
			msg += ": " + raised
		}
		return httperr.Wrap(http.StatusInternalServerError, msg, err)
	case errors.Is(err, schemamap.ErrNotJSON):
		what := "the request body"
		if side == "response" {
			what = "the integration's response"
		}
		return httperr.Wrap(notJSON, what+" cannot be mapped by x-yc-schema-mapping: "+err.Error(), err)
	}
	return httperr.Wrap(http.StatusInternalServerError, "x-yc-schema-mapping failed", err)
}
