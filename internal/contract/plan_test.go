package contract

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/apigw/apigw/internal/policy/validate"
	"github.com/apigw/apigw/internal/spec"
)

const planSpec = `openapi: 3.0.0
info: {title: t, version: '1'}
x-yc-apigateway:
  validator: {validateRequestParameters: true, validateRequestBody: true}
paths:
  /items/{id}:
    get:
      operationId: getItem
      parameters:
        - {name: id, in: path, required: true, schema: {type: integer, minimum: 1}}
        - {name: fields, in: query, required: true, schema: {type: string, enum: [all, some]}}
        - {name: X-Trace, in: header, schema: {type: string, example: t-1}}
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': ok}}
      responses: {'200': {description: ok}}
    x-yc-apigateway-any-method:
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': ok}}
      responses: {'200': {description: ok}}
  /orders:
    post:
      security: [{bearer: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [sku, qty]
              properties: {sku: {type: string, pattern: '^[a-z]{3}-\d{2}$'}, qty: {type: integer, minimum: 1, maximum: 9}}
      x-yc-apigateway-integration: {type: dummy, http_code: 201, content: {'*': ok}}
      responses: {'201': {description: ok}}
components:
  securitySchemes:
    bearer: {type: http, scheme: bearer}
`

func plan(t *testing.T) []*Operation {
	t.Helper()
	return planOf(t, planSpec, nil)
}

// planOf plans the operations of src that keep keeps (nil: all).
func planOf(t *testing.T, src string, keep func(*Operation) bool) []*Operation {
	t.Helper()
	doc, errs := spec.Load("api.yaml", []byte(src), nil)
	if errs.Err() != nil {
		t.Fatal(errs)
	}
	kt, err := validate.Load(doc.Root)
	if err != nil {
		t.Fatal(err)
	}
	ops, err := Plan(doc, kt, keep)
	if err != nil {
		t.Fatal(err)
	}
	return ops
}

func TestPlanCases(t *testing.T) {
	ops := plan(t)
	if len(ops) != 3 {
		t.Fatalf("%d operations", len(ops))
	}
	get, anyOp, post := ops[0], ops[1], ops[2]
	if anyOp.Method != "POST" || anyOp.ID != "POST /items/{id}" {
		t.Errorf("the any-method operation is tested as %s %s (GET is taken)", anyOp.Method, anyOp.ID)
	}
	cases := get.Cases(1, 5)
	var valid, invalid []Case
	for _, c := range cases {
		if c.Invalid {
			invalid = append(invalid, c)
		} else {
			valid = append(valid, c)
		}
	}
	if valid[0].Name != "example" || valid[0].Header.Get("X-Trace") != "t-1" || !strings.Contains(valid[0].Path, "fields=all") {
		t.Errorf("the example case: %+v", valid[0])
	}
	for _, c := range valid {
		if !strings.HasPrefix(c.Path, "/items/") || strings.Contains(c.Path, "{") || !strings.Contains(c.Path, "fields=") {
			t.Errorf("valid case %s: %s", c.Name, c.Path)
		}
	}
	names := ""
	for _, c := range invalid {
		names += c.Name + "\n"
	}
	for _, want := range []string{"the required query parameter fields left out", "the path parameter id given", "the query parameter fields given"} {
		if !strings.Contains(names, want) {
			t.Errorf("no invalid case %q in:\n%s", want, names)
		}
	}
	if len(invalid) > 3 {
		t.Errorf("%d invalid cases, at most 3", len(invalid))
	}
	// Bodies follow the schema, credentials are made up, seeds repeat.
	for _, c := range post.Cases(9, 5) {
		if c.Header.Get("Authorization") != "Bearer apigw-test" {
			t.Errorf("%s: no credential", c.Name)
		}
		if !c.Invalid && c.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: Content-Type %q", c.Name, c.Header.Get("Content-Type"))
		}
	}
	a, b := post.Cases(9, 5), post.Cases(9, 5)
	for i := range a {
		if string(a[i].Body) != string(b[i].Body) || a[i].Path != b[i].Path {
			t.Errorf("seed 9 twice differs at case %d", i)
		}
	}
	if len(post.Cases(1, 2)) > 2+3 {
		t.Errorf("--max-per-op 2 made %d cases", len(post.Cases(1, 2)))
	}
}

func TestMatches(t *testing.T) {
	op := plan(t)[0]
	for f, want := range map[string]bool{"getItem": true, "GET /items/{id}": true, "get /items/{id}": true, "GET /items": false, "POST /items/{id}": false} {
		if op.Matches(f) != want {
			t.Errorf("%q: %v", f, !want)
		}
	}
}

// The runner waits out a rate limit (429, Retry-After) and sends again;
// a 401 to a valid request names the credential as the cause.
func TestRunnerRateLimitAndRefusedCredential(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/orders" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if calls.Add(1)%2 == 1 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	ops := plan(t)
	rn := &Runner{BaseURL: srv.URL, MaxPerOp: 1}
	results := rn.Run(context.Background(), []*Operation{ops[0], ops[2]})
	for _, r := range results {
		switch {
		case r.Op == ops[0] && !r.Case.Invalid && r.Failed():
			t.Errorf("%s after a 429: %+v", r.Case.Name, r.Checks)
		case r.Op == ops[2] && !r.Case.Invalid:
			if !r.Failed() || !strings.Contains(r.Checks[0].Problems[0].Message, "--header") {
				t.Errorf("401: %+v", r.Checks)
			}
		}
	}
	if calls.Load() < 2 {
		t.Errorf("%d calls: the 429 was not retried", calls.Load())
	}
}

// A template parameter the operation forgot to declare still gets a
// value: the request reaches the route instead of asking for "{id}".
func TestUndeclaredTemplateParameter(t *testing.T) {
	src := "openapi: 3.0.0\ninfo: {title: t, version: '1'}\npaths:\n  /a/{id}/b/{rest+}:\n    get:\n      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': ok}}\n      responses: {'200': {description: ok}}\n"
	ops := planOf(t, src, nil)
	if len(ops) != 1 {
		t.Fatalf("%d operations", len(ops))
	}
	if p := ops[0].Cases(1, 1)[0].Path; p != "/a/value/b/value" {
		t.Errorf("path %q", p)
	}
}

// TestPlanKeeps: keep names operations as --operation does (operationId,
// "METHOD /path", "ANY /path" for an any-method one), and only those are
// planned.
func TestPlanKeeps(t *testing.T) {
	src := `openapi: 3.0.0
info: {title: t, version: '1'}
paths:
  /a:
    get:
      operationId: getA
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': ok}}
    x-yc-apigateway-any-method:
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': any}}
  /b:
    post:
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': ok}}
`
	for _, c := range []struct {
		filter string
		want   []string // the kept operations' names
	}{
		{"getA", []string{"getA GET /a"}},
		{"GET /a", []string{"getA GET /a"}},
		{"post /b", []string{"POST /b"}},
		{"ANY /a", []string{"POST /a"}}, // the any-method operation, sent a method /a does not define
		{"ANY /b", nil},
		{"nope", nil},
	} {
		var got []string
		for _, o := range planOf(t, src, func(o *Operation) bool { return o.Matches(c.filter) }) {
			got = append(got, o.Name())
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%q: %v, want %v", c.filter, got, c.want)
		}
	}
	if all := planOf(t, src, nil); len(all) != 3 {
		t.Errorf("nil keeps all: %d", len(all))
	}
}
