// Command fasthttp is the hot path of apigw on valyala/fasthttp, native (no
// net/http adaptor): the three routes of bench/cores, hardened as apigw's
// listener is (header and body limits, timeouts); under /gw/ the same
// three with apigw's own per-request work added (gateway.go).
//
//	/static  a fixed answer (the dummy integration)
//	/proxy   the request forwarded to the backend over pooled keep-alive
//	         connections (the http integration)
//	/fn      the request turned into a cloud_functions event (format 1.0,
//	         with apigw's own builder), POSTed to the function endpoint, its
//	         response JSON parsed and answered (a url binding)
package main

import (
	"flag"
	"log"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/apigw/apigw/bench/cores/stats"
	"github.com/apigw/apigw/internal/functions"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18101", "listen address")
	backend := flag.String("backend", "127.0.0.1:18081", "the proxy's upstream")
	fn := flag.String("function", "127.0.0.1:18091", "the function's invoke endpoint")
	statsAddr := flag.String("stats", "", "serve /mallocs (heap objects allocated so far) on this address")
	hangup := flag.String("hangup", "127.0.0.1:18095", "the upstream of /hangup (bench/cores/hostile's slow backend)")
	flag.Parse()
	stats.Serve(*statsAddr)

	up := &fasthttp.HostClient{Addr: *backend, MaxConns: 1024, MaxIdleConnDuration: 90 * time.Second, ReadTimeout: 30 * time.Second}
	slow := &fasthttp.HostClient{Addr: *hangup, MaxConns: 64, ReadTimeout: 30 * time.Second}
	fc := &fasthttp.HostClient{Addr: *fn, MaxConns: 1024, MaxIdleConnDuration: 90 * time.Second, ReadTimeout: 30 * time.Second}
	static := []byte("ok\n")
	gateway := newGateway(up, fc)

	handler := func(ctx *fasthttp.RequestCtx) {
		switch p := ctx.Path(); string(p) {
		case "/static":
			ctx.SetContentType("text/plain")
			ctx.SetBody(static)
		case "/proxy", "/hangup":
			up := up
			if string(p) == "/hangup" {
				up = slow
			}
			req := fasthttp.AcquireRequest()
			resp := fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			ctx.Request.CopyTo(req)
			req.SetRequestURI("/")
			req.Header.Del("Connection")
			req.Header.Set("X-Forwarded-For", ctx.RemoteIP().String())
			if err := up.Do(req, resp); err != nil {
				ctx.Error(`{"message":"upstream is unreachable","status":502}`, http.StatusBadGateway)
				return
			}
			resp.Header.Del("Connection")
			resp.CopyTo(&ctx.Response)
		case "/fn":
			invoke(ctx, fc)
		default:
			if len(p) > 4 && string(p[:4]) == "/gw/" {
				gateway.serve(ctx)
				return
			}
			ctx.Error(`{"message":"not found","status":404}`, http.StatusNotFound)
		}
	}
	srv := &fasthttp.Server{
		Handler:                       handler,
		Name:                          "",
		NoDefaultServerHeader:         true,
		ReadBufferSize:                64 << 10, // the largest request head (431/400 beyond)
		MaxRequestBodySize:            2*1024*1024 + 512*1024,
		ReadTimeout:                   30 * time.Second,
		IdleTimeout:                   120 * time.Second,
		DisableHeaderNamesNormalizing: false,
		Concurrency:                   256 * 1024,
	}
	log.Printf("fasthttp core on %s (GOMAXPROCS %d)", *listen, runtime.GOMAXPROCS(0))
	log.Fatal(srv.ListenAndServe(*listen))
}

// invoke makes the event with apigw's builder, which takes a net/http
// request: the request is converted field by field (the cost a fasthttp
// core pays for every integration written against net/http).
func invoke(ctx *fasthttp.RequestCtx, fc *fasthttp.HostClient) {
	r := &http.Request{Method: string(ctx.Method()), Header: http.Header{}, Host: string(ctx.Host()), RemoteAddr: ctx.RemoteAddr().String(), RequestURI: string(ctx.RequestURI())}
	u, err := url.ParseRequestURI(r.RequestURI)
	if err != nil {
		ctx.Error(`{"message":"bad request","status":400}`, http.StatusBadRequest)
		return
	}
	r.URL = u
	for k, v := range ctx.Request.Header.All() {
		r.Header.Add(string(k), string(v))
	}
	ev, err := functions.Event(&functions.Request{
		HTTP: r, Body: ctx.PostBody(), Version: "1.0", Template: "/fn", RequestID: "bench",
		ClientIP: ctx.RemoteIP().String(), RemoteAddr: r.RemoteAddr, GatewayID: "apigw", Time: time.Now(),
	})
	if err != nil {
		ctx.Error(`{"message":"event","status":500}`, http.StatusInternalServerError)
		return
	}
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod("POST")
	req.SetRequestURI("/")
	req.Header.SetHost(fc.Addr)
	req.Header.SetContentType("application/json")
	req.SetBody(ev)
	if err := fc.Do(req, resp); err != nil {
		log.Printf("function: %v", err)
		ctx.Error(`{"message":"function unreachable","status":502}`, http.StatusBadGateway)
		return
	}
	out, err := functions.ParseResponse(resp.Body())
	if err != nil {
		ctx.Error(`{"message":"malformed function response","status":502}`, http.StatusBadGateway)
		return
	}
	for k, vv := range out.Header {
		for _, v := range vv {
			ctx.Response.Header.Add(k, v)
		}
	}
	ctx.Response.Header.Set("Content-Length", strconv.Itoa(len(out.Body)))
	ctx.SetStatusCode(out.Status)
	ctx.SetBody(out.Body)
}
