package gateway

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/apigw/apigw/internal/httperr"
	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/integration/registry"
	"github.com/apigw/apigw/internal/policy/validate"
	"github.com/apigw/apigw/internal/router"
	"github.com/apigw/apigw/internal/spec"
	"github.com/apigw/apigw/internal/yamlx"
	"go.yaml.in/yaml/v3"
)

// kinDoc loads the spec into kin-openapi's model once per build, and only
// when some operation validates.
type kinDoc struct {
	doc    *spec.Document
	loaded bool
	t      *openapi3.T
	err    error
}

func (k *kinDoc) get() (*openapi3.T, error) {
	if !k.loaded {
		k.loaded = true
		k.t, k.err = validate.Load(k.doc.Root)
	}
	return k.t, k.err
}

// opValidation is an operation's compiled validator and error handler.
type opValidation struct {
	v          *validate.Validator
	handler    integration.Handler // validationErrorHandler's integration, or nil
	handlerSet int                 // its statusCode (0: keep the handler's 200)
}

// compileValidation reads the operation's validator (its own, else the
// top-level one) and compiles it with the error handler's integration.
func compileValidation(kd *kinDoc, b *integration.Build, op *spec.Operation, errs *yamlx.List) *opValidation {
	n, path := op.Validator, yamlx.Join(op.Path, "x-yc-apigateway-validator")
	if n == nil {
		n, path = kd.doc.Gateway.Validator, "x-yc-apigateway.validator"
	}
	if n == nil {
		return nil
	}
	if strings.HasPrefix(op.Method, "WS-") {
		// WebSocket messages have no OpenAPI schema to check against.
		if op.Validator != nil {
			errs.Warnf(n, path, "a validator does not apply to WebSocket operations: messages are not validated")
		}
		return nil
	}
	s, e := validate.ReadSettings(n, path)
	errs.Add(e...)
	if s == nil || !s.Active() {
		return nil
	}
	t, err := kd.get()
	if err != nil {
		errs.Errorf(n, path, "the spec cannot be loaded for validation: %v", err)
		return nil
	}
	v, err := validate.New(t, op.Template, op.Method, s)
	if err != nil && op.Method == spec.AnyMethod {
		errs.Warnf(n, path, "%v", err) // served, as the cloud would, without validation
		return nil
	}
	if err != nil {
		errs.Errorf(n, path, "%v", err)
		return nil
	}
	ov := &opValidation{v: v}
	if eh := &s.ErrorHandler; eh.Kind != 0 {
		ehPath := yamlx.Join(path, "validationErrorHandler")
		var form struct {
			Integration yaml.Node `yaml:"x-yc-apigateway-integration"`
			StatusCode  int       `yaml:"statusCode"`
		}
		errs.Add(yamlx.DecodeExtension(eh, &form, ehPath)...)
		in := yamlx.Get(eh, "x-yc-apigateway-integration")
		typ := yamlx.Get(in, "type")
		switch {
		case in == nil || typ == nil:
			errs.Errorf(eh, ehPath, "needs x-yc-apigateway-integration with a type")
		case form.StatusCode != 0 && (form.StatusCode < 100 || form.StatusCode > 599):
			errs.Errorf(yamlx.Get(eh, "statusCode"), yamlx.Join(ehPath, "statusCode"), "must be an HTTP status (100-599)")
		default:
			factory := registry.Lookup(typ.Value)
			if factory == nil {
				errs.Errorf(typ, yamlx.Join(ehPath, "x-yc-apigateway-integration.type"), "unknown integration type %q", typ.Value)
				break
			}
			h, e := factory(b, in, yamlx.Join(ehPath, "x-yc-apigateway-integration"))
			errs.Add(e...)
			ov.handler, ov.handlerSet = h, form.StatusCode
		}
	}
	return ov
}

