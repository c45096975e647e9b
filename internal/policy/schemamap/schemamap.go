// Package schemamap applies x-yc-schema-mapping (digest §5.6, §12): a static
// template describing a JSON body, whose strings read the original body
// through ${...} jq expressions.
//
// A template is compiled once; a request parses the body into a pooled
// arena (jsontree) and writes the new body straight from it. Plain paths
// (${.a.b[0]}, and such a path piped to tojson or tostring) are read from
// the arena; any other expression runs on gojq, over the body decoded once
// for it. The output is what gojq would print for the whole template:
// compact, object keys sorted, numbers exactly as the body wrote them.
package schemamap

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apigw/apigw/internal/jsontree"
	"github.com/apigw/apigw/internal/yamlx"
	"go.yaml.in/yaml/v3"
)

// Template is a compiled mapping.
type Template struct {
	root node
	jq   bool // some expression runs on gojq
	// Budget bounds the jq programs of one Apply (0: only the caller's
	// context does): a mapping is the spec's code run on a client's body,
	// and must not take a core for as long as a request may last.
	Budget time.Duration
}

// DefaultBudget is Budget's default (limits.mapping_timeout).
const DefaultBudget = time.Second

// ErrBudget is the cause of a jq program stopped at its Budget.
var ErrBudget = errors.New("the mapping ran past its time budget (limits.mapping_timeout)")

// UsesJQ reports whether an expression of the template is a jq program
// (which a context bounds), not only plain paths.
func (t *Template) UsesJQ() bool { return t.jq }

// node is one part of a template: it appends its JSON to b.
type node interface {
	write(a *applier, b []byte) ([]byte, error)
}

// expr is one ${...}: a plain path or a jq program.
type expr interface {
	// appendJSON appends the expression's value as JSON.
	appendJSON(a *applier, b []byte) ([]byte, error)
	// appendText appends its string form: a string as it is, anything else
	// as JSON (jq's tostring).
	appendText(a *applier, b []byte) ([]byte, error)
}

// literal is a value written in the template, encoded at compile time.
type literal []byte

// object is a template mapping; its keys are sorted (and encoded) at
// compile time.
type object struct {
	keys [][]byte // `"name":`
	vals []node
}

type array []node

// whole is a string that is exactly one ${...}: the value keeps its JSON
// type.
type whole struct{ e expr }

// text is a string with expressions inside longer text: each is replaced
// by its string form.
type text struct {
	parts []string // literal parts, len(exprs)+1
	exprs []expr
}

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
	t := &Template{}
	t.root = t.compile(&s.Template, yamlx.Join(at, "template"), &errs)
	if errs.Err() != nil {
		return nil, errs
	}
	return t, errs
}

func (t *Template) compile(n *yaml.Node, at string, errs *yamlx.List) node {
	n = yamlx.Deref(n)
	switch n.Kind {
	case yaml.MappingNode:
		type member struct {
			key string
			val node
		}
		var ms []member
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			ms = append(ms, member{k, t.compile(n.Content[i+1], yamlx.Join(at, k), errs)})
		}
		slices.SortStableFunc(ms, func(x, y member) int { return strings.Compare(x.key, y.key) })
		o := &object{}
		for _, m := range ms {
			o.keys = append(o.keys, append(appendString(nil, m.key), ':'))
			o.vals = append(o.vals, m.val)
		}
		return o
	case yaml.SequenceNode:
		a := make(array, 0, len(n.Content))
		for i, c := range n.Content {
			a = append(a, t.compile(c, fmt.Sprintf("%s[%d]", at, i), errs))
		}
		return a
	case yaml.ScalarNode:
		if n.ShortTag() != "!!str" {
			var v any
			if err := n.Decode(&v); err != nil {
				errs.Errorf(n, at, "%v", err)
			}
			return encodeLiteral(v, n.Value)
		}
		spans, err := findExprs(n.Value)
		if err != nil {
			errs.Errorf(n, at, "%v", err)
			return literal("null")
		}
		if len(spans) == 0 {
			return literal(appendString(nil, n.Value))
		}
		exprs := make([]expr, 0, len(spans))
		for _, sp := range spans {
			src := n.Value[sp.from:sp.to]
			e, err := compileExpr(src)
			if err != nil {
				offset := 0
				var se *syntaxError
				if errors.As(err, &se) {
					offset = se.offset
				}
				errs.Errorf(exprNode(n, sp.from+offset), at, "${%s}: %v", src, err)
				return literal("null")
			}
			if _, ok := e.(*jqExpr); ok {
				t.jq = true
			}
			exprs = append(exprs, e)
		}
		if len(spans) == 1 && spans[0].from == 2 && spans[0].to == len(n.Value)-1 {
			return whole{exprs[0]}
		}
		tx := &text{exprs: exprs}
		prev := 0
		for _, sp := range spans {
			tx.parts = append(tx.parts, n.Value[prev:sp.from-2])
			prev = sp.to + 1
		}
		tx.parts = append(tx.parts, n.Value[prev:])
		return tx
	}
	errs.Errorf(n, at, "unsupported template node")
	return literal("null")
}

