// Command bridge serves apigw's own gateway (the compiled snapshot and
// gateway.Handler, unchanged) on valyala/fasthttp's server through its
// net/http adaptor (fasthttpadaptor, which runs the handler on a goroutine
// of its own so that Flush and Hijack work): what moving the plain listener
// to fasthttp buys while every integration keeps the net/http contract.
//
//	bridge -spec api.yaml -config apigw.yaml -listen 127.0.0.1:18132
package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"log"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/apigw/apigw/bench/cores/apigwgw"
	"github.com/apigw/apigw/bench/cores/stats"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18132", "listen address")
	spec := flag.String("spec", "", "the spec")
	config := flag.String("config", "", "the bindings")
	statsAddr := flag.String("stats", "", "serve /mallocs (heap objects allocated so far) on this address")
	syncMode := flag.Bool("sync", false, "serve the handler on fasthttp's own goroutine with a buffered writer (no Flush, no Hijack)")
	flag.Parse()
	stats.Serve(*statsAddr)
	h := apigwgw.Load(*spec, *config)
	handler := fasthttpadaptor.NewFastHTTPHandler(h)
	if *syncMode {
		handler = syncHandler(h)
	}
	srv := &fasthttp.Server{
		Handler:                       handler,
		Name:                          "",
		NoDefaultServerHeader:         true,
		ReadTimeout:                   30 * time.Second,
		IdleTimeout:                   120 * time.Second,
		MaxRequestBodySize:            2*1024*1024 + 512*1024,
		DisableHeaderNamesNormalizing: false,
	}
	log.Printf("fasthttp bridge on %s (GOMAXPROCS %d)", *listen, runtime.GOMAXPROCS(0))
	log.Fatal(srv.ListenAndServe(*listen))
}

// exchange is the pooled net/http view of one fasthttp request.
type exchange struct {
	r    http.Request
	w    writer
	body bytes.Reader
}

var exchanges = sync.Pool{New: func() any { return &exchange{} }}

type writer struct {
	ctx    *fasthttp.RequestCtx
	header http.Header
	status int
}

func (w *writer) Header() http.Header { return w.header }
func (w *writer) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *writer) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = 200
	}
	return w.ctx.Write(p)
}

// syncHandler runs h on fasthttp's goroutine, the answer buffered.
func syncHandler(h http.Handler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		x := exchanges.Get().(*exchange)
		if err := fasthttpadaptor.ConvertRequest(ctx, &x.r, true); err != nil {
			ctx.Error("bad request", 400)
			exchanges.Put(x)
			return
		}
		x.body.Reset(ctx.PostBody())
		x.r.Body = io.NopCloser(&x.body)
		if x.w.header == nil {
			x.w.header = make(http.Header)
		}
		x.w.ctx, x.w.status = ctx, 0
		h.ServeHTTP(&x.w, x.r.WithContext(context.Background()))
		if x.w.status == 0 {
			x.w.status = 200
		}
		ctx.SetStatusCode(x.w.status)
		for k, vs := range x.w.header {
			for _, v := range vs {
				ctx.Response.Header.Add(k, v)
			}
			delete(x.w.header, k)
		}
		x.w.ctx = nil
		exchanges.Put(x)
	}
}
