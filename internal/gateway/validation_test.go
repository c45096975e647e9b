package gateway

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

const validatedSpec = `openapi: 3.0.0
x-yc-apigateway:
  validator: {$ref: '#/components/x-yc-apigateway-validators/strict'}
components:
  x-yc-apigateway-validators:
    strict: {validateRequestBody: true, validateRequestParameters: true}
  schemas:
    Order:
      type: object
      required: [item, qty]
      properties:
        item: {type: string, minLength: 1}
        qty: {type: integer, minimum: 1}
        tags: {type: array, items: {type: string}}
paths:
  /orders/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: string, pattern: '^[a-z]{3}[0-9]+$'}}
    post:
      parameters:
        - {name: limit, in: query, schema: {type: integer, maximum: 100}}
        - {name: ids, in: query, style: form, explode: false, schema: {type: array, items: {type: integer}}}
        - {name: X-Tenant, in: header, required: true, schema: {type: string}}
        - {name: session, in: cookie, schema: {type: string, minLength: 4}}
      requestBody:
        required: true
        content:
          application/json: {schema: {$ref: '#/components/schemas/Order'}}
      x-yc-apigateway-integration: {type: http, url: '%BACKEND%'}
  /loose:
    post:
      x-yc-apigateway-validator: {validateRequestBody: false}
      requestBody:
        content:
          application/json: {schema: {$ref: '#/components/schemas/Order'}}
      x-yc-apigateway-integration: {type: http, url: '%BACKEND%'}
`

type problemBody struct {
	Message string
	Status  int
	Errors  []struct{ In, Name, Field, Message string }
}

func TestRequestValidation(t *testing.T) {
	var calls atomic.Int32
	var got atomic.Value
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		b := make([]byte, 1024)
		n, _ := r.Body.Read(b)
		got.Store(string(b[:n]))
		w.Write([]byte("accepted"))
	}))
	t.Cleanup(backend.Close)
	srv := serve(t, strings.ReplaceAll(validatedSpec, "%BACKEND%", backend.URL), "")
	good := map[string]string{"Content-Type": "application/json", "X-Tenant": "t1", "Cookie": "session=abcd"}
	res := do(t, "POST", srv.URL+"/orders/abc12?limit=5&ids=1,2,3", good, strings.NewReader(`{"item":"tea","qty":2}`))
	if res.status != 200 || res.body != "accepted" || got.Load() != `{"item":"tea","qty":2}` {
		t.Fatalf("valid request: %d %q, backend got %q", res.status, res.body, got.Load())
	}
	tests := []struct {
		name   string
		path   string
		header map[string]string
		body   string
		want   [][2]string // in, name or field
	}{
		{"every problem at once", "/orders/ABC?limit=500&ids=1,x", map[string]string{"Content-Type": "application/json", "Cookie": "session=ab"},
			`{"qty":0,"tags":[1]}`,
			[][2]string{{"path", "id"}, {"query", "limit"}, {"query", "ids"}, {"header", "X-Tenant"}, {"cookie", "session"}, {"body", ""}}},
		{"body fields", "/orders/abc1", map[string]string{"Content-Type": "application/json", "X-Tenant": "t"}, `{"item":"","qty":"two"}`,
			[][2]string{{"body", "/item"}, {"body", "/qty"}}},
		{"undeclared media type", "/orders/abc1", map[string]string{"Content-Type": "text/plain", "X-Tenant": "t"}, `item=tea`, [][2]string{{"body", ""}}},
		{"missing required body", "/orders/abc1", map[string]string{"Content-Type": "application/json", "X-Tenant": "t"}, ``, [][2]string{{"body", ""}}},
		{"broken JSON", "/orders/abc1", map[string]string{"Content-Type": "application/json", "X-Tenant": "t"}, `{"item":`, [][2]string{{"body", ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := calls.Load()
			res := do(t, "POST", srv.URL+tt.path, tt.header, strings.NewReader(tt.body))
			var pb problemBody
			if err := json.Unmarshal([]byte(res.body), &pb); err != nil || res.status != 400 || pb.Message != "request validation failed" {
				t.Fatalf("%d %q (%v)", res.status, res.body, err)
			}
			if calls.Load() != before {
				t.Error("an invalid request reached the integration")
			}
			for _, w := range tt.want {
				found := false
				for _, e := range pb.Errors {
					if e.In == w[0] && (w[1] == "" || e.Name == w[1] || e.Field == w[1]) && e.Message != "" {
						found = true
					}
				}
				if !found {
					t.Errorf("no problem for %s %s in %s", w[0], w[1], res.body)
				}
			}
		})
	}
	// The operation's own validator overrides the top-level one.
	if res := do(t, "POST", srv.URL+"/loose", map[string]string{"Content-Type": "application/json"}, strings.NewReader(`{}`)); res.status != 200 {
		t.Errorf("an operation that turns validation off: %d %q", res.status, res.body)
	}
}

