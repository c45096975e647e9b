package contract

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/apigw/apigw/internal/policy/cors"
	"github.com/apigw/apigw/internal/policy/validate"
	"github.com/apigw/apigw/internal/spec"
)

// Operation is one operation under test.
type Operation struct {
	ID       string // operationId, else "METHOD /template"
	Method   string // the method requests use (GET for any-method)
	Template string
	Any      bool // the path's x-yc-apigateway-any-method operation
	op       *openapi3.Operation
	params   openapi3.Parameters
	checker  *validate.Validator
	// What the operation's validator checks: an invalid request must then
	// get a 400.
	validatesBody, validatesParams bool
	// origin is what requests send as Origin where a CORS rule applies:
	// one the rule allows ("": no rule, or one turned off).
	origin   string
	security openapi3.SecurityRequirements
	schemes  openapi3.SecuritySchemes
}

// Name is how reports name the operation.
func (o *Operation) Name() string {
	if strings.HasPrefix(o.ID, o.Method+" ") {
		return o.ID
	}
	return o.ID + " " + o.Method + " " + o.Template
}

// Matches reports whether a --operation filter names o: its operationId,
// or "METHOD /path" as the spec writes the path ("ANY /path" for an
// any-method operation).
func (o *Operation) Matches(filter string) bool {
	if filter == o.ID {
		return true
	}
	m, p, ok := strings.Cut(strings.TrimSpace(filter), " ")
	if !ok || strings.TrimSpace(p) != o.Template {
		return false
	}
	return strings.EqualFold(m, o.Method) || o.Any && strings.EqualFold(m, "ANY")
}

// Plan lists the operations of a spec that can be tested over HTTP (not
// the WebSocket ones), in the spec's order. t is the spec as Load reads it
// for validation; the response checks compile its schemas as the
// validator does. keep (nil: all), given an operation's name (ID, Method,
// Template, Any), leaves the others out before anything is compiled for
// them.
func Plan(doc *spec.Document, t *openapi3.T, keep func(*Operation) bool) ([]*Operation, error) {
	var out []*Operation
	for _, pi := range doc.Paths {
		ops := slices.Clone(pi.Operations)
		if pi.AnyMethod != nil {
			ops = append(ops, pi.AnyMethod)
		}
		for _, sop := range ops {
			item, _, op, err := validate.Operation(t, sop.Template, sop.Method)
			if err != nil {
				continue // an any-method operation with every method taken
			}
			o := &Operation{ID: sop.OperationID, Method: sop.Method, Template: sop.Template, op: op}
			if o.Method == spec.AnyMethod {
				// A method the path item does not define, or the request
				// would reach that operation instead.
				o.Method, o.Any = freeMethod(pi), true
			}
			if o.ID == "" {
				o.ID = o.Method + " " + o.Template
			}
			if keep != nil && !keep(o) {
				continue
			}
			o.checker, err = validate.New(t, sop.Template, sop.Method, &validate.Settings{ResponseBody: true})
			if err != nil {
				return nil, fmt.Errorf("%s %s: %v", sop.Method, sop.Template, err)
			}
			rule := pi.CORS
			if rule == nil {
				rule = doc.Gateway.CORS
			}
			if r, _ := cors.Compile(rule, ""); r != nil {
				o.origin = r.AllowedOrigin(corsOrigin)
			}
			o.params = mergeParams(item.Parameters, op.Parameters)
			vn := sop.Validator
			if vn == nil {
				vn = doc.Gateway.Validator
			}
			if vn != nil {
				if s, errs := validate.ReadSettings(vn, ""); errs.Err() == nil && s != nil {
					o.validatesBody, o.validatesParams = s.RequestBody, s.RequestParams
				}
			}
			if op.Security != nil {
				o.security = *op.Security
			} else {
				o.security = t.Security
			}
			if t.Components != nil {
				o.schemes = t.Components.SecuritySchemes
			}
			out = append(out, o)
		}
	}
	return out, nil
}

