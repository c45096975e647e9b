package gateway

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the request metrics of the gateway. Labels carry the route
// template, never the raw path, and a fixed set of methods, so their
// cardinality is bounded by the spec, whatever clients send.
type Metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// NewMetrics registers the request metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apigw_requests_total",
			Help: "Requests served, by route template, method, status and release (stable or canary).",
		}, []string{"route", "method", "status", "release"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "apigw_request_duration_seconds",
			Help:    "Time from receiving a request to finishing its response, by route template, method and release.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"route", "method", "release"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

var knownMethods = map[string]string{
	"GET": "GET", "HEAD": "HEAD", "POST": "POST", "PUT": "PUT", "PATCH": "PATCH",
	"DELETE": "DELETE", "OPTIONS": "OPTIONS", "TRACE": "TRACE", "CONNECT": "CONNECT",
}

func (m *Metrics) observe(route, method string, status int, release string, d time.Duration) {
	if m == nil {
		return
	}
	if route == "" {
		route = "(unmatched)"
	}
	mm, ok := knownMethods[method]
	if !ok {
		mm = "OTHER"
	}
	m.requests.WithLabelValues(route, mm, strconv.Itoa(status), release).Inc()
	m.latency.WithLabelValues(route, mm, release).Observe(d.Seconds())
}
