package gateway

import (
	"fmt"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/apigw/apigw/internal/config"
	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/spec"
)

// largeSpec has n operations: fixed, parameterized and greedy paths, with
// dummy and http integrations, a CORS rule and rate limits.
func largeSpec(n int) []byte {
	var b strings.Builder
	b.WriteString("openapi: 3.0.0\nx-yc-apigateway:\n  cors: {origin: true}\npaths:\n")
	for i := 0; i < n/2; i++ {
		fmt.Fprintf(&b, "  /svc%d/items/{id}:\n    parameters: [{name: id, in: path, required: true, schema: {type: string}}]\n", i)
		fmt.Fprintf(&b, "    get:\n      x-yc-apigateway-rate-limit: {allRequests: {rps: 100}}\n      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': 'item {id}'}}\n")
		fmt.Fprintf(&b, "    post:\n      x-yc-apigateway-integration: {type: http, url: 'http://127.0.0.1:9/svc%d/{id}'}\n", i)
	}
	return []byte(b.String())
}

// BenchmarkBuild5000: loading and building a 5,000-operation spec (the
// issue's target: under 1 s), and the memory the snapshot holds.
func BenchmarkBuild5000(b *testing.B) {
	src := largeSpec(5000)
	bind, _ := config.Parse(nil)
	deps := integration.NewDeps()
	var snap *Snapshot
	for b.Loop() {
		doc, errs := spec.Load("api.yaml", src, nil)
		if doc == nil {
			b.Fatal(errs)
		}
		if snap, errs = Build(doc, bind, deps); snap == nil {
			b.Fatal(errs)
		}
	}
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	b.ReportMetric(float64(m.HeapAlloc)/(1<<20), "heap-MiB")
	if len(snap.Routes()) != 5000 {
		b.Fatalf("%d routes", len(snap.Routes()))
	}
}

// BenchmarkServe5000: requests spread over a 5,000-operation spec; the heap
// after the run, next to the heap before it, shows whether serving grows
// memory (it should stay flat: the request path only looks up).
func BenchmarkServe5000(b *testing.B) {
	h := benchHandler(b, largeSpec(5000))
	heap := func() float64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return float64(m.HeapAlloc) / (1 << 20)
	}
	serve := func(i int) {
		req := httptest.NewRequest("GET", fmt.Sprintf("/svc%d/items/%d", i%2500, i), nil)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
	for i := 0; i < 10000; i++ { // warm: pools and lazily built state
		serve(i)
	}
	before := heap()
	i := 0
	for b.Loop() {
		serve(i)
		i++
	}
	b.ReportMetric(heap()-before, "heap-growth-MiB")
	b.ReportMetric(before, "heap-MiB")
	runtime.KeepAlive(h)
}
