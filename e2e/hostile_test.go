package e2e

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rawExchange writes raw to addr and reads responses until the server
// closes the connection or stays quiet for a second: their statuses, and
// whether it closed.
func rawExchange(t *testing.T, addr, raw string) ([]int, bool) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, raw)
	br := bufio.NewReader(c)
	var statuses []int
	for {
		c.SetReadDeadline(time.Now().Add(time.Second))
		line, err := br.ReadString('\n')
		if err != nil {
			ne, ok := err.(net.Error)
			return statuses, !(ok && ne.Timeout())
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			t.Fatalf("status line %q", line)
		}
		st, _ := strconv.Atoi(f[1])
		statuses = append(statuses, st)
		length := 0
		for {
			h, err := br.ReadString('\n')
			if err != nil {
				return statuses, true
			}
			if h = strings.TrimRight(h, "\r\n"); h == "" {
				break
			}
			if k, v, _ := strings.Cut(h, ":"); strings.EqualFold(k, "Content-Length") {
				length, _ = strconv.Atoi(strings.TrimSpace(v))
			}
		}
		io.CopyN(io.Discard, br, int64(length))
	}
}

// TestHostileRequestLines: what a gateway's listener must refuse or
// survive (the checks bench/cores/hostile runs against every candidate
// core). The one net/http let through, a request hidden behind
// Content-Length in a chunked request's body, is closed off by the
// gateway: a chunked request's connection closes after its answer.
func TestHostileRequestLines(t *testing.T) {
	dir := t.TempDir()
	spec := writeFile(t, dir, "api.yaml", "openapi: 3.0.0\npaths:\n  /ok:\n    x-yc-apigateway-any-method:\n      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': ok}}\n")
	g := start(t, "--spec", spec)
	addr := strings.TrimPrefix(g.URL, "http://")
	for _, tc := range []struct {
		name, raw string
		want      []int // the responses before the close
	}{
		{"CL and TE: one answer, then the close", "POST /ok HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n", []int{200}},
		{"two Content-Lengths", "POST /ok HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 40\r\n\r\nabc", []int{400}},
		{"an unknown transfer coding", "POST /ok HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n", []int{501}},
		{"a bad chunk size", "POST /ok HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", []int{400}},
		{"a bare CR in a header", "GET /ok HTTP/1.1\r\nHost: x\r\nX-A: a\rX-B: 1\r\n\r\n", []int{400}},
		{"a NUL in a header", "GET /ok HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", []int{400}},
		{"a bad request line", "GET /ok HTTP/1.1 extra\r\nHost: x\r\n\r\n", []int{400}},
		{"a 100 KB header", "GET /ok HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 100<<10) + "\r\n\r\n", []int{431}},
		{"absolute-form is served as its path", "GET http://evil.example/ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", []int{200}},
		{"%2F is no separator", "GET /ok%2F..%2F..%2Fetc%2Fpasswd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", []int{404}},
		{"a chunked upload is answered, then closed", "POST /ok HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", []int{200}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, closed := rawExchange(t, addr, tc.raw)
			if len(got) != len(tc.want) || !closed {
				t.Fatalf("responses %v, closed %v; want %v, then the close", got, closed, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("responses %v, want %v", got, tc.want)
				}
			}
		})
	}
	// Keep-alive stays for everything else: three pipelined requests, three answers.
	one := "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n"
	if got, _ := rawExchange(t, addr, one+one+one); len(got) != 3 {
		t.Errorf("pipelined: %v", got)
	}
}

// TestClientHangUpCancelsTheBackendCall: a client that goes away while a
// slow backend works must not leave the gateway waiting for that backend
// (or a flood of such clients would pile up work and connections against
// the slowest dependency until the execution timeout). The gateway stops
// the backend call at once, for a proxied URL and for a function alike,
// and logs the request as 499. (A core that keeps the work going, such as
// fasthttp, whose request context is only cancelled at shutdown, fails
// this: one reason the listener stays on net/http; docs/performance.md.)
func TestClientHangUpCancelsTheBackendCall(t *testing.T) {
	arrived := make(chan string, 4)
	cancelled := make(chan string, 4)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // (net/http notices a closed connection only once the body is read)
		arrived <- r.URL.Path
		select {
		case <-r.Context().Done(): // the gateway closed its connection to us
			cancelled <- r.URL.Path
		case <-time.After(30 * time.Second):
			io.WriteString(w, `{"statusCode": 200, "body": "too late"}`)
		}
	}))
	defer slow.Close()
	dir := t.TempDir()
	spec := writeFile(t, dir, "api.yaml", `openapi: 3.0.0
paths:
  /proxy:
    get:
      x-yc-apigateway-integration: {type: http, url: '`+slow.URL+`/proxy'}
  /fn:
    get:
      x-yc-apigateway-integration: {type: cloud_functions, function_id: slowfn}
`)
	cfg := writeFile(t, dir, "apigw.yaml", "functions:\n  slowfn: {url: '"+slow.URL+"/fn'}\n")
	g := start(t, "--spec", spec, "--config", cfg)
	addr := strings.TrimPrefix(g.URL, "http://")
	for _, path := range []string{"/proxy", "/fn"} {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n")
		select {
		case got := <-arrived:
			if got != path {
				t.Fatalf("the backend got %s, want %s", got, path)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s never reached the backend", path)
		}
		c.Close() // the client hangs up while the backend works
		select {
		case got := <-cancelled:
			if got != path {
				t.Fatalf("cancelled %s, want %s", got, path)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: the gateway kept waiting for the backend after its client left", path)
		}
	}
	if !g.waitLog(`"status":499`, 5*time.Second) {
		t.Errorf("no 499 in the access log:\n%s", g.Logs())
	}
}
