package server

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/apigw/apigw/internal/console"
	"github.com/apigw/apigw/internal/integration"
)

// TestConsoleExample: Try's requests come from the serving spec's plan, by
// operationId, "METHOD /path", or "ANY /path" for an any-method operation
// without an ID; each next seed is the plan's next valid case.
func TestConsoleExample(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "api.yaml")
	os.WriteFile(spec, []byte(`openapi: 3.0.0
paths:
  /items/{id}:
    get:
      operationId: getItem
      parameters: [{name: id, in: path, required: true, schema: {type: integer, minimum: 3, maximum: 9, example: 5}}]
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': ok}}
    x-yc-apigateway-any-method:
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': any}}
  /notes:
    post:
      requestBody:
        content:
          application/json:
            schema: {type: object, required: [text], properties: {text: {type: string, maxLength: 5}}}
            example: {text: hi}
      x-yc-apigateway-integration: {type: dummy, http_code: 201, content: {'*': ok}}
  /trees:
    post:
      operationId: plantTree
      requestBody:
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Node'}
      x-yc-apigateway-integration: {type: dummy, http_code: 201, content: {'*': ok}}
components:
  schemas:
    Node:
      type: object
      required: [parent]
      properties: {parent: {allOf: [{$ref: '#/components/schemas/Node'}], description: itself}}
`), 0o644)
	s := New(Options{SpecFile: spec})
	src := consoleSource{s}
	if _, err := src.Example("getItem", 0); err == nil {
		t.Error("an example with no snapshot loaded")
	}
	snap, errs := Load(Options{SpecFile: spec}, integration.NewDeps())
	if errs.Err() != nil {
		t.Fatal(errs.Error())
	}
	s.handler.Swap(snap)
	for _, c := range []struct {
		name       string
		seed       uint64
		method     string
		path, body string
		kase       string
	}{
		{"getItem", 0, "GET", "/items/5", "", "example"},
		{"getItem", 1, "GET", "/items/3", "", "minimal"},
		{"getItem", 2, "GET", "/items/9", "", "maximal"},
		{"POST /notes", 0, "POST", "/notes", `{"text":"hi"}`, "example"},
		{"ANY /items/{id}", 0, "", "/items/", "", "example"},
	} {
		ex, err := src.Example(c.name, c.seed)
		if err != nil {
			t.Errorf("%s seed %d: %v", c.name, c.seed, err)
			continue
		}
		if c.method != "" && ex.Method != c.method || len(ex.Path) < len(c.path) || ex.Path[:len(c.path)] != c.path || ex.Case != c.kase ||
			c.body != "" && *ex.Body != c.body {
			t.Errorf("%s seed %d: %s %s %q (%s)", c.name, c.seed, ex.Method, ex.Path, *ex.Body, ex.Case)
		}
		if c.name == "ANY /items/{id}" && (ex.Method == "GET" || ex.Operation == "getItem") {
			t.Errorf("ANY found the GET operation: %+v", ex)
		}
	}
	if ex, err := src.Example("getItem", 1<<40); err != nil || ex.Path == "" {
		t.Errorf("a large seed: %v %v", ex, err)
	}
	// A schema that requires itself: the request is cut, and says so
	// (this overflowed the stack and took the gateway down).
	if ex, err := src.Example("plantTree", 0); err != nil || ex.Note == "" || ex.Body == nil || *ex.Body == "" {
		t.Errorf("a schema that requires itself: %+v %v", ex, err)
	}
	if _, err := src.Example("nope", 0); !errors.Is(err, console.ErrNoOperation) {
		t.Errorf("an unknown operation: %v", err)
	}
}
