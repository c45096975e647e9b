package gateway

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestMetricsObserve: each request lands in its series once, whichever
// series it is, including a series first seen after others.
func TestMetricsObserve(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	for range 3 {
		m.observe(sample{route: "/a", method: "GET", integration: "dummy", release: "stable", status: 200, elapsed: time.Millisecond, inIntegration: time.Microsecond})
	}
	m.observe(sample{route: "/a", method: "GET", integration: "dummy", release: "canary", status: 200, elapsed: time.Millisecond})
	m.observe(sample{route: "/a", method: "BREW", integration: "dummy", release: "stable", status: 502, gatewayError: true, elapsed: time.Millisecond})
	m.observe(sample{method: "GET", status: 404, gatewayError: true})
	want := `
# HELP apigw_requests_total Requests served, by route template, method, status class (2xx...), integration type and release (stable or canary).
# TYPE apigw_requests_total counter
apigw_requests_total{integration="",method="GET",release="",route="(unmatched)",status_class="4xx"} 1
apigw_requests_total{integration="dummy",method="GET",release="canary",route="/a",status_class="2xx"} 1
apigw_requests_total{integration="dummy",method="GET",release="stable",route="/a",status_class="2xx"} 3
apigw_requests_total{integration="dummy",method="OTHER",release="stable",route="/a",status_class="5xx"} 1
# HELP apigw_gateway_errors_total Responses the gateway generated itself (404, 413, 429, 502, 504, ...), by route template and status.
# TYPE apigw_gateway_errors_total counter
apigw_gateway_errors_total{route="(unmatched)",status="404"} 1
apigw_gateway_errors_total{route="/a",status="502"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "apigw_requests_total", "apigw_gateway_errors_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(m.integration); n != 1 {
		t.Errorf("%d integration latency series, want 1 (only the sample with time in the integration)", n)
	}
}

func BenchmarkMetricsObserve(b *testing.B) {
	m := NewMetrics(prometheus.NewRegistry())
	s := sample{route: "/svc/items/{id}", method: "GET", integration: "http", release: "stable", status: 200, elapsed: time.Millisecond, inIntegration: time.Microsecond}
	b.ReportAllocs()
	for b.Loop() {
		m.observe(s)
	}
}
