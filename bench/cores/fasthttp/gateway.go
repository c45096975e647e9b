package main

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/apigw/apigw/internal/gateway"
	"github.com/apigw/apigw/internal/router"
)

// gw is the hot path with what apigw does on every request besides the
// integration: the route lookup (apigw's own router), a request ID
// (gateway.RequestID: the client's when valid, else a new UUID) on the
// answer and upstream,
// the request counter and latency histogram, forwarded headers and
// hop-by-hop stripping both ways. It tells how much of the bare core's
// speed survives a gateway's own work.
type gw struct {
	routes   *router.Router[string]
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	up, fn   *fasthttp.HostClient
	static   []byte
}

func newGateway(up, fn *fasthttp.HostClient) *gw {
	g := &gw{routes: router.New[string](true), up: up, fn: fn, static: []byte("ok\n"),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "apigw_requests_total"}, []string{"route", "method", "status_class", "integration", "release"}),
		latency:  prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "apigw_request_duration_seconds", Buckets: prometheus.DefBuckets}, []string{"route", "method", "integration", "release"}),
	}
	for _, r := range []string{"/gw/static", "/gw/proxy", "/gw/fn"} {
		if _, err := g.routes.Add(r, r); err != nil {
			panic(err)
		}
	}
	prometheus.NewRegistry().MustRegister(g.requests, g.latency)
	return g
}

var hopByHop = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

func (g *gw) serve(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	id := gateway.RequestID(string(ctx.Request.Header.Peek("X-Request-Id")))
	ctx.Response.Header.Set("X-Request-Id", id)
	var ps [4]router.Param
	route, _, _, ok := g.routes.Match(string(ctx.Path()), ps[:0])
	integration := "dummy"
	switch {
	case !ok:
		ctx.Error(`{"message":"not found","status":404}`, http.StatusNotFound)
	case route == "/gw/static":
		ctx.SetContentType("text/plain")
		ctx.SetBody(g.static)
	case route == "/gw/proxy":
		integration = "http"
		g.proxy(ctx, id)
	default:
		integration = "cloud_functions"
		invoke(ctx, g.fn)
	}
	method := string(ctx.Method())
	status := ctx.Response.StatusCode()
	g.requests.WithLabelValues(route, method, strconv.Itoa(status/100)+"xx", integration, "stable").Inc()
	g.latency.WithLabelValues(route, method, integration, "stable").Observe(time.Since(start).Seconds())
}

func (g *gw) proxy(ctx *fasthttp.RequestCtx, id string) {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	ctx.Request.CopyTo(req)
	req.SetRequestURI("/")
	for _, h := range hopByHop {
		req.Header.Del(h)
	}
	req.Header.Set("X-Forwarded-For", ctx.RemoteIP().String())
	req.Header.Set("X-Forwarded-Proto", "http")
	req.Header.Set("X-Request-Id", id)
	if err := g.up.Do(req, resp); err != nil {
		ctx.Error(`{"message":"upstream is unreachable","status":502}`, http.StatusBadGateway)
		return
	}
	for _, h := range hopByHop {
		resp.Header.Del(h)
	}
	resp.Header.Set("X-Request-Id", id)
	resp.CopyTo(&ctx.Response)
}
