// Package cors applies a CorsRuleObject (digest §5.1): it answers
// preflight requests without calling the integration and adds the CORS
// headers to actual responses. A rule is compiled once per path item; a
// request only reads it.
package cors

import (
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/apigw/apigw/internal/yamlx"
	"go.yaml.in/yaml/v3"
)

// Rule is a compiled CORS rule. A nil *Rule, or one with Disabled set
// (origin: false), does nothing: preflights go to the path's own OPTIONS
// operation and the integration's own CORS headers pass through.
type Rule struct {
	Disabled bool

	echoAny     bool            // origin: true
	literal     string          // origin: "https://a.example" or "*"
	listed      map[string]bool // origin: [list]: echo a listed Origin
	methods     string          // "": echo Access-Control-Request-Method
	allowHdr    string
	exposeHdr   string
	credentials string // "true", "false" or ""
	maxAge      string
	status      int
}

type settings struct {
	Origin               yaml.Node `yaml:"origin"`
	Methods              yaml.Node `yaml:"methods"`
	AllowedHeaders       yaml.Node `yaml:"allowedHeaders"`
	ExposedHeaders       yaml.Node `yaml:"exposedHeaders"`
	Credentials          *bool     `yaml:"credentials"`
	MaxAge               *int      `yaml:"maxAge"`
	OptionsSuccessStatus *int      `yaml:"optionsSuccessStatus"`
}

// Compile reads a CorsRuleObject ($ref already resolved). nil n gives nil.
func Compile(n *yaml.Node, path string) (*Rule, yamlx.List) {
	if n == nil {
		return nil, nil
	}
	var s settings
	errs := yamlx.DecodeExtension(n, &s, path)
	if errs.Err() != nil {
		return nil, errs
	}
	r := &Rule{status: http.StatusOK}
	o := &s.Origin
	switch {
	case o.Kind == 0:
		errs.Errorf(n, yamlx.Join(path, "origin"), "origin is required: true (echo the request's Origin), false (no CORS handling), an origin or a list of origins")
	case o.Kind == yaml.ScalarNode && o.ShortTag() == "!!bool":
		if o.Value == "true" {
			r.echoAny = true
		} else {
			r.Disabled = true
		}
	case o.Kind == yaml.ScalarNode:
		r.literal = o.Value
	case o.Kind == yaml.SequenceNode:
		r.listed = map[string]bool{}
		for _, c := range o.Content {
			if c.Kind != yaml.ScalarNode {
				errs.Errorf(c, yamlx.Join(path, "origin"), "an origin list holds strings")
				continue
			}
			if c.Value == "*" {
				r.literal = "*"
			}
			r.listed[c.Value] = true
		}
	default:
		errs.Errorf(o, yamlx.Join(path, "origin"), "must be a boolean, a string or a list of strings")
	}
	r.methods = list(&s.Methods, yamlx.Join(path, "methods"), &errs)
	r.allowHdr = list(&s.AllowedHeaders, yamlx.Join(path, "allowedHeaders"), &errs)
	r.exposeHdr = list(&s.ExposedHeaders, yamlx.Join(path, "exposedHeaders"), &errs)
	if s.Credentials != nil {
		r.credentials = strconv.FormatBool(*s.Credentials)
	}
	if s.MaxAge != nil {
		if *s.MaxAge < 0 {
			errs.Errorf(yamlx.Get(n, "maxAge"), yamlx.Join(path, "maxAge"), "must not be negative")
		}
		r.maxAge = strconv.Itoa(*s.MaxAge)
	}
	if s.OptionsSuccessStatus != nil {
		if *s.OptionsSuccessStatus < 200 || *s.OptionsSuccessStatus > 299 {
			errs.Errorf(yamlx.Get(n, "optionsSuccessStatus"), yamlx.Join(path, "optionsSuccessStatus"), "must be a 2xx status (browsers fail a preflight otherwise)")
		}
		r.status = *s.OptionsSuccessStatus
	}
	if errs.Err() != nil {
		return nil, errs
	}
	return r, errs
}

