package schemamap

import (
	"strings"
	"testing"

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
		{"missing path is null", `{a: "${.nope.deeper}", b: "${.list[5]}"}`, `{"list":[1]}`, `{"a":null,"b":null}`},
		{"embedded text takes string forms", `{msg: "user ${.user.name} (${.user.age}) ${.user.tags} ${.none}"}`,
			`{"user":{"name":"Ann","age":30,"tags":["a","b"]}}`, `{"msg":"user Ann (30) [\"a\",\"b\"] null"}`},
		{"indices and quoted names", `{first: "${.items[0].id}", odd: "${.[\"a b\"]}", dotted: "${.\"c.d\"}"}`,
			`{"items":[{"id":7}],"a b":1,"c.d":2}`, `{"dotted":2,"first":7,"odd":1}`},
		{"whole input", `{copy: "${.}"}`, `[1,2]`, `{"copy":[1,2]}`},
		{"literals of every type", `{s: plain, n: 1.5, b: false, z: null, l: [1, "${.x}"]}`, `{"x":"y"}`,
			`{"b":false,"l":[1,"y"],"n":1.5,"s":"plain","z":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl, err := compileSrc(t, "{type: static, template: "+tt.template+"}")
			if err != nil {
				t.Fatal(err)
			}
			got, err := tpl.Apply([]byte(tt.in))
			if err != nil || string(got) != tt.want {
				t.Errorf("Apply = %s (%v), want %s", got, err, tt.want)
			}
		})
	}
}

func TestCompileAndApplyErrors(t *testing.T) {
	for src, want := range map[string]string{
		"{type: dynamic, template: {}}":             "only type: static",
		"{type: static}":                            "needs a template",
		"{type: static, template: {a: '${.x[}'}}":   "unclosed [",
		"{type: static, template: {a: '${.x[y]}'}}": "neither an index nor a quoted name",
	} {
		if _, err := compileSrc(t, src); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", src, err, want)
		}
	}
	tpl, _ := compileSrc(t, "{type: static, template: {a: '${.x}'}}")
	for _, in := range []string{`not json`, `{"x":1} trailing`, ``} {
		if _, err := tpl.Apply([]byte(in)); err == nil {
			t.Errorf("Apply(%q) accepted a broken body", in)
		}
	}
}
