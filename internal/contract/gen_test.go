package contract

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
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

// BenchmarkCases is the generation of every request of a 300-operation
// plan (bench/contract makes the same spec for the whole run).
func BenchmarkCases(b *testing.B) {
	var paths strings.Builder
	for i := range 100 {
		fmt.Fprintf(&paths, `"/r%d/things":{"get":{"operationId":"list%d","parameters":[{"name":"limit","in":"query","schema":{"type":"integer","minimum":1,"maximum":100}},{"name":"kind","in":"query","schema":{"type":"string","enum":["s","m"]}}],"responses":{"200":{"description":"ok"}}},
"post":{"operationId":"create%d","requestBody":{"required":true,"content":{"application/json":{"schema":{"$ref":"#/components/schemas/Pet"}}}},"responses":{"201":{"description":"ok"}}}},
"/r%d/things/{id}":{"get":{"operationId":"get%d","parameters":[{"name":"id","in":"path","required":true,"schema":{"type":"integer","minimum":1}}],"responses":{"200":{"description":"ok"}}}},`, i, i, i, i, i)
	}
	src := `{"openapi":"3.0.0","info":{"title":"t","version":"1"},"paths":{` + strings.TrimSuffix(paths.String(), ",") + `},
"components":{"schemas":{"Pet":{"type":"object","required":["id","name"],"properties":{"id":{"type":"integer","minimum":1},"name":{"type":"string","minLength":1,"maxLength":10},"born":{"type":"string","format":"date"}}}}}}`
	t, err := openapi3.NewLoader().LoadFromData([]byte(src))
	if err != nil {
		b.Fatal(err)
	}
	var ops []*Operation
	for _, path := range t.Paths.InMatchingOrder() {
		item := t.Paths.Value(path)
		for method, op := range item.Operations() {
			ops = append(ops, &Operation{ID: op.OperationID, Method: method, Template: path, op: op, params: op.Parameters, validatesBody: true, validatesParams: true})
		}
	}
	if len(ops) != 300 {
		b.Fatalf("%d operations", len(ops))
	}
	b.ReportAllocs()
	requests := 0
	for b.Loop() {
		requests = 0
		for _, o := range ops {
			requests += len(o.Cases(1, 5))
		}
	}
	b.ReportMetric(float64(requests), "requests/op")
}

// A lower bound no one means (a billion characters or items) gives a
// short value, which the schema check then reports, not a huge one.
func TestHugeLowerBoundsAreCapped(t *testing.T) {
	for _, src := range []string{`{"type":"string","minLength":1000000000}`, `{"type":"array","minItems":1000000000,"items":{"type":"integer"}}`} {
		v := NewGenerator(1, Response).Value(schemaOfJSON(t, src), Typical)
		b, _ := json.Marshal(v)
		if len(b) > 64<<10 {
			t.Errorf("%s: %d bytes", src, len(b))
		}
	}
}

// A schema that requires itself, through $ref and each combinator, has no
// finite value: the generator stops at hardDepth and says so, where it
// used to overflow the stack and kill the process (allOf, oneOf and anyOf
// restarted its depth).
func TestSelfRequiringSchemasStop(t *testing.T) {
	for _, part := range []string{
		`{"allOf":[{"$ref":"#/components/schemas/S"}],"description":"the parent"}`,
		`{"oneOf":[{"$ref":"#/components/schemas/S"}]}`,
		`{"anyOf":[{"$ref":"#/components/schemas/S"}]}`,
		`{"$ref":"#/components/schemas/S"}`,
	} {
		src := `{"type":"object","required":["name","parent"],"properties":{"name":{"type":"string"},"parent":` + part + `}}`
		s := schemaOfJSON(t, src)
		for _, m := range []Mode{Typical, Minimal, Maximal, Random} {
			g := NewGenerator(1, Response)
			v := g.Value(s, m)
			if !g.Cut() {
				t.Errorf("%s, %s: not reported as cut", part, m)
			}
			if b, _ := json.Marshal(v); len(b) > 64<<10 {
				t.Errorf("%s, %s: %d bytes", part, m, len(b))
			}
		}
	}
	// An optional recursion is not cut: it stops at maxDepth by itself.
	g := NewGenerator(1, Response)
	g.Value(schemaOfJSON(t, `{"$ref":"#/components/schemas/Pet"}`), Maximal)
	if g.Cut() {
		t.Error("Pet (optional friends) reported as cut")
	}
}

// Lower bounds multiply through nesting: three nested minItems of 4,096
// asked for 68 billion items (out of memory at start). One budget bounds
// the whole value.
func TestNestedLowerBoundsShareOneBudget(t *testing.T) {
	src := `{"type":"array","minItems":4096,"items":{"type":"array","minItems":4096,"items":{"type":"array","minItems":4096,"items":{"type":"string","minLength":4096}}}}`
	g := NewGenerator(1, Response)
	v := g.Value(schemaOfJSON(t, src), Typical)
	b, _ := json.Marshal(v)
	if len(b) > 1<<20 {
		t.Errorf("%d bytes", len(b))
	}
	if !g.Cut() {
		t.Error("not reported as cut")
	}
	// Each Value has the whole budget again.
	if v := g.Value(schemaOfJSON(t, `{"type":"string"}`), Typical); v != "example" {
		t.Errorf("the next value: %v", v)
	}
}

// A required property that the direction leaves out is left out: the
// validator refuses a writeOnly one in a response and a readOnly one in a
// request, so generating them made the gateway refuse its own mocks.
func TestRequiredReadOnlyAndWriteOnlyAreLeftOut(t *testing.T) {
	s := schemaOfJSON(t, `{"type":"object","required":["id","password","name"],"properties":{"id":{"type":"integer","readOnly":true},"password":{"type":"string","writeOnly":true},"name":{"type":"string"}}}`)
	for _, m := range []Mode{Typical, Minimal, Maximal, Random} {
		for _, tc := range []struct {
			dir    Direction
			absent string
		}{{Request, "id"}, {Response, "password"}} {
			v := NewGenerator(3, tc.dir).Value(s, m).(map[string]any)
			if _, ok := v[tc.absent]; ok {
				t.Errorf("%s, direction %d: has %s: %v", m, tc.dir, tc.absent, v)
			}
			if probs := validate.Check(s.Value, v, tc.dir == Response); len(probs) > 0 {
				t.Errorf("%s, direction %d: %v refused: %+v", m, tc.dir, v, probs)
			}
		}
	}
}

// XML follows the schema's names, through allOf parts, and a schema whose
// allOf refers to itself ends (the lookup of a property's names recursed
// without end).
func TestEncodeXML(t *testing.T) {
	s := schemaOfJSON(t, `{"xml":{"name":"pet"},"allOf":[{"$ref":"#/components/schemas/S"},{"type":"object","properties":{"id":{"type":"integer","xml":{"attribute":true}},"tags":{"type":"array","xml":{"wrapped":true},"items":{"type":"string","xml":{"name":"tag"}}}}}]}`)
	got := string(EncodeXML(map[string]any{"id": int64(7), "name": "Tom & Jerry", "tags": []any{"a", "b"}, "missing": "x"}, s))
	want := `<pet id="7"><missing>x</missing><name>Tom &amp; Jerry</name><tags><tag>a</tag><tag>b</tag></tags></pet>`
	if !strings.HasSuffix(got, want) || !strings.HasPrefix(got, "<?xml") {
		t.Errorf("got %s\nwant ...%s", got, want)
	}
	if got := string(EncodeXML("<as>written</as>", s)); got != "<as>written</as>" {
		t.Errorf("a string example: %s", got)
	}
}
