package validate

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// kinSchema loads a schema (JSON) the way the spec loader does.
func kinSchema(t testing.TB, src string) *openapi3.Schema {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData([]byte(`{"openapi":"3.0.0","info":{"title":"t","version":"1"},"paths":{},
		"components":{"schemas":{"S":` + src + `,"Node":{"type":"object","properties":{"next":{"$ref":"#/components/schemas/Node"},"v":{"type":"integer"}}}}}}`))
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	return doc.Components.Schemas["S"].Value
}

var differentialSchemas = []string{
	`{"type":"object","required":["a"],"properties":{"a":{"type":"string","minLength":2,"maxLength":4},"b":{"type":"integer","minimum":1,"maximum":10}}}`,
	`{"type":"object","additionalProperties":false,"properties":{"a":{"type":"boolean"}}}`,
	`{"type":"object","additionalProperties":{"type":"number","multipleOf":0.5}}`,
	`{"type":"array","items":{"type":"string","enum":["x","y"]},"minItems":1,"maxItems":3,"uniqueItems":true}`,
	`{"type":"string","pattern":"^[a-z]+[0-9]*$"}`,
	`{"type":"string","format":"date-time"}`,
	`{"type":"string","format":"date"}`,
	`{"type":"integer","format":"int32"}`,
	`{"type":"number","minimum":0,"exclusiveMinimum":true,"maximum":1,"exclusiveMaximum":true}`,
	`{"type":"string","nullable":true}`,
	`{"oneOf":[{"type":"string"},{"type":"integer"}]}`,
	`{"anyOf":[{"type":"string","maxLength":1},{"type":"number","minimum":5}]}`,
	`{"allOf":[{"type":"object","required":["x"]},{"type":"object","required":["y"]}]}`,
	`{"not":{"type":"string"}}`,
	`{"enum":[1,"two",null,{"a":[1]}]}`,
	`{"$ref":"#/components/schemas/Node"}`,
	`{"type":"object","minProperties":1,"maxProperties":2}`,
	`{}`,
}

var differentialValues = []string{
	`null`, `true`, `0`, `1`, `0.5`, `1.5`, `5`, `7`, `11`, `-3`, `2147483648`, `"x"`, `"ab"`, `"abcde"`, `"a1"`, `"A"`,
	`"2026-11-25T10:00:00Z"`, `"2026-11-25"`, `"not a date"`, `"two"`, `[]`, `["x"]`, `["x","x"]`, `["x","y","x","y"]`, `["z"]`, `[1]`,
	`{}`, `{"a":"ab"}`, `{"a":"a"}`, `{"a":"ab","b":11}`, `{"a":true}`, `{"a":true,"c":1}`, `{"n":1,"m":1.5}`, `{"n":"1"}`,
	`{"x":1,"y":2}`, `{"x":1}`, `{"a":[1]}`, `{"next":{"next":{"v":"x"}}}`, `{"next":{"v":3}}`, `{"a":1,"b":2,"c":3}`,
}

// TestCompiledMatchesKin: the compiled validator accepts exactly what
// kin-openapi's walk accepts, over a grid of schemas and values.
func TestCompiledMatchesKin(t *testing.T) {
	for _, src := range differentialSchemas {
		ks := kinSchema(t, src)
		c, err := compileSchema(ks, map[*openapi3.Schema]*schema{})
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		for _, val := range differentialValues {
			var v any
			if err := json.Unmarshal([]byte(val), &v); err != nil {
				t.Fatal(err)
			}
			kinOK := ks.VisitJSON(v, openapi3.VisitAsRequest()) == nil
			probs, err := c.validate([]byte(val), inRequest)
			if err != nil {
				t.Fatalf("%s: %v", val, err)
			}
			if ours := len(probs) == 0; ours != kinOK {
				t.Errorf("schema %s, value %s: compiled valid=%v (%v), kin-openapi valid=%v", src, val, ours, probs, kinOK)
			}
		}
	}
}

func TestProblemsNameTheField(t *testing.T) {
	c, err := compileSchema(kinSchema(t, `{"type":"object","required":["items"],"properties":{"items":{"type":"array","items":{"type":"object","required":["qty"],"properties":{"qty":{"type":"integer","minimum":1},"a/b":{"type":"string"}}}}}}`), map[*openapi3.Schema]*schema{})
	if err != nil {
		t.Fatal(err)
	}
	probs, _ := c.validate([]byte(`{"items":[{"qty":1},{"qty":0,"a/b":3},{}]}`), inRequest)
	got := []string{}
	for _, p := range probs {
		got = append(got, p.Field+": "+p.Message)
	}
	want := []string{"/items/1/qty: number must be at least 1", "/items/1/a~1b: value must be a string", `/items/2/qty: property "qty" is missing`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestReadOnlyWriteOnly(t *testing.T) {
	c, _ := compileSchema(kinSchema(t, `{"type":"object","required":["id","password"],"properties":{"id":{"type":"integer","readOnly":true},"password":{"type":"string","writeOnly":true}}}`), map[*openapi3.Schema]*schema{})
	for _, tt := range []struct {
		body string
		dir  direction
		ok   bool
	}{
		{`{"password":"x"}`, inRequest, true}, {`{"id":1,"password":"x"}`, inRequest, false},
		{`{"id":1}`, inResponse, true}, {`{"id":1,"password":"x"}`, inResponse, false},
	} {
		probs, _ := c.validate([]byte(tt.body), tt.dir)
		if (len(probs) == 0) != tt.ok {
			t.Errorf("%s (direction %d): %v, want ok=%v", tt.body, tt.dir, probs, tt.ok)
		}
	}
}

// A body with a problem in each of 200,000 items lists the first
// MaxProblems and counts the rest: the list goes to the client and to the
// console, and was 14 MB of answer for a 2.4 MB body.
func TestProblemsAreCapped(t *testing.T) {
	s := kinSchema(t, `{"type":"array","items":{"type":"integer"}}`)
	body := []byte("[" + strings.Repeat(`"x",`, 200000) + `"x"]`)
	for _, check := range []struct {
		name string
		run  func() []Problem
	}{
		{"compiled", func() []Problem {
			c, err := compileSchema(s, map[*openapi3.Schema]*schema{})
			if err != nil {
				t.Fatal(err)
			}
			probs, err := c.validate(body, inRequest)
			if err != nil {
				t.Fatal(err)
			}
			return probs
		}},
		{"kin-openapi's list", func() []Problem {
			out := make([]Problem, 0, 5000)
			for range 5000 {
				out = append(out, Problem{In: "query", Name: "x", Message: "bad"})
			}
			return capped(out)
		}},
	} {
		probs := check.run()
		if len(probs) != MaxProblems+1 {
			t.Fatalf("%s: %d problems, want %d", check.name, len(probs), MaxProblems+1)
		}
		last := probs[MaxProblems].Message
		if !strings.Contains(last, "more problems") {
			t.Errorf("%s: the last problem is %q", check.name, last)
		}
	}
	c, _ := compileSchema(s, map[*openapi3.Schema]*schema{})
	probs, _ := c.validate(body, inRequest)
	if got, want := probs[MaxProblems].Message, "and 199901 more problems"; !strings.HasPrefix(got, want) {
		t.Errorf("the count: %q, want %q...", got, want)
	}
}
