package gateway

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"strings"
	"testing"
	"time"

	cws "github.com/coder/websocket"

	"github.com/apigw/apigw/internal/config"
	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/spec"
)

const mockSpec = `openapi: 3.0.0
info: {title: t, version: '1'}
x-yc-apigateway:
  validator: {validateRequestParameters: true, validateResponseBody: true}
paths:
  /items/{id}:
    get:
      operationId: getItem
      parameters:
        - {name: id, in: path, required: true, schema: {type: integer}}
      x-yc-apigateway-integration: {type: cloud_functions, function_id: fn-items}
      responses:
        '200':
          description: ok
          headers:
            X-Rate-Remaining: {schema: {type: integer, minimum: 0}, example: 7}
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Item'}
              examples:
                first: {value: {id: 1, name: one}}
                second: {value: {id: 2, name: two}}
            text/csv:
              example: "id,name\n1,one\n"
        '404':
          description: none
          content:
            application/json:
              schema: {type: object, required: [message], properties: {message: {type: string}}}
        default:
          description: an error
          content:
            application/json:
              schema: {type: object, required: [code], properties: {code: {type: integer}}}
  /generated:
    post:
      x-yc-apigateway-integration: {type: serverless_containers, container_id: c-gen}
      security: [{key: []}]
      responses:
        '201':
          description: made
          content:
            application/json:
              schema:
                type: object
                required: [id, when, tags]
                properties:
                  id: {type: string, format: uuid}
                  when: {type: string, format: date-time}
                  tags: {type: array, minItems: 2, items: {type: string, enum: [a, b]}}
        '204': {description: nothing}
  /bound:
    get:
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {text/plain: real}}
      responses:
        '200': {description: ok}
  /chat:
    x-yc-apigateway-websocket-message:
      x-yc-apigateway-integration: {type: cloud_functions, function_id: fn-chat}
components:
  schemas:
    Item:
      type: object
      required: [id, name]
      properties:
        id: {type: integer}
        name: {type: string}
  securitySchemes:
    key:
      type: apiKey
      in: header
      name: X-Key
      x-yc-apigateway-authorizer: {type: function, function_id: fn-auth, authorizer_result_ttl_in_seconds: 0}
`

func TestMockAnswersFromTheSpec(t *testing.T) {
	srv := serve(t, mockSpec, "mock: true\n")
	for _, tc := range []struct {
		name, method, path string
		header             map[string]string
		status             int
		ctype, body        string
		headers            map[string]string
	}{
		{name: "lowest 2xx, first example", method: "GET", path: "/items/1", status: 200, ctype: "application/json",
			body: `{"id":1,"name":"one"}`, headers: map[string]string{"X-Apigw-Mock": "true", "X-Rate-Remaining": "7"}},
		{name: "named example", method: "GET", path: "/items/1", header: map[string]string{"Prefer": "example=second"},
			status: 200, body: `{"id":2,"name":"two"}`, headers: map[string]string{"Preference-Applied": "example=second"}},
		{name: "Accept picks the media type", method: "GET", path: "/items/1", header: map[string]string{"Accept": "text/csv"},
			status: 200, ctype: "text/csv", body: "id,name\n1,one\n"},
		{name: "q-values", method: "GET", path: "/items/1", header: map[string]string{"Accept": "application/json;q=0.5, text/*;q=0.9"},
			status: 200, ctype: "text/csv"},
		{name: "nothing acceptable", method: "GET", path: "/items/1", header: map[string]string{"Accept": "image/png"}, status: 406},
		{name: "another declared code", method: "GET", path: "/items/1", header: map[string]string{"Prefer": "code=404"},
			status: 404, body: `{"message":"example"}`},
		{name: "default takes any code", method: "GET", path: "/items/1", header: map[string]string{"Prefer": "code=503"},
			status: 503, body: `{"code":1}`},
		{name: "unknown example", method: "GET", path: "/items/1", header: map[string]string{"Prefer": "example=third"}, status: 400},
		{name: "request validation still applies", method: "GET", path: "/items/abc", status: 400},
		{name: "bound operations are not mocked", method: "GET", path: "/bound", status: 200, body: "real"},
		{name: "mocked authorizer wants its credential", method: "POST", path: "/generated", status: 401},
		{name: "mocked authorizer denies on request", method: "POST", path: "/generated", header: map[string]string{"X-Key": "k", "Prefer": "auth=deny"}, status: 403},
		{name: "204 has no body", method: "POST", path: "/generated", header: map[string]string{"X-Key": "k", "Prefer": "code=204"}, status: 204, body: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := do(t, tc.method, srv.URL+tc.path, tc.header, nil)
			if res.status != tc.status {
				t.Fatalf("status %d, want %d: %s", res.status, tc.status, res.body)
			}
			if tc.ctype != "" && res.header.Get("Content-Type") != tc.ctype {
				t.Errorf("Content-Type %q, want %q", res.header.Get("Content-Type"), tc.ctype)
			}
			if tc.body != "" || tc.status == 204 {
				if res.body != tc.body {
					t.Errorf("body %q, want %q", res.body, tc.body)
				}
			}
			for k, v := range tc.headers {
				if got := res.header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if res.status >= 400 && res.status != 404 && res.status != 503 && !strings.Contains(res.body, `"message"`) {
				t.Errorf("an error without a JSON message: %s", res.body)
			}
		})
	}
}

