// Package jsontree parses a JSON document into one arena: reading a body
// (validating it, mapping it) walks the arena without the maps and
// interfaces of encoding/json's generic decoding, which cost more than the
// work itself. Strings share the body's memory unless they hold escapes.
package jsontree

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// Tree is a parsed document: Nodes[0] is the root. It can be reused for
// the next document (Parse resets it), which is what a sync.Pool of trees
// is for.
type Tree struct {
	Nodes []Node
	kids  []int32 // children of objects and arrays, each node's contiguous
	stack []int32 // the parser's stack of children, kept for reuse
}

// Kind is a JSON value's type.
type Kind uint8

// The kinds of values.
const (
	Null Kind = iota
	False
	True
	Number
	String
	Array
	Object
)

// Node is one value.
type Node struct {
	Kind  Kind
	Key   string // the member name, for a value inside an object
	Str   string // a string's value, a number's text
	Num   float64
	first int32 // kids[first:first+count]
	count int32
}

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

// ErrSyntax is what every parse error wraps.
var ErrSyntax = errors.New("invalid JSON")

type parser struct {
	t     *Tree
	s     string
	i     int
	depth int
	stack []int32 // children being collected
}

// Parse parses one JSON value (surrounded by whitespace only) into t. The
// strings of the tree point into body: body must not change while the tree
// is read, and nothing may keep them after unless it copies them.
func Parse(body []byte, t *Tree) error {
	// The strings of the tree point into the body: it is not copied, and
	// not changed while the tree is walked; nothing keeps them after.
	p := parser{t: t, s: unsafe.String(unsafe.SliceData(body), len(body)), stack: t.stack[:0]}
	defer func() { t.stack = p.stack[:0] }()
	t.Nodes, t.kids = t.Nodes[:0], t.kids[:0]
	p.skip()
	if _, err := p.value(); err != nil {
		return err
	}
	p.skip()
	if p.i != len(p.s) {
		return p.errorf("data after the value")
	}
	return nil
}

func (p *parser) errorf(format string, a ...any) error {
	return fmt.Errorf("%w at offset %d: %s", ErrSyntax, p.i, fmt.Sprintf(format, a...))
}

func (p *parser) skip() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) add(n Node) int32 {
	p.t.Nodes = append(p.t.Nodes, n)
	return int32(len(p.t.Nodes) - 1)
}

func (p *parser) value() (int32, error) {
	if p.i >= len(p.s) {
		return 0, p.errorf("unexpected end")
	}
	switch c := p.s[p.i]; {
	case c == '{':
		return p.container(Object, '}')
	case c == '[':
		return p.container(Array, ']')
	case c == '"':
		s, err := p.str()
		if err != nil {
			return 0, err
		}
		return p.add(Node{Kind: String, Str: s}), nil
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	case p.literal("true"):
		return p.add(Node{Kind: True}), nil
	case p.literal("false"):
		return p.add(Node{Kind: False}), nil
	case p.literal("null"):
		return p.add(Node{Kind: Null}), nil
	}
	return 0, p.errorf("unexpected character %q", p.s[p.i])
}

func (p *parser) literal(word string) bool {
	if len(p.s)-p.i >= len(word) && p.s[p.i:p.i+len(word)] == word {
		p.i += len(word)
		return true
	}
	return false
}

func (p *parser) container(kind Kind, end byte) (int32, error) {
	p.depth++
	if p.depth > maxDepth {
		return 0, p.errorf("nested too deeply")
	}
	p.i++ // { or [
	self := p.add(Node{Kind: kind})
	base := len(p.stack)
	p.skip()
	if p.i < len(p.s) && p.s[p.i] == end {
		p.i++
	} else {
		for {
			var key string
			if kind == Object {
				p.skip()
				if p.i >= len(p.s) || p.s[p.i] != '"' {
					return 0, p.errorf("expected a member name")
				}
				var err error
				if key, err = p.str(); err != nil {
					return 0, err
				}
				p.skip()
				if p.i >= len(p.s) || p.s[p.i] != ':' {
					return 0, p.errorf("expected ':'")
				}
				p.i++
			}
			p.skip()
			child, err := p.value()
			if err != nil {
				return 0, err
			}
			p.t.Nodes[child].Key = key
			p.stack = append(p.stack, child)
			p.skip()
			if p.i >= len(p.s) {
				return 0, p.errorf("unexpected end")
			}
			if p.s[p.i] == ',' {
				p.i++
				continue
			}
			if p.s[p.i] == end {
				p.i++
				break
			}
			return 0, p.errorf("expected ',' or %q", end)
		}
	}
	n := &p.t.Nodes[self]
	n.first, n.count = int32(len(p.t.kids)), int32(len(p.stack)-base)
	p.t.kids = append(p.t.kids, p.stack[base:]...)
	p.stack = p.stack[:base]
	p.depth--
	return self, nil
}

