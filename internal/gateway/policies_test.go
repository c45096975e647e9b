package gateway

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apigw/apigw/internal/config"
	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/spec"
)

// TestCORS: preflights are answered from the rule without calling the
// integration; actual responses get the headers; a path item's rule
// overrides the top-level one; origin: false hands OPTIONS to the path's
// own operation and leaves the integration's headers alone.
func TestCORS(t *testing.T) {
	var calls atomic.Int32
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.URL.Path == "/own" {
			w.Header().Set("Access-Control-Allow-Origin", "https://own.example")
		}
		w.Write([]byte("backend " + r.Method))
	}))
	t.Cleanup(backend.Close)
	src := `openapi: 3.0.0
x-yc-apigateway:
  cors: {$ref: '#/components/x-yc-apigateway-cors-rules/site'}
components:
  x-yc-apigateway-cors-rules:
    site:
      origin: [https://app.example, https://admin.example]
      methods: [GET, POST]
      allowedHeaders: [Content-Type, Authorization]
      exposedHeaders: X-Request-Id
      credentials: true
      maxAge: 600
      optionsSuccessStatus: 204
paths:
  /items:
    get:
      x-yc-apigateway-integration: {type: http, url: '` + backend.URL + `/items'}
  /public:
    x-yc-apigateway-cors: {origin: '*'}
    get:
      x-yc-apigateway-integration: {type: http, url: '` + backend.URL + `/public'}
  /echo:
    x-yc-apigateway-cors: {origin: true}
    post:
      x-yc-apigateway-integration: {type: http, url: '` + backend.URL + `/echo'}
  /own:
    x-yc-apigateway-cors: {origin: false}
    get:
      x-yc-apigateway-integration: {type: http, url: '` + backend.URL + `/own'}
    options:
      x-yc-apigateway-integration: {type: http, url: '` + backend.URL + `/own'}
`
	srv := serve(t, src, "")
	preflight := func(path, origin string) response {
		return do(t, "OPTIONS", srv.URL+path, map[string]string{"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}, nil)
	}

	res := preflight("/items", "https://app.example")
	want := map[string]string{
		"Access-Control-Allow-Origin": "https://app.example", "Access-Control-Allow-Methods": "GET, POST",
		"Access-Control-Allow-Headers": "Content-Type, Authorization", "Access-Control-Expose-Headers": "X-Request-Id",
		"Access-Control-Allow-Credentials": "true", "Access-Control-Max-Age": "600",
	}
	if res.status != 204 || res.body != "" {
		t.Errorf("preflight: %d %q, want 204 and no body", res.status, res.body)
	}
	for k, v := range want {
		if got := res.header.Get(k); got != v {
			t.Errorf("preflight %s = %q, want %q", k, got, v)
		}
	}
	if res := preflight("/items", "https://evil.example"); res.header.Get("Access-Control-Allow-Origin") != "" || res.header.Get("Vary") == "" {
		t.Errorf("an unlisted origin got %v", res.header)
	}
	if res := preflight("/public", "https://x.example"); res.status != 200 || res.header.Get("Access-Control-Allow-Origin") != "*" || res.header.Get("Access-Control-Allow-Methods") != "POST" {
		t.Errorf("path rule with '*': %d %v (status default 200, method echoed)", res.status, res.header)
	}
	if res := preflight("/echo", "https://any.example"); res.header.Get("Access-Control-Allow-Origin") != "https://any.example" {
		t.Errorf("origin: true did not echo: %v", res.header)
	}
	if calls.Load() != 0 {
		t.Fatalf("preflights called the integration %d times", calls.Load())
	}

	// Actual responses.
	res = do(t, "GET", srv.URL+"/items", map[string]string{"Origin": "https://admin.example"}, nil)
	if res.body != "backend GET" || res.header.Get("Access-Control-Allow-Origin") != "https://admin.example" ||
		res.header.Get("Access-Control-Allow-Credentials") != "true" || res.header.Get("Access-Control-Expose-Headers") != "X-Request-Id" {
		t.Errorf("actual response: %q %v", res.body, res.header)
	}
	if res := do(t, "GET", srv.URL+"/items", nil, nil); res.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("a request without Origin got CORS headers: %v", res.header)
	}
	// Gateway errors carry them too, so that a browser can read the error.
	if res := do(t, "DELETE", srv.URL+"/items", map[string]string{"Origin": "https://app.example"}, nil); res.status != 405 && res.status != 404 || res.header.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Errorf("gateway error: %d %v", res.status, res.header)
	}

	// origin: false: the path's OPTIONS operation answers, headers untouched.
	res = preflight("/own", "https://app.example")
	if res.body != "backend OPTIONS" || res.header.Get("Access-Control-Allow-Origin") != "https://own.example" {
		t.Errorf("origin: false preflight: %q %v", res.body, res.header)
	}
	if res := do(t, "GET", srv.URL+"/own", map[string]string{"Origin": "https://app.example"}, nil); res.header.Get("Access-Control-Allow-Origin") != "https://own.example" {
		t.Errorf("origin: false actual: %v", res.header)
	}
}