// Generated bodies follow the schema, are the same for the same request,
// and differ with Prefer: dynamic=true.
func TestMockGeneratesFromTheSchema(t *testing.T) {
	srv := serve(t, mockSpec, "mock: true\n")
	h := map[string]string{"X-Key": "k"}
	first := do(t, "POST", srv.URL+"/generated", h, nil)
	again := do(t, "POST", srv.URL+"/generated", h, nil)
	if first.status != 201 || first.body != again.body {
		t.Fatalf("static mock: %d %s, then %s", first.status, first.body, again.body)
	}
	var v struct {
		ID   string   `json:"id"`
		When string   `json:"when"`
		Tags []string `json:"tags"`
	}
	if err := json.Unmarshal([]byte(first.body), &v); err != nil || len(v.ID) != 36 || len(v.Tags) < 2 {
		t.Fatalf("generated %s (%v)", first.body, err)
	}
	if _, err := time.Parse(time.RFC3339, v.When); err != nil {
		t.Errorf("when %q: %v", v.When, err)
	}
	dh := map[string]string{"X-Key": "k", "Prefer": "dynamic=true"}
	seen := map[string]bool{}
	for range 5 {
		r := do(t, "POST", srv.URL+"/generated", dh, nil)
		if r.status != 201 {
			t.Fatalf("dynamic: %d %s", r.status, r.body)
		}
		seen[r.body] = true
	}
	if len(seen) < 2 {
		t.Errorf("five dynamic answers were all %v", seen)
	}
}

