// Package mock answers an operation from the responses its spec declares,
// as Prism does for plain OpenAPI: the status, the body (an example, else
// data generated from the schema) and the headers, chosen by the request's
// Accept and Prefer headers. `apigw serve --mock` and `mock: true`
// bindings put it in place of a target that is not bound (docs/mock.md).
//
// Everything that does not depend on the request is made at build time:
// each response's bodies and headers are ready bytes; a request only picks.
package mock

import (
	"fmt"
	"hash/fnv"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v3"

	"github.com/apigw/apigw/internal/contract"
	"github.com/apigw/apigw/internal/httperr"
	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/policy/validate"
	"github.com/apigw/apigw/internal/spec"
	"github.com/apigw/apigw/internal/yamlx"
)

// Header marks every mocked answer, so that nobody mistakes it for a
// backend's.
const Header = "X-Apigw-Mock"

// Responder is one operation's mock.
type Responder struct {
	target    string     // what is mocked, for Describe
	echo      bool       // a WebSocket message operation: answer what came
	responses []response // 2xx first (ascending), then the rest, default last
	first     *response  // the answer without Prefer: code
}

type response struct {
	key     string // as declared: "200", "4XX", "default"
	many    bool   // a range or default: Prefer: code=N answers N
	status  int    // what the answer carries
	media   []media
	headers [][2]string
}

type media struct {
	name     string // the declared media type
	ctype    string // the Content-Type sent
	schema   *openapi3.Schema
	ref      *openapi3.SchemaRef // the schema as declared (XML names its root after it)
	json     bool
	xml      bool
	body     []byte   // the static answer: example, first of examples, else generated
	examples []string // names of examples, in the spec's order
	named    map[string][]byte
}

// Target names what a Responder stands in for.
type Target struct {
	Kind, ID string // from integration.NotBound; empty for a WebSocket echo
}

// New builds the mock of an operation. op is kin-openapi's view of it
// (nil for WebSocket operations), node the operation's YAML node for
// the problems' lines, root the spec's root mapping to follow local
// $refs. Examples that violate their schemas are warnings at their line.
func New(op *openapi3.Operation, method string, t Target, root, node *yaml.Node, path string, errs *yamlx.List) *Responder {
	m := &Responder{target: "mock"}
	if t.ID != "" {
		m.target = "mock of " + integration.KindNoun(t.Kind) + " " + t.ID
	}
	if strings.HasPrefix(method, "WS-") {
		m.echo = method == "WS-MESSAGE"
		m.first = &response{status: http.StatusOK}
		return m
	}
	if op == nil || op.Responses == nil || op.Responses.Len() == 0 {
		m.first = &response{key: "200", status: http.StatusOK}
		m.responses = []response{*m.first}
		return m
	}
	keys := make([]string, 0, op.Responses.Len())
	for k := range op.Responses.Map() {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return rank(keys[i]) < rank(keys[j]) })
	respNodes := yamlx.Get(node, "responses")
	for _, k := range keys {
		ref := op.Responses.Value(k)
		if ref == nil || ref.Value == nil {
			continue
		}
		rn := deref(root, yamlx.Get(respNodes, k))
		rpath := yamlx.Join(yamlx.Join(path, "responses"), k)
		m.responses = append(m.responses, buildResponse(k, ref.Value, root, rn, rpath, errs))
	}
	if len(m.responses) > 0 {
		m.first = &m.responses[0]
	} else {
		m.first = &response{key: "200", status: http.StatusOK}
	}
	return m
}

// rank orders response keys: 2xx first, then 1xx, 3xx, 4xx, 5xx, ranges
// after their codes, default (and keys OpenAPI does not define) last.
func rank(key string) int {
	code, ok := spec.ResponseKey(key)
	switch {
	case !ok || code == 0:
		return 10000
	case code < 10: // a range
		code = code*100 + 99
	}
	if code >= 200 && code < 300 {
		return code - 1000
	}
	return code
}

// statusOf is the status an answer of a response key carries: its own, a
// range's first (400 for 4XX), 200 for default.
func statusOf(key string) int {
	code, ok := spec.ResponseKey(key)
	switch {
	case !ok || code == 0:
		return http.StatusOK
	case code < 10:
		return code * 100
	}
	return code
}

