package gateway

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/apigw/apigw/internal/config"
	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/spec"
)

// benchBody is a 1 KB order, valid against benchSpec's schema.
var benchBody = func() []byte {
	var b strings.Builder
	b.WriteString(`{"customer":"c-1234","currency":"EUR","items":[`)
	for i := 0; b.Len() < 960; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"sku":"sku-000` + string(rune('0'+i%10)) + `","qty":2,"price":12.5}`)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}()

const benchSpec = `openapi: 3.0.0
components:
  schemas:
    Order:
      type: object
      required: [customer, items]
      properties:
        customer: {type: string, pattern: '^c-[0-9]+$'}
        currency: {type: string, enum: [EUR, USD, RUB]}
        items:
          type: array
          items:
            type: object
            required: [sku, qty]
            properties:
              sku: {type: string}
              qty: {type: integer, minimum: 1}
              price: {type: number}
paths:
  /plain:
    post:
      requestBody: {content: {application/json: {schema: {$ref: '#/components/schemas/Order'}}}}
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': ok}}
  /validated:
    post:
      x-yc-apigateway-validator: {validateRequestBody: true}
      requestBody: {content: {application/json: {schema: {$ref: '#/components/schemas/Order'}}}}
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': ok}}
`

// benchHandler builds src with default bindings into a handler that
// neither logs nor counts, as the benchmarks measure the request path.
func benchHandler(b *testing.B, src []byte) *Handler {
	b.Helper()
	bind, _ := config.Parse(nil)
	doc, errs := spec.Load("api.yaml", src, nil)
	if doc == nil {
		b.Fatal(errs)
	}
	snap, errs := Build(doc, bind, integration.NewDeps())
	if snap == nil {
		b.Fatal(errs)
	}
	h := NewHandler(slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	h.Swap(snap)
	h.access.Store(false)
	return h
}

// BenchmarkValidation: the cost of validating a 1 KB JSON body, next to
// the same route without validation (docs/performance.md).
func BenchmarkValidation(b *testing.B) {
	h := benchHandler(b, []byte(benchSpec))
	for _, path := range []string{"/plain", "/validated"} {
		b.Run(strings.TrimPrefix(path, "/"), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest("POST", path, bytes.NewReader(benchBody))
				req.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("%s: %d %s", path, w.Code, w.Body)
				}
			}
		})
	}
}
