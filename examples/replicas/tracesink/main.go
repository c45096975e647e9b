// Command tracesink is the smallest OTLP/HTTP trace receiver: it accepts the
// spans apigw exports (protobuf, gzip or not) and prints one line per span,
// so that a newcomer sees traces without installing a collector. Any real
// collector (the OpenTelemetry Collector, Jaeger, Tempo) listens on the same
// port and path and replaces it.
//
//	go run ./examples/replicas/tracesink              # 127.0.0.1:4318
//	go run ./examples/replicas/tracesink -listen :4318
package main

import (
	"bufio"
	"compress/gzip"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"sync"
	"time"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// maxExport bounds one export's body; the SDK's batches are far smaller.
const maxExport = 16 << 20

func main() {
	listen := flag.String("listen", "127.0.0.1:4318", "address to receive OTLP/HTTP on")
	flag.Parse()
	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	http.HandleFunc("POST /v1/traces", func(w http.ResponseWriter, r *http.Request) {
		var body io.Reader = http.MaxBytesReader(w, r.Body, maxExport)
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(body)
			if err != nil {
				http.Error(w, "bad gzip: "+err.Error(), http.StatusBadRequest)
				return
			}
			body = io.LimitReader(zr, maxExport)
		}
		b, err := io.ReadAll(body)
		var req coltrace.ExportTraceServiceRequest
		if err == nil {
			err = proto.Unmarshal(b, &req)
		}
		if err != nil {
			http.Error(w, "bad export: "+err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		for _, rs := range req.ResourceSpans {
			service := ""
			for _, a := range rs.GetResource().GetAttributes() {
				if a.Key == "service.name" {
					service = a.GetValue().GetStringValue()
				}
			}
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					parent := "-"
					if len(s.ParentSpanId) > 0 {
						parent = hex.EncodeToString(s.ParentSpanId)
					}
					fmt.Fprintf(out, "%s trace=%s span=%s parent=%s %s %q %s",
						time.Unix(0, int64(s.StartTimeUnixNano)).UTC().Format("15:04:05.000"),
						hex.EncodeToString(s.TraceId), hex.EncodeToString(s.SpanId), parent,
						service, s.Name, time.Duration(s.EndTimeUnixNano-s.StartTimeUnixNano))
					for _, a := range s.Attributes {
						if v := a.GetValue(); v.GetStringValue() != "" {
							fmt.Fprintf(out, " %s=%s", a.Key, v.GetStringValue())
						} else if v.GetIntValue() != 0 {
							fmt.Fprintf(out, " %s=%d", a.Key, v.GetIntValue())
						}
					}
					fmt.Fprintln(out)
				}
			}
		}
		out.Flush()
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		b, _ = proto.Marshal(&coltrace.ExportTraceServiceResponse{})
		w.Write(b)
	})
	log.Printf("tracesink: OTLP/HTTP on http://%s/v1/traces", *listen)
	srv := &http.Server{Addr: *listen, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