func buildResponse(key string, r *openapi3.Response, root, node *yaml.Node, path string, errs *yamlx.List) response {
	code, ok := spec.ResponseKey(key)
	out := response{key: key, status: statusOf(key), many: ok && code < 100}
	names := make([]string, 0, len(r.Content))
	for name := range r.Content {
		names = append(names, name)
	}
	// JSON first, then the spec's order as far as YAML keeps it.
	content := deref(root, yamlx.Get(node, "content"))
	order := keyOrder(content)
	sort.SliceStable(names, func(i, j int) bool {
		ji, jj := isJSON(names[i]), isJSON(names[j])
		if ji != jj {
			return ji
		}
		return order[names[i]] < order[names[j]]
	})
	if len(names) > 0 && !out.many && !validate.BodyAllowed(out.status) {
		errs.Warnf(content, yamlx.Join(path, "content"), "a %d answer has no body in HTTP: the content declared here is never sent (mocks answer without it)", out.status)
	}
	for _, name := range names {
		mt := r.Content[name]
		if mt == nil {
			continue
		}
		mn := deref(root, yamlx.Get(content, name))
		out.media = append(out.media, buildMedia(name, mt, root, mn, yamlx.Join(yamlx.Join(path, "content"), name), errs))
	}
	hnames := make([]string, 0, len(r.Headers))
	for name := range r.Headers {
		hnames = append(hnames, name)
	}
	slices.Sort(hnames)
	for _, name := range hnames {
		h := r.Headers[name]
		if h == nil || h.Value == nil || strings.EqualFold(name, "Content-Type") {
			continue
		}
		var v any = h.Value.Example
		if v == nil {
			for _, ex := range sortedExamples(h.Value.Examples) {
				v = ex
				break
			}
		}
		if v == nil && h.Value.Schema != nil {
			v = contract.NewGenerator(0, contract.Response).Value(h.Value.Schema, contract.Typical)
		}
		if v == nil {
			v = "mock"
		}
		out.headers = append(out.headers, [2]string{http.CanonicalHeaderKey(name), contract.Text(v)})
	}
	return out
}

func sortedExamples(m openapi3.Examples) []any {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	var out []any
	for _, n := range names {
		if e := m[n]; e != nil && e.Value != nil {
			out = append(out, e.Value.Value)
		}
	}
	return out
}

func buildMedia(name string, mt *openapi3.MediaType, root, node *yaml.Node, path string, errs *yamlx.List) media {
	md := media{name: name, ctype: contentType(name), json: isJSON(name), xml: contract.IsXMLMedia(name), named: map[string][]byte{}, ref: mt.Schema}
	if mt.Schema != nil {
		md.schema = mt.Schema.Value
	}
	check := func(v any, at *yaml.Node, where string) {
		if !md.json || md.schema == nil {
			return
		}
		for _, p := range validate.Check(md.schema, v, true) {
			field := ""
			if p.Field != "" {
				field = " at " + p.Field
			}
			errs.Warnf(pointerNode(at, p.Field), where, "the example does not match its schema%s: %s (mocks answer it as written, and response validation refuses it)", field, p.Message)
		}
	}
	exNodes := deref(root, yamlx.Get(node, "examples"))
	order := keyOrder(exNodes)
	for n := range mt.Examples {
		md.examples = append(md.examples, n)
	}
	sort.SliceStable(md.examples, func(i, j int) bool {
		if oi, oj := order[md.examples[i]], order[md.examples[j]]; oi != oj {
			return oi < oj
		}
		return md.examples[i] < md.examples[j]
	})
	for _, n := range md.examples {
		ex := mt.Examples[n]
		if ex == nil || ex.Value == nil {
			continue
		}
		at := deref(root, yamlx.Get(exNodes, n))
		if v := yamlx.Get(at, "value"); v != nil {
			at = v
		}
		check(ex.Value.Value, at, yamlx.Join(yamlx.Join(path, "examples"), n))
		md.named[n] = md.encode(ex.Value.Value)
	}
	switch {
	case mt.Example != nil:
		check(mt.Example, yamlx.Get(node, "example"), yamlx.Join(path, "example"))
		md.body = md.encode(mt.Example)
	case len(md.examples) > 0:
		md.body = md.named[md.examples[0]]
	case md.schema != nil:
		g := contract.NewGenerator(0, contract.Response)
		v := g.Value(mt.Schema, contract.Typical)
		switch {
		case g.Cut():
			errs.Warnf(node, path, "apigw gave up generating mock data for this schema: it nests deeper than its required properties can end (a property that requires itself), or its smallest value is too large (nested minItems); the mock answers a value cut short: give the media type an example")
		case md.json:
			if probs := validate.Check(md.schema, v, true); len(probs) > 0 {
				errs.Warnf(node, path, "apigw could not generate mock data that matches this schema (%s): give the media type an example", probs[0].Message)
			}
		}
		md.body = md.encode(v)
	}
	return md
}

// encode writes a value as a body of md's media type: JSON, XML (the
// schema's element names), else a string as it is.
func (md *media) encode(v any) []byte {
	if md.xml {
		return contract.EncodeXML(v, md.ref)
	}
	return contract.Encode(v, md.json)
}

func isJSON(mediaType string) bool { return contract.IsJSONMedia(mediaType) }

// contentType is the Content-Type of an answer of a declared media type
// (a range answers as JSON or bytes).
func contentType(name string) string {
	switch name {
	case "*/*", "application/*":
		return "application/json"
	}
	if strings.HasSuffix(name, "/*") {
		return "application/octet-stream"
	}
	return name
}

// keyOrder maps a mapping node's keys to their positions.
func keyOrder(n *yaml.Node) map[string]int {
	out := map[string]int{}
	if n == nil || n.Kind != yaml.MappingNode {
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		out[n.Content[i].Value] = i
	}
	return out
}

