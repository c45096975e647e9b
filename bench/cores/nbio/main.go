// Command nbio serves apigw's own gateway (the compiled snapshot and
// gateway.Handler, unchanged) on lesismal/nbio's event-loop HTTP engine
// instead of net/http's goroutine-per-connection server: what moving the
// listener alone buys, with every integration kept behind the net/http
// Handler contract.
//
//	nbio -spec api.yaml -config apigw.yaml -listen 127.0.0.1:18102
package main

import (
	"flag"
	"log"
	"runtime"
	"time"

	"github.com/lesismal/nbio/nbhttp"

	"github.com/apigw/apigw/bench/cores/apigwgw"
	"github.com/apigw/apigw/bench/cores/stats"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18102", "listen address")
	spec := flag.String("spec", "", "the spec")
	config := flag.String("config", "", "the bindings")
	statsAddr := flag.String("stats", "", "serve /mallocs (heap objects allocated so far) on this address")
	flag.Parse()
	stats.Serve(*statsAddr)
	h := apigwgw.Load(*spec, *config)
	engine := nbhttp.NewEngine(nbhttp.Config{
		Network:         "tcp",
		Addrs:           []string{*listen},
		Handler:         h,
		KeepaliveTime:   120 * time.Second,
		WriteTimeout:    30 * time.Second,
		MaxLoad:         1 << 20,
		MaxHTTPBodySize: 2*1024*1024 + 512*1024,
		ReadLimit:       2*1024*1024 + 512*1024 + 64<<10, // a whole request: head and body
	})
	if err := engine.Start(); err != nil {
		log.Fatal(err)
	}
	log.Printf("nbio core on %s (GOMAXPROCS %d)", *listen, runtime.GOMAXPROCS(0))
	select {}
}
