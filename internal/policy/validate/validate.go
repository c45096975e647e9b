// Package validate enforces x-yc-apigateway-validator (digest §5.2): the
// request's parameters and body, and the integration's response body and
// headers, against the operation's OpenAPI schemas. The schemas are loaded
// once per build by kin-openapi; a request walks them.
package validate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"go.yaml.in/yaml/v3"

	"github.com/apigw/apigw/internal/yamlx"
)

// Settings is a ValidatorObject.
type Settings struct {
	RequestBody     bool      `yaml:"validateRequestBody"`
	RequestParams   bool      `yaml:"validateRequestParameters"`
	ResponseBody    bool      `yaml:"validateResponseBody"`
	ResponseHeaders string    `yaml:"validateResponseHeaders"`
	ErrorHandler    yaml.Node `yaml:"validationErrorHandler"`
}

// ReadSettings decodes a ValidatorObject ($ref resolved).
func ReadSettings(n *yaml.Node, path string) (*Settings, yamlx.List) {
	var s Settings
	errs := yamlx.DecodeExtension(n, &s, path)
	if errs.Err() != nil {
		return nil, errs
	}
	switch s.ResponseHeaders {
	case "", "any", "superset", "subset", "exact":
	default:
		errs.Errorf(yamlx.Get(n, "validateResponseHeaders"), yamlx.Join(path, "validateResponseHeaders"), "must be any, superset, subset or exact, not %q", s.ResponseHeaders)
	}
	return &s, errs
}

// Active reports whether the settings validate anything.
func (s *Settings) Active() bool {
	return s != nil && (s.RequestBody || s.RequestParams || s.ResponseBody || s.ResponseHeaders != "")
}

// Load reads the spec (variables substituted) into kin-openapi's model.
// kin-openapi knows nothing of x-yc-apigateway-any-method, so each such
// operation is loaded, in a copy of the spec, under a standard method its
// path item leaves free; New finds it there.
func Load(root *yaml.Node) (*openapi3.T, error) {
	src, err := yaml.Marshal(root)
	if err != nil {
		return nil, err
	}
	var copied yaml.Node
	if err := yaml.Unmarshal(src, &copied); err != nil {
		return nil, err
	}
	if moveAnyMethods(&copied) {
		if src, err = yaml.Marshal(&copied); err != nil {
			return nil, err
		}
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(src)
	if err != nil {
		return nil, err
	}
	return doc, nil
}

// Validator checks one operation.
type Validator struct {
	s     *Settings
	route *routers.Route
	opts  *openapi3filter.Options
	// compiled holds the compiled schema of each JSON media type of the
	// request body and responses; a media type missing here (or mapped to
	// nil) is checked by kin-openapi.
	compiled map[*openapi3.MediaType]*schema
	// plainJSON is the compiled schema of the request body's
	// "application/json", when it has one.
	plainJSON *schema
}

const (
	anyMethodKey = "x-yc-apigateway-any-method"
	// anyMethodAs, in a path item of Load's copy, names the method its
	// any-method operation was moved to.
	anyMethodAs = "x-apigw-any-method-as"
)

// freeMethods are the slots an any-method operation may take, the least
// used first. A path item that defines all of them leaves the any-method
// operation only non-standard methods; it is not validated.
var freeMethods = []string{"trace", "connect", "options", "head", "patch", "delete", "put", "post", "get"}

// moveAnyMethods moves every path item's any-method operation of the
// document node n under a free method and records which; it reports
// whether it moved any.
func moveAnyMethods(n *yaml.Node) bool {
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	paths := yamlx.Get(n, "paths")
	if paths == nil || paths.Kind != yaml.MappingNode {
		return false
	}
	moved := false
	for i := 1; i < len(paths.Content); i += 2 {
		item := paths.Content[i]
		if item.Kind != yaml.MappingNode {
			continue
		}
		k := yamlx.KeyNode(item, anyMethodKey)
		if k == nil {
			continue
		}
		for _, m := range freeMethods {
			if yamlx.Get(item, m) == nil {
				k.Value = m
				item.Content = append(item.Content,
					&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: anyMethodAs},
					&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: m})
				moved = true
				break
			}
		}
	}
	return moved
}