func TestMockEchoesWebSocketMessages(t *testing.T) {
	srv := serve(t, mockSpec, "mock: true\n")
	c, _, err := wsDial(t, srv.URL+"/chat", http.Header{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, cws.MessageText, []byte(`{"hi":1}`)); err != nil {
		t.Fatal(err)
	}
	typ, msg, err := c.Read(ctx)
	if err != nil || typ != cws.MessageText || string(msg) != `{"hi":1}` {
		t.Fatalf("echo: %v %q %v", typ, msg, err)
	}
}

// mock: true on one binding, or on the default, mocks only what it covers.
func TestMockPerBinding(t *testing.T) {
	for _, tc := range []struct {
		bindings string
		ok       bool
		want     string
	}{
		{"functions:\n  fn-items: {mock: true}\n  fn-chat: {mock: true}\n  fn-auth: {mock: true}\ncontainers:\n  c-gen: {mock: true}\n", true, ""},
		{"functions:\n  default: {mock: true}\ncontainers:\n  default: {mock: true}\n", true, ""},
		{"functions:\n  default: {mock: true}\n", false, "container c-gen is not bound"},
		{"functions:\n  fn-items: {mock: true}\ncontainers:\n  default: {mock: true}\n", false, "function fn-chat (tag $latest) is not bound"},
	} {
		b, errs := config.Parse([]byte(tc.bindings))
		if errs.Err() != nil {
			t.Fatalf("%s: %v", tc.bindings, errs)
		}
		doc, errs := spec.Load("api.yaml", []byte(mockSpec), nil)
		if errs.Err() != nil {
			t.Fatal(errs)
		}
		snap, errs := Build(doc, b, integration.NewDeps())
		if (snap != nil) != tc.ok || !strings.Contains(errs.Error(), tc.want) {
			t.Errorf("%s: built %v, %v", tc.bindings, snap != nil, errs)
		}
	}
	if _, errs := config.Parse([]byte("functions:\n  fn: {mock: true, url: 'http://x'}\n")); errs.Err() == nil || !strings.Contains(errs.Error(), "mock: true takes no other key") {
		t.Errorf("mock with url: %v", errs)
	}
}

// An example that breaks its own schema is a warning at its line.
func TestMockReportsBadExamples(t *testing.T) {
	src := strings.Replace(mockSpec, "second: {value: {id: 2, name: two}}", "second: {value: {id: two}}", 1)
	b, _ := config.Parse([]byte("mock: true\n"))
	doc, errs := spec.Load("api.yaml", []byte(src), nil)
	if errs.Err() != nil {
		t.Fatal(errs)
	}
	_, errs = Build(doc, b, integration.NewDeps())
	w := errs.Warnings().Error()
	line := strings.Count(src[:strings.Index(src, "second: {value")], "\n") + 1
	for _, want := range []string{"examples.second", "does not match its schema", "/id", ":" + itoa(line) + ":"} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings lack %q:\n%s", want, w)
		}
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// A failing integration's error is not swallowed by the response
// validator that holds answers (it used to come out as an empty 200).
func TestIntegrationErrorUnderResponseValidation(t *testing.T) {
	srv := serve(t, mockSpec, "functions:\n  default: {url: 'http://127.0.0.1:1/'}\ncontainers:\n  default: {mock: true}\n")
	res := do(t, "GET", srv.URL+"/items/1", nil, nil)
	if res.status != http.StatusBadGateway || !strings.Contains(res.body, `"message"`) {
		t.Fatalf("got %d %q", res.status, res.body)
	}
}

// The mappings turn a backend's answer into the declared one; a mock
// answers the declared one already, so they stay out of its way.
func TestMockSkipsTheMappings(t *testing.T) {
	src := `openapi: 3.0.0
info: {title: t, version: '1'}
paths:
  /m:
    get:
      x-yc-apigateway-integration: {type: cloud_functions, function_id: fn}
      responses:
        '200':
          description: ok
          x-yc-status-mapping: 201
          content:
            application/json:
              schema:
                type: object
                x-yc-schema-mapping: {type: static, template: {wrapped: '${.value}'}}
                properties: {wrapped: {type: string}}
              example: {wrapped: as declared}
`
	srv := serve(t, src, "functions:\n  fn: {mock: true}\n")
	res := do(t, "GET", srv.URL+"/m", nil, nil)
	if res.status != 200 || res.body != `{"wrapped":"as declared"}` {
		t.Fatalf("%d %s", res.status, res.body)
	}
}

// The mock agrees with the gateway's own validator: a required writeOnly
// property is left out of a mocked answer (the response validator refused
// its own mock with 502), a schema that requires itself is cut with a
// warning instead of overflowing the stack (dynamic answers included), an
// XML media type answers XML, and a 204 declared with content answers
// without a body.
func TestMockAgreesWithItsValidator(t *testing.T) {
	src := `openapi: 3.0.0
info: {title: t, version: '1'}
x-yc-apigateway:
  validator: {validateRequestBody: true, validateResponseBody: true}
paths:
  /users:
    post:
      x-yc-apigateway-integration: {type: cloud_functions, function_id: fn}
      requestBody:
        required: true
        content:
          application/json: {schema: {$ref: '#/components/schemas/User'}}
      responses:
        '201':
          description: made
          content:
            application/json: {schema: {$ref: '#/components/schemas/User'}}
  /tree:
    get:
      x-yc-apigateway-integration: {type: cloud_functions, function_id: fn}
      responses:
        '200':
          description: ok
          content:
            application/json: {schema: {$ref: '#/components/schemas/Node'}}
  /pets/{id}:
    get:
      x-yc-apigateway-integration: {type: cloud_functions, function_id: fn}
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses:
        '200':
          description: ok
          content:
            application/xml:
              schema:
                $ref: '#/components/schemas/Pet'
  /empty:
    delete:
      x-yc-apigateway-integration: {type: cloud_functions, function_id: fn}
      responses:
        '204':
          description: gone
          content:
            application/json: {schema: {type: object}}
components:
  schemas:
    User:
      type: object
      required: [id, name, password]
      properties:
        id: {type: integer, readOnly: true}
        name: {type: string}
        password: {type: string, writeOnly: true}
    Node:
      type: object
      required: [name, parent]
      properties:
        name: {type: string}
        parent:
          description: the parent
          allOf: [{$ref: '#/components/schemas/Node'}]
    Pet:
      type: object
      xml: {name: pet}
      required: [id, name]
      properties:
        id: {type: integer, xml: {attribute: true}}
        name: {type: string}
        tags:
          type: array
          xml: {wrapped: true}
          items: {type: string, xml: {name: tag}}
`
	b, _ := config.Parse([]byte("mock: true\n"))
	doc, errs := spec.Load("api.yaml", []byte(src), nil)
	if errs.Err() != nil {
		t.Fatal(errs)
	}
	snap, errs := Build(doc, b, integration.NewDeps())
	if snap == nil {
		t.Fatal(errs)
	}
	w := errs.Warnings().Error()
	for _, want := range []string{"/tree.get.responses.200.content.application/json: warning: apigw gave up generating mock data", "204 answer has no body"} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings lack %q:\n%s", want, w)
		}
	}
	srv := serve(t, src, "mock: true\n")
	res := do(t, "POST", srv.URL+"/users", map[string]string{"Content-Type": "application/json"}, strings.NewReader(`{"name":"ann","password":"x"}`))
	if res.status != 201 || strings.Contains(res.body, "password") || !strings.Contains(res.body, `"id"`) {
		t.Errorf("users: %d %s", res.status, res.body)
	}
	for _, h := range []map[string]string{nil, {"Prefer": "dynamic=true"}} {
		if res := do(t, "GET", srv.URL+"/tree", h, nil); res.status != 502 || !strings.Contains(res.body, "parent") {
			// The cut value does not match its schema: the response
			// validator says so, and the gateway lives on.
			t.Errorf("tree %v: %d %s", h, res.status, res.body)
		}
	}
	res = do(t, "GET", srv.URL+"/pets/1", nil, nil)
	if res.status != 200 || res.header.Get("Content-Type") != "application/xml" ||
		!strings.Contains(res.body, `<pet id="1"><name>example</name></pet>`) {
		t.Errorf("xml: %d %s %s", res.status, res.header.Get("Content-Type"), res.body)
	}
	res = do(t, "GET", srv.URL+"/pets/1", map[string]string{"Prefer": "dynamic=true"}, nil)
	var x struct {
		XMLName xml.Name
		ID      string `xml:"id,attr"`
	}
	if xml.Unmarshal([]byte(res.body), &x) != nil || x.XMLName.Local != "pet" || x.ID == "" {
		t.Errorf("dynamic xml: %s", res.body)
	}
	res = do(t, "DELETE", srv.URL+"/empty", nil, nil)
	if res.status != 204 || res.body != "" || res.header.Get("Content-Type") != "" {
		t.Errorf("204: %d %q %q", res.status, res.header.Get("Content-Type"), res.body)
	}
}

// A key written twice is read as the loader reads it (the first), by the
// validator and the mocks too: one duplicate anywhere emptied every mocked
// operation and, with a validator, refused the spec.
func TestDuplicateKeysDoNotEmptyTheMocks(t *testing.T) {
	src := strings.Replace(mockSpec, "info: {title: t, version: '1'}", "info: {title: t, version: '1', title: again}", 1)
	srv := serve(t, src, "mock: true\n")
	res := do(t, "GET", srv.URL+"/items/1", nil, nil)
	if res.status != 200 || res.body != `{"id":1,"name":"one"}` {
		t.Fatalf("%d %s", res.status, res.body)
	}
}