// TestStatusMapping: x-yc-status-mapping rewrites the integration's status,
// the documented single-page-app fallback included.
func TestStatusMapping(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "index.html"), []byte("<app>"), 0o644)
	src := `openapi: 3.0.0
components:
  responses:
    spa: {description: app, x-yc-status-mapping: 200}
paths:
  /{file+}:
    get:
      parameters: [{name: file, in: path, required: true}]
      responses:
        '404': {$ref: '#/components/responses/spa'}
      x-yc-apigateway-integration: {type: object_storage, bucket: site, object: '{file}', error_object: index.html}
  /teapot:
    get:
      responses:
        418: {description: x, x-yc-status-mapping: 503}
      x-yc-apigateway-integration: {type: dummy, http_code: 418, content: {'*': short and stout}}
`
	srv := serve(t, src, "object_storage:\n  buckets:\n    site: {dir: '"+dir+"'}\n")
	if res := do(t, "GET", srv.URL+"/deep/route", nil, nil); res.status != 200 || res.body != "<app>" {
		t.Errorf("SPA fallback: %d %q, want 200 <app>", res.status, res.body)
	}
	if res := do(t, "GET", srv.URL+"/index.html", nil, nil); res.status != 200 {
		t.Errorf("found object: %d", res.status)
	}
	if res := do(t, "GET", srv.URL+"/teapot", nil, nil); res.status != 503 || res.body != "short and stout" {
		t.Errorf("dummy 418 mapped: %d %q, want 503", res.status, res.body)
	}
}

// TestRateLimits: the narrowest limit wins; over it the answer is 429 with
// Retry-After, before the integration (or an authorizer) runs; a limit on
// a greedy path is refused with its line.
func TestRateLimits(t *testing.T) {
	src := `openapi: 3.0.0
x-yc-apigateway:
  rateLimit: {allRequests: {rpm: 3}}
components:
  x-yc-apigateway-rate-limits:
    two: {allRequests: {rps: 2}}
paths:
  /gw1:
    get:
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': ok}}
  /gw2:
    get:
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': ok}}
  /path:
    x-yc-apigateway-rate-limit: {$ref: '#/components/x-yc-apigateway-rate-limits/two'}
    get:
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': ok}}
    post:
      x-yc-apigateway-rate-limit: {allRequests: {rps: 1}}
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': ok}}
`
	srv := serve(t, src, "")
	count := func(method, path string, n int) (ok int, last response) {
		for i := 0; i < n; i++ {
			last = do(t, method, srv.URL+path, nil, nil)
			if last.status == 200 {
				ok++
			}
		}
		return ok, last
	}
	// The gateway-wide budget (3 per minute) is shared by /gw1 and /gw2.
	ok1, _ := count("GET", "/gw1", 2)
	ok2, last := count("GET", "/gw2", 3)
	if ok1+ok2 != 3 || last.status != 429 || last.header.Get("Retry-After") == "" {
		t.Errorf("gateway limit: admitted %d+%d, last %d Retry-After %q; want 3 in all, then 429", ok1, ok2, last.status, last.header.Get("Retry-After"))
	}
	if ra := last.header.Get("Retry-After"); ra != "20" && ra != "19" {
		t.Errorf("Retry-After = %s, want about 20 s at 3 per minute", ra)
	}
	// The path item's limit (2 rps) replaces the gateway's; the POST's own
	// (1 rps) replaces the path's.
	if ok, last := count("GET", "/path", 4); ok != 2 || last.status != 429 {
		t.Errorf("path limit: admitted %d of 4, want 2", ok)
	}
	if ok, last := count("POST", "/path", 3); ok != 1 || last.status != 429 || !strings.Contains(last.body, "rate limit exceeded: 1 rps") {
		t.Errorf("operation limit: admitted %d of 3, last %d %q", ok, last.status, last.body)
	}
}

func TestRateLimitErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{"openapi: 3.0.0\npaths:\n  /f/{p+}:\n    x-yc-apigateway-rate-limit: {allRequests: {rps: 1}}\n    get:\n      parameters: [{name: p, in: path, required: true}]\n      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': ok}}\n",
			"4:33: paths./f/{p+}.x-yc-apigateway-rate-limit: rate limits are not supported on paths with greedy parameters"},
		{"openapi: 3.0.0\npaths:\n  /a:\n    get:\n      x-yc-apigateway-rate-limit: {allRequests: {rps: 1, rpm: 1}}\n      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': ok}}\n",
			"paths./a.get.x-yc-apigateway-rate-limit.allRequests: needs exactly one of rps and rpm"},
	}
	for _, tt := range tests {
		doc, errs := spec.Load("api.yaml", []byte(tt.src), nil)
		if doc == nil {
			t.Fatalf("load: %v", errs)
		}
		b, _ := config.Parse(nil)
		_, errs = Build(doc, b, integration.NewDeps())
		if errs.Err() == nil || !strings.Contains(errs.Error(), tt.want) {
			t.Errorf("errors = %v, want %q", errs, tt.want)
		}
	}
}

// TestSecurityProfile: the profile the spec names runs before routing:
// denied and not-allowed addresses get 403 (unknown paths too), and each
// client has its own rate limit.
func TestSecurityProfile(t *testing.T) {
	src := `openapi: 3.0.0
x-yc-apigateway:
  smartWebSecurity: {securityProfileId: sp-1}
paths:
  /a:
    get:
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': ok}}
`
	tests := []struct {
		name     string
		bindings string
		header   map[string]string
		path     string
		want     int
	}{
		{"denied CIDR", "security_profiles:\n  sp-1: {deny: [127.0.0.0/8]}\n", nil, "/a", 403},
		{"denied before routing", "security_profiles:\n  sp-1: {deny: [127.0.0.1]}\n", nil, "/nowhere", 403},
		{"not in the allow list", "security_profiles:\n  sp-1: {allow: [10.0.0.0/8]}\n", nil, "/a", 403},
		{"allowed", "security_profiles:\n  sp-1: {allow: [10.0.0.0/8, 127.0.0.1]}\n", nil, "/a", 200},
		{"forwarded address allowed", "security_profiles:\n  sp-1: {allow: [10.0.0.0/8], client_ip: x-forwarded-for}\n", map[string]string{"X-Forwarded-For": "203.0.113.9, 10.1.2.3"}, "/a", 200},
		{"forwarded address denied", "security_profiles:\n  sp-1: {deny: [203.0.113.0/24], client_ip: x-forwarded-for}\n", map[string]string{"X-Forwarded-For": "10.0.0.1, 203.0.113.9"}, "/a", 403},
		{"forwarded header ignored by default", "security_profiles:\n  sp-1: {allow: [10.0.0.0/8]}\n", map[string]string{"X-Forwarded-For": "10.1.2.3"}, "/a", 403},
		{"default profile", "security_profiles:\n  default: {deny: [127.0.0.1]}\n", nil, "/a", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, src, tt.bindings)
			if res := do(t, "GET", srv.URL+tt.path, tt.header, nil); res.status != tt.want {
				t.Errorf("%d %q, want %d", res.status, res.body, tt.want)
			}
		})
	}

	srv := serve(t, src, "security_profiles:\n  sp-1: {rate_limit: {rpm: 2, key: 'header:X-Api-Key'}}\n")
	for i, want := range []int{200, 200, 429} {
		if res := do(t, "GET", srv.URL+"/a", map[string]string{"X-Api-Key": "alice"}, nil); res.status != want || (want == 429 && res.header.Get("Retry-After") == "") {
			t.Errorf("alice request %d: %d %v, want %d", i, res.status, res.header, want)
		}
	}
	if res := do(t, "GET", srv.URL+"/a", map[string]string{"X-Api-Key": "bob"}, nil); res.status != 200 {
		t.Errorf("bob, a different client, got %d", res.status)
	}
}

