// Package stats lets bench/cores read a prototype's heap allocations.
package stats

import (
	"fmt"
	"log"
	"net/http"
	"runtime/metrics"
)

// Serve answers GET /mallocs with the heap objects allocated so far,
// for allocations per request (bench/cores reads it before and after).
func Serve(addr string) {
	if addr == "" {
		return
	}
	go func() {
		log.Fatal(http.ListenAndServe(addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := []metrics.Sample{{Name: "/gc/heap/allocs:objects"}}
			metrics.Read(s)
			fmt.Fprintln(w, s[0].Value.Uint64())
		})))
	}()
}
