package gateway

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/apigw/apigw/internal/console"
)

// TestConsoleRecords: with a recorder installed, each exchange is kept
// with its route, phases, bodies, the backend it reached and its secrets
// masked; without one nothing is.
func TestConsoleRecords(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Set-Cookie", "session=s3cret")
		io.WriteString(w, `{"echo":`+string(b)+`}`)
	}))
	defer backend.Close()
	srv, h := serveHandler(t, `openapi: 3.0.0
paths:
  /items/{id}:
    post:
      operationId: addItem
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      x-yc-apigateway-integration: {type: http, url: '`+backend.URL+`/store/{id}'}
  /bin:
    get:
      x-yc-apigateway-integration: {type: dummy, http_code: 200, http_headers: {Content-Type: application/octet-stream}, content: {'*': "\x00\x01\x02binary"}}
`, "")
	do(t, "POST", srv.URL+"/items/7", nil, strings.NewReader(`{"n":1}`)) // console off: nothing kept
	rc := console.NewRecorder(console.Options{Entries: 3, MaxBody: 1024})
	h.SetConsole(rc)
	res := do(t, "POST", srv.URL+"/items/7?x=1", map[string]string{"Authorization": "Bearer tok-123", "Content-Type": "application/json"}, strings.NewReader(`{"n":1}`))
	if res.status != 200 {
		t.Fatalf("status %d", res.status)
	}
	list := rc.List()
	if len(list) != 1 {
		t.Fatalf("%d exchanges kept, want 1 (nothing while the console was off)", len(list))
	}
	e := list[0]
	if e.Method != "POST" || e.Path != "/items/7" || e.Query != "x=1" || e.Route != "/items/{id}" || e.OperationID != "addItem" ||
		e.Integration != "http" || e.Status != 200 || e.Bytes == 0 || e.RequestID == "" {
		t.Errorf("exchange %+v", e)
	}
	if got := e.Request.Headers.Get("Authorization"); got != "Bearer "+console.Masked {
		t.Errorf("Authorization kept as %q", got)
	}
	if got := e.Response.Headers.Get("Set-Cookie"); got != console.Masked {
		t.Errorf("Set-Cookie kept as %q", got)
	}
	if e.Request.Body.Text != "{\n  \"n\": 1\n}" || !e.Request.Body.JSON || !strings.Contains(e.Response.Body.Text, `"echo"`) {
		t.Errorf("bodies: request %+v, response %+v", e.Request.Body, e.Response.Body)
	}
	if e.Upstream == nil || e.Upstream.Kind != "http" || e.Upstream.Target != "POST "+backend.URL+"/store/7" {
		t.Errorf("upstream %+v", e.Upstream)
	}
	var names []string
	for _, p := range e.Phases {
		names = append(names, p.Name)
	}
	if strings.Join(names, ",") != "routing,policies,integration" {
		t.Errorf("phases %v", names)
	}
	// A binary answer shows as its size and a hex head; an unknown path is
	// kept too, with the gateway's own answer.
	do(t, "GET", srv.URL+"/bin", nil, nil)
	do(t, "GET", srv.URL+"/nowhere", nil, nil)
	list = rc.List()
	if b := list[1].Response.Body; !b.Binary || !strings.HasPrefix(b.HexHead, "00 01 02") || b.Size != 9 {
		t.Errorf("binary body %+v", b)
	}
	if list[0].Status != 404 || list[0].Error == "" || list[0].Route != "" {
		t.Errorf("unknown path %+v", list[0])
	}
	// The ring keeps the last Entries, newest first, with rising IDs.
	do(t, "GET", srv.URL+"/bin", nil, nil)
	list = rc.List()
	if len(list) != 3 || list[0].ID != 4 || list[2].ID != 2 || rc.Get(1) != nil || rc.Get(3).ID != list[1].ID || rc.Get(3).Path != list[1].Path {
		t.Errorf("ring: %d kept, IDs %d..%d", len(list), list[0].ID, list[len(list)-1].ID)
	}
}