// TestSchemaMapping: the request body is rewritten before the integration
// sees it, the integration's JSON answer before the client does (then the
// status mapping applies); a body that is not JSON is 400 on the way in and
// 502 on the way out.
func TestSchemaMapping(t *testing.T) {
	var got atomic.Value
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.Store(string(b))
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		switch r.URL.Path {
		case "/broken":
			w.Write([]byte("not json"))
		case "/created":
			w.WriteHeader(201)
			w.Write([]byte(`{"id":42,"internal":"x"}`))
		default:
			w.Write([]byte(`{"result":{"audioChunk":{"data":"QUJD"}},"trace":"secret"}`))
		}
	}))
	t.Cleanup(backend.Close)
	src := `openapi: 3.0.0
components:
  schemas:
    out: {type: object, x-yc-schema-mapping: {type: static, template: {data: '${.result.audioChunk.data}'}}}
paths:
  /speech:
    post:
      requestBody:
        content:
          application/json:
            schema:
              type: object
              x-yc-schema-mapping: {type: static, template: {text: '${.text}', hints: [{voice: lera}, {role: friendly}]}}
      responses:
        '200':
          content:
            application/json: {schema: {$ref: '#/components/schemas/out'}}
      x-yc-apigateway-integration: {type: http, url: '` + backend.URL + `/speech'}
  /broken:
    get:
      responses:
        '200': {content: {application/json: {schema: {$ref: '#/components/schemas/out'}}}}
      x-yc-apigateway-integration: {type: http, url: '` + backend.URL + `/broken'}
  /created:
    get:
      responses:
        '201':
          x-yc-status-mapping: 200
          content: {application/json: {schema: {x-yc-schema-mapping: {type: static, template: {created: '${.id}'}}}}}
      x-yc-apigateway-integration: {type: http, url: '` + backend.URL + `/created'}
`
	srv := serve(t, src, "")
	res := do(t, "POST", srv.URL+"/speech", map[string]string{"Content-Type": "application/json"}, strings.NewReader(`{"text":"hello","voice":"ignored"}`))
	if want := `{"hints":[{"voice":"lera"},{"role":"friendly"}],"text":"hello"}`; got.Load() != want {
		t.Errorf("the integration got %q, want %q", got.Load(), want)
	}
	if res.status != 200 || res.body != `{"data":"QUJD"}` || res.header.Get("Content-Length") != "15" {
		t.Errorf("mapped response: %d %q %v", res.status, res.body, res.header)
	}
	// Another media type is not mapped.
	do(t, "POST", srv.URL+"/speech", map[string]string{"Content-Type": "text/plain"}, strings.NewReader(`plain`))
	if got.Load() != "plain" {
		t.Errorf("a text/plain body was mapped: %q", got.Load())
	}
	if res := do(t, "POST", srv.URL+"/speech", map[string]string{"Content-Type": "application/json"}, strings.NewReader(`{broken`)); res.status != 400 || !strings.Contains(res.body, "x-yc-schema-mapping") {
		t.Errorf("broken request JSON: %d %q", res.status, res.body)
	}
	if res := do(t, "GET", srv.URL+"/broken", nil, nil); res.status != 502 || !strings.Contains(res.body, "not JSON") {
		t.Errorf("broken response JSON: %d %q", res.status, res.body)
	}
	if res := do(t, "GET", srv.URL+"/created", nil, nil); res.status != 200 || res.body != `{"created":42}` {
		t.Errorf("schema then status mapping: %d %q", res.status, res.body)
	}
}

