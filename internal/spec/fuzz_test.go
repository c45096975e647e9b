package spec

import (
	"testing"
)

// FuzzLoad requires only that Load never panics or hangs, and that it returns
// either a document or at least one error.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(fullSpec))
	f.Add([]byte("openapi: 3.0.0\npaths:\n  /a:\n    get:\n      x-yc-apigateway-integration: {$ref: '#/x'}\n"))
	f.Add([]byte("openapi: 3.0.0\nx-yc-apigateway:\n  variables:\n    a: {default: '${var.a}'}\npaths: {'/${var.a}': {}}\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte(`{"openapi":"3.0.0","paths":{"/a":{"$ref":"#/paths/~1a"}}}`))
	f.Fuzz(func(t *testing.T, src []byte) {
		doc, errs := Load("f.yaml", src, map[string]string{})
		if doc == nil && errs.Err() == nil {
			t.Fatalf("no document and no error")
		}
	})
}
