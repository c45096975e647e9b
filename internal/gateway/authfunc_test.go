package gateway

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestFunctionAuthorizer(t *testing.T) {
	authz := newFakeFunction(t)
	fn := newFakeFunction(t)
	var upstreamCtx string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upstreamCtx = r.Header.Get("X-Yc-Apigateway-Authorizer-Context")
	}))
	defer up.Close()
	src := `openapi: 3.0.0
components:
  securitySchemes:
    basic:
      type: http
      scheme: basic
      x-yc-apigateway-authorizer:
        type: function
        function_id: authz
        authorizer_result_ttl_in_seconds: 1
    key:
      type: apiKey
      in: query
      name: api_key
      x-yc-apigateway-authorizer: {type: function, function_id: authz, authorizer_result_ttl_in_seconds: 60, authorizer_result_caching_mode: URI}
    cookie:
      type: apiKey
      in: cookie
      name: sid
      x-yc-apigateway-authorizer: {type: function, function_id: authz}
paths:
  /user/{id}:
    get:
      parameters: [{name: id, in: path, required: true}]
      security: [{basic: []}]
      x-yc-apigateway-integration: {type: cloud_functions, function_id: fn}
  /k/{id}:
    get:
      parameters: [{name: id, in: path, required: true}]
      security: [{key: []}]
      x-yc-apigateway-integration: {type: http, url: "` + up.URL + `/"}
  /c:
    get:
      security: [{cookie: []}]
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': ok}}
`
	srv := serve(t, src, "functions:\n  authz: {url: '"+authz.srv.URL+"'}\n  fn: {url: '"+fn.srv.URL+"'}\n")
	calls := func() int {
		authz.mu.Lock()
		defer authz.mu.Unlock()
		return len(authz.events)
	}
	basic := map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}

	if res := do(t, "GET", srv.URL+"/user/1", nil, nil); res.status != 401 || calls() != 0 || !strings.HasPrefix(res.header.Get("WWW-Authenticate"), "Basic") {
		t.Errorf("no credential (conformance 30): %d, %d calls, %q", res.status, calls(), res.header.Get("WWW-Authenticate"))
	}
	if res := do(t, "GET", srv.URL+"/user/1", map[string]string{"Authorization": "Bearer x"}, nil); res.status != 401 || calls() != 0 {
		t.Errorf("bearer credential on a basic scheme: %d, %d calls", res.status, calls())
	}

	authz.set(func(map[string]any) (int, string) {
		return 200, `{"isAuthorized": true, "context": {"uid": "u1", "roles": ["admin"], "n": 1}}`
	})
	res := do(t, "GET", srv.URL+"/user/1", basic, nil)
	if res.status != 200 {
		t.Fatalf("allowed: %d %s", res.status, res.body)
	}
	ev, _ := authz.last()
	if ev["resource"] != "/user/{id}" || ev["path"] != "/user/1" || get(ev, "headers", "Authorization") != "Basic dXNlcjpwYXNz" ||
		get(ev, "pathParameters", "id") != "1" || ev["body"] != nil || ev["multiValueHeaders"] != nil {
		t.Errorf("authorizer event = %v", ev)
	}
	fev, _ := fn.last()
	if get(fev, "requestContext", "authorizer", "uid") != "u1" {
		t.Errorf("context in the function event (conformance 32) = %v", get(fev, "requestContext", "authorizer"))
	}

	// Cache (conformance 33): path mode keys on the template, so /user/2
	// with the same credential is a hit; after the TTL it is a miss.
	n := calls()
	do(t, "GET", srv.URL+"/user/2", basic, nil)
	if calls() != n {
		t.Errorf("path mode: /user/2 after /user/1 called the authorizer again")
	}
	do(t, "GET", srv.URL+"/user/2", map[string]string{"Authorization": "Basic b3RoZXI6cHc="}, nil)
	if calls() != n+1 {
		t.Errorf("another credential must miss the cache")
	}
	time.Sleep(1100 * time.Millisecond)
	do(t, "GET", srv.URL+"/user/2", basic, nil)
	if calls() != n+2 {
		t.Errorf("after the TTL the cache must miss")
	}

	// uri mode keys on the actual path; the context reaches http
	// integrations as Base64 JSON, and a client cannot forge it.
	n = calls()
	do(t, "GET", srv.URL+"/k/1?api_key=k1", map[string]string{"X-Yc-Apigateway-Authorizer-Context": "forged"}, nil)
	do(t, "GET", srv.URL+"/k/1?api_key=k1", nil, nil)
	do(t, "GET", srv.URL+"/k/2?api_key=k1", nil, nil)
	if calls() != n+2 {
		t.Errorf("uri mode: %d calls for /k/1, /k/1, /k/2, want 2", calls()-n)
	}
	raw, _ := base64.StdEncoding.DecodeString(upstreamCtx)
	var ctx map[string]any
	if json.Unmarshal(raw, &ctx) != nil || ctx["uid"] != "u1" {
		t.Errorf("context header at the http upstream = %q", upstreamCtx)
	}

	for _, tt := range []struct {
		desc   string
		answer string
		status int
	}{
		{"deny (conformance 31)", `{"isAuthorized": false}`, 403},
		{"malformed (conformance 31)", `{"foo": 1}`, 500},
		{"not JSON", `nope`, 500},
	} {
		authz.set(func(map[string]any) (int, string) { return 200, tt.answer })
		if res := do(t, "GET", srv.URL+"/c", map[string]string{"Cookie": "sid=" + tt.desc[:3]}, nil); res.status != tt.status {
			t.Errorf("%s: %d %s, want %d", tt.desc, res.status, res.body, tt.status)
		}
	}
	authz.srv.Close()
	if res := do(t, "GET", srv.URL+"/c", map[string]string{"Cookie": "sid=down"}, nil); res.status != 500 || !strings.Contains(res.body, "authorizer function could not be invoked") {
		t.Errorf("authorizer down: %d %s", res.status, res.body)
	}
}