// TestJQMapping runs the cloud's own jq examples: the documented string
// template with x-yc-mapping-index, and the Workflows tutorial's
// ${.|tojson}; a jq error is the spec's fault, a 500 that names the
// expression.
func TestJQMapping(t *testing.T) {
	var got atomic.Value
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.Store(string(b))
		w.Header().Set("Content-Type", "text/plain") // JSON all the same
		w.Write([]byte(`{"executionId":"e-1","status":"RUNNING"}`))
	}))
	t.Cleanup(backend.Close)
	src := `openapi: "3.0.0"
info: {version: 1.0.0, title: Test API}
paths:
  /test:
    get:
      summary: Number
      operationId: Number
      responses:
        200:
          description: Another example
          content:
            application/json:
              schema:
                type: object
                x-yc-schema-mapping:
                  type: static
                  template: "${.numbers.firstNumber}"
          x-yc-status-mapping: 201
        x-yc-mapping-index:
          200: application/json
      x-yc-apigateway-integration:
        http_code: 200
        http_headers:
          Content-Type: application/json
          Content-Length: '10'
        type: dummy
        content:
          application/json: '{"numbers":{"firstNumber": 12, "secondNumber": 32}}'
  /webhook:
    post:
      requestBody:
        content:
          application/json:
            schema:
              x-yc-schema-mapping:
                type: static
                template:
                  input:
                    inputJson: ${.|tojson}
      responses:
        200:
          content:
            application/json:
              schema: {x-yc-schema-mapping: {type: static, template: {id: '${.executionId}', running: '${.status == "RUNNING"}'}}}
        x-yc-mapping-index: {200: application/json}
      x-yc-apigateway-integration: {type: http, url: '` + backend.URL + `/workflows/v1/execution/start'}
  /strict:
    post:
      requestBody:
        content:
          application/json:
            schema: {x-yc-schema-mapping: {type: static, template: {n: '${.n + 1}', who: '${.who // error("who is required")}'}}}
      x-yc-apigateway-integration: {type: http, url: '` + backend.URL + `/'}
`
	srv := serve(t, src, "")
	if res := do(t, "GET", srv.URL+"/test", nil, nil); res.status != 201 || res.body != "12" || res.header.Get("Content-Length") != "2" {
		t.Errorf("the documented jq template: %d %q %v", res.status, res.body, res.header)
	}
	res := do(t, "POST", srv.URL+"/webhook", map[string]string{"Content-Type": "application/json"}, strings.NewReader(`{"event": "push", "n": 1.50}`))
	if want := `{"input":{"inputJson":"{\"event\":\"push\",\"n\":1.50}"}}`; got.Load() != want {
		t.Errorf("the integration got %q, want %q", got.Load(), want)
	}
	// The backend answered text/plain: x-yc-mapping-index applies the
	// application/json mapping to 200 anyway.
	if res.status != 200 || res.body != `{"id":"e-1","running":true}` || res.header.Get("Content-Type") != "application/json" {
		t.Errorf("mapped response: %d %q %v", res.status, res.body, res.header)
	}
	res = do(t, "POST", srv.URL+"/strict", map[string]string{"Content-Type": "application/json"}, strings.NewReader(`{"n": 1}`))
	if res.status != 500 || !strings.Contains(res.body, `x-yc-schema-mapping expression ${.who // error(\"who is required\")} failed: who is required`) {
		t.Errorf("error(...): %d %q", res.status, res.body)
	}
	res = do(t, "POST", srv.URL+"/strict", map[string]string{"Content-Type": "application/json"}, strings.NewReader(`{"n": "secret-text", "who": "x"}`))
	if res.status != 500 || !strings.Contains(res.body, `${.n + 1} failed"`) || strings.Contains(res.body, "secret-text") {
		t.Errorf("a type error: %d %q (the body's data must stay in the log)", res.status, res.body)
	}
}

// A mapping is bounded whatever the body: the regular expression
// builtins stay linear (a 2.4 MB body through gsub burned a core for
// minutes after the client left), and a program that loops is stopped at
// limits.mapping_timeout with a 500 that says so.
func TestJQMappingHasABudget(t *testing.T) {
	var got atomic.Value
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.Store(len(b))
	}))
	t.Cleanup(backend.Close)
	src := `openapi: "3.0.0"
info: {version: 1.0.0, title: Test API}
paths:
  /names:
    post:
      requestBody:
        content:
          application/json:
            schema: {x-yc-schema-mapping: {type: static, template: {name: '${.name | gsub(" "; "_")}'}}}
      x-yc-apigateway-integration: {type: http, url: '` + backend.URL + `/'}
  /loop:
    post:
      requestBody:
        content:
          application/json:
            schema: {x-yc-schema-mapping: {type: static, template: {n: '${[range(1e9)] | length}'}}}
      x-yc-apigateway-integration: {type: http, url: '` + backend.URL + `/'}
`
	srv := serve(t, src, "limits: {mapping_timeout: 30s}\n")
	short := serve(t, src, "limits: {mapping_timeout: 200ms}\n")
	for _, tc := range []struct {
		name, path, body string
		status           int
		says             string
		srv              *httptest.Server
	}{
		{"20,000 spaces", "/names", `{"name":"` + strings.Repeat("ab ", 20_000) + `"}`, 200, "", srv},
		{"800,000 spaces", "/names", `{"name":"` + strings.Repeat("ab ", 800_000) + `"}`, 500, "failed", srv},
		{"a loop", "/loop", `{}`, 500, "ran past its time budget (limits.mapping_timeout)", short},
	} {
		start := time.Now()
		res := do(t, "POST", tc.srv.URL+tc.path, map[string]string{"Content-Type": "application/json"}, strings.NewReader(tc.body))
		if res.status != tc.status || !strings.Contains(res.body, tc.says) {
			t.Errorf("%s: %d %.300s", tc.name, res.status, res.body)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%s: answered after %s", tc.name, d)
		}
	}
	if n, _ := got.Load().(int); n < 60_000 {
		t.Errorf("the mapped body reached the backend with %d bytes", n)
	}
}

