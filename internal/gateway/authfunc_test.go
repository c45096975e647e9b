package gateway

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
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

// TestAuthorizerSeesGatewayHeaders runs the published IP authorizer
// (yc-serverless-apigw-ip-authorizer): an apiKey scheme on X-Forwarded-For,
// which the cloud's front always sets, and a function that allows the last
// address of it, the one that connected. A client's own X-Forwarded-For is
// kept in front of that address, never taken for it.
func TestAuthorizerSeesGatewayHeaders(t *testing.T) {
	authz := newFakeFunction(t)
	allow := "127.0.0.1"
	authz.set(func(ev map[string]any) (int, string) {
		hops := strings.Split(get(ev, "headers", "X-Forwarded-For").(string), ",")
		remote := strings.TrimSpace(hops[len(hops)-1])
		return 200, fmt.Sprintf(`{"isAuthorized": %t}`, remote == allow)
	})
	src := `openapi: 3.0.0
info: {title: IP-authorized service, version: 1.0.0}
paths:
  /restricted:
    get:
      security:
        - IPAuth: []
      x-yc-apigateway-integration:
        type: dummy
        content:
          '*': Access allowed!
        http_code: 200
        http_headers:
          Content-Type: text/plain
  /jwt:
    get:
      security: [{byHeader: []}]
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': ok}}
components:
  securitySchemes:
    IPAuth:
      type: apiKey # API Key scheme allows to use custom header for authentication
      in: header
      name: X-Forwarded-For # Always present in request
      x-yc-apigateway-authorizer:
        type: function
        function_id: auth-fn
        tag: "$latest"
        service_account_id: sa-gateway
        authorizer_result_ttl_in_seconds: 5
    byHeader:
      type: openIdConnect
      x-yc-apigateway-authorizer:
        type: jwt
        jwksUri: http://127.0.0.1:1/jwks
        identitySource: {in: header, name: x-real-remote-address}
`
	srv := serve(t, src, "functions:\n  auth-fn: {url: '"+authz.srv.URL+"'}\n")
	if res := do(t, "GET", srv.URL+"/restricted", nil, nil); res.status != 200 || res.body != "Access allowed!" {
		t.Errorf("no X-Forwarded-For of the client's own: %d %q, want the gateway's header to authorize", res.status, res.body)
	}
	ev, _ := authz.last()
	if xff := get(ev, "headers", "X-Forwarded-For"); xff != "127.0.0.1" {
		t.Errorf("the authorizer's event has X-Forwarded-For %v", xff)
	}
	// A client that claims an allowed address is still known by its own:
	// the claim stays in front, and the result cached for the real address
	// is not reused for a different header.
	allow = "10.9.8.7"
	res := do(t, "GET", srv.URL+"/restricted", map[string]string{"X-Forwarded-For": "10.9.8.7"}, nil)
	if res.status != 403 {
		t.Errorf("a spoofed X-Forwarded-For: %d, want 403", res.status)
	}
	ev, _ = authz.last()
	if xff := get(ev, "headers", "X-Forwarded-For"); xff != "10.9.8.7, 127.0.0.1" {
		t.Errorf("the authorizer's event has X-Forwarded-For %v", xff)
	}
	// The JWT authorizer reads X-Real-Remote-Address as the gateway sets it:
	// a credential is there (not a JWT, so 401 for a malformed token rather
	// than for a missing one).
	if res := do(t, "GET", srv.URL+"/jwt", map[string]string{"X-Real-Remote-Address": ""}, nil); res.status != 401 || !strings.Contains(res.body, "malformed token") {
		t.Errorf("jwt on a gateway header: %d %q", res.status, res.body)
	}
}