// freeMethod is a method that reaches a path item's any-method operation.
func freeMethod(pi *spec.PathItem) string {
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if !slices.ContainsFunc(pi.Operations, func(op *spec.Operation) bool { return op.Method == m }) {
			return m
		}
	}
	return "PROPFIND" // every usual method is taken: one only any-method answers
}

// mergeParams is the path item's parameters overridden by the
// operation's (same name and place).
func mergeParams(item, op openapi3.Parameters) openapi3.Parameters {
	out := slices.Clone(op)
	for _, p := range item {
		if p == nil || p.Value == nil {
			continue
		}
		if op.GetByInAndName(p.Value.In, p.Value.Name) == nil {
			out = append(out, p)
		}
	}
	return out
}

// Case is one generated request and what its answer must be.
type Case struct {
	Name    string // "example", "minimal", "random 2", "invalid: ..."
	Method  string
	Path    string // path and query, escaped
	Header  http.Header
	Body    []byte
	Invalid bool // the validator must refuse it with 400
	// Cut: the generator gave up on a value of this request (a schema
	// that nests without end, or whose smallest value is too large), so
	// the request may not be what the spec describes.
	Cut bool
}

// Cases generates an operation's requests: valid ones (examples first,
// then the bounds, then random values), at most max, and, where its
// validator checks requests, invalid ones. The same seed gives the same
// cases.
func (o *Operation) Cases(seed uint64, max int) []Case {
	if max <= 0 {
		max = 5
	}
	modes := []Mode{Typical, Minimal, Maximal}
	for i := 0; len(modes) < max; i++ {
		modes = append(modes, Random)
	}
	var out []Case
	seen := map[string]bool{}
	for i, m := range modes[:max] {
		g := NewGenerator(seed+uint64(i)*7919+hash(o.ID), Request)
		name := m.String()
		if m == Typical {
			name = "example"
		}
		if m == Random {
			name = fmt.Sprintf("random %d", i-2)
		}
		c := o.build(g, m, name, nil)
		key := c.Path + "\x00" + string(c.Body) + "\x00" + fmt.Sprint(c.Header)
		if seen[key] {
			continue // the bounds and the example may coincide
		}
		seen[key] = true
		out = append(out, c)
	}
	return append(out, o.invalid(seed)...)
}