func (p *parser) number() (int32, error) {
	start := p.i
	if p.s[p.i] == '-' {
		p.i++
	}
	switch {
	case p.i < len(p.s) && p.s[p.i] == '0':
		p.i++
	case p.i < len(p.s) && p.s[p.i] >= '1' && p.s[p.i] <= '9':
		p.digits()
	default:
		return 0, p.errorf("invalid number")
	}
	if p.i < len(p.s) && p.s[p.i] == '.' {
		p.i++
		if p.digits() == 0 {
			return 0, p.errorf("invalid number")
		}
	}
	if p.i < len(p.s) && (p.s[p.i] == 'e' || p.s[p.i] == 'E') {
		p.i++
		if p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-') {
			p.i++
		}
		if p.digits() == 0 {
			return 0, p.errorf("invalid number")
		}
	}
	text := p.s[start:p.i]
	if small, ok := smallInt(text); ok { // most numbers: no float parsing
		return p.add(Node{Kind: Number, Str: text, Num: small}), nil
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		// Out of float64's range: encoding/json refuses it too.
		if len(text) > 40 { // the message goes to the client: not the megabyte it sent
			text = text[:40] + "…"
		}
		return 0, p.errorf("number %s out of range", text)
	}
	return p.add(Node{Kind: Number, Str: text, Num: f}), nil
}

// smallInt reads an integer of up to 15 digits, which float64 holds
// exactly.
func smallInt(text string) (float64, bool) {
	neg := text[0] == '-'
	if neg {
		text = text[1:]
	}
	if len(text) == 0 || len(text) > 15 {
		return 0, false
	}
	var v int64
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	if neg {
		v = -v
	}
	return float64(v), true
}

func (p *parser) digits() int {
	start := p.i
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
	}
	return p.i - start
}

// str reads a string literal: a substring of the body when it holds no
// escapes, else its decoded copy (invalid UTF-8 and lone surrogates become
// U+FFFD, as encoding/json does).
func (p *parser) str() (string, error) {
	p.i++ // opening quote
	start := p.i
	plain := true
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			s := p.s[start:p.i]
			p.i++
			if plain {
				return s, nil
			}
			return unescape(s)
		case c == '\\':
			plain = false
			p.i += 2
		case c < 0x20:
			return "", p.errorf("control character in a string")
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(p.s[p.i:])
			if r == utf8.RuneError && size == 1 {
				plain = false // invalid UTF-8: unescape repairs it
			}
			p.i += size
		default:
			p.i++
		}
	}
	return "", p.errorf("unterminated string")
}

func unescape(s string) (string, error) {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			if i+1 >= len(s) {
				return "", fmt.Errorf("%w: bad escape", ErrSyntax)
			}
			switch e := s[i+1]; e {
			case '"', '\\', '/':
				b = append(b, e)
				i += 2
			case 'b':
				b, i = append(b, '\b'), i+2
			case 'f':
				b, i = append(b, '\f'), i+2
			case 'n':
				b, i = append(b, '\n'), i+2
			case 'r':
				b, i = append(b, '\r'), i+2
			case 't':
				b, i = append(b, '\t'), i+2
			case 'u':
				r, ok := hex4(s, i+2)
				if !ok {
					return "", fmt.Errorf("%w: bad \\u escape", ErrSyntax)
				}
				i += 6
				if utf16.IsSurrogate(r) {
					if r2, ok := hex4(s, i+2); ok && i+1 < len(s) && s[i] == '\\' && s[i+1] == 'u' {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							b, i = utf8.AppendRune(b, dec), i+6
							continue
						}
					}
					r = utf8.RuneError
				}
				b = utf8.AppendRune(b, r)
			default:
				return "", fmt.Errorf("%w: bad escape \\%c", ErrSyntax, e)
			}
		case c < utf8.RuneSelf:
			b, i = append(b, c), i+1
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			b, i = utf8.AppendRune(b, r), i+size
		}
	}
	return string(b), nil
}

func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	v, err := strconv.ParseUint(s[i:i+4], 16, 32)
	if err != nil {
		return 0, false
	}
	return rune(v), true
}

// Children returns a container's children, in document order.
func (t *Tree) Children(n *Node) []int32 { return t.kids[n.first : n.first+n.count] }

// Value converts a node to encoding/json's generic form (float64 numbers).
func (t *Tree) Value(i int32) any {
	n := &t.Nodes[i]
	switch n.Kind {
	case False:
		return false
	case True:
		return true
	case Number:
		return n.Num
	case String:
		return n.Str
	case Array:
		out := make([]any, 0, n.count)
		for _, c := range t.Children(n) {
			out = append(out, t.Value(c))
		}
		return out
	case Object:
		out := make(map[string]any, n.count)
		for _, c := range t.Children(n) {
			out[t.Nodes[c].Key] = t.Value(c)
		}
		return out
	}
	return nil
}
