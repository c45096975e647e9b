package schemamap

import (
	"context"
	"errors"
	"fmt"

	"github.com/itchyny/gojq"
)

// jqExpr is a ${...} that is more than a plain path: a jq program,
// compiled once. The cloud documents a template as "a valid jq template"
// (its Workflows tutorial maps a body with ${.|tojson}).
type jqExpr struct {
	src  string
	code *gojq.Code
}

// maxOutputs bounds the values one expression may produce: a mapping makes
// one body, and `range(1e9)` must not make a gigabyte of it.
const maxOutputs = 100_000

// outside are the builtins that read something other than the body: the
// gateway's environment, its clock and time zone, further inputs. A
// mapping that could call them could hand a client the gateway's secrets,
// so they are refused when the template compiles.
var outside = map[string]string{
	"env":            "the gateway's environment",
	"$ENV":           "the gateway's environment",
	"input":          "inputs other than the body",
	"inputs":         "inputs other than the body",
	"input_filename": "inputs other than the body",
	"now":            "the gateway's clock",
	"localtime":      "the gateway's time zone",
	"strflocaltime":  "the gateway's time zone",
	"debug":          "the gateway's log",
	"stderr":         "the gateway's log",
}

// compileJQ parses and compiles a jq expression, refusing what reads
// outside the body. The error is positioned by the caller.
func compileJQ(src string) (*jqExpr, error) {
	q, err := gojq.Parse(src)
	if err != nil {
		var pe *gojq.ParseError
		if errors.As(err, &pe) {
			return nil, &syntaxError{offset: pe.Offset, msg: err.Error()}
		}
		return nil, err
	}
	if len(q.Imports) > 0 {
		return nil, errors.New("import and include are not allowed in a mapping: it reads only the body")
	}
	if name, what := readsOutside(q); name != "" {
		return nil, fmt.Errorf("%s is not allowed in a mapping: it reads %s, not the body", name, what)
	}
	code, err := gojq.Compile(withPrelude(q), options...)
	if err != nil {
		return nil, err
	}
	return &jqExpr{src: src, code: code}, nil
}

// syntaxError is a parse error at a byte offset of the expression.
type syntaxError struct {
	offset int
	msg    string
}

func (e *syntaxError) Error() string { return "jq syntax: " + e.msg }

func (j *jqExpr) appendJSON(a *applier, b []byte) ([]byte, error) {
	v, err := j.value(a.ctx, a.value())
	if err != nil {
		return nil, err
	}
	out, _ := gojq.Marshal(v)
	return append(b, out...), nil
}

func (j *jqExpr) appendText(a *applier, b []byte) ([]byte, error) {
	v, err := j.value(a.ctx, a.value())
	if err != nil {
		return nil, err
	}
	switch v := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return append(b, v...), nil
	}
	out, _ := gojq.Marshal(v)
	return append(b, out...), nil
}

// value runs the expression on the body. No output is null; several are
// collected into an array (so ${.items[].id} is the list of ids).
func (j *jqExpr) value(ctx context.Context, in any) (any, error) {
	iter := j.code.RunWithContext(ctx, in)
	var first any
	var more []any
	n := 0
	for {
		v, ok := iter.Next()
		if !ok {
			break
		}
		if err, isErr := v.(error); isErr {
			var halt *gojq.HaltError
			if errors.As(err, &halt) && halt.Value() == nil {
				break // halt: stop without an error
			}
			if ctx.Err() != nil && errors.Is(context.Cause(ctx), ErrBudget) {
				err = ErrBudget
			}
			return nil, &EvalError{Expr: j.src, Err: err}
		}
		switch n {
		case 0:
			first = v
		case 1:
			more = []any{first, v}
		default:
			if n >= maxOutputs {
				return nil, &EvalError{Expr: j.src, Err: fmt.Errorf("the expression produced more than %d values", maxOutputs)}
			}
			more = append(more, v)
		}
		n++
	}
	if more != nil {
		return more, nil
	}
	return first, nil
}

// EvalError is a jq expression that failed on a body (a type error,
// error(...), a timeout).
type EvalError struct {
	Expr string
	Err  error
}

func (e *EvalError) Error() string { return "${" + e.Expr + "}: " + e.Err.Error() }

func (e *EvalError) Unwrap() error { return e.Err }