// pointerNode is the node a JSON pointer names within n, or the deepest
// one it reaches: where a problem of an example is.
func pointerNode(n *yaml.Node, pointer string) *yaml.Node {
	if pointer == "" || n == nil {
		return n
	}
	for _, part := range strings.Split(strings.TrimPrefix(pointer, "/"), "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		var next *yaml.Node
		switch n.Kind {
		case yaml.MappingNode:
			next = yamlx.Get(n, part)
		case yaml.SequenceNode:
			if i, err := strconv.Atoi(part); err == nil && i >= 0 && i < len(n.Content) {
				next = n.Content[i]
			}
		}
		if next == nil {
			return n
		}
		n = next
	}
	return n
}

// deref follows a local $ref ("#/components/...") within root.
func deref(root, n *yaml.Node) *yaml.Node {
	for range 16 {
		ref := yamlx.Get(n, "$ref")
		if ref == nil || !strings.HasPrefix(ref.Value, "#/") {
			return n
		}
		at := root
		for _, part := range strings.Split(ref.Value[2:], "/") {
			part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
			at = yamlx.Get(at, part)
		}
		if at == nil {
			return n
		}
		n = at
	}
	return n
}

// Describe says what the operation answers from.
func (m *Responder) Describe() string { return m.target }

// IgnoresBody: a mock reads no body, except to echo a WebSocket message.
func (m *Responder) IgnoresBody() {}

// Serve answers the request from the declared responses.
func (m *Responder) Serve(w http.ResponseWriter, r *http.Request, c *integration.Call) error {
	h := w.Header()
	h.Set(Header, "true")
	if m.echo {
		body, err := integration.ReadBody(r)
		if err != nil {
			return err
		}
		if ct := r.Header.Get("Content-Type"); ct != "" {
			h.Set("Content-Type", ct)
		}
		w.WriteHeader(http.StatusOK)
		_, err = w.Write(body)
		return err
	}
	pref := ParsePrefer(r.Header.Values("Prefer"))
	resp := m.first
	var applied []string
	if pref.Code != "" {
		resp = m.byCode(pref.Code)
		if resp == nil {
			return httperr.New(http.StatusBadRequest, fmt.Sprintf("Prefer: code=%s names no response of this operation (declared: %s)", pref.Code, m.declared()))
		}
		applied = append(applied, "code="+pref.Code)
	}
	status := resp.status
	if resp.many {
		if code, err := strconv.Atoi(pref.Code); err == nil {
			status = code
		}
	}
	var body []byte
	if len(resp.media) > 0 {
		md, err := resp.negotiate(r.Header.Values("Accept"))
		if err != nil {
			return err
		}
		body = md.body
		switch {
		case pref.Example != "":
			ex, ok := md.named[pref.Example]
			if !ok {
				return httperr.New(http.StatusBadRequest, fmt.Sprintf("Prefer: example=%s names no example of the %s %s answer (examples: %s)", pref.Example, resp.key, md.name, list(md.examples)))
			}
			body = ex
			applied = append(applied, "example="+pref.Example)
		case pref.Dynamic && md.schema != nil:
			v := contract.NewGenerator(dynamicSeed(r), contract.Response).Value(md.ref, contract.Random)
			body = md.encode(v)
			applied = append(applied, "dynamic=true")
		}
		h.Set("Content-Type", md.ctype)
	}
	for _, kv := range resp.headers {
		h.Set(kv[0], kv[1])
	}
	if len(applied) > 0 {
		h.Set("Preference-Applied", strings.Join(applied, ", "))
	}
	if !validate.BodyAllowed(status) {
		// HTTP has no body here (the load warned of declared content).
		h.Del("Content-Type")
		w.WriteHeader(status)
		return nil
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, err := w.Write(body)
	return err
}

var (
	dynamicCount atomic.Uint64
	dynamicBase  = uint64(time.Now().UnixNano()) // a new sequence per process
)

// dynamicSeed differs from one dynamic answer to the next, and from one
// run of the gateway to the next.
func dynamicSeed(r *http.Request) uint64 {
	f := fnv.New64a()
	f.Write([]byte(r.Method + " " + r.URL.String()))
	return f.Sum64() ^ dynamicBase ^ dynamicCount.Add(1)*0x9e3779b97f4a7c15
}

func (m *Responder) byCode(code string) *response {
	for i := range m.responses {
		if m.responses[i].key == code {
			return &m.responses[i]
		}
	}
	if n, ok := spec.ResponseKey(code); ok && n >= 100 {
		// Its range's response, else default's (OpenAPI's precedence).
		for _, want := range []int{n / 100, 0} {
			for i := range m.responses {
				if k, ok := spec.ResponseKey(m.responses[i].key); ok && k == want {
					return &m.responses[i]
				}
			}
		}
	}
	return nil
}

func (m *Responder) declared() string {
	keys := make([]string, len(m.responses))
	for i, r := range m.responses {
		keys[i] = r.key
	}
	return list(keys)
}

func list(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