// TestConsoleRecordsFunctionsAuthAndValidation: a function's event (its
// secrets masked) and answer, an authorizer's verdict and context, and the
// validator's findings are kept with the exchange.
func TestConsoleRecordsFunctionsAuthAndValidation(t *testing.T) {
	authz := newFakeFunction(t)
	authz.answer = func(map[string]any) (int, string) { return 200, `{"isAuthorized": true, "context": {"user": "ann"}}` }
	fn := newFakeFunction(t)
	srv, h := serveHandler(t, `openapi: 3.0.0
components:
  securitySchemes:
    key:
      type: apiKey
      in: header
      name: Authorization
      x-yc-apigateway-authorizer: {type: function, function_id: authz}
paths:
  /fn:
    post:
      security: [{key: []}]
      x-yc-apigateway-integration: {type: cloud_functions, function_id: fn}
  /strict:
    post:
      x-yc-apigateway-validator: {validateRequestBody: true}
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object, required: [n], properties: {n: {type: integer}}}
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': ok}}
`, "functions:\n  authz: {url: '"+authz.srv.URL+"'}\n  fn: {url: '"+fn.srv.URL+"'}\n")
	rc := console.NewRecorder(console.Options{})
	h.SetConsole(rc)
	do(t, "POST", srv.URL+"/fn", map[string]string{"Authorization": "Key k-123"}, strings.NewReader("hello"))
	do(t, "POST", srv.URL+"/strict", map[string]string{"Content-Type": "application/json"}, strings.NewReader(`{"n":"x"}`))
	list := rc.List()
	if len(list) != 2 {
		t.Fatalf("%d kept", len(list))
	}
	v, f := list[0], list[1]
	if f.Auth != "allowed" || f.AuthContext["user"] != "ann" {
		t.Errorf("authorizer: %q %v", f.Auth, f.AuthContext)
	}
	up := f.Upstream
	if up == nil || up.Kind != "function" || up.Target != "fn:$latest" || up.Event == nil || up.Answer == nil {
		t.Fatalf("upstream %+v", up)
	}
	if strings.Contains(up.Event.Text, "k-123") || !strings.Contains(up.Event.Text, console.Masked) || !strings.Contains(up.Event.Text, `"body": "aGVsbG8="`) {
		t.Errorf("the event kept: %s", up.Event.Text)
	}
	if !strings.Contains(up.Answer.Text, `"statusCode": 200`) {
		t.Errorf("the answer kept: %s", up.Answer.Text)
	}
	var names []string
	for _, p := range f.Phases {
		names = append(names, p.Name)
	}
	if strings.Join(names, ",") != "routing,policies,auth,integration" {
		t.Errorf("phases %v", names)
	}
	if v.Status != 400 || v.Details == nil || v.Error == "" {
		t.Errorf("validation: %d %v %q", v.Status, v.Details, v.Error)
	}
}

// What the spec says is a credential is masked in the record: the header
// and query parameter of its apiKey schemes, and, in a function's event,
// the parameters that carry one (a declared cookie, a declared secret
// header); the function's Set-Cookie in its answer.
func TestConsoleMasksTheSpecsCredentials(t *testing.T) {
	fn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"statusCode":200,"headers":{"Set-Cookie":"sid=from-fn"},"body":"ok"}`)
	}))
	defer fn.Close()
	authz := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"isAuthorized":true}`)
	}))
	defer authz.Close()
	srv, h := serveHandler(t, `openapi: 3.0.0
paths:
  /p:
    get:
      parameters:
        - {name: session, in: cookie, schema: {type: string}}
        - {name: Authorization, in: header, schema: {type: string}}
        - {name: api_key, in: query, schema: {type: string}}
        - {name: page, in: query, schema: {type: string}}
      security: [{key: []}, {qkey: []}]
      x-yc-apigateway-integration: {type: cloud_functions, function_id: fn, payload_format_version: '0.1'}
  /proxied:
    get:
      security: [{qkey: []}]
      x-yc-apigateway-integration: {type: http, url: '`+fn.URL+`/up', query: {'*': '*'}}
components:
  securitySchemes:
    key: {type: apiKey, in: header, name: X-Api-Key, x-yc-apigateway-authorizer: {type: function, function_id: auth, authorizer_result_ttl_in_seconds: 0}}
    qkey: {type: apiKey, in: query, name: api_key, x-yc-apigateway-authorizer: {type: function, function_id: auth, authorizer_result_ttl_in_seconds: 0}}
`, "functions:\n  fn: {url: '"+fn.URL+"'}\n  auth: {url: '"+authz.URL+"'}\n")
	rc := console.NewRecorder(console.Options{})
	h.SetConsole(rc)
	res := do(t, "GET", srv.URL+"/p?api_key=QKEY-1&page=2", map[string]string{"X-Api-Key": "HKEY-2", "Cookie": "session=COOKIE-3", "Authorization": "Bearer AUTH-4"}, nil)
	if res.status != 200 {
		t.Fatalf("%d %s", res.status, res.body)
	}
	e := rc.List()[0]
	shown, _ := json.Marshal(e)
	for _, secret := range []string{"QKEY-1", "HKEY-2", "COOKIE-3", "AUTH-4", "from-fn"} {
		if strings.Contains(string(shown), secret) {
			t.Errorf("the record shows %s", secret)
		}
	}
	if e.Upstream == nil || e.Upstream.Event == nil || !strings.Contains(e.Upstream.Event.Text, `"page": "2"`) || !strings.Contains(e.Query, "page=2") {
		t.Errorf("what is not a credential is kept: query %q, event %+v", e.Query, e.Upstream)
	}
	// The http integration forwards the query: its target shows it masked.
	do(t, "GET", srv.URL+"/proxied?api_key=QKEY-5&page=3", nil, nil)
	if up := rc.List()[0].Upstream; up == nil || strings.Contains(up.Target, "QKEY-5") || !strings.Contains(up.Target, "page=3") {
		t.Errorf("the backend's target: %+v", up)
	}
}
