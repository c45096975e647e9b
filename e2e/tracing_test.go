package e2e

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"syscall"
	"testing"
	"time"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// TestTracing: with tracing.endpoint set, a request that arrives with a
// traceparent yields a server span in that trace, a child span for the
// integration, and a traceparent to the backend whose parent is that
// child; the spans reach an OTLP/HTTP collector (a stand-in that decodes
// the protobuf export the way a collector does).
func TestTracing(t *testing.T) {
	type span struct{ name, trace, id, parent string }
	var mu sync.Mutex
	var spans []span
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req coltrace.ExportTraceServiceRequest
		if r.URL.Path != "/v1/traces" || proto.Unmarshal(body, &req) != nil {
			http.Error(w, "bad export", http.StatusBadRequest)
			return
		}
		mu.Lock()
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					spans = append(spans, span{s.Name, hex.EncodeToString(s.TraceId), hex.EncodeToString(s.SpanId), hex.EncodeToString(s.ParentSpanId)})
				}
			}
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(nil)
	}))
	defer collector.Close()
	var backendParent string
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		backendParent = r.Header.Get("Traceparent")
		mu.Unlock()
		w.Write([]byte("traced"))
	}))
	defer backend.Close()

	// A function bound to an invoke URL: its event's headers carry the
	// trace on to the function's code.
	var eventParent string
	function := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var event struct{ Headers map[string]string }
		json.NewDecoder(r.Body).Decode(&event)
		mu.Lock()
		eventParent = event.Headers["Traceparent"]
		mu.Unlock()
		w.Write([]byte(`{"statusCode": 200, "body": "fn traced"}`))
	}))
	defer function.Close()

	dir := t.TempDir()
	spec := writeFile(t, dir, "api.yaml", `openapi: 3.0.0
paths:
  /call:
    get:
      x-yc-apigateway-integration: {type: http, url: '`+backend.URL+`/x'}
  /fn:
    get:
      x-yc-apigateway-integration: {type: cloud_functions, function_id: d4e-traced}
`)
	cfg := writeFile(t, dir, "apigw.yaml", "tracing: {endpoint: '"+collector.URL+"', service_name: apigw-test}\n"+
		"functions: {d4e-traced: {url: '"+function.URL+"'}}\n")
	g := start(t, "--spec", spec, "--config", cfg)
	const traceID, clientSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	if status, _, body := get(t, g.URL+"/call", "Traceparent", "00-"+traceID+"-"+clientSpan+"-01"); status != 200 || body != "traced" {
		t.Fatalf("%d %q", status, body)
	}
	const fnTrace = "0af7651916cd43dd8448eb211c80319c"
	if status, _, body := get(t, g.URL+"/fn", "Traceparent", "00-"+fnTrace+"-b7ad6b7169203331-01"); status != 200 || body != "fn traced" {
		t.Fatalf("/fn: %d %q", status, body)
	}
	if code, err := g.stop(syscall.SIGINT, 10*time.Second); err != nil || code != 0 { // flushes the spans
		t.Fatalf("stop: %d %v", code, err)
	}
	mu.Lock()
	defer mu.Unlock()
	byName := map[string]span{}
	for _, s := range spans {
		byName[s.name] = s
	}
	server, integration := byName["GET /call"], byName["integration http"]
	if server.trace != traceID || server.parent != clientSpan {
		t.Fatalf("server span %+v, want trace %s under the client's span %s (all: %+v)", server, traceID, clientSpan, spans)
	}
	if integration.trace != traceID || integration.parent != server.id {
		t.Errorf("integration span %+v, want a child of %s", integration, server.id)
	}
	if want := fmt.Sprintf("00-%s-%s-01", traceID, integration.id); backendParent != want {
		t.Errorf("the backend got traceparent %q, want %q", backendParent, want)
	}
	fn := byName["integration cloud_functions"]
	if want := fmt.Sprintf("00-%s-%s-01", fnTrace, fn.id); fn.trace != fnTrace || eventParent != want {
		t.Errorf("the function event's Traceparent is %q, want %q (its span %+v)", eventParent, want, fn)
	}
}
