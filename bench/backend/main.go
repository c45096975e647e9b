// Command backend is the peer of the benchmarks: a bare Go net/http server
// answering "ok" on every path. It is both the "bare Go server" the dummy
// integration is compared with and the upstream every proxy forwards to.
package main

import (
	"flag"
	"log"
	"net/http"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:18081", "listen address")
	flag.Parse()
	body := []byte("ok\n")
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(body)
	})
	log.Fatal(http.ListenAndServe(*addr, h))
}