// Operation finds an operation of a document Load read; method "*" is the
// path item's x-yc-apigateway-any-method operation. It returns the path
// item and the method the operation was loaded under too.
func Operation(doc *openapi3.T, template, method string) (*openapi3.PathItem, string, *openapi3.Operation, error) {
	item := doc.Paths.Value(template)
	if item == nil {
		return nil, "", nil, fmt.Errorf("path %s not found by the schema loader", template)
	}
	if method == "*" {
		as, _ := item.Extensions[anyMethodAs].(string)
		if as == "" {
			return nil, "", nil, fmt.Errorf("x-yc-apigateway-any-method of %s is not validated: its path item defines every standard method", template)
		}
		method = strings.ToUpper(as)
	}
	op := item.GetOperation(method)
	if op == nil {
		return nil, "", nil, fmt.Errorf("%s %s not found by the schema loader", method, template)
	}
	return item, method, op, nil
}

// New returns the validator of an operation of doc; method "*" is the path
// item's x-yc-apigateway-any-method operation.
func New(doc *openapi3.T, template, method string, s *Settings) (*Validator, error) {
	item, method, op, err := Operation(doc, template, method)
	if err != nil {
		return nil, err
	}
	v := &Validator{
		s:     s,
		route: &routers.Route{Spec: doc, Path: template, PathItem: item, Method: method, Operation: op},
		opts: &openapi3filter.Options{
			MultiError:          true,
			AuthenticationFunc:  openapi3filter.NoopAuthenticationFunc, // the authorizers run before
			SkipSettingDefaults: true,                                  // the integration sees the request as sent
		},
		compiled: map[*openapi3.MediaType]*schema{},
	}
	memo := map[*openapi3.Schema]*schema{}
	compile := func(content openapi3.Content) error {
		for name, mt := range content {
			if mt == nil || mt.Schema == nil || mt.Schema.Value == nil || !IsJSON(name) {
				continue
			}
			c, err := compileSchema(mt.Schema.Value, memo)
			if err != nil && !errors.Is(err, errUnsupported) {
				return err
			}
			v.compiled[mt] = c
		}
		return nil
	}
	if rb := op.RequestBody; rb != nil && rb.Value != nil {
		if err := compile(rb.Value.Content); err != nil {
			return nil, err
		}
		if mt := rb.Value.Content["application/json"]; mt != nil {
			v.plainJSON = v.compiled[mt]
		}
	}
	if op.Responses != nil {
		for _, r := range op.Responses.Map() {
			if r != nil && r.Value != nil {
				if err := compile(r.Value.Content); err != nil {
					return nil, err
				}
			}
		}
	}
	return v, nil
}