// Raised is the value the expression gave error(...), when it is a
// string: a message the spec's author wrote for the client.
func (e *EvalError) Raised() (string, bool) {
	var ve gojq.ValueError
	if !errors.As(e.Err, &ve) {
		return "", false
	}
	var halt *gojq.HaltError
	if errors.As(e.Err, &halt) {
		return "", false
	}
	s, ok := ve.Value().(string)
	return s, ok
}

// readsOutside returns the first builtin of outside that q calls.
func readsOutside(q *gojq.Query) (name, what string) {
	found := ""
	walkQuery(q, func(fn string) bool {
		if _, bad := outside[fn]; bad {
			found = fn
			return false
		}
		return true
	})
	return found, outside[found]
}

// walkQuery calls visit with the name of every function (and variable) q
// refers to, until visit returns false.
func walkQuery(q *gojq.Query, visit func(string) bool) bool {
	if q == nil {
		return true
	}
	for _, fd := range q.FuncDefs {
		if !walkQuery(fd.Body, visit) {
			return false
		}
	}
	for _, p := range q.Patterns {
		if !walkPattern(p, visit) {
			return false
		}
	}
	return walkTerm(q.Term, visit) && walkQuery(q.Left, visit) && walkQuery(q.Right, visit)
}

func walkPattern(p *gojq.Pattern, visit func(string) bool) bool {
	if p == nil {
		return true
	}
	for _, a := range p.Array {
		if !walkPattern(a, visit) {
			return false
		}
	}
	for _, o := range p.Object {
		if !walkString(o.KeyString, visit) || !walkQuery(o.KeyQuery, visit) || !walkPattern(o.Val, visit) {
			return false
		}
	}
	return true
}

func walkString(s *gojq.String, visit func(string) bool) bool {
	if s == nil {
		return true
	}
	for _, q := range s.Queries {
		if !walkQuery(q, visit) {
			return false
		}
	}
	return true
}

func walkIndex(x *gojq.Index, visit func(string) bool) bool {
	if x == nil {
		return true
	}
	return walkString(x.Str, visit) && walkQuery(x.Start, visit) && walkQuery(x.End, visit)
}

func walkTerm(t *gojq.Term, visit func(string) bool) bool {
	if t == nil {
		return true
	}
	if t.Func != nil {
		if !visit(t.Func.Name) {
			return false
		}
		for _, a := range t.Func.Args {
			if !walkQuery(a, visit) {
				return false
			}
		}
	}
	if !walkIndex(t.Index, visit) || !walkString(t.Str, visit) || !walkQuery(t.Query, visit) {
		return false
	}
	if t.Object != nil {
		for _, kv := range t.Object.KeyVals {
			if !walkString(kv.KeyString, visit) || !walkQuery(kv.KeyQuery, visit) || !walkQuery(kv.Val, visit) {
				return false
			}
		}
	}
	if t.Array != nil && !walkQuery(t.Array.Query, visit) {
		return false
	}
	if t.Unary != nil && !walkTerm(t.Unary.Term, visit) {
		return false
	}
	if f := t.If; f != nil {
		if !walkQuery(f.Cond, visit) || !walkQuery(f.Then, visit) || !walkQuery(f.Else, visit) {
			return false
		}
		for _, e := range f.Elif {
			if !walkQuery(e.Cond, visit) || !walkQuery(e.Then, visit) {
				return false
			}
		}
	}
	if t.Try != nil && (!walkQuery(t.Try.Body, visit) || !walkQuery(t.Try.Catch, visit)) {
		return false
	}
	if r := t.Reduce; r != nil {
		if !walkQuery(r.Query, visit) || !walkQuery(r.Start, visit) || !walkQuery(r.Update, visit) {
			return false
		}
		for _, p := range r.Patterns {
			if !walkPattern(p, visit) {
				return false
			}
		}
	}
	if f := t.Foreach; f != nil {
		if !walkQuery(f.Query, visit) || !walkQuery(f.Start, visit) || !walkQuery(f.Update, visit) || !walkQuery(f.Extract, visit) {
			return false
		}
		for _, p := range f.Patterns {
			if !walkPattern(p, visit) {
				return false
			}
		}
	}
	if t.Label != nil && !walkQuery(t.Label.Body, visit) {
		return false
	}
	for _, s := range t.SuffixList {
		if !walkIndex(s.Index, visit) {
			return false
		}
	}
	return true
}
