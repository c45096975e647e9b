package gateway

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkHTTPProxy: one GET through the http integration to a backend on
// loopback, over a kept-alive connection, as bench/run's apigw-http target
// does without the client's leg. Its allocations are the gateway's own.
func BenchmarkHTTPProxy(b *testing.B) {
	// A backend that allocates nothing per request, so that the figures are
	// the gateway's: it answers each GET's head with a canned response.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadSlice('\n')
					if err != nil {
						return
					}
					if len(line) <= 2 { // the blank line ending a head
						c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"))
					}
				}
			}()
		}
	}()
	backendURL := "http://" + l.Addr().String()
	h := benchHandler(b, []byte(`openapi: 3.0.0
paths:
  /proxy:
    get:
      x-yc-apigateway-integration: {type: http, url: '`+backendURL+`/'}
`))
	req := httptest.NewRequest("GET", "/proxy", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}
