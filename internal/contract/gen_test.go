package contract

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/apigw/apigw/internal/policy/validate"
)

// schemaOfJSON reads a schema as a spec would hold it, with its $refs
// resolved against a components section.
func schemaOfJSON(t testing.TB, src string) *openapi3.SchemaRef {
	t.Helper()
	doc := fmt.Sprintf(`{"openapi":"3.0.0","info":{"title":"t","version":"1"},"paths":{},
"components":{"schemas":{"Pet":{"type":"object","required":["id","name"],"properties":{"id":{"type":"integer","minimum":1},"name":{"type":"string","minLength":1,"maxLength":10},"friends":{"type":"array","items":{"$ref":"#/components/schemas/Pet"}}}},
"S":%s}}}`, src)
	loader := openapi3.NewLoader()
	d, err := loader.LoadFromData([]byte(doc))
	if err != nil {
		t.Fatalf("load %s: %v", src, err)
	}
	return d.Components.Schemas["S"]
}

// Every mode and many seeds give values the schema accepts, checked by the
// gateway's own validator: the generator never makes what the validator
// would refuse.
func TestGeneratedValuesMatchTheirSchema(t *testing.T) {
	schemas := []string{
		`{"type":"string"}`,
		`{"type":"string","minLength":3,"maxLength":5}`,
		`{"type":"string","maxLength":0}`,
		`{"type":"string","format":"date"}`,
		`{"type":"string","format":"date-time"}`,
		`{"type":"string","format":"email"}`,
		`{"type":"string","format":"uuid"}`,
		`{"type":"string","format":"ipv4"}`,
		`{"type":"string","format":"ipv6"}`,
		`{"type":"string","format":"byte"}`,
		`{"type":"string","pattern":"^[A-Z]{2}-[0-9]{3,4}$"}`,
		`{"type":"string","pattern":"^(cat|dog)s?$","maxLength":4}`,
		`{"type":"string","pattern":"\\d+\\.\\d+"}`,
		`{"type":"string","enum":["a","b","c"]}`,
		`{"type":"integer"}`,
		`{"type":"integer","minimum":5,"maximum":7}`,
		`{"type":"integer","minimum":0,"exclusiveMinimum":true,"maximum":3,"exclusiveMaximum":true}`,
		`{"type":"integer","multipleOf":5,"minimum":1,"maximum":99}`,
		`{"type":"integer","format":"int32","minimum":-10}`,
		`{"type":"number","minimum":0.5,"maximum":0.75}`,
		`{"type":"number","multipleOf":0.25}`,
		`{"type":"boolean"}`,
		`{"type":"array","items":{"type":"integer"},"minItems":2,"maxItems":4}`,
		`{"type":"array","items":{"type":"string","enum":["x","y","z"]},"uniqueItems":true,"minItems":2}`,
		`{"type":"object","required":["a"],"properties":{"a":{"type":"string"},"b":{"type":"integer","maximum":-1}}}`,
		`{"type":"object","additionalProperties":{"type":"integer"},"minProperties":2}`,
		`{"type":"object","required":["x"],"properties":{"x":{"type":"integer"}},"additionalProperties":false}`,
		`{"type":"object","properties":{"secret":{"type":"string","writeOnly":true},"id":{"type":"integer","readOnly":true}},"required":["id"]}`,
		`{"allOf":[{"$ref":"#/components/schemas/Pet"},{"type":"object","required":["tag"],"properties":{"tag":{"type":"string","maxLength":3}}}]}`,
		`{"oneOf":[{"type":"string","maxLength":2},{"type":"integer","minimum":10}]}`,
		`{"anyOf":[{"$ref":"#/components/schemas/Pet"},{"type":"null"}]}`,
		`{"$ref":"#/components/schemas/Pet"}`,
		`{"type":"string","nullable":true,"example":"given"}`,
		`{"type":"object","properties":{"when":{"type":"string","format":"date"}},"example":{"when":"2020-02-02"}}`,
	}
	modes := []Mode{Typical, Minimal, Maximal, Random}
	for _, src := range schemas {
		s := schemaOfJSON(t, src)
		for _, m := range modes {
			for seed := range uint64(25) {
				v := NewGenerator(seed, Response).Value(s, m)
				if probs := validate.Check(s.Value, v, true); len(probs) > 0 {
					b, _ := json.Marshal(v)
					t.Fatalf("%s, %s, seed %d: %s does not match: %+v", src, m, seed, b, probs)
				}
			}
		}
	}
}

