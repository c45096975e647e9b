package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/apigw/apigw/internal/config"
	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/spec"
	"github.com/prometheus/client_golang/prometheus"
)

const swsBenchRules = `    security_rules:
      - {name: admin, priority: 1, rule_condition: {action: DENY, condition: {request_uri: {path: {prefix_match: /admin}}}}}
      - {name: office, priority: 2, rule_condition: {action: ALLOW, condition: {source_ip: {ip_ranges_match: {ip_ranges: [10.0.0.0/8]}}}}}
      - {name: bots, priority: 3, rule_condition: {action: DENY, condition: {headers: [{name: user-agent, value: {pire_regex_match: ".*(sqlmap|nikto).*"}}]}}}
`

// swsBenchHandler serves a dummy GET and an echoing POST with no profile,
// a rules-only cloud profile, or the same rules and a WAF rule (CRS at
// paranoia 1).
func swsBenchHandler(b *testing.B, profile string) *Handler {
	src := "openapi: 3.0.0\nx-yc-apigateway: {smartWebSecurity: {securityProfileId: p}}\npaths:\n  /dummy:\n    get:\n      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': \"ok\\n\"}}\n  /echo:\n    post:\n      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': 'ok'}}\n"
	bindings := "log: {access: false}\n"
	switch profile {
	case "rules":
		bindings += "security_profiles:\n  p:\n    default_action: ALLOW\n" + swsBenchRules
	case "waf":
		bindings += "waf_profiles:\n  crs: {rule_sets: [{core_rule_set: {inbound_anomaly_score: 5, paranoia_level: 1}, is_enabled: true, priority: 1}]}\n" +
			"security_profiles:\n  p:\n    default_action: ALLOW\n" + swsBenchRules + "      - {name: waf, priority: 4, waf: {mode: FULL, waf_profile_id: crs}}\n"
	}
	bnd, errs := config.Parse([]byte(bindings))
	if errs.Err() != nil {
		b.Fatal(errs)
	}
	doc, errs := spec.Load("api.yaml", []byte(src), nil)
	if errs.Err() != nil {
		b.Fatal(errs)
	}
	snap, errs := Build(doc, bnd, integration.NewDeps())
	if snap == nil {
		b.Fatal(errs)
	}
	h := NewHandler(slog.New(slog.NewTextHandler(io.Discard, nil)), NewMetrics(prometheus.NewRegistry()))
	h.Swap(snap)
	return h
}

// BenchmarkSWS is a GET and a 10 KB JSON POST through no profile, a
// rules-only profile and a WAF profile (docs/performance.md).
func BenchmarkSWS(b *testing.B) {
	// 10 KB of JSON in 40 values (an order with long descriptions); the
	// WAF's cost grows with the number of values more than with bytes.
	items := make([]map[string]any, 0, 20)
	for i := range 20 {
		items = append(items, map[string]any{"id": i, "description": fmt.Sprintf("item %d: a warm woollen scarf in dark blue, hand knitted, two metres long, with a fringe at both ends; "+
			"it comes in a gift box with a card, and the shop wraps it in paper of the colour the customer picks at the counter", i)})
	}
	body, _ := json.Marshal(map[string]any{"customer": "Anna", "items": items})
	for _, profile := range []string{"none", "rules", "waf"} {
		h := swsBenchHandler(b, profile)
		b.Run(profile+"/GET", func(b *testing.B) {
			req := httptest.NewRequest("GET", "/dummy?page=2&sort=name", nil)
			req.Header.Set("User-Agent", "Mozilla/5.0")
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != 200 {
					b.Fatal(w.Code, w.Body)
				}
			}
		})
		b.Run(profile+"/POST-10KB-JSON", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				req := httptest.NewRequest("POST", "/echo", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != 200 {
					b.Fatal(w.Code, w.Body)
				}
			}
		})
	}
}

// TestCRSMemory reports the heap one compiled CRS holds.
func TestCRSMemory(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	bnd, errs := config.Parse([]byte("waf_profiles:\n  crs: {rule_sets: [{core_rule_set: {inbound_anomaly_score: 7, paranoia_level: 2}, is_enabled: true, priority: 1}]}\n" +
		"security_profiles:\n  p:\n    default_action: ALLOW\n    security_rules: [{name: waf, priority: 1, waf: {mode: FULL, waf_profile_id: crs}}]\n"))
	if errs.Err() != nil {
		t.Fatal(errs)
	}
	doc, _ := spec.Load("api.yaml", []byte("openapi: 3.0.0\nx-yc-apigateway: {smartWebSecurity: {securityProfileId: p}}\npaths: {}\n"), nil)
	snap, errs := Build(doc, bnd, integration.NewDeps())
	if snap == nil {
		t.Fatal(errs)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	t.Logf("one compiled CRS (paranoia 2) and its snapshot: %.1f MB of heap", float64(after.HeapAlloc-before.HeapAlloc)/(1<<20))
	runtime.KeepAlive(snap)
}
