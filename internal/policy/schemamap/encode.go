package schemamap

import (
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/apigw/apigw/internal/jsontree"
)

// appendNode appends the JSON of the body's node i as gojq prints a value
// decoded from it: compact, object keys sorted (a repeated key keeps its
// last value, as decoding into a map does), numbers as the body wrote them.
func (a *applier) appendNode(b []byte, i int32) []byte {
	n := &a.t.Nodes[i]
	switch n.Kind {
	case jsontree.Null:
		return append(b, "null"...)
	case jsontree.False:
		return append(b, "false"...)
	case jsontree.True:
		return append(b, "true"...)
	case jsontree.Number:
		return append(b, n.Str...)
	case jsontree.String:
		return appendString(b, n.Str)
	case jsontree.Array:
		b = append(b, '[')
		for j, c := range a.t.Children(n) {
			if j > 0 {
				b = append(b, ',')
			}
			b = a.appendNode(b, c)
		}
		return append(b, ']')
	}
	b = append(b, '{')
	for j, c := range a.members(n) {
		if j > 0 {
			b = append(b, ',')
		}
		b = appendString(b, a.t.Nodes[c].Key)
		b = append(b, ':')
		b = a.appendNode(b, c)
	}
	a.depth--
	return append(b, '}')
}

// members returns an object's members sorted by name, the last of each
// name only. The list lives in the applier's scratch space for this depth
// until the caller decrements a.depth.
func (a *applier) members(n *jsontree.Node) []int32 {
	kids := a.t.Children(n)
	if a.depth == len(a.scratch) {
		a.scratch = append(a.scratch, nil)
	}
	s := append(a.scratch[a.depth][:0], kids...)
	a.scratch[a.depth] = s
	a.depth++
	nodes := a.t.Nodes
	slices.SortStableFunc(s, func(x, y int32) int { return strings.Compare(nodes[x].Key, nodes[y].Key) })
	out := s[:0]
	for j, c := range s {
		if j+1 < len(s) && nodes[s[j+1]].Key == nodes[c].Key {
			continue // a later member of the same name wins
		}
		out = append(out, c)
	}
	return out
}

// generic converts node i to the values gojq works on (json.Number for
// numbers).
func (a *applier) generic(i int32) any {
	n := &a.t.Nodes[i]
	switch n.Kind {
	case jsontree.False:
		return false
	case jsontree.True:
		return true
	case jsontree.Number:
		return json.Number(n.Str)
	case jsontree.String:
		return n.Str
	case jsontree.Array:
		kids := a.t.Children(n)
		out := make([]any, len(kids))
		for j, c := range kids {
			out[j] = a.generic(c)
		}
		return out
	case jsontree.Object:
		kids := a.t.Children(n)
		out := make(map[string]any, len(kids))
		for _, c := range kids {
			out[a.t.Nodes[c].Key] = a.generic(c)
		}
		return out
	}
	return nil
}

// appendString appends s as a JSON string the way gojq (and jq) escape
// it: '<', '>', '&' and U+2028/9 stay as they are, \b and \f are used,
// other control characters are \u00XX, invalid UTF-8 is \ufffd.
func appendString[S ~string | ~[]byte](b []byte, s S) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if ' ' <= c && c <= '~' && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"':
				b = append(b, '\\', '"')
			case '\\':
				b = append(b, '\\', '\\')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		// At most UTFMax bytes: converting them from []byte needs no heap.
		r, size := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
