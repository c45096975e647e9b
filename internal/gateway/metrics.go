package gateway

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apigw/apigw/internal/policy/security"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the request metrics of the gateway. Labels carry the route
// template, never the raw path, a fixed set of methods, status classes and
// integration types, so their cardinality is bounded by the spec, whatever
// clients send.
type Metrics struct {
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	integration *prometheus.HistogramVec
	errors      *prometheus.CounterVec
	// sws counts a cloud security profile's verdicts, by rule (names
	// from the bindings: bounded by them).
	sws *prometheus.CounterVec
	// series caches each label combination's children: the vectors'
	// lookup hashes and checks every label value on every request, a
	// tenth of the gateway's own CPU on a dummy route. The combinations
	// are bounded as the labels are.
	series sync.Map // seriesKey → *series
}

type seriesKey struct{ route, method, class, integration, release string }

type series struct {
	requests prometheus.Counter
	latency  prometheus.Observer
	// integration is made on first use: requests that never reached an
	// integration (404s, 429s) must not create its series.
	integration func() prometheus.Observer
}

func (m *Metrics) seriesFor(k seriesKey) *series {
	if v, ok := m.series.Load(k); ok {
		return v.(*series)
	}
	v, _ := m.series.LoadOrStore(k, &series{
		requests: m.requests.WithLabelValues(k.route, k.method, k.class, k.integration, k.release),
		latency:  m.latency.WithLabelValues(k.route, k.method, k.integration, k.release),
		integration: sync.OnceValue(func() prometheus.Observer {
			return m.integration.WithLabelValues(k.route, k.integration)
		}),
	})
	return v.(*series)
}

var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}

// NewMetrics registers the request metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apigw_requests_total",
			Help: "Requests served, by route template, method, status class (2xx...), integration type and release (stable or canary).",
		}, []string{"route", "method", "status_class", "integration", "release"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "apigw_request_duration_seconds",
			Help:    "Time from receiving a request to finishing its response, by route template, method, integration type and release.",
			Buckets: latencyBuckets,
		}, []string{"route", "method", "integration", "release"}),
		integration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "apigw_integration_duration_seconds",
			Help:    "Time spent in the integration (the backend call and the response relay), by route template and integration type.",
			Buckets: latencyBuckets,
		}, []string{"route", "integration"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apigw_gateway_errors_total",
			Help: "Responses the gateway generated itself (404, 413, 429, 502, 504, ...), by route template and status.",
		}, []string{"route", "status"}),
		sws: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apigw_sws_verdicts_total",
			Help: "Verdicts of security profiles in the cloud's shape, by profile, rule (empty: the default action), action (ALLOW, DENY) and dry_run (true: a dry-run rule's verdict, not applied).",
		}, []string{"profile", "rule", "action", "dry_run"}),
	}
	reg.MustRegister(m.requests, m.latency, m.integration, m.errors, m.sws)
	return m
}

// observeSWS counts a cloud profile's decision and its dry runs.
func (m *Metrics) observeSWS(profile string, d *security.Decision) {
	if m == nil || d == nil {
		return
	}
	m.sws.WithLabelValues(profile, d.Rule, d.Action, "false").Inc()
	for _, dr := range d.DryRuns {
		rule, action, _ := strings.Cut(dr, ":")
		m.sws.WithLabelValues(profile, rule, action, "true").Inc()
	}
}

var knownMethods = map[string]string{
	"GET": "GET", "HEAD": "HEAD", "POST": "POST", "PUT": "PUT", "PATCH": "PATCH",
	"DELETE": "DELETE", "OPTIONS": "OPTIONS", "TRACE": "TRACE", "CONNECT": "CONNECT",
}

var statusClasses = [...]string{"1xx", "1xx", "2xx", "3xx", "4xx", "5xx"}

// sample is what one request contributes to the metrics.
type sample struct {
	route, method, integration, release string
	status                              int
	gatewayError                        bool // the gateway generated the answer
	elapsed, inIntegration              time.Duration
}

func (m *Metrics) observe(s sample) {
	if m == nil {
		return
	}
	route := s.route
	if route == "" {
		route = "(unmatched)"
	}
	method, ok := knownMethods[s.method]
	if !ok {
		method = "OTHER"
	}
	class := "5xx"
	if c := s.status / 100; c >= 1 && c <= 5 {
		class = statusClasses[c]
	}
	ss := m.seriesFor(seriesKey{route, method, class, s.integration, s.release})
	ss.requests.Inc()
	ss.latency.Observe(s.elapsed.Seconds())
	if s.inIntegration > 0 {
		ss.integration().Observe(s.inIntegration.Seconds())
	}
	if s.gatewayError {
		m.errors.WithLabelValues(route, strconv.Itoa(s.status)).Inc()
	}
}
