package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMockAgreesWithItsValidator: `apigw test` against the spec's own
// mocks passes when the spec has required readOnly and writeOnly
// properties and validates both ways (the mock generated them, and the
// gateway's own validators refused its mocks and its test requests); a
// schema that requires itself is reported, not a crash, by validate
// --mock, apigw test and serve --mock.
func TestMockAgreesWithItsValidator(t *testing.T) {
	dir := t.TempDir()
	spec := writeFile(t, dir, "api.yaml", `openapi: 3.0.0
info: {title: users, version: '1'}
x-yc-apigateway:
  validator: {validateRequestBody: true, validateRequestParameters: true, validateResponseBody: true}
paths:
  /users:
    post:
      operationId: createUser
      x-yc-apigateway-integration: {type: cloud_functions, function_id: fn-users}
      requestBody:
        required: true
        content:
          application/json: {schema: {$ref: '#/components/schemas/User'}}
      responses:
        '201':
          description: created
          content:
            application/json: {schema: {$ref: '#/components/schemas/User'}}
  /users/{id}:
    get:
      operationId: getUser
      x-yc-apigateway-integration: {type: cloud_functions, function_id: fn-users}
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses:
        '200':
          description: ok
          content:
            application/json: {schema: {$ref: '#/components/schemas/User'}}
  /teams:
    get:
      operationId: listTeams
      x-yc-apigateway-integration: {type: cloud_functions, function_id: fn-users}
      responses:
        '200':
          description: ok
          content:
            application/json: {schema: {type: array, minItems: 1, items: {$ref: '#/components/schemas/Team'}}}
components:
  schemas:
    User:
      type: object
      required: [id, name, password]
      properties:
        id: {type: integer, readOnly: true}
        name: {type: string, minLength: 1}
        password: {type: string, writeOnly: true, minLength: 8}
    Team:
      type: object
      required: [name]
      properties:
        name: {type: string}
        parent: {allOf: [{$ref: '#/components/schemas/Team'}], description: optional, so it ends}
`)
	code, out, errOut := runCLI(t, "test", "--spec", spec, "-q")
	if code != 0 || !strings.Contains(out, "ok: 3 operations") {
		t.Fatalf("apigw test against the spec's own mocks: exit %d\n%s%s", code, out, errOut)
	}

	// A schema that requires itself: a warning and a report, never a
	// crash.
	selfish := writeFile(t, dir, "selfish.yaml", strings.Replace(strings.Replace(mustRead(t, spec),
		"required: [name]", "required: [name, parent]", 1), "description: optional, so it ends", "description: required, so it never ends", 1))
	code, out, errOut = runCLI(t, "validate", "--spec", selfish, "--mock")
	if code != 0 || !strings.Contains(out+errOut, "gave up generating mock data") {
		t.Errorf("validate --mock: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "test", "--spec", selfish, "-q", "--operation", "listTeams")
	if code != 1 || !strings.Contains(out, "FAIL listTeams") || strings.Contains(errOut, "goroutine") {
		t.Errorf("apigw test: exit %d\n%s%s", code, out, errOut)
	}
	// A running mock gateway reloaded to it (this killed the process), and
	// one started on it.
	live := writeFile(t, t.TempDir(), "api.yaml", mustRead(t, spec))
	g := start(t, "--spec", live, "--mock")
	if status, _, _ := get(t, g.URL+"/teams"); status != 200 {
		t.Fatalf("before the reload: %d", status)
	}
	writeFile(t, filepath.Dir(live), "api.yaml", mustRead(t, selfish))
	if !g.waitLog(`"msg":"reloaded"`, 10*time.Second) {
		t.Fatalf("no reload:\n%s", g.Logs())
	}
	if status, _, body := get(t, g.URL+"/teams"); status != 502 || !strings.Contains(body, "parent") {
		t.Errorf("after the reload: %d %s", status, body)
	}
	g = start(t, "--spec", selfish, "--mock")
	for _, h := range [][]string{nil, {"Prefer", "dynamic=true"}} {
		if status, _, body := get(t, g.URL+"/teams", h...); status != 502 || !strings.Contains(body, "parent") {
			t.Errorf("GET /teams %v: %d %s", h, status, body)
		}
	}
	if status, _, _ := get(t, g.URL+"/users/1"); status != 200 {
		t.Errorf("the gateway lives on: %d", status)
	}
}