func hash(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// tweak changes one part of a valid request to make it invalid.
type tweak struct {
	param   *openapi3.Parameter
	omit    bool
	value   string
	body    []byte
	nobody  bool
	explain string
}

func (o *Operation) build(g *Generator, m Mode, name string, tw *tweak) Case {
	c := Case{Name: name, Method: o.Method, Header: http.Header{}}
	path := o.Template
	query := url.Values{}
	var cookies []string
	for _, ref := range o.params {
		p := ref.Value
		if p == nil {
			continue
		}
		if !p.Required && p.In != "path" {
			include := m == Maximal || m == Random && g.r.IntN(2) == 0 || m == Typical && hasExample(p)
			if !include && !(tw != nil && tw.param == p && !tw.omit) {
				continue
			}
		}
		var values []string
		switch {
		case tw != nil && tw.param == p && tw.omit:
			continue
		case tw != nil && tw.param == p:
			values = []string{tw.value}
		default:
			values = paramValues(g, p, m)
		}
		switch p.In {
		case "path":
			v := url.PathEscape(values[0])
			if strings.Contains(path, "{"+p.Name+"+}") {
				v = strings.ReplaceAll(v, "%2F", "/")
			}
			path = strings.Replace(path, "{"+p.Name+"+}", v, 1)
			path = strings.Replace(path, "{"+p.Name+"}", v, 1)
		case "query":
			query[p.Name] = values
		case "header":
			c.Header.Set(p.Name, values[0])
		case "cookie":
			cookies = append(cookies, p.Name+"="+url.QueryEscape(values[0]))
		}
	}
	if len(cookies) > 0 {
		c.Header.Set("Cookie", strings.Join(cookies, "; "))
	}
	c.Path = fillUndeclared(path)
	if len(query) > 0 {
		c.Path += "?" + query.Encode()
	}
	if rb := o.op.RequestBody; rb != nil && rb.Value != nil && (tw == nil || !tw.nobody) {
		if tw != nil && tw.body != nil {
			c.Header.Set("Content-Type", "application/json")
			c.Body = tw.body
		} else if name, mt := bodyMedia(rb.Value.Content); mt != nil && (rb.Value.Required || m != Minimal) {
			c.Header.Set("Content-Type", contentTypeOf(name))
			c.Body = bodyValue(g, mt, m, isJSON(name))
		}
	}
	o.credentials(&c)
	c.Cut = g.Cut()
	return c
}

// fillUndeclared gives a template parameter the operation does not
// declare (the spec should, but the gateway routes it anyway) a value, so
// that the request still reaches the route.
func fillUndeclared(path string) string {
	for {
		open := strings.IndexByte(path, '{')
		if open < 0 {
			return path
		}
		end := strings.IndexByte(path[open:], '}')
		if end < 0 {
			return path
		}
		path = path[:open] + "value" + path[open+end+1:]
	}
}

// credentials puts a made-up credential for the operation's first
// security requirement into the request: enough for a mocked authorizer;
// against real ones, --header gives a real one, which wins.
func (o *Operation) credentials(c *Case) {
	if len(o.security) == 0 {
		return
	}
	names := make([]string, 0, len(o.security[0]))
	for name := range o.security[0] {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		ref := o.schemes[name]
		if ref == nil || ref.Value == nil {
			continue
		}
		s := ref.Value
		switch {
		case s.Type == "http" && strings.EqualFold(s.Scheme, "basic"):
			c.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("apigw:test")))
		case s.Type == "http":
			c.Header.Set("Authorization", "Bearer apigw-test")
		case s.Type == "apiKey" && s.In == "header":
			c.Header.Set(s.Name, "apigw-test")
		case s.Type == "apiKey" && s.In == "cookie":
			c.Header.Add("Cookie", s.Name+"=apigw-test")
		case s.Type == "apiKey" && s.In == "query":
			sep := "?"
			if strings.Contains(c.Path, "?") {
				sep = "&"
			}
			c.Path += sep + url.QueryEscape(s.Name) + "=apigw-test"
		}
	}
}

// hasExample: the parameter, or its schema, gives an example.
func hasExample(p *openapi3.Parameter) bool {
	return p.Example != nil || len(p.Examples) > 0 || p.Schema != nil && p.Schema.Value != nil && p.Schema.Value.Example != nil
}

func paramValues(g *Generator, p *openapi3.Parameter, m Mode) []string {
	var v any
	if m == Typical {
		v = p.Example
		if v == nil {
			for _, ex := range p.Examples {
				if ex != nil && ex.Value != nil {
					v = ex.Value.Value
					break
				}
			}
		}
	}
	if v == nil && p.Schema != nil {
		v = g.Value(p.Schema, m)
	}
	if v == nil {
		v = "value"
	}
	if arr, ok := v.([]any); ok {
		out := make([]string, 0, len(arr))
		for _, e := range arr {
			out = append(out, Text(e))
		}
		if len(out) == 0 {
			out = []string{""}
		}
		if p.In != "query" || p.Explode != nil && !*p.Explode {
			return []string{strings.Join(out, ",")}
		}
		return out
	}
	return []string{Text(v)}
}