// checkRequest validates the request; it answers the failure and returns
// false when the request is invalid.
func (h *Handler) checkRequest(x *exchange, r *http.Request, op *Operation, ps []router.Param) bool {
	ov := op.validation
	var body []byte
	if ov.v.ReadsBody() {
		var err error
		if body, err = integration.ReadBody(r); err != nil {
			h.fail(x, err)
			return false
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
	}
	var pathParams map[string]string
	if ov.v.ReadsParams() {
		pathParams = make(map[string]string, len(ps))
		for _, p := range ps {
			pathParams[p.Name] = p.Value
		}
	}
	problems := ov.v.Request(r.Context(), r, pathParams, body)
	if len(problems) == 0 {
		return true
	}
	h.validationFailed(x, r, op, "request-validation-error", http.StatusBadRequest, problems, body)
	return false
}

// releaseHeld finishes a held response: the schema mapping, then the
// response validation, then it goes out.
func (h *Handler) releaseHeld(x *exchange, r *http.Request, op *Operation) {
	code, tpl, body, ok := x.rec.takeHeld()
	if !ok {
		return
	}
	hdr := x.rec.Header()
	if tpl != nil {
		out, err := applyMapping(r.Context(), tpl, body, x.call.Deadline)
		if err != nil {
			resetHeader(hdr)
			h.fail(x, mappingError(err, "response", http.StatusBadGateway))
			return
		}
		body = out
		hdr.Set("Content-Type", "application/json")
	}
	if ov := op.validation; ov != nil && ov.v.ValidatesResponse() {
		status := code
		if to, ok := op.statusMap[code]; ok {
			status = to
		}
		if problems := ov.v.Response(status, hdr, body); len(problems) > 0 {
			kind := "response-body-validation-error"
			if problems[0].In == "header" {
				kind = "response-headers-validation-error"
			}
			resetHeader(hdr)
			x.rec.statusMap = nil
			h.validationFailed(x, r, op, kind, http.StatusBadGateway, problems, nil)
			return
		}
	}
	x.rec.writeHeld(code, body)
}

// resetHeader drops what the integration set, keeping the request ID.
func resetHeader(h http.Header) {
	id := h.Get("X-Request-Id")
	clear(h)
	h.Set("X-Request-Id", id)
}

// errorHandlerEvent is the ErrorHandlerEvent of digest §5.2.
type errorHandlerEvent struct {
	ErrorType  string             `json:"errorType"`
	ErrorData  []validate.Problem `json:"errorData"`
	StatusCode int                `json:"statusCode"`
	Path       string             `json:"path"`
	Request    eventRequest       `json:"request"`
}

type eventRequest struct {
	Method  string            `json:"httpMethod"`
	Path    string            `json:"path"`
	Query   map[string]string `json:"queryStringParameters"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body,omitempty"`
}

// validationFailed answers a validation failure: through the
// validationErrorHandler when it answers 200, else the gateway's JSON
// error with the list of problems.
func (h *Handler) validationFailed(x *exchange, r *http.Request, op *Operation, kind string, status int, problems []validate.Problem, body []byte) {
	message := "request validation failed"
	if status != http.StatusBadRequest {
		message = "the integration's response does not match the spec"
	}
	if ov := op.validation; ov.handler != nil && h.runErrorHandler(x, r, op, errorHandlerEvent{
		ErrorType: kind, ErrorData: problems, StatusCode: status, Path: op.Route,
		Request: eventRequest{Method: r.Method, Path: r.URL.Path, Query: firstValues(r.URL.Query()), Headers: firstValues(r.Header), Body: string(body)},
	}) {
		return
	}
	h.fail(x, &httperr.Error{Status: status, Message: message, Details: problems})
}

// runErrorHandler calls the error handler's integration with the event as
// a JSON POST body and, when it answers 200, sends its answer.
func (h *Handler) runErrorHandler(x *exchange, r *http.Request, op *Operation, ev errorHandlerEvent) bool {
	ov := op.validation
	event, _ := json.Marshal(ev)
	req := r.Clone(r.Context())
	req.Method = http.MethodPost
	req.Body = io.NopCloser(bytes.NewReader(event))
	req.ContentLength = int64(len(event))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Length", strconv.Itoa(len(event)))
	var out bufferedResponse
	out.header = http.Header{}
	call := x.call
	if err := ov.handler.Serve(&out, req, &call); err != nil || out.status() != http.StatusOK {
		return false
	}
	hdr := x.rec.Header()
	for k, v := range out.header {
		hdr[k] = v
	}
	status := http.StatusOK
	if ov.handlerSet != 0 {
		status = ov.handlerSet
	}
	hdr.Set("Content-Length", strconv.Itoa(out.body.Len()))
	x.rec.statusMap = nil
	x.rec.WriteHeader(status)
	x.rec.Write(out.body.Bytes())
	return true
}

func firstValues[M ~map[string][]string](m M) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		if len(v) > 0 {
			out[k] = v[0]
		}
	}
	return out
}

// bufferedResponse captures an error handler's answer.
type bufferedResponse struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }
func (b *bufferedResponse) WriteHeader(code int) {
	if b.code == 0 {
		b.code = code
	}
}
func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.code == 0 {
		b.code = http.StatusOK
	}
	if b.body.Len()+len(p) > maxHeldResponse {
		return 0, errHeldTooLarge
	}
	return b.body.Write(p)
}
func (b *bufferedResponse) status() int { return b.code }
