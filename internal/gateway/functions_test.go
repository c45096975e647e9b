package gateway

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeFunction is an invoke endpoint (a url binding): it records the events
// it receives and answers what the test asks for.
type fakeFunction struct {
	srv    *httptest.Server
	mu     sync.Mutex
	events []map[string]any
	header []http.Header
	answer func(event map[string]any) (int, string)
}

func newFakeFunction(t *testing.T) *fakeFunction {
	f := &fakeFunction{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev map[string]any
		json.NewDecoder(r.Body).Decode(&ev)
		f.mu.Lock()
		f.events = append(f.events, ev)
		f.header = append(f.header, r.Header.Clone())
		answer := f.answer
		f.mu.Unlock()
		status, body := 200, `{"statusCode":200,"body":"ok"}`
		if answer != nil {
			status, body = answer(ev)
		}
		if status == 502 {
			w.Header().Set("X-Function-Error", "true")
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeFunction) last() (map[string]any, http.Header) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.events) == 0 {
		return nil, nil
	}
	return f.events[len(f.events)-1], f.header[len(f.header)-1]
}

func (f *fakeFunction) set(answer func(map[string]any) (int, string)) {
	f.mu.Lock()
	f.answer = answer
	f.mu.Unlock()
}

func get(m any, path ...string) any {
	for _, p := range path {
		mm, ok := m.(map[string]any)
		if !ok {
			return nil
		}
		m = mm[p]
	}
	return m
}

