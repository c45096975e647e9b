package schemamap

import (
	"fmt"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// body1K is the 1 KB order that bench/mapping posts.
func body1K() []byte {
	var items []string
	for i := 0; i < 24; i++ {
		items = append(items, fmt.Sprintf(`{"sku":"sku-000%d","qty":2,"price":12.5}`, i%10))
	}
	return []byte(`{"customer":"c-1234","currency":"EUR","items":[` + strings.Join(items, ",") + `]}`)
}

func benchTemplate(b *testing.B, tpl string) *Template {
	var n yaml.Node
	if err := yaml.Unmarshal([]byte("{type: static, template: "+tpl+"}"), &n); err != nil {
		b.Fatal(err)
	}
	t, errs := Compile(n.Content[0], "m")
	if errs.Err() != nil {
		b.Fatal(errs)
	}
	return t
}

// BenchmarkCompile is the build-time cost of a template with a jq program
// and a plain path.
func BenchmarkCompile(b *testing.B) {
	var n yaml.Node
	yaml.Unmarshal([]byte(`{type: static, template: {input: {inputJson: '${.|tojson}'}, who: '${.customer}', n: '${.items | length}'}}`), &n)
	b.ReportAllocs()
	for b.Loop() {
		if _, errs := Compile(n.Content[0], "m"); errs.Err() != nil {
			b.Fatal(errs)
		}
	}
}

// BenchmarkApply maps the 1 KB body: by the Workflows tutorial's
// ${.|tojson} (gojq), and by plain paths (no jq).
func BenchmarkApply(b *testing.B) {
	body := body1K()
	for _, c := range []struct{ name, tpl string }{
		{"jq-tojson", `{input: {inputJson: '${.|tojson}'}}`},
		{"jq-select", `{skus: '${[.items[] | select(.qty > 1) | .sku] | unique}'}`},
		{"paths", `{customer: '${.customer}', items: '${.items}'}`},
	} {
		b.Run(c.name, func(b *testing.B) {
			t := benchTemplate(b, c.tpl)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := t.Apply(b.Context(), body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
