// Package dummy implements the `dummy` integration (digest §3.1): a static
// response whose body variant is chosen by content negotiation on Accept, with
// `{param}` substitution in headers and content.
package dummy

import (
	"net/http"
	"strconv"

	"github.com/apigw/apigw/internal/httperr"
	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/params"
	"github.com/apigw/apigw/internal/yamlx"
	"go.yaml.in/yaml/v3"
)

type config struct {
	Type             string    `yaml:"type"`
	HTTPCode         *int      `yaml:"http_code"`
	HTTPCodeAlias    *int      `yaml:"httpCode"` // seen in a tutorial
	HTTPHeaders      yaml.Node `yaml:"http_headers"`
	Content          yaml.Node `yaml:"content"`
	ServiceAccountID string    `yaml:"service_account_id"`
}

// Integration is a compiled dummy response.
type Integration struct {
	status   int
	headers  []header
	variants []variant // in document order, without "*"
	fallback *variant  // the "*" key
	ctSet    bool      // http_headers sets Content-Type explicitly
}

type header struct {
	name   string
	values []params.Template
	static []string // the values, when none has a placeholder
}

type variant struct {
	mediaType   string // "*" for the fallback
	typ, sub    string
	body        params.Template
	static      []byte // the body, when it has no placeholder
	contentType []string
	length      []string // its Content-Length
}

var (
	_ integration.Handler     = (*Integration)(nil)
	_ integration.Timed       = (*Integration)(nil)
	_ integration.IgnoresBody = (*Integration)(nil)
)

// AppliesDeadline: a static response never blocks.
func (*Integration) AppliesDeadline() {}

// IgnoresBody: the answer is static.
func (*Integration) IgnoresBody() {}

// New decodes and checks a dummy integration.
func New(b *integration.Build, n *yaml.Node, path string) (integration.Handler, yamlx.List) {
	var c config
	errs := yamlx.DecodeExtension(n, &c, path)
	if errs.Err() != nil {
		return nil, errs
	}
	code := c.HTTPCode
	if code == nil {
		code = c.HTTPCodeAlias
	}
	d := &Integration{}
	switch {
	case code == nil:
		errs.Errorf(n, path, "dummy integration needs http_code")
	case *code < 100 || *code > 599:
		errs.Errorf(yamlx.Get(n, "http_code"), yamlx.Join(path, "http_code"), "http_code must be between 100 and 599, not %d", *code)
	default:
		d.status = *code
	}
	headers, herrs := integration.DecodeHeaderMap(&c.HTTPHeaders, yamlx.Join(path, "http_headers"))
	errs.Add(herrs...)
	for _, h := range headers {
		hd := header{name: http.CanonicalHeaderKey(h.Name)}
		for _, v := range h.Values {
			hd.values = append(hd.values, params.Compile(v, b.Declared))
		}
		if hd.name == "Content-Type" {
			d.ctSet = true
		}
		hd.static = staticValues(hd.values)
		d.headers = append(d.headers, hd)
	}
	content := yamlx.Deref(&c.Content)
	switch {
	case content == nil || content.Kind == 0:
		errs.Errorf(n, path, "dummy integration needs content (a map of media type or '*' to body)")
	case content.Kind != yaml.MappingNode:
		errs.Errorf(content, yamlx.Join(path, "content"), "content must map a media type or '*' to a body, got %s", yamlx.KindName(content))
	default:
		for i := 0; i+1 < len(content.Content); i += 2 {
			k, v := content.Content[i], yamlx.Deref(content.Content[i+1])
			if v.Kind != yaml.ScalarNode {
				errs.Errorf(v, yamlx.Join(path, "content."+k.Value), "a body must be a string, got %s", yamlx.KindName(v))
				continue
			}
			body := v.Value
			if v.ShortTag() == "!!null" {
				body = ""
			}
			vr := variant{mediaType: k.Value, body: params.Compile(body, b.Declared)}
			if vr.body.Static() {
				vr.static = []byte(body)
				vr.length = []string{strconv.Itoa(len(body))}
			}
			if k.Value == "*" {
				vr.contentType = []string{"text/plain; charset=utf-8"}
				d.fallback = &vr
				continue
			}
			vr.contentType = []string{k.Value}
			mt, ok := parseMediaRange(k.Value)
			if !ok {
				errs.Errorf(k, yamlx.Join(path, "content"), "%q is neither a media type (type/subtype) nor '*'", k.Value)
				continue
			}
			vr.typ, vr.sub = mt.typ, mt.sub
			d.variants = append(d.variants, vr)
		}
		if len(d.variants) == 0 && d.fallback == nil && len(errs) == 0 {
			errs.Errorf(content, yamlx.Join(path, "content"), "content needs at least one body")
		}
	}
	if len(errs.Errors()) > 0 {
		return nil, errs
	}
	return d, errs
}

// Serve writes the static response.
func (d *Integration) Serve(w http.ResponseWriter, r *http.Request, c *integration.Call) error {
	v := d.choose(r.Header.Values("Accept"))
	if v == nil {
		return httperr.New(http.StatusUnsupportedMediaType, "Media not supported: no content variant matches the Accept header")
	}
	h := w.Header()
	for _, hd := range d.headers {
		if hd.static != nil {
			h[hd.name] = hd.static
			continue
		}
		for i, t := range hd.values {
			val, err := t.ExpandHeader(c.Params)
			if err != nil {
				return httperr.Wrap(http.StatusBadRequest, "invalid parameter value for header "+hd.name, err)
			}
			if i == 0 {
				h.Set(hd.name, val)
			} else {
				h.Add(hd.name, val)
			}
		}
	}
	if !d.ctSet {
		h["Content-Type"] = v.contentType
	}
	body, length := v.static, v.length
	if body == nil {
		body = []byte(v.body.Expand(c.Params, nil))
		length = []string{strconv.Itoa(len(body))}
	}
	h["Content-Length"] = length
	w.WriteHeader(d.status)
	if r.Method != http.MethodHead {
		w.Write(body) // a write error means the client left; nothing to render
	}
	return nil
}

// staticValues returns the header values when none has a placeholder.
func staticValues(ts []params.Template) []string {
	out := make([]string, 0, len(ts))
	for _, t := range ts {
		if !t.Static() {
			return nil
		}
		out = append(out, t.String())
	}
	return out
}