func TestResponseValidation(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/good":
			w.Header().Set("X-Rate", "5")
			w.Write([]byte(`{"id":1,"name":"tea"}`))
		case "/bad-body":
			w.Header().Set("X-Rate", "5")
			w.Write([]byte(`{"id":"one"}`))
		case "/bad-header":
			w.Header().Set("X-Rate", "fast")
			w.Header().Set("X-Debug", "1")
			w.Write([]byte(`{"id":1,"name":"tea"}`))
		case "/no-header":
			w.Write([]byte(`{"id":1,"name":"tea"}`))
		}
	}))
	t.Cleanup(backend.Close)
	op := func(path, mode string) string {
		return `  ` + path + `-` + mode + `:
    get:
      x-yc-apigateway-validator: {validateResponseBody: true, validateResponseHeaders: ` + mode + `}
      responses:
        '200':
          headers: {X-Rate: {schema: {type: integer}}}
          content: {application/json: {schema: {type: object, required: [id, name], properties: {id: {type: integer}, name: {type: string}}}}}
      x-yc-apigateway-integration: {type: http, url: '` + backend.URL + path + `'}
`
	}
	src := "openapi: 3.0.0\npaths:\n" + op("/good", "exact") + op("/bad-body", "any") + op("/bad-header", "any") + op("/bad-header", "subset") + op("/no-header", "any") + op("/no-header", "superset")
	srv := serve(t, src, "")
	tests := []struct {
		path   string
		status int
		want   string
	}{
		{"/good-exact", 200, `{"id":1,"name":"tea"}`},
		{"/bad-body-any", 502, `"field":"/id"`},
		{"/bad-header-any", 502, `"name":"X-Rate"`},
		{"/bad-header-subset", 502, `"name":"X-Debug"`},
		{"/no-header-any", 200, `{"id":1,"name":"tea"}`},
		{"/no-header-superset", 502, `"name":"X-Rate"`},
	}
	for _, tt := range tests {
		res := do(t, "GET", srv.URL+tt.path, nil, nil)
		if res.status != tt.status || !strings.Contains(res.body, tt.want) {
			t.Errorf("%s: %d %q, want %d with %s", tt.path, res.status, res.body, tt.status, tt.want)
		}
		if tt.status == 502 && res.header.Get("X-Rate") != "" {
			t.Errorf("%s: the failed response's headers leaked: %v", tt.path, res.header)
		}
	}
}