func TestJQMappingLoadErrors(t *testing.T) {
	op := func(tpl string) string {
		return "openapi: 3.0.0\npaths:\n  /a:\n    post:\n      requestBody: {content: {application/json: {schema: {x-yc-schema-mapping: {type: static, template: " + tpl + "}}}}}\n" +
			"      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': x}}\n"
	}
	for tpl, want := range map[string]string{
		`{secret: '${$ENV.AWS_SECRET_ACCESS_KEY}'}`: `api.yaml:5:117: paths./a.post.requestBody.content.application/json.schema.x-yc-schema-mapping.template.secret: ${$ENV.AWS_SECRET_ACCESS_KEY}: $ENV is not allowed in a mapping: it reads the gateway's environment, not the body`,
		`{x: '${.a | nosuch}'}`:                     `api.yaml:5:112: paths./a.post.requestBody.content.application/json.schema.x-yc-schema-mapping.template.x: ${.a | nosuch}: function not defined: nosuch/0`,
	} {
		doc, errs := spec.Load("api.yaml", []byte(op(tpl)), nil)
		if errs.Err() != nil {
			t.Fatal(errs)
		}
		snap, errs := Build(doc, config.Default(), integration.NewDeps())
		if snap != nil || errs.Err() == nil || errs.Errors()[0].Error() != want {
			t.Errorf("%s:\n got %v\nwant %s", tpl, errs, want)
		}
	}
	doc, errs := spec.Load("api.yaml", []byte("openapi: 3.0.0\npaths:\n  /a:\n    get:\n      responses:\n        200: {content: {text/plain: {schema: {type: string}}}}\n        x-yc-mapping-index: {200: text/plain}\n      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': x}}\n"), nil)
	if errs.Err() == nil || !strings.Contains(errs.Error(), "7:35: paths./a.get.responses.x-yc-mapping-index.200: responses.200.content.text/plain has no x-yc-schema-mapping to select") {
		t.Errorf("an index without a mapping: %v %v", doc != nil, errs)
	}
}

// TestSchemaMappingByRangeAndDefault: a response mapping under a range
// (4XX) or `default` applies to the statuses that response describes, as
// OpenAPI picks the response object: the status's own, then its range's,
// then default's.
func TestSchemaMappingByRangeAndDefault(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"code":%d,"detail":"internal"}`, code)
	}))
	t.Cleanup(backend.Close)
	mapping := func(tag string) string {
		return `{content: {application/json: {schema: {x-yc-schema-mapping: {type: static, template: {from: ` + tag + `, code: '${.code}'}}}}}}`
	}
	src := `openapi: 3.0.0
paths:
  /{code}:
    get:
      parameters: [{name: code, in: path, required: true, schema: {type: integer}}]
      responses:
        '200': ` + mapping("exact") + `
        '404': ` + mapping("exact404") + `
        4XX: ` + mapping("range") + `
        default: ` + mapping("default") + `
      x-yc-apigateway-integration: {type: http, url: '` + backend.URL + `/{code}'}
`
	srv := serve(t, src, "")
	for _, c := range []struct {
		code int
		want string
	}{
		{200, `{"code":200,"from":"exact"}`},
		{404, `{"code":404,"from":"exact404"}`},
		{409, `{"code":409,"from":"range"}`},
		{201, `{"code":201,"from":"default"}`},
		{503, `{"code":503,"from":"default"}`},
	} {
		res := do(t, "GET", fmt.Sprintf("%s/%d", srv.URL, c.code), nil, nil)
		if res.status != c.code || res.body != c.want {
			t.Errorf("%d: got %d %s, want %s", c.code, res.status, res.body, c.want)
		}
	}
}
