// Package params resolves the `{name}` placeholders of integration fields
// (digest §2.6): a placeholder names a parameter declared on the operation (or
// its path item), in the path, query, header or cookie; an absent value takes
// the schema default, else the empty string; an undeclared name stays literal.
//
// Templates are compiled once at build time; a request only fills them in.
package params

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/apigw/apigw/internal/router"
	"github.com/apigw/apigw/internal/spec"
)

// Declared is the set of parameters one operation declares.
type Declared struct {
	list   []spec.Parameter
	greedy map[string]bool
}

// NewDeclared indexes an operation's parameters. tmpl tells which path
// parameters are greedy (their values keep "/" when put in a URL path).
func NewDeclared(ps []spec.Parameter, tmpl *router.Template) *Declared {
	d := &Declared{list: ps, greedy: map[string]bool{}}
	if tmpl != nil {
		for _, n := range tmpl.Params() {
			if tmpl.IsGreedy(n) {
				d.greedy[n] = true
			}
		}
	}
	return d
}

// lookup finds the declared parameter a placeholder names. Header names
// match case-insensitively.
func (d *Declared) lookup(name string) (spec.Parameter, bool) {
	for _, p := range d.list {
		if p.Name == name || (p.In == "header" && strings.EqualFold(p.Name, name)) {
			return p, true
		}
	}
	return spec.Parameter{}, false
}

// Has reports whether name is declared.
func (d *Declared) Has(name string) bool {
	_, ok := d.lookup(name)
	return ok
}

// Greedy reports whether name is a greedy path parameter.
func (d *Declared) Greedy(name string) bool { return d.greedy[name] }

// Request binds the declared parameters to one request's values.
type Request struct {
	d     *Declared
	r     *http.Request
	path  []router.Param
	query url.Values
}

// BindTo prepares the lookup of parameter values for one request, in a
// caller-owned Request (the gateway reuses them between requests).
func (d *Declared) BindTo(v *Request, r *http.Request, path []router.Param) {
	*v = Request{d: d, r: r, path: path}
}

// Path returns the captured path parameters.
func (v *Request) Path() []router.Param { return v.path }

// Query returns the parsed query string (parsed once per request).
func (v *Request) Query() url.Values {
	if v.query == nil {
		v.query = v.r.URL.Query()
	}
	return v.query
}

// Get returns the value of a declared parameter: the request's, else the
// schema default, else "". ok is false for an undeclared name.
func (v *Request) Get(name string) (val string, ok bool) {
	p, ok := v.d.lookup(name)
	if !ok {
		return "", false
	}
	val, present := v.raw(p)
	if !present && p.HasDefault {
		val = p.Default
	}
	return val, true
}

func (v *Request) raw(p spec.Parameter) (string, bool) {
	switch p.In {
	case "path":
		for _, pp := range v.path {
			if pp.Name == p.Name {
				return pp.Value, true
			}
		}
	case "query":
		if vals, ok := v.Query()[p.Name]; ok && len(vals) > 0 {
			return vals[0], true
		}
	case "header":
		if vals := v.r.Header.Values(p.Name); len(vals) > 0 {
			return strings.Join(vals, ","), true
		}
	case "cookie":
		if c, err := v.r.Cookie(p.Name); err == nil {
			return c.Value, true
		}
	}
	return "", false
}

// Declared returns every declared parameter with its request values (all of
// them: a repeated query parameter or header gives several), the schema
// default standing in for an absent one. A parameter absent without a
// default is left out. Names are as declared.
func (v *Request) Declared() map[string][]string {
	out := make(map[string][]string, len(v.d.list))
	for _, p := range v.d.list {
		vals := v.all(p)
		if len(vals) == 0 && p.HasDefault {
			vals = []string{p.Default}
		}
		if len(vals) > 0 {
			out[p.Name] = vals
		}
	}
	return out
}

func (v *Request) all(p spec.Parameter) []string {
	switch p.In {
	case "query":
		return v.Query()[p.Name]
	case "header":
		return v.r.Header.Values(p.Name)
	case "cookie":
		var out []string
		for _, c := range v.r.CookiesNamed(p.Name) {
			out = append(out, c.Value)
		}
		return out
	}
	if val, ok := v.raw(p); ok {
		return []string{val}
	}
	return nil
}
