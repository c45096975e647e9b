package schemamap

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/apigw/apigw/internal/jsontree"
	"go.yaml.in/yaml/v3"
)

func compileSrc(t *testing.T, src string) (*Template, error) {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		t.Fatal(err)
	}
	tpl, errs := Compile(n.Content[0], "m")
	return tpl, errs.Err()
}

func TestApply(t *testing.T) {
	tests := []struct{ name, template, in, want string }{
		{"documented request example", `{text: "${.text}", hints: [{voice: lera}, {role: friendly}]}`,
			`{"text":"hello","other":1}`, `{"hints":[{"voice":"lera"},{"role":"friendly"}],"text":"hello"}`},
		{"nested path, type kept", `{data: "${.result.audioChunk.data}", n: "${.result.n}", ok: "${.result.ok}", obj: "${.result}"}`,
			`{"result":{"audioChunk":{"data":"QUJD"},"n":12345678901234567890,"ok":true}}`,
			`{"data":"QUJD","n":12345678901234567890,"obj":{"audioChunk":{"data":"QUJD"},"n":12345678901234567890,"ok":true},"ok":true}`},
		{"missing path is null", `{a: "${.nope.deeper}", b: "${.list[5]}", c: "${.list.x}"}`, `{"list":[1]}`, `{"a":null,"b":null,"c":null}`},
		{"embedded text takes string forms", `{msg: "user ${.user.name} (${.user.age}) ${.user.tags} ${.none}"}`,
			`{"user":{"name":"Ann","age":30,"tags":["a","b"]}}`, `{"msg":"user Ann (30) [\"a\",\"b\"] null"}`},
		{"indices and quoted names", `{first: "${.items[0].id}", odd: "${.[\"a b\"]}", dotted: "${.\"c.d\"}"}`,
			`{"items":[{"id":7}],"a b":1,"c.d":2}`, `{"dotted":2,"first":7,"odd":1}`},
		{"whole input", `{copy: "${.}"}`, `[1,2]`, `{"copy":[1,2]}`},
		{"literals of every type", `{s: plain, n: 1.5, b: false, z: null, l: [1, "${.x}"]}`, `{"x":"y"}`,
			`{"b":false,"l":[1,"y"],"n":1.5,"s":"plain","z":null}`},

		// jq (digest §12): the Workflows tutorial and the documented string template.
		{"the Workflows tutorial: the body as a JSON string", `{input: {inputJson: "${.|tojson}"}}`,
			`{"b": [1, 2.50], "a": "x<y"}`, `{"input":{"inputJson":"{\"a\":\"x<y\",\"b\":[1,2.50]}"}}`},
		{"a template that is one string", `"${.numbers.firstNumber}"`, `{"numbers":{"firstNumber":12,"secondNumber":32}}`, `12`},
		{"tostring, length, keys", `{s: "${.n|tostring}", l: "${.list|length}", k: "${keys}"}`, `{"n":5,"list":[1,2,3]}`,
			`{"k":["list","n"],"l":3,"s":"5"}`},
		{"map and select", `{big: "${[.list[] | select(. > 1) | . * 10]}", m: "${.list | map(. + 1)}"}`, `{"list":[1,2,3]}`, `{"big":[20,30],"m":[2,3,4]}`},
		{"alternative", `{name: "${.name // \"anonymous\"}", set: "${.set // 1}"}`, `{"set":false}`, `{"name":"anonymous","set":1}`},
		{"if", `{kind: "${if .n > 10 then \"big\" else \"small\" end}"}`, `{"n":11}`, `{"kind":"big"}`},
		{"string functions and formats", `{l: "${.s|ascii_downcase}", b: "${.s|@base64}", d: "${.e|@base64d}"}`, `{"s":"HeLLo","e":"aGk="}`,
			`{"b":"SGVMTG8=","d":"hi","l":"hello"}`},
		{"interpolation inside jq, braces inside the expression", `{g: "${\"Hi, \\(.name)!\"}", o: "${ {a: .x, b: \"}\"} }"}`, `{"name":"Ann","x":1}`,
			`{"g":"Hi, Ann!","o":{"a":1,"b":"}"}}`},
		{"several outputs make an array, none is null", `{ids: "${.items[].id}", none: "${empty}"}`, `{"items":[{"id":1},{"id":2}]}`,
			`{"ids":[1,2],"none":null}`},
		{"jq inside longer text", `{t: "n=${.n + 1}; tags=${.tags | join(\",\")}"}`, `{"n":1,"tags":["a","b"]}`, `{"t":"n=2; tags=a,b"}`},
		{"jq's meaning of a negative index and a hyphen", `{last: "${.l[-1]}", diff: "${.a-.b}"}`, `{"l":[1,2,3],"a":5,"b":2}`, `{"diff":3,"last":3}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl, err := compileSrc(t, "{type: static, template: "+tt.template+"}")
			if err != nil {
				t.Fatal(err)
			}
			got, err := tpl.Apply(t.Context(), []byte(tt.in))
			if err != nil || string(got) != tt.want {
				t.Errorf("Apply = %s (%v), want %s", got, err, tt.want)
			}
		})
	}
}

func TestPlainPathsSkipJQ(t *testing.T) {
	for src, want := range map[string]string{
		".a.b[0]": "path", ".": "path", `."c d".e`: "path", `.["x"][2]`: "path", ".a_1": "path", " .a ": "path",
		".|tojson": "piped", "tojson": "piped", ".a.b | tojson": "piped", ".a|tostring": "piped", "tostring": "piped",
		".a-.b": "jq", ".[-1]": "jq", ".a[]": "jq", ".a?": "jq", ".a.b?": "jq", ".a|tojson|fromjson": "jq", "keys|tojson": "jq", ".a|length": "jq",
	} {
		e, err := compileExpr(src)
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		got := "jq"
		switch e.(type) {
		case path:
			got = "path"
		case piped:
			got = "piped"
		}
		if got != want {
			t.Errorf("%q compiles to %s, want %s", src, got, want)
		}
	}
}

// nativeExprs are the expressions apigw evaluates without gojq.
var nativeExprs = []string{".", ".a", ".a.b", ".a[0]", ".a[1].b", `."x y"`, `.["a"]`, ".|tojson", ".a|tojson", ".a|tostring", ".a.b|tostring", ".[2]"}

// checkNativeMatchesJQ evaluates each native expression both ways on body,
// whole and inside text, and fails on any difference.
func checkNativeMatchesJQ(t *testing.T, body []byte) {
	t.Helper()
	for _, src := range nativeExprs {
		native, err := compileExpr(src)
		if err != nil {
			t.Fatal(err)
		}
		jq, err := compileJQ(src)
		if err != nil {
			t.Fatal(err)
		}
		for _, shape := range []func(expr) node{
			func(e expr) node { return whole{e} },
			func(e expr) node { return &text{parts: []string{"<", ">"}, exprs: []expr{e}} },
		} {
			got, gerr := (&Template{root: shape(native)}).Apply(t.Context(), body)
			want, werr := (&Template{root: shape(jq)}).Apply(t.Context(), body)
			if gerr != nil && errors.Is(gerr, ErrNotJSON) {
				return
			}
			if throughOtherType(t, native, body) {
				// The documented difference: a plain path through a value
				// of another type (.a on a number) is null, where jq fails
				// (and gojq indexes strings).
				if s := string(got); s != "null" && s != `"<null>"` && s != `"null"` {
					t.Errorf("%s on %s: native %s, want null", src, body, got)
				}
				continue
			}
			if werr != nil || gerr != nil || string(got) != string(want) {
				t.Errorf("%s on %s: native %s (%v), jq %s", src, body, got, gerr, want)
			}
		}
	}
}

// throughOtherType reports whether e's path meets a value it cannot step
// into (a field of a non-object, an index of a non-array).
func throughOtherType(t *testing.T, e expr, body []byte) bool {
	var p path
	switch e := e.(type) {
	case path:
		p = e
	case piped:
		p = e.p
	}
	var tr jsontree.Tree
	if jsontree.Parse(body, &tr) != nil {
		return false
	}
	var i int32
	for _, st := range p {
		n := &tr.Nodes[i]
		if st.isIdx && n.Kind != jsontree.Array || !st.isIdx && n.Kind != jsontree.Object {
			return n.Kind != jsontree.Null
		}
		sub := path{st}
		if i = sub.lookupFrom(&tr, i); i < 0 {
			return false
		}
	}
	return false
}

var differentialBodies = []string{
	`{"a":{"b":[1,2.50,-0,1e3,12345678901234567890]},"x y":"\u00e9<&>\u2028\n\t\u0001\"\\/"}`,
	`{"a":[{"b":true},{"b":null,"c":{"z":1,"y":[{}]}}],"a":"last wins"}`,
	`{"a":"text"}`, `{"a":7}`, `[1,[2],{"b":3}]`, `"just a string"`, `12.0`, `null`, `{"b":2,"a":1,"A":0,"aa":3,"é":4}`,
	"{\"bad\":\"\xff\xfe\"}",
	`{"a":"Привет, мир","b":{"ключ":"значение 😀"}}`,
}

// TestNativeMatchesJQ: what apigw reads from the arena is exactly what
// gojq makes of the same expression.
func TestNativeMatchesJQ(t *testing.T) {
	for _, b := range differentialBodies {
		checkNativeMatchesJQ(t, []byte(b))
	}
}

func FuzzNativeMatchesJQ(f *testing.F) {
	for _, b := range differentialBodies {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkNativeMatchesJQ(t, body) })
}

func TestCompileAndApplyErrors(t *testing.T) {
	for src, want := range map[string]string{
		"{type: dynamic, template: {}}":                       "only type: static",
		"{type: static}":                                      "needs a template",
		"{type: static, template: {a: '${.x[}'}}":             "no closing",
		"{type: static, template: {a: '${.x | }'}}":           "1:38: m.template.a: ${.x | }: jq syntax: unexpected EOF",
		"{type: static, template: {a: '${nosuch}'}}":          "1:33: m.template.a: ${nosuch}: function not defined: nosuch/0",
		"{type: static, template: {a: '${.a'}}":               "no closing",
		"{type: static, template: {a: 'x ${(.a]}'}}":          `1:39: m.template.a: ${(.a]}: jq syntax: unexpected token "]"`,
		"{type: static, template: {a: 'x ${.a)}'}}":           "unbalanced",
		"{type: static, template: {a: '${.a-b}'}}":            "function not defined: b/0",
		"{type: static, template: {a: '${\"abc}'}}":           "unterminated string",
		"{type: static, template: '${import \"a\" as a; .}'}": "import and include are not allowed",
	} {
		if _, err := compileSrc(t, src); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", src, err, want)
		}
	}
	tpl, _ := compileSrc(t, "{type: static, template: {a: '${.x}'}}")
	for _, in := range []string{`not json`, `{"x":1} trailing`, ``} {
		if _, err := tpl.Apply(t.Context(), []byte(in)); !errors.Is(err, ErrNotJSON) {
			t.Errorf("Apply(%q) = %v, want ErrNotJSON", in, err)
		}
	}
}

// TestNothingOutsideTheBody: a mapping is written by the spec's author but
// its output goes to clients, so it must never read the gateway's
// environment, clock or other inputs.
func TestNothingOutsideTheBody(t *testing.T) {
	t.Setenv("APIGW_TEST_SECRET", "s3cr3t")
	for _, src := range []string{
		"env", "$ENV", "env.APIGW_TEST_SECRET", "$ENV.APIGW_TEST_SECRET", "input", "inputs", "[inputs]",
		"now", "localtime", "now|strflocaltime(\"%H\")", "{a: (env|tojson)}", "\"\\(env)\"", "if true then $ENV else 1 end",
		"[.[] | env]", "reduce env as $e (0; 1)", "try env catch 1", "def f: env; f", ".a as $x | $ENV", "debug(\"x\")",
	} {
		_, err := compileSrc(t, "{type: static, template: {a: '${"+strings.ReplaceAll(src, "'", "''")+"}'}}")
		if err == nil || !strings.Contains(err.Error(), "not allowed in a mapping") && !strings.Contains(err.Error(), "not defined") {
			t.Errorf("%s: %v, want a load error", src, err)
		}
	}
}

func TestRuntimeErrors(t *testing.T) {
	for src, want := range map[string]string{
		`${.a | error("a is required")}`: "a is required",
		`${.a + 1}`:                      "cannot add",
		`${.a[]}`:                        "cannot iterate",
	} {
		tpl, err := compileSrc(t, "{type: static, template: {x: '"+src+"'}}")
		if err != nil {
			t.Fatal(err)
		}
		_, err = tpl.Apply(t.Context(), []byte(`{"a":"text"}`))
		var ee *EvalError
		if !errors.As(err, &ee) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an EvalError with %q", src, err, want)
		}
	}
	tpl, _ := compileSrc(t, `{type: static, template: {x: '${error("a is required")}', y: '${.a + 1}'}}`)
	_, err := tpl.Apply(t.Context(), []byte(`{"a":"text"}`))
	var ee *EvalError
	if !errors.As(err, &ee) {
		t.Fatal(err)
	}
	if msg, ok := ee.Raised(); ok && msg != "a is required" {
		t.Errorf("Raised = %q", msg)
	}
	// A runaway program stops at the context's deadline.
	tpl, _ = compileSrc(t, `{type: static, template: {x: '${[range(1e12)] | length}'}}`)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if _, err := tpl.Apply(ctx, []byte(`{}`)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("runaway: %v", err)
	}
	tpl, _ = compileSrc(t, `{type: static, template: {x: '${range(1e12)}'}}`)
	if _, err := tpl.Apply(t.Context(), []byte(`{}`)); err == nil || !strings.Contains(err.Error(), "more than 100000 values") {
		t.Errorf("too many outputs: %v", err)
	}
}
