package controlplane

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	apigateway "github.com/yandex-cloud/go-genproto/yandex/cloud/serverless/apigateway/v1"
)

// BenchmarkCreateGateways creates b.N gateways (each its own spec of ten
// operations) through the service on the embedded store, and reports the
// heap each served gateway holds. With -benchtime=1000x it is the
// thousand-gateway figure of docs/performance.md.
func BenchmarkCreateGateways(b *testing.B) {
	p, h := testPlaneB(b)
	s := gateways{p: p}
	spec := "openapi: 3.0.0\ninfo: {title: t, version: '1'}\npaths:\n"
	for i := range 10 {
		spec += fmt.Sprintf("  /r%d/{id}:\n    get:\n      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {text/plain: r%d}}\n", i, i)
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	ctx := context.Background()
	var last string
	b.ResetTimer()
	for i := range b.N {
		op, err := s.Create(ctx, &apigateway.CreateApiGatewayRequest{FolderId: "f", Name: fmt.Sprintf("gw-%d", i),
			Spec: &apigateway.CreateApiGatewayRequest_OpenapiSpec{OpenapiSpec: spec}})
		if err != nil {
			b.Fatal(err)
		}
		md := &apigateway.CreateApiGatewayMetadata{}
		op.Metadata.UnmarshalTo(md)
		last = md.ApiGatewayId
	}
	b.StopTimer()
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(b.N), "heap-B/gateway")
	// The last one is served.
	req := httptest.NewRequest("GET", "http://"+last+".apigw.localhost/r9/x", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK || w.Body.String() != "r9" {
		b.Fatalf("the last gateway: %d %q", w.Code, w.Body)
	}
}
