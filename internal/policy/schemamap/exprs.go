package schemamap

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/apigw/apigw/internal/jsontree"
	"go.yaml.in/yaml/v3"
)

// path is a plain jq path (.a.b[0]."c d"): field names and array indices,
// read from the arena without jq. A missing path, or one through a value of
// another type, is null, as jq's .a?.b? gives nothing.
type path []step
type step struct {
	field string
	index int // when isIdx
	isIdx bool
}

// piped is a plain path piped to tojson or tostring (${.|tojson} is the
// cloud's Workflows tutorial): the path's value as a JSON string, written
// from the arena.
type piped struct {
	p        path
	tostring bool // a string stays itself
}

// compileExpr compiles one ${...}: a plain path, a plain path piped to
// tojson or tostring, else a jq program.
func compileExpr(src string) (expr, error) {
	s := strings.TrimSpace(src)
	if p, ok := parsePath(s); ok {
		return p, nil
	}
	base, fn := s, ""
	if i := strings.LastIndexByte(s, '|'); i >= 0 {
		base, fn = strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+1:])
	} else {
		base, fn = ".", s
	}
	if fn == "tojson" || fn == "tostring" {
		if p, ok := parsePath(base); ok {
			return piped{p: p, tostring: fn == "tostring"}, nil
		}
	}
	return compileJQ(src)
}

// exprNode positions an error at byte off of n's value, when the value is
// on one line (a plain or quoted scalar); else at n.
func exprNode(n *yaml.Node, off int) *yaml.Node {
	if strings.Contains(n.Value, "\n") || n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return n
	}
	col := n.Column + off
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		col++
	}
	return &yaml.Node{Line: n.Line, Column: col}
}

// span is one ${...} of a string: the expression is s[from:to], and the
// "${" starts at from-2, the "}" is at to.
type span struct{ from, to int }

// findExprs finds the ${...} of s. An expression ends at the "}" that
// closes it: braces, brackets and parentheses nest, and jq string literals
// (with their \(...) interpolations) are skipped, so ${ {a: .x} } and
// ${"}"} are one expression each.
func findExprs(s string) ([]span, error) {
	var out []span
	for i := 0; i+1 < len(s); i++ {
		if s[i] != '$' || s[i+1] != '{' {
			continue
		}
		end, err := scanTo(s, i+2, '}')
		if err != nil {
			return nil, fmt.Errorf("%s: %v", s[i:], err)
		}
		out = append(out, span{i + 2, end})
		i = end
	}
	return out, nil
}

// scanTo returns the index of the closer that ends the jq text starting at
// s[i:].
func scanTo(s string, i int, closer byte) (int, error) {
	depth := 0
	for i < len(s) {
		switch c := s[i]; c {
		case '"':
			end, err := skipString(s, i+1)
			if err != nil {
				return 0, err
			}
			i = end
			continue
		case '{', '[', '(':
			depth++
		case '}', ']', ')':
			if depth == 0 {
				if c != closer {
					return 0, fmt.Errorf("unbalanced %q", c)
				}
				return i, nil
			}
			depth--
		}
		i++
	}
	return 0, fmt.Errorf("no closing %q", closer)
}

// skipString returns the index after the jq string literal whose opening
// quote is just before s[i:].
func skipString(s string, i int) (int, error) {
	for i < len(s) {
		switch s[i] {
		case '\\':
			if i+1 < len(s) && s[i+1] == '(' {
				end, err := scanTo(s, i+2, ')')
				if err != nil {
					return 0, err
				}
				i = end + 1
				continue
			}
			i += 2
			continue
		case '"':
			return i + 1, nil
		}
		i++
	}
	return 0, errors.New("unterminated string")
}

// parsePath reads a plain path: ".", then .name, ."quoted", ["quoted"],
// .["quoted"] and [N] steps, with names as jq writes them bare (letters,
// digits and "_", not starting with a digit). Anything else is not a plain
// path (ok false) and goes to jq, which knows what .a-b or .[-1] mean.
func parsePath(s string) (path, bool) {
	if s == "" || s[0] != '.' {
		return nil, false
	}
	var p path
	rest := s
	for rest != "" {
		switch {
		case rest[0] == '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, false
			}
			inner := rest[1:end]
			if i, err := strconv.Atoi(inner); err == nil && i >= 0 && inner[0] != '+' {
				p = append(p, step{index: i, isIdx: true})
			} else if name, ok := quoted(inner); ok {
				p = append(p, step{field: name})
			} else {
				return nil, false
			}
			rest = rest[end+1:]
		case rest[0] == '.':
			rest = rest[1:]
			if rest == "" || rest[0] == '[' {
				if rest == "" && len(s) > 1 {
					return nil, false // a trailing "." is jq's syntax error
				}
				continue
			}
			if rest[0] == '"' {
				end := strings.IndexByte(rest[1:], '"')
				if end < 0 {
					return nil, false
				}
				name, ok := quoted(rest[:end+2])
				if !ok {
					return nil, false
				}
				p = append(p, step{field: name})
				rest = rest[end+2:]
				continue
			}
			end := 0
			for end < len(rest) && isIdent(rest[end], end == 0) {
				end++
			}
			if end == 0 {
				return nil, false
			}
			p = append(p, step{field: rest[:end]})
			rest = rest[end:]
		default:
			return nil, false
		}
	}
	return p, true
}

// quoted reads a "..." name without escapes or interpolation.
func quoted(s string) (string, bool) {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' || strings.ContainsAny(s[1:len(s)-1], "\\\"") {
		return "", false
	}
	return s[1 : len(s)-1], true
}

func isIdent(c byte, first bool) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || !first && c >= '0' && c <= '9'
}

// lookup finds the node a path names in the body, or -1.
func (p path) lookup(t *jsontree.Tree) int32 { return p.lookupFrom(t, 0) }

// lookupFrom follows the path from node i.
func (p path) lookupFrom(t *jsontree.Tree, i int32) int32 {
	for _, st := range p {
		n := &t.Nodes[i]
		switch {
		case st.isIdx && n.Kind == jsontree.Array:
			kids := t.Children(n)
			if st.index >= len(kids) {
				return -1
			}
			i = kids[st.index]
		case !st.isIdx && n.Kind == jsontree.Object:
			found := int32(-1)
			for _, c := range t.Children(n) {
				if t.Nodes[c].Key == st.field {
					found = c // the last of a repeated name, as a map keeps it
				}
			}
			if found < 0 {
				return -1
			}
			i = found
		default:
			return -1
		}
	}
	return i
}

func (p path) appendJSON(a *applier, b []byte) ([]byte, error) {
	i := p.lookup(a.t)
	if i < 0 {
		return append(b, "null"...), nil
	}
	return a.appendNode(b, i), nil
}

func (p path) appendText(a *applier, b []byte) ([]byte, error) {
	i := p.lookup(a.t)
	switch {
	case i < 0:
		return append(b, "null"...), nil
	case a.t.Nodes[i].Kind == jsontree.String:
		return append(b, a.t.Nodes[i].Str...), nil
	}
	return a.appendNode(b, i), nil
}

func (e piped) appendText(a *applier, b []byte) ([]byte, error) {
	i := e.p.lookup(a.t)
	switch {
	case i < 0:
		return append(b, "null"...), nil
	case e.tostring && a.t.Nodes[i].Kind == jsontree.String:
		return append(b, a.t.Nodes[i].Str...), nil
	}
	return a.appendNode(b, i), nil
}

func (e piped) appendJSON(a *applier, b []byte) ([]byte, error) {
	text, _ := e.appendText(a, a.text[:0])
	a.text = text
	return appendString(b, text), nil
}
