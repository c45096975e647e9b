package gateway

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/apigw/apigw/internal/config"
	"github.com/apigw/apigw/internal/console"
	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/spec"
	"github.com/prometheus/client_golang/prometheus"
)

func consoleBenchHandler(b *testing.B) *Handler {
	src := "openapi: 3.0.0\npaths:\n  /dummy:\n    get:\n      x-yc-apigateway-integration: {type: dummy, http_code: 200, http_headers: {Content-Type: text/plain}, content: {'*': \"ok\\n\"}}\n  /echo:\n    post:\n      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': '{body}'}}\n"
	bnd, _ := config.Parse([]byte("log: {access: false}\n"))
	doc, errs := spec.Load("api.yaml", []byte(src), nil)
	if errs.Err() != nil {
		b.Fatal(errs)
	}
	snap, errs := Build(doc, bnd, integration.NewDeps())
	if snap == nil {
		b.Fatal(errs)
	}
	h := NewHandler(slog.New(slog.NewTextHandler(io.Discard, nil)), NewMetrics(prometheus.NewRegistry()))
	h.Swap(snap) // log.access: false

	return h
}

// BenchmarkConsole is a dummy route served in process, with the console
// off (the default away from loopback) and recording.
func BenchmarkConsole(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "off"
		if on {
			name = "on"
		}
		b.Run(name, func(b *testing.B) {
			h := consoleBenchHandler(b)
			if on {
				h.SetConsole(console.NewRecorder(console.Options{}))
			}
			req := httptest.NewRequest("GET", "/dummy", nil) // no secret: as wrk sends
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
			}
		})
	}
}

// BenchmarkConsoleFullRing fills the console's ring (500 exchanges) with
// requests and answers of 64 KB through an http route, the worst case
// the defaults allow, and reports the heap the ring holds.
func BenchmarkConsoleFullRing(b *testing.B) {
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { b, _ := io.ReadAll(r.Body); w.Write(b) }))
	defer echo.Close()
	src := "openapi: 3.0.0\npaths:\n  /echo:\n    post:\n      x-yc-apigateway-integration: {type: http, url: '" + echo.URL + "/'}\n"
	bnd, _ := config.Parse([]byte("log: {access: false}\n"))
	doc, _ := spec.Load("api.yaml", []byte(src), nil)
	snap, errs := Build(doc, bnd, integration.NewDeps())
	if snap == nil {
		b.Fatal(errs)
	}
	body := strings.Repeat("x", 64<<10)
	for b.Loop() {
		h := NewHandler(slog.New(slog.NewTextHandler(io.Discard, nil)), NewMetrics(prometheus.NewRegistry()))
		h.Swap(snap)
		rec := console.NewRecorder(console.Options{})
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		h.SetConsole(rec)
		for range 500 {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("POST", "/echo", bytes.NewReader([]byte(body))))
			if w.Body.Len() != len(body) {
				b.Fatalf("echo answered %d bytes: %d %.300s", w.Body.Len(), w.Code, w.Body.String())
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		if l := rec.List(); len(l) != 500 || !l[0].Request.Body.Truncated && l[0].Request.Body.Size != int64(len(body)) {
			b.Fatalf("%d kept", len(l))
		}
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MB/ring")
		runtime.KeepAlive(rec)
	}
}