// TestValidationErrorHandler: a handler that answers 200 answers the
// client, with statusCode; one that fails leaves the default 400.
func TestValidationErrorHandler(t *testing.T) {
	var event atomic.Value
	handler := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 4096)
		n, _ := r.Body.Read(b)
		event.Store(string(b[:n]))
		if r.URL.Path == "/fail" {
			w.WriteHeader(500)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<p>please fix your order</p>"))
	}))
	t.Cleanup(handler.Close)
	src := `openapi: 3.0.0
paths:
  /a:
    post:
      x-yc-apigateway-validator:
        validateRequestParameters: true
        validationErrorHandler:
          statusCode: 422
          x-yc-apigateway-integration: {type: http, url: '` + handler.URL + `/ok', method: post}
      parameters: [{name: n, in: query, required: true, schema: {type: integer}}]
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': fine}}
  /b:
    post:
      x-yc-apigateway-validator:
        validateRequestParameters: true
        validationErrorHandler:
          x-yc-apigateway-integration: {type: http, url: '` + handler.URL + `/fail', method: post}
      parameters: [{name: n, in: query, required: true, schema: {type: integer}}]
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': fine}}
`
	srv := serve(t, src, "")
	res := do(t, "POST", srv.URL+"/a?n=x", nil, nil)
	if res.status != 422 || res.body != "<p>please fix your order</p>" || res.header.Get("Content-Type") != "text/html" {
		t.Errorf("handler answer: %d %q %v", res.status, res.body, res.header)
	}
	var ev struct {
		ErrorType  string
		ErrorData  []map[string]string
		StatusCode int
		Path       string
		Request    struct{ HTTPMethod, Path string }
	}
	if err := json.Unmarshal([]byte(event.Load().(string)), &ev); err != nil || ev.ErrorType != "request-validation-error" || ev.StatusCode != 400 ||
		ev.Path != "/a" || ev.Request.HTTPMethod != "POST" || len(ev.ErrorData) != 1 || ev.ErrorData[0]["name"] != "n" {
		t.Errorf("event = %s (%v)", event.Load(), err)
	}
	if res := do(t, "POST", srv.URL+"/a?n=1", nil, nil); res.status != 200 || res.body != "fine" {
		t.Errorf("valid: %d %q", res.status, res.body)
	}
	if res := do(t, "POST", srv.URL+"/b?n=x", nil, nil); res.status != 400 || !strings.Contains(res.body, "request validation failed") {
		t.Errorf("failing handler: %d %q, want the default 400", res.status, res.body)
	}
}

// TestAnyMethodValidation: an x-yc-apigateway-any-method operation is
// validated whatever the request's method, next to the path's own methods.
func TestAnyMethodValidation(t *testing.T) {
	const src = `openapi: 3.0.0
paths:
  /things/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: integer}}
    get:
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': got}}
    x-yc-apigateway-any-method:
      x-yc-apigateway-validator: {validateRequestBody: true, validateRequestParameters: true}
      parameters:
        - {name: dry, in: query, schema: {type: boolean}}
      requestBody:
        required: true
        content:
          application/json: {schema: {type: object, required: [name], properties: {name: {type: string}}}}
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': any}}
`
	srv := serve(t, src, "")
	jsonType := map[string]string{"Content-Type": "application/json"}
	for _, c := range []struct {
		method, path, body string
		status             int
	}{
		{"POST", "/things/1", `{"name":"x"}`, 200},
		{"PUT", "/things/1?dry=true", `{"name":"x"}`, 200},
		{"BREW", "/things/1", `{"name":"x"}`, 200},
		{"POST", "/things/1", `{"title":"x"}`, 400},            // the body lacks name
		{"PATCH", "/things/one", `{"name":"x"}`, 400},          // the path parameter is no integer
		{"DELETE", "/things/1?dry=maybe", `{"name":"x"}`, 400}, // nor is dry a boolean
		{"GET", "/things/one", ``, 200},                        // GET is its own, unvalidated operation
	} {
		res := do(t, c.method, srv.URL+c.path, jsonType, strings.NewReader(c.body))
		if res.status != c.status {
			t.Errorf("%s %s %s: %d %q, want %d", c.method, c.path, c.body, res.status, res.body, c.status)
		}
	}

	// A path item with every method OpenAPI 3.0 has still validates its
	// any-method operation (kin-openapi also knows CONNECT).
	var full strings.Builder
	full.WriteString("openapi: 3.0.0\npaths:\n  /full:\n")
	for _, m := range []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"} {
		full.WriteString("    " + m + ":\n      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': x}}\n")
	}
	full.WriteString(`    x-yc-apigateway-any-method:
      x-yc-apigateway-validator: {validateRequestBody: true}
      requestBody: {required: true, content: {application/json: {schema: {type: object}}}}
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': x}}
`)
	srv = serve(t, full.String(), "")
	if res := do(t, "BREW", srv.URL+"/full", jsonType, strings.NewReader(`[1]`)); res.status != 400 {
		t.Errorf("BREW /full with an array body: %d %q, want 400", res.status, res.body)
	}
	if res := do(t, "BREW", srv.URL+"/full", jsonType, strings.NewReader(`{}`)); res.status != 200 {
		t.Errorf("BREW /full with an object body: %d %q, want 200", res.status, res.body)
	}
}