// IsJSON reports whether a media type carries JSON: application/json or
// a +json type, parameters allowed.
func IsJSON(mediaType string) bool {
	mt, _, err := mime.ParseMediaType(mediaType)
	if err != nil {
		mt = strings.ToLower(mediaType)
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// BodyAllowed reports whether HTTP lets an answer with this status carry
// a body (not 1xx, 204 or 304).
func BodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// MaxProblems is how many problems a validation lists: a body of 200,000
// bad items made 200,000 findings (24 MB kept by the console, a 14 MB
// answer to the client). The rest are counted in one last problem.
const MaxProblems = 100

func moreProblems(in string, n int) Problem {
	return Problem{In: in, Message: fmt.Sprintf("and %d more problems (apigw lists the first %d)", n, MaxProblems)}
}

// capped keeps the first MaxProblems of a list, and counts the rest; no
// field or message is longer than maxProblemText.
func capped(out []Problem) []Problem {
	if len(out) > MaxProblems+1 { // the compiled walk's own count may end it
		out = append(out[:MaxProblems:MaxProblems], moreProblems(out[MaxProblems].In, len(out)-MaxProblems))
	}
	for i := range out {
		out[i].Name, out[i].Field, out[i].Message = clip(out[i].Name), clip(out[i].Field), clip(out[i].Message)
	}
	return out
}

// maxProblemText bounds a problem's field, name and message: a body
// nested 10,000 deep has 20 KB pointers, and a property's name may be a
// megabyte long.
const maxProblemText = 512

// clip cuts s to maxProblemText bytes (on a character boundary), marked.
func clip(s string) string {
	if len(s) <= maxProblemText {
		return s
	}
	cut := maxProblemText
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// Problem is one validation failure a developer can act on.
type Problem struct {
	In      string `json:"in"`              // path, query, header, cookie, body
	Name    string `json:"name,omitempty"`  // a parameter's or header's name
	Field   string `json:"field,omitempty"` // a JSON pointer into the body
	Message string `json:"message"`
}

// ValidatesRequest and ValidatesResponse say which sides are checked.
func (v *Validator) ValidatesRequest() bool  { return v.s.RequestBody || v.s.RequestParams }
func (v *Validator) ValidatesResponse() bool { return v.s.ResponseBody || v.s.ResponseHeaders != "" }

// Request checks the request; body is the whole body (read by the
// caller, who also puts it back for the integration).
func (v *Validator) Request(ctx context.Context, r *http.Request, pathParams map[string]string, body []byte) []Problem {
	var in *openapi3filter.RequestValidationInput // made only when kin-openapi runs
	input := func() *openapi3filter.RequestValidationInput {
		if in == nil {
			in = &openapi3filter.RequestValidationInput{Request: r, PathParams: pathParams, Route: v.route, Options: v.opts}
		}
		return in
	}
	var out []Problem
	if v.s.RequestParams {
		in := input()
		seen := map[string]bool{}
		for _, p := range v.route.Operation.Parameters {
			seen[p.Value.In+"\x00"+p.Value.Name] = true
			out = append(out, problems(openapi3filter.ValidateParameter(ctx, in, p.Value))...)
		}
		for _, p := range v.route.PathItem.Parameters {
			if !seen[p.Value.In+"\x00"+p.Value.Name] {
				out = append(out, problems(openapi3filter.ValidateParameter(ctx, in, p.Value))...)
			}
		}
	}
	if rb := v.route.Operation.RequestBody; v.s.RequestBody && rb != nil && rb.Value != nil {
		if probs, done := v.fastBody(rb.Value, r.Header.Get("Content-Type"), body); done {
			return capped(append(out, probs...))
		}
		saved := r.Body
		r.Body = io.NopCloser(bytes.NewReader(body))
		if len(body) == 0 {
			r.Body = http.NoBody
		}
		out = append(out, problems(openapi3filter.ValidateRequestBody(ctx, input(), rb.Value))...)
		r.Body = saved
	}
	return capped(out)
}

// fastBody checks a JSON request body with the compiled schema; done is
// false when kin-openapi must (another media type, an uncompiled schema).
func (v *Validator) fastBody(rb *openapi3.RequestBody, contentType string, body []byte) (probs []Problem, done bool) {
	if len(body) == 0 {
		if rb.Required {
			return []Problem{{In: "body", Message: "the request body is required but missing"}}, true
		}
		return nil, true
	}
	var c *schema
	if contentType == "application/json" && v.plainJSON != nil {
		c = v.plainJSON // the common case, without parsing the media type
	} else {
		mt := rb.Content.Get(contentType)
		if mt == nil {
			return nil, false // kin-openapi says which media types are declared
		}
		if c = v.compiled[mt]; c == nil || !IsJSON(contentType) {
			return nil, false
		}
	}
	probs, err := c.validate(body, inRequest)
	if err != nil {
		return []Problem{{In: "body", Message: "the body is not JSON: " + err.Error()}}, true
	}
	return probs, true
}

// problems flattens kin-openapi's errors into Problems.
func problems(err error) []Problem {
	if err == nil {
		return nil
	}
	if me, ok := err.(openapi3.MultiError); ok { // a list of failures
		var out []Problem
		for _, e := range me {
			out = append(out, problems(e)...)
		}
		return out
	}
	// A RequestError before its cause: it wraps the MultiError of its
	// schema errors, and it knows where they are (a parameter, the body).
	var re *openapi3filter.RequestError
	if errors.As(err, &re) {
		base := Problem{In: "body"}
		if re.Parameter != nil {
			base = Problem{In: re.Parameter.In, Name: re.Parameter.Name}
		}
		if re.Err == nil {
			base.Message = re.Reason
			return []Problem{base}
		}
		var inner openapi3.MultiError
		if errors.As(re.Err, &inner) {
			var out []Problem
			for _, e := range inner {
				out = append(out, withCause(base, re.Reason, e))
			}
			return out
		}
		return []Problem{withCause(base, re.Reason, re.Err)}
	}
	return []Problem{{In: "request", Message: err.Error()}}
}

// withCause fills a Problem from a cause: a schema error names the field
// and the rule it broke.
func withCause(p Problem, reason string, err error) Problem {
	var se *openapi3.SchemaError
	var pe *openapi3filter.ParseError
	switch {
	case errors.As(err, &se):
		if ptr := se.JSONPointer(); len(ptr) > 0 && p.In == "body" {
			p.Field = "/" + strings.Join(ptr, "/")
		}
		p.Message = se.Reason
	case errors.As(err, &pe):
		p.Message = pe.Error()
	default:
		p.Message = err.Error()
	}
	if p.Message == "" {
		p.Message = reason
	}
	return p
}

// Response checks the integration's answer (after schema and status
// mapping): the body against responses.<status> (else default), and the
// headers in the configured mode.
func (v *Validator) Response(status int, header http.Header, body []byte) []Problem {
	resp := v.route.Operation.Responses.Status(status)
	if resp == nil {
		resp = v.route.Operation.Responses.Default()
	}
	if resp == nil || resp.Value == nil {
		return nil // an undocumented status is not checked, as in OpenAPI tooling
	}
	var out []Problem
	// 1xx, 204 and 304 answers have no body, whatever content the spec
	// declares for them.
	if v.s.ResponseBody && len(resp.Value.Content) > 0 && BodyAllowed(status) {
		out = append(out, v.responseBody(resp.Value, header.Get("Content-Type"), body)...)
	}
	if v.s.ResponseHeaders != "" {
		out = append(out, v.responseHeaders(resp.Value, header)...)
	}
	return capped(out)
}

func (v *Validator) responseBody(resp *openapi3.Response, contentType string, body []byte) []Problem {
	mt := resp.Content.Get(contentType)
	if mt == nil {
		return []Problem{{In: "body", Message: fmt.Sprintf("the response's Content-Type %q is not declared for this status", contentType)}}
	}
	if mt.Schema == nil || mt.Schema.Value == nil {
		return nil
	}
	media, _, _ := mime.ParseMediaType(contentType)
	if media != "application/json" && !strings.HasSuffix(media, "+json") {
		return nil // only JSON bodies have a schema to check against
	}
	if c := v.compiled[mt]; c != nil {
		probs, err := c.validate(body, inResponse)
		if err != nil {
			return []Problem{{In: "body", Message: "the response body is not JSON: " + err.Error()}}
		}
		return probs
	}
	var value any
	if err := json.Unmarshal(body, &value); err != nil {
		return []Problem{{In: "body", Message: "the response body is not JSON: " + err.Error()}}
	}
	err := mt.Schema.Value.VisitJSON(value, openapi3.MultiErrors(), openapi3.VisitAsResponse())
	if err == nil {
		return nil
	}
	var out []Problem
	var me openapi3.MultiError
	if errors.As(err, &me) {
		for _, e := range me {
			out = append(out, withCause(Problem{In: "body"}, "", e))
		}
		return out
	}
	return []Problem{withCause(Problem{In: "body"}, "", err)}
}

// gatewayHeaders are response headers HTTP or the gateway itself adds:
// "subset" and "exact" do not ask the spec to list them.
var gatewayHeaders = map[string]bool{
	"Content-Type": true, "Content-Length": true, "Date": true, "Connection": true,
	"Transfer-Encoding": true, "Content-Encoding": true, "X-Request-Id": true, "Vary": true,
	"X-Content-Type-Options": true,
}

func (v *Validator) responseHeaders(resp *openapi3.Response, header http.Header) []Problem {
	mode := v.s.ResponseHeaders
	var out []Problem
	listed := map[string]bool{}
	names := make([]string, 0, len(resp.Headers))
	for name := range resp.Headers {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		canon := http.CanonicalHeaderKey(name)
		listed[canon] = true
		values, present := header[canon]
		if !present {
			if mode == "superset" || mode == "exact" {
				out = append(out, Problem{In: "header", Name: name, Message: "the response lacks this header, which the spec lists"})
			}
			continue
		}
		ref := resp.Headers[name]
		if ref.Value == nil || ref.Value.Schema == nil || ref.Value.Schema.Value == nil {
			continue
		}
		schema := ref.Value.Schema.Value
		if err := schema.VisitJSON(typed(schema, values[0])); err != nil {
			out = append(out, withCause(Problem{In: "header", Name: name}, "", err))
		}
	}
	if mode == "subset" || mode == "exact" {
		extra := make([]string, 0)
		for name := range header {
			if !listed[name] && !gatewayHeaders[name] && !strings.HasPrefix(name, "Access-Control-") {
				extra = append(extra, name)
			}
		}
		slices.Sort(extra)
		for _, name := range extra {
			out = append(out, Problem{In: "header", Name: name, Message: "the response has this header, which the spec does not list"})
		}
	}
	return out
}

// typed turns a header value into the JSON value its schema expects.
func typed(s *openapi3.Schema, v string) any {
	switch {
	case s.Type.Is("integer"), s.Type.Is("number"):
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f
		}
	case s.Type.Is("boolean"):
		if b, err := strconv.ParseBool(v); err == nil {
			return b
		}
	}
	return v
}

// ReadsBody reports whether Request needs the request body.
func (v *Validator) ReadsBody() bool {
	rb := v.route.Operation.RequestBody
	return v.s.RequestBody && rb != nil && rb.Value != nil
}

// ReadsParams reports whether Request needs the path parameters.
func (v *Validator) ReadsParams() bool { return v.s.RequestParams }

// Contract checks an answer as a contract test does, whatever the
// operation's validator settings: the status is declared (or there is a
// default), the body matches the schema of its status and media type,
// and the headers the spec marks required are present and match theirs.
func (v *Validator) Contract(status int, header http.Header, body []byte) []Problem {
	responses := v.route.Operation.Responses
	if responses == nil || responses.Len() == 0 {
		return nil // nothing declared, nothing to hold the answer to
	}
	resp := responses.Status(status)
	if resp == nil {
		resp = responses.Default()
	}
	if resp == nil || resp.Value == nil {
		declared := make([]string, 0, responses.Len())
		for code := range responses.Map() {
			declared = append(declared, code)
		}
		slices.Sort(declared)
		return []Problem{{In: "status", Message: fmt.Sprintf("%d is not a declared status (declared: %s)", status, strings.Join(declared, ", "))}}
	}
	var out []Problem
	if len(resp.Value.Content) > 0 && (len(body) > 0 || header.Get("Content-Type") != "") {
		out = append(out, v.responseBody(resp.Value, header.Get("Content-Type"), body)...)
	}
	names := make([]string, 0, len(resp.Value.Headers))
	for name := range resp.Value.Headers {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		ref := resp.Value.Headers[name]
		if ref == nil || ref.Value == nil {
			continue
		}
		values, present := header[http.CanonicalHeaderKey(name)]
		if !present {
			if ref.Value.Required {
				out = append(out, Problem{In: "header", Name: name, Message: "the response lacks this header, which the spec marks required"})
			}
			continue
		}
		if sc := ref.Value.Schema; sc != nil && sc.Value != nil {
			if err := sc.Value.VisitJSON(typed(sc.Value, values[0])); err != nil {
				out = append(out, withCause(Problem{In: "header", Name: name}, "", err))
			}
		}
	}
	return capped(out)
}

// Check checks a value (an example of the spec) against a schema, with
// the compiled validator where it models the schema.
func Check(s *openapi3.Schema, value any, response bool) []Problem {
	dir := inRequest
	if response {
		dir = inResponse
	}
	body, err := json.Marshal(value)
	if err != nil {
		return []Problem{{In: "body", Message: "not JSON: " + err.Error()}}
	}
	if c, err := compileSchema(s, map[*openapi3.Schema]*schema{}); err == nil && c != nil {
		probs, err := c.validate(body, dir)
		if err == nil {
			return probs
		}
	}
	opts := []openapi3.SchemaValidationOption{openapi3.MultiErrors()}
	if response {
		opts = append(opts, openapi3.VisitAsResponse())
	} else {
		opts = append(opts, openapi3.VisitAsRequest())
	}
	if err := s.VisitJSON(normalize(value), opts...); err != nil {
		var me openapi3.MultiError
		if errors.As(err, &me) {
			out := make([]Problem, 0, len(me))
			for _, e := range me {
				out = append(out, withCause(Problem{In: "body"}, "", e))
			}
			return out
		}
		return []Problem{withCause(Problem{In: "body"}, "", err)}
	}
	return nil
}
