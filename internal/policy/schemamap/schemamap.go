// Package schemamap applies x-yc-schema-mapping (digest §5.6): a static
// template describing a JSON body, whose strings may read the original
// body through ${.path} expressions. A template is compiled once; a
// request only walks it.
package schemamap

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/apigw/apigw/internal/yamlx"
	"go.yaml.in/yaml/v3"
)

// Template is a compiled mapping.
type Template struct{ root node }

type node interface{ eval(in any) any }

type literal struct{ v any }
type object struct {
	keys []string
	vals []node
}
type array []node

// whole is a string that is exactly one ${.path}: the value keeps its JSON
// type.
type whole struct{ p path }

// text is a string with expressions inside longer text: each is replaced
// by its string form.
type text struct {
	parts []string // literal parts, len(exprs)+1
	exprs []path
}

// path is a jq-like path: field names and array indices.
type path []step
type step struct {
	field string
	index int // when field == "" (and isIndex)
	isIdx bool
}

// exprRE finds ${...}; a body path starts with "." (${var.x} is a spec
// variable, substituted when the spec loaded).
var exprRE = regexp.MustCompile(`\$\{(\.[^}]*)\}`)

// Compile reads an x-yc-schema-mapping object: {type: static, template}.
func Compile(n *yaml.Node, at string) (*Template, yamlx.List) {
	var s struct {
		Type     string    `yaml:"type"`
		Template yaml.Node `yaml:"template"`
	}
	errs := yamlx.DecodeExtension(n, &s, at)
	if errs.Err() != nil {
		return nil, errs
	}
	if s.Type != "static" {
		errs.Errorf(yamlx.Get(n, "type"), yamlx.Join(at, "type"), "only type: static is defined, not %q", s.Type)
	}
	if s.Template.Kind == 0 {
		errs.Errorf(n, yamlx.Join(at, "template"), "needs a template: the body to produce")
	}
	if errs.Err() != nil {
		return nil, errs
	}
	root := compile(&s.Template, yamlx.Join(at, "template"), &errs)
	if errs.Err() != nil {
		return nil, errs
	}
	return &Template{root: root}, errs
}

func compile(n *yaml.Node, at string, errs *yamlx.List) node {
	n = yamlx.Deref(n)
	switch n.Kind {
	case yaml.MappingNode:
		o := &object{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			o.keys = append(o.keys, n.Content[i].Value)
			o.vals = append(o.vals, compile(n.Content[i+1], yamlx.Join(at, n.Content[i].Value), errs))
		}
		return o
	case yaml.SequenceNode:
		a := make(array, 0, len(n.Content))
		for i, c := range n.Content {
			a = append(a, compile(c, fmt.Sprintf("%s[%d]", at, i), errs))
		}
		return a
	case yaml.ScalarNode:
		if n.ShortTag() != "!!str" {
			var v any
			if err := n.Decode(&v); err != nil {
				errs.Errorf(n, at, "%v", err)
			}
			return literal{v}
		}
		locs := exprRE.FindAllStringSubmatchIndex(n.Value, -1)
		if len(locs) == 0 {
			return literal{n.Value}
		}
		var paths []path
		for _, l := range locs {
			p, err := parsePath(n.Value[l[2]:l[3]])
			if err != nil {
				errs.Errorf(n, at, "%v", err)
				return literal{nil}
			}
			paths = append(paths, p)
		}
		if len(locs) == 1 && locs[0][0] == 0 && locs[0][1] == len(n.Value) {
			return whole{paths[0]}
		}
		t := &text{exprs: paths}
		prev := 0
		for _, l := range locs {
			t.parts = append(t.parts, n.Value[prev:l[0]])
			prev = l[1]
		}
		t.parts = append(t.parts, n.Value[prev:])
		return t
	}
	errs.Errorf(n, at, "unsupported template node")
	return literal{nil}
}

// parsePath reads .a.b[0]."c d" (the whole input is ".").
func parsePath(s string) (path, error) {
	var p path
	rest := s
	for rest != "" {
		switch {
		case strings.HasPrefix(rest, "["):
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, fmt.Errorf("${%s}: unclosed [", s)
			}
			inner := rest[1:end]
			if i, err := strconv.Atoi(inner); err == nil && i >= 0 {
				p = append(p, step{index: i, isIdx: true})
			} else if uq, err := strconv.Unquote(inner); err == nil {
				p = append(p, step{field: uq})
			} else {
				return nil, fmt.Errorf("${%s}: [%s] is neither an index nor a quoted name", s, inner)
			}
			rest = rest[end+1:]
		case strings.HasPrefix(rest, "."):
			rest = rest[1:]
			if rest == "" || rest[0] == '[' {
				continue
			}
			if rest[0] == '"' {
				end := strings.IndexByte(rest[1:], '"')
				if end < 0 {
					return nil, fmt.Errorf("${%s}: unclosed quote", s)
				}
				p = append(p, step{field: rest[1 : end+1]})
				rest = rest[end+2:]
				continue
			}
			end := strings.IndexAny(rest, ".[")
			if end < 0 {
				end = len(rest)
			}
			p = append(p, step{field: rest[:end]})
			rest = rest[end:]
		default:
			return nil, fmt.Errorf("${%s}: expected .name or [index] at %q", s, rest)
		}
	}
	return p, nil
}

func (p path) get(in any) any {
	v := in
	for _, st := range p {
		switch c := v.(type) {
		case map[string]any:
			if st.isIdx {
				return nil
			}
			v = c[st.field]
		case []any:
			if !st.isIdx || st.index >= len(c) {
				return nil
			}
			v = c[st.index]
		default:
			return nil
		}
	}
	return v
}

func (l literal) eval(any) any { return l.v }
func (o *object) eval(in any) any {
	out := make(map[string]any, len(o.keys))
	for i, k := range o.keys {
		out[k] = o.vals[i].eval(in)
	}
	return out
}
func (a array) eval(in any) any {
	out := make([]any, len(a))
	for i, n := range a {
		out[i] = n.eval(in)
	}
	return out
}
func (w whole) eval(in any) any { return w.p.get(in) }
func (t *text) eval(in any) any {
	var b strings.Builder
	for i, p := range t.exprs {
		b.WriteString(t.parts[i])
		switch v := p.get(in).(type) {
		case nil:
			b.WriteString("null")
		case string:
			b.WriteString(v)
		default:
			raw, _ := json.Marshal(v)
			b.Write(raw)
		}
	}
	b.WriteString(t.parts[len(t.parts)-1])
	return b.String()
}

// Apply maps a JSON body to the template's body.
func (t *Template) Apply(body []byte) ([]byte, error) {
	var in any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // numbers pass through exactly
	if err := dec.Decode(&in); err != nil {
		return nil, fmt.Errorf("the body is not JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("the body is not JSON: data after the value")
	}
	return json.Marshal(t.root.eval(in))
}