func TestCloudFunctions(t *testing.T) {
	fn := newFakeFunction(t)
	beta := newFakeFunction(t)
	src := `openapi: 3.0.0
paths:
  /pets/{petId}:
    parameters:
      - {name: petId, in: path, required: true, schema: {type: string}}
      - {name: x, in: query, schema: {type: string}}
    get:
      x-yc-apigateway-integration:
        type: cloud_functions
        function_id: fn1
        context: {id: "{petId}", n: 5, nested: {list: ["{x}", true]}}
    put:
      operationId: putPet
      x-yc-apigateway-integration:
        type: cloud_functions
        function_id: fn1
        payload_format_version: "1.0"
  /v/{v}:
    get:
      parameters: [{name: v, in: path, required: true, schema: {type: string}}]
      x-yc-apigateway-integration: {type: cloud_functions, function_id: fn1, tag: "{v}"}
  /post:
    post:
      x-yc-apigateway-integration: {type: cloud_functions, function_id: fn1}
`
	bindings := "limits: {max_response_body: 1KB, execution_timeout: 1s}\nfunctions:\n  fn1: {url: '" + fn.srv.URL + "'}\n  fn1:beta: {url: '" + beta.srv.URL + "'}\n"
	srv := serve(t, src, bindings)

	t.Run("0.1 event (conformance 21, 23)", func(t *testing.T) {
		res := do(t, "GET", srv.URL+"/pets/42?x=1", map[string]string{"Cookie": "a=b"}, nil)
		if res.status != 200 || res.body != "ok" {
			t.Fatalf("%d %q", res.status, res.body)
		}
		ev, h := fn.last()
		for _, c := range []struct {
			got, want any
		}{
			{ev["path"], "/pets/{petId}"},
			{ev["url"], "/pets/42?x=1"},
			{get(ev, "pathParams", "petId"), "42"},
			{get(ev, "queryStringParameters", "x"), "1"},
			{get(ev, "params", "petId"), "42"},
			{get(ev, "params", "x"), "1"},
			{get(ev, "requestContext", "apiGateway", "operationContext", "id"), "42"},
			{get(ev, "requestContext", "apiGateway", "operationContext", "n"), float64(5)},
			{get(ev, "headers", "Cookie"), "a=b"},
			{get(ev, "requestContext", "requestId"), res.header.Get("X-Request-Id")},
		} {
			if c.got != c.want {
				t.Errorf("got %v, want %v", c.got, c.want)
			}
		}
		if l, _ := get(ev, "requestContext", "apiGateway", "operationContext", "nested", "list").([]any); len(l) != 2 || l[0] != "1" || l[1] != true {
			t.Errorf("nested context = %v", l)
		}
		if h.Get("X-Request-Id") != res.header.Get("X-Request-Id") {
			t.Errorf("invoke X-Request-Id = %q", h.Get("X-Request-Id"))
		}
	})
	t.Run("1.0 event (conformance 22, 26)", func(t *testing.T) {
		do(t, "PUT", srv.URL+"/pets/42?x=1", map[string]string{"Content-Type": "application/json"}, strings.NewReader(`{"a":1}`))
		ev, _ := fn.last()
		if ev["resource"] != "/pets/{petId}" || ev["path"] != "/pets/42" || get(ev, "pathParameters", "petId") != "42" ||
			ev["operationId"] != "putPet" || ev["version"] != "1.0" || ev["body"] != `{"a":1}` || ev["isBase64Encoded"] != false {
			t.Errorf("event = %v", ev)
		}
		do(t, "POST", srv.URL+"/post", map[string]string{"Content-Type": "text/plain"}, strings.NewReader("hi"))
		if ev, _ := fn.last(); ev["body"] != "aGk=" || ev["isBase64Encoded"] != true {
			t.Errorf("text body: %v %v", ev["body"], ev["isBase64Encoded"])
		}
	})
	t.Run("response mapping (conformance 24, 25)", func(t *testing.T) {
		fn.set(func(map[string]any) (int, string) {
			return 200, `{"statusCode":201,"headers":{"X-A":"1","X-Request-Id":"spoof"},"multiValueHeaders":{"Set-Cookie":["a=1","b=2"]},"body":"aGk=","isBase64Encoded":true}`
		})
		res := do(t, "GET", srv.URL+"/pets/1", nil, nil)
		if res.status != 201 || res.body != "hi" || res.header.Get("X-A") != "1" || len(res.header["Set-Cookie"]) != 2 || res.header.Get("X-Request-Id") == "spoof" {
			t.Errorf("%d %q %v", res.status, res.body, res.header)
		}
	})
	t.Run("tag from the request picks the binding", func(t *testing.T) {
		fn.set(nil)
		beta.set(func(map[string]any) (int, string) { return 200, `{"body":"beta"}` })
		if res := do(t, "GET", srv.URL+"/v/beta", nil, nil); res.body != "beta" {
			t.Errorf("tag beta: %d %q", res.status, res.body)
		}
		if res := do(t, "GET", srv.URL+"/v/other", nil, nil); res.body != "ok" {
			t.Errorf("tag without its own binding: %d %q", res.status, res.body)
		}
	})
	for _, tt := range []struct {
		desc   string
		answer func(map[string]any) (int, string)
		status int
		want   string
		header string
	}{
		{"not JSON: the cloud's 502", func(map[string]any) (int, string) { return 200, "oops" }, 502, `"errorMessage":"Malformed serverless function response: not a valid json","errorType":"ProxyIntegrationError","payload":"oops"`, ""},
		{"nothing", func(map[string]any) (int, string) { return 200, "" }, 502, "empty response", ""},
		{"an exception in the function", func(map[string]any) (int, string) {
			return 502, `{"errorMessage":"boom","errorType":"ValueError","stackTrace":[]}`
		}, 502, `"errorMessage":"boom"`, "true"},
		{"a status of the endpoint passes through", func(map[string]any) (int, string) { return 429, `{"message":"too many"}` }, 429, "too many", ""},
		{"too large", func(map[string]any) (int, string) { return 200, `{"body":"` + strings.Repeat("x", 2000) + `"}` }, 502, "larger than 1024 bytes", ""},
		{"too slow", func(map[string]any) (int, string) { time.Sleep(1500 * time.Millisecond); return 200, "{}" }, 504, "did not answer in time", ""},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			fn.set(tt.answer)
			res := do(t, "GET", srv.URL+"/pets/1", nil, nil)
			if res.status != tt.status || !strings.Contains(res.body, tt.want) || res.header.Get("X-Function-Error") != tt.header ||
				!strings.HasPrefix(res.header.Get("Content-Type"), "application/json") {
				t.Errorf("%d %s %v", res.status, res.body, res.header)
			}
		})
	}
	t.Run("function endpoint down", func(t *testing.T) {
		fn.srv.Close()
		res := do(t, "GET", srv.URL+"/pets/1", nil, nil)
		if res.status != 502 || !strings.Contains(res.body, "function fn1 could not be invoked") {
			t.Errorf("%d %s", res.status, res.body)
		}
	})
}