// bodyMedia picks the media type requests are sent as: JSON first.
func bodyMedia(content openapi3.Content) (string, *openapi3.MediaType) {
	names := make([]string, 0, len(content))
	for n := range content {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int {
		if ja, jb := isJSON(a), isJSON(b); ja != jb {
			if ja {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	if len(names) == 0 {
		return "", nil
	}
	return names[0], content[names[0]]
}

func contentTypeOf(name string) string {
	if strings.Contains(name, "*") {
		return "application/json"
	}
	return name
}

func bodyValue(g *Generator, mt *openapi3.MediaType, m Mode, asJSON bool) []byte {
	var v any
	if m == Typical {
		v = mt.Example
		if v == nil {
			names := make([]string, 0, len(mt.Examples))
			for n := range mt.Examples {
				names = append(names, n)
			}
			slices.Sort(names)
			for _, n := range names {
				if ex := mt.Examples[n]; ex != nil && ex.Value != nil {
					v = ex.Value.Value
					break
				}
			}
		}
	}
	if v == nil {
		v = g.Value(mt.Schema, m)
	}
	return Encode(v, asJSON)
}

func isJSON(mediaType string) bool { return IsJSONMedia(mediaType) }

// IsJSONMedia reports whether a declared media type is answered and sent
// as JSON: a JSON type, or a range that covers application/json.
func IsJSONMedia(mediaType string) bool {
	mt, _, _ := strings.Cut(strings.ToLower(mediaType), ";")
	mt = strings.TrimSpace(mt)
	return validate.IsJSON(mt) || mt == "*/*" || mt == "application/*"
}

// invalid makes the requests the validator must refuse: a required
// parameter left out, a typed or enumerated one given a wrong value, a
// required body left out, a body that misses a required property or has
// the wrong type. At most three per operation.
func (o *Operation) invalid(seed uint64) []Case {
	var tweaks []tweak
	if o.validatesParams {
		for _, ref := range o.params {
			p := ref.Value
			if p == nil || p.In == "path" && p.Schema == nil {
				continue
			}
			if p.Required && p.In != "path" {
				tweaks = append(tweaks, tweak{param: p, omit: true, explain: fmt.Sprintf("the required %s parameter %s left out", p.In, p.Name)})
			}
			if s := schemaOf(p.Schema); s != nil && (typeIs(s, "integer", "number", "boolean") || len(s.Enum) > 0) {
				tweaks = append(tweaks, tweak{param: p, value: "apigw-invalid", explain: fmt.Sprintf("the %s parameter %s given %q", p.In, p.Name, "apigw-invalid")})
			}
		}
	}
	if rb := o.op.RequestBody; o.validatesBody && rb != nil && rb.Value != nil {
		if _, mt := bodyMedia(rb.Value.Content); mt != nil && isJSONContent(rb.Value.Content) {
			if rb.Value.Required {
				tweaks = append(tweaks, tweak{nobody: true, explain: "the required body left out"})
			}
			if s := schemaOf(mt.Schema); s != nil {
				// A required readOnly property is not asked of a request.
				if name := requiredOfRequests(s); name != "" {
					g := NewGenerator(seed, Request)
					if obj, ok := g.Value(mt.Schema, Typical).(map[string]any); ok {
						delete(obj, name)
						b, _ := json.Marshal(obj)
						tweaks = append(tweaks, tweak{body: b, explain: "the body without its required property " + name})
					}
				}
				if typeIs(s, "object", "array") {
					tweaks = append(tweaks, tweak{body: []byte(`"apigw-invalid"`), explain: "a string as the body, where the schema wants " + typeOf(s)})
				}
			}
		}
	}
	if len(tweaks) > 3 {
		tweaks = tweaks[:3]
	}
	out := make([]Case, 0, len(tweaks))
	for i := range tweaks {
		g := NewGenerator(seed+hash(o.ID), Request)
		c := o.build(g, Typical, "invalid: "+tweaks[i].explain, &tweaks[i])
		c.Invalid = true
		out = append(out, c)
	}
	return out
}

// requiredOfRequests is the first property s requires of a request
// ("": none): a required readOnly one is left out of requests.
func requiredOfRequests(s *openapi3.Schema) string {
	for _, name := range s.Required {
		if p := schemaOf(s.Properties[name]); p == nil || !p.ReadOnly {
			return name
		}
	}
	return ""
}

func isJSONContent(c openapi3.Content) bool {
	name, _ := bodyMedia(c)
	return isJSON(name)
}

func schemaOf(r *openapi3.SchemaRef) *openapi3.Schema {
	if r == nil {
		return nil
	}
	return r.Value
}

func typeIs(s *openapi3.Schema, types ...string) bool {
	return slices.Contains(types, typeOf(s)) && len(s.AllOf)+len(s.AnyOf)+len(s.OneOf) == 0
}