func TestGenerationIsDeterministicPerSeed(t *testing.T) {
	s := schemaOfJSON(t, `{"type":"array","items":{"$ref":"#/components/schemas/Pet"},"minItems":1,"maxItems":3}`)
	a := NewGenerator(42, Request).Value(s, Random)
	b := NewGenerator(42, Request).Value(s, Random)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("seed 42 twice: %v and %v", a, b)
	}
	differs := false
	for seed := range uint64(10) {
		if !reflect.DeepEqual(a, NewGenerator(seed+100, Request).Value(s, Random)) {
			differs = true
		}
	}
	if !differs {
		t.Fatal("ten other seeds all gave the same value as seed 42")
	}
}

func TestGeneratedBoundsAndExamples(t *testing.T) {
	for _, tc := range []struct {
		schema string
		mode   Mode
		want   any
	}{
		{`{"type":"integer","minimum":5,"maximum":7}`, Minimal, int64(5)},
		{`{"type":"integer","minimum":5,"maximum":7}`, Maximal, int64(7)},
		{`{"type":"integer","minimum":0,"exclusiveMinimum":true}`, Minimal, int64(1)},
		{`{"type":"string","minLength":3,"maxLength":5}`, Minimal, "exa"},
		{`{"type":"string","example":"Tom"}`, Typical, "Tom"},
		{`{"type":"string","enum":["a","b","c"]}`, Maximal, "c"},
		{`{"type":"object","required":["a"],"properties":{"a":{"type":"boolean"},"b":{"type":"boolean"}}}`, Minimal, map[string]any{"a": false}},
	} {
		got := NewGenerator(1, Request).Value(schemaOfJSON(t, tc.schema), tc.mode)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s %s: got %#v, want %#v", tc.schema, tc.mode, got, tc.want)
		}
	}
	if got := NewGenerator(1, Request).Value(schemaOfJSON(t, `{"type":"array","items":{"type":"integer"},"minItems":2,"maxItems":9}`), Minimal).([]any); len(got) != 2 {
		t.Errorf("minItems 2, minimal: got %v", got)
	}
}

// The request side leaves readOnly properties out, the response side
// writeOnly ones.
func TestGenerationHonoursReadOnlyAndWriteOnly(t *testing.T) {
	s := schemaOfJSON(t, `{"type":"object","properties":{"secret":{"type":"string","writeOnly":true},"id":{"type":"integer","readOnly":true}}}`)
	req := NewGenerator(1, Request).Value(s, Maximal).(map[string]any)
	resp := NewGenerator(1, Response).Value(s, Maximal).(map[string]any)
	if _, ok := req["id"]; ok {
		t.Errorf("request has the readOnly id: %v", req)
	}
	if _, ok := resp["secret"]; ok {
		t.Errorf("response has the writeOnly secret: %v", resp)
	}
	if _, ok := req["secret"]; !ok {
		t.Errorf("request lacks secret: %v", req)
	}
}

func BenchmarkGenerate(b *testing.B) {
	s := schemaOfJSON(b, `{"type":"array","minItems":3,"maxItems":3,"items":{"allOf":[{"$ref":"#/components/schemas/Pet"},{"type":"object","properties":{"born":{"type":"string","format":"date"},"tags":{"type":"array","items":{"type":"string","pattern":"^[a-z]{3,8}$"}}}}]}}`)
	g := NewGenerator(1, Response)
	b.ReportAllocs()
	for b.Loop() {
		g.Value(s, Random)
	}
}
