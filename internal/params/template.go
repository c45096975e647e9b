package params

import (
	"fmt"
	"strings"
)

// Template is a string with `{name}` placeholders, compiled at build time.
type Template struct {
	parts []part
}

type part struct {
	text    string // literal text, or the parameter name
	isParam bool
}

// Compile parses s. Only placeholders naming a declared parameter are
// placeholders; anything else in braces (JSON, an undeclared {Host}) stays
// literal text, as the cloud does.
func Compile(s string, d *Declared) Template {
	var t Template
	lit := 0
	for i := 0; i < len(s); i++ {
		if s[i] != '{' {
			continue
		}
		end := strings.IndexByte(s[i+1:], '}')
		if end < 0 {
			break
		}
		name := s[i+1 : i+1+end]
		if name == "" || strings.ContainsAny(name, "{") || d == nil || !d.Has(name) {
			continue
		}
		if lit < i {
			t.parts = append(t.parts, part{text: s[lit:i]})
		}
		t.parts = append(t.parts, part{text: name, isParam: true})
		i += end + 1
		lit = i + 1
	}
	if lit < len(s) {
		t.parts = append(t.parts, part{text: s[lit:]})
	}
	return t
}

// Static reports whether the template has no placeholder.
func (t Template) Static() bool {
	for _, p := range t.parts {
		if p.isParam {
			return false
		}
	}
	return true
}

// Names lists the parameters the template uses.
func (t Template) Names() []string {
	var out []string
	for _, p := range t.parts {
		if p.isParam {
			out = append(out, p.text)
		}
	}
	return out
}

// String returns the template's source text.
func (t Template) String() string {
	var b strings.Builder
	for _, p := range t.parts {
		if p.isParam {
			b.WriteString("{" + p.text + "}")
		} else {
			b.WriteString(p.text)
		}
	}
	return b.String()
}

// Expand fills the placeholders. esc, if not nil, transforms each value (for
// example URL escaping) and receives the parameter name.
func (t Template) Expand(v *Request, esc func(name, value string) string) string {
	if len(t.parts) == 1 && !t.parts[0].isParam {
		return t.parts[0].text
	}
	var b strings.Builder
	for _, p := range t.parts {
		if !p.isParam {
			b.WriteString(p.text)
			continue
		}
		val, _ := v.Get(p.text)
		if esc != nil {
			val = esc(p.text, val)
		}
		b.WriteString(val)
	}
	return b.String()
}

// ExpandHeader fills the placeholders for a header value and refuses a value
// that would split or end the header (CR, LF, NUL): header injection through a
// query parameter must never reach a backend or a client.
func (t Template) ExpandHeader(v *Request) (string, error) {
	s := t.Expand(v, nil)
	if i := strings.IndexAny(s, "\r\n\x00"); i >= 0 {
		return "", fmt.Errorf("a parameter value contains a control character that cannot be put in a header")
	}
	return s, nil
}