// list reads a string or a list of strings as one comma-separated value.
func list(n *yaml.Node, path string, errs *yamlx.List) string {
	switch n.Kind {
	case 0:
		return ""
	case yaml.ScalarNode:
		return n.Value
	case yaml.SequenceNode:
		parts := make([]string, 0, len(n.Content))
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				errs.Errorf(c, path, "must be a string or a list of strings")
				continue
			}
			parts = append(parts, c.Value)
		}
		return strings.Join(parts, ", ")
	}
	errs.Errorf(n, path, "must be a string or a list of strings")
	return ""
}

// AllowedOrigin returns an origin the rule allows: want itself when the
// rule allows any, else the first of its list (sorted), else "" (none,
// or the rule is off). Contract tests send it to see the rule at work.
func (r *Rule) AllowedOrigin(want string) string {
	if !r.Active() {
		return ""
	}
	if v, _ := r.allowOrigin(want); v != "" {
		return want
	}
	if len(r.listed) > 0 {
		keys := make([]string, 0, len(r.listed))
		for k := range r.listed {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return keys[0]
	}
	return ""
}

// Active reports whether the rule handles CORS.
func (r *Rule) Active() bool { return r != nil && !r.Disabled }

// IsPreflight reports whether req is a CORS preflight: OPTIONS with Origin
// and Access-Control-Request-Method.
func IsPreflight(req *http.Request) bool {
	return req.Method == http.MethodOptions && req.Header.Get("Origin") != "" && req.Header.Get("Access-Control-Request-Method") != ""
}

// allowOrigin is the Access-Control-Allow-Origin value for a request's
// Origin ("" leaves the header out) and whether it depends on the Origin.
func (r *Rule) allowOrigin(origin string) (value string, varies bool) {
	switch {
	case r.echoAny:
		return origin, true
	case r.listed != nil:
		if r.literal == "*" {
			return "*", false
		}
		if r.listed[origin] {
			return origin, true
		}
		return "", true
	}
	return r.literal, false
}

// Preflight answers a preflight request with an empty body.
func (r *Rule) Preflight(w http.ResponseWriter, req *http.Request) {
	h := w.Header()
	origin := req.Header.Get("Origin")
	allow, varies := r.allowOrigin(origin)
	if allow != "" {
		h.Set("Access-Control-Allow-Origin", allow)
	}
	if varies {
		h.Add("Vary", "Origin")
	}
	if r.methods != "" {
		h.Set("Access-Control-Allow-Methods", r.methods)
	} else {
		// The documentation names Access-Control-Request-Headers here;
		// the method is what a method list can hold (digest §5.1).
		h.Set("Access-Control-Allow-Methods", req.Header.Get("Access-Control-Request-Method"))
		h.Add("Vary", "Access-Control-Request-Method")
	}
	if r.allowHdr != "" {
		h.Set("Access-Control-Allow-Headers", r.allowHdr)
	}
	if r.exposeHdr != "" {
		h.Set("Access-Control-Expose-Headers", r.exposeHdr)
	}
	if r.credentials != "" {
		h.Set("Access-Control-Allow-Credentials", r.credentials)
	}
	if r.maxAge != "" {
		h.Set("Access-Control-Max-Age", r.maxAge)
	}
	h.Set("Content-Length", "0")
	w.WriteHeader(r.status)
}

// Decorate adds the CORS headers of an actual response to h, for a request
// with Origin, unless the integration set Access-Control-Allow-Origin
// itself.
func (r *Rule) Decorate(h http.Header, origin string) {
	if origin == "" || h.Get("Access-Control-Allow-Origin") != "" {
		return
	}
	allow, varies := r.allowOrigin(origin)
	if varies {
		h.Add("Vary", "Origin")
	}
	if allow == "" {
		return
	}
	h.Set("Access-Control-Allow-Origin", allow)
	if r.exposeHdr != "" {
		h.Set("Access-Control-Expose-Headers", r.exposeHdr)
	}
	if r.credentials != "" {
		h.Set("Access-Control-Allow-Credentials", r.credentials)
	}
}