// encodeLiteral encodes a YAML scalar that is not a string (raw is its
// text, for the types JSON has no form for, such as a timestamp).
func encodeLiteral(v any, raw string) literal {
	switch v := v.(type) {
	case nil:
		return literal("null")
	case bool:
		return literal(strconv.AppendBool(nil, v))
	case int:
		return literal(strconv.AppendInt(nil, int64(v), 10))
	case int64:
		return literal(strconv.AppendInt(nil, v, 10))
	case uint64:
		return literal(strconv.AppendUint(nil, v, 10))
	case float64:
		return literal(appendFloat(nil, v))
	case string:
		return literal(appendString(nil, v))
	case time.Time:
		return literal(appendString(nil, raw))
	}
	return literal(appendString(nil, raw))
}

// appendFloat writes a float the way jq does: NaN is null, infinities
// are clamped to the largest finite values.
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) {
		return append(b, "null"...)
	}
	f = min(max(f, -math.MaxFloat64), math.MaxFloat64)
	format := byte('f')
	if x := math.Abs(f); x != 0 && x < 1e-6 || x >= 1e21 {
		format = 'e'
	}
	return strconv.AppendFloat(b, f, format, -1, 64)
}

// applier is one application of a template: the parsed body, and its
// generic form once a jq program needs it.
type applier struct {
	ctx     context.Context
	t       *jsontree.Tree
	input   any
	decoded bool
	scratch [][]int32 // sorted member lists, by nesting depth
	depth   int
	text    []byte // a value's text before it is quoted
}

// value is the body as gojq takes it (numbers as json.Number, so that they
// pass through exactly), decoded on first use.
func (a *applier) value() any {
	if !a.decoded {
		a.input, a.decoded = a.generic(0), true
	}
	return a.input
}

func (l literal) write(_ *applier, b []byte) ([]byte, error) { return append(b, l...), nil }

func (o *object) write(a *applier, b []byte) ([]byte, error) {
	b = append(b, '{')
	for i, k := range o.keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, k...)
		var err error
		if b, err = o.vals[i].write(a, b); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

func (arr array) write(a *applier, b []byte) ([]byte, error) {
	b = append(b, '[')
	for i, n := range arr {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = n.write(a, b); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}

func (w whole) write(a *applier, b []byte) ([]byte, error) { return w.e.appendJSON(a, b) }

func (t *text) write(a *applier, b []byte) ([]byte, error) {
	s := make([]byte, 0, 64)
	for i, e := range t.exprs {
		s = append(s, t.parts[i]...)
		var err error
		if s, err = e.appendText(a, s); err != nil {
			return nil, err
		}
	}
	s = append(s, t.parts[len(t.parts)-1]...)
	return appendString(b, s), nil
}

// ErrNotJSON is the error Apply returns for a body that is not JSON.
var ErrNotJSON = errors.New("the body is not JSON")

// appliers are reused with their arena and scratch buffers.
var appliers = sync.Pool{New: func() any { return &applier{t: new(jsontree.Tree)} }}

// Apply maps a JSON body to the template's body. Its errors are ErrNotJSON
// (wrapped, with the reason) or an *EvalError of a jq expression; ctx
// bounds the jq programs.
func (t *Template) Apply(ctx context.Context, body []byte) ([]byte, error) {
	a := appliers.Get().(*applier)
	defer func() {
		// Nothing of this body may outlive the call: the arena's strings
		// point into it.
		a.ctx, a.input, a.decoded, a.depth = nil, nil, false, 0
		appliers.Put(a)
	}()
	if err := jsontree.Parse(body, a.t); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotJSON, err)
	}
	if t.jq && t.Budget > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, t.Budget, ErrBudget)
		defer cancel()
	}
	a.ctx = ctx
	// Room for the body and its escapes, should it be quoted whole.
	return t.root.write(a, make([]byte, 0, len(body)+len(body)/4+64))
}
