package gateway

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apigw/apigw/internal/config"
	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/spec"
	"github.com/prometheus/client_golang/prometheus"
)

// serve builds the spec with the bindings and serves it on a real socket.
func serve(t *testing.T, src, bindings string) *httptest.Server {
	t.Helper()
	srv, _ := serveHandler(t, src, bindings)
	return srv
}

// serveHandler is serve that also returns the gateway handler.
func serveHandler(t *testing.T, src, bindings string) (*httptest.Server, *Handler) {
	t.Helper()
	b, errs := config.Parse([]byte(bindings))
	if errs.Err() != nil {
		t.Fatalf("bindings: %v", errs)
	}
	doc, errs := spec.Load("api.yaml", []byte(src), b.VariableValues())
	if errs.Err() != nil {
		t.Fatalf("spec: %v", errs)
	}
	snap, errs := Build(doc, b, integration.NewDeps())
	if snap == nil {
		t.Fatalf("build: %v", errs)
	}
	h := NewHandler(slog.New(slog.NewTextHandler(io.Discard, nil)), NewMetrics(prometheus.NewRegistry()))
	h.Swap(snap)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, h
}

type response struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, method, url string, header map[string]string, body io.Reader) response {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{res.StatusCode, res.Header, string(b)}
}

const dummySpec = `openapi: 3.0.0
paths:
  /hello:
    get:
      parameters:
        - {name: user, in: query, schema: {type: string, default: world}}
      x-yc-apigateway-integration:
        type: dummy
        http_code: 200
        content: {'text/plain': "Hello, {user}!"}
  /json-only:
    get:
      x-yc-apigateway-integration:
        type: dummy
        http_code: 200
        content: {'application/json': '{"a":1}'}
  /negotiate:
    get:
      x-yc-apigateway-integration:
        type: dummy
        http_code: 200
        http_headers: {Content-Type: text/plain}
        content: {'application/json': '{"j":1}', '*': 'T'}
  /variants:
    get:
      x-yc-apigateway-integration:
        type: dummy
        http_code: 203
        content: {'application/json': '{"j":1}', 'text/html': '<b>h</b>', '*': 'star'}
  /cookies/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      x-yc-apigateway-integration:
        type: dummy
        http_code: 302
        http_headers:
          Location: /new/{id}
          Set-Cookie: ["a={id}", "b=2"]
          X-Undeclared: "{Host}"
        content: {'*': moved}
  /inject:
    get:
      parameters: [{name: v, in: query, schema: {type: string}}]
      x-yc-apigateway-integration:
        type: dummy
        http_code: 200
        http_headers: {X-V: "{v}"}
        content: {'*': ok}
  /methods:
    get:
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': g}}
    x-yc-apigateway-any-method:
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': any}}
  /only-get:
    get:
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': g}}
    put:
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': p}}
  /a/{p1}/b:
    get:
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': p1b}}
  /a/{p2}/{p3}:
    get:
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': p2p3}}
  /static/{file+}:
    get:
      parameters: [{name: file, in: path, required: true, schema: {type: string}}]
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': 'file={file}'}}
`

func TestDummy(t *testing.T) {
	srv := serve(t, dummySpec, "")
	tests := []struct {
		desc       string
		method     string
		path       string
		header     map[string]string
		status     int
		body       string
		headerWant map[string]string
	}{
		{"default parameter", "GET", "/hello", nil, 200, "Hello, world!", map[string]string{"Content-Type": "text/plain"}},
		{"query parameter", "GET", "/hello?user=API", nil, 200, "Hello, API!", nil},
		{"no acceptable variant: 415", "GET", "/json-only", map[string]string{"Accept": "application/xml"}, 415, "", map[string]string{"Content-Type": "application/json"}},
		{"fallback '*' with explicit Content-Type", "GET", "/negotiate", map[string]string{"Accept": "text/csv"}, 200, "T", map[string]string{"Content-Type": "text/plain"}},
		{"explicit Content-Type wins over the key", "GET", "/negotiate", map[string]string{"Accept": "application/json"}, 200, `{"j":1}`, map[string]string{"Content-Type": "text/plain"}},
		{"quality values", "GET", "/variants", map[string]string{"Accept": "application/json;q=0.5, text/html"}, 203, "<b>h</b>", map[string]string{"Content-Type": "text/html"}},
		{"wildcard type range", "GET", "/variants", map[string]string{"Accept": "text/*"}, 203, "<b>h</b>", nil},
		{"no Accept: '*' variant", "GET", "/variants", nil, 203, "star", map[string]string{"Content-Type": "text/plain; charset=utf-8"}},
		{"explicit method wins", "GET", "/methods", nil, 200, "g", nil},
		{"any-method takes the rest", "DELETE", "/methods", nil, 200, "any", nil},
		{"fixed segment beats param (3rd)", "GET", "/a/x/b", nil, 200, "p1b", nil},
		{"param route", "GET", "/a/x/c", nil, 200, "p2p3", nil},
		{"greedy param", "GET", "/static/js/app.js", nil, 200, "file=js/app.js", nil},
		{"trailing slash ignored", "GET", "/hello/", nil, 200, "Hello, world!", nil},
		{"dot segments resolved", "GET", "/static/x/../y", nil, 200, "file=y", nil},
		{"CR/LF never reaches a header", "GET", "/inject?v=a%0d%0aX-Evil:%201", nil, 400, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			res := do(t, tt.method, srv.URL+tt.path, tt.header, nil)
			if res.status != tt.status {
				t.Fatalf("status = %d, want %d (body %s)", res.status, tt.status, res.body)
			}
			if tt.body != "" && res.body != tt.body {
				t.Errorf("body = %q, want %q", res.body, tt.body)
			}
			for k, v := range tt.headerWant {
				if got := res.header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if res.header.Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id on the response")
			}
			if res.header.Get("X-Evil") != "" {
				t.Error("header injected")
			}
		})
	}
}

func TestDummyHeaders(t *testing.T) {
	srv := serve(t, dummySpec, "")
	req, _ := http.NewRequest("GET", srv.URL+"/cookies/42", nil)
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 302 || res.Header.Get("Location") != "/new/42" {
		t.Fatalf("status %d, Location %q", res.StatusCode, res.Header.Get("Location"))
	}
	if got := res.Header.Values("Set-Cookie"); len(got) != 2 || got[0] != "a=42" || got[1] != "b=2" {
		t.Errorf("Set-Cookie = %q, want two lines a=42 and b=2", got)
	}
	if got := res.Header.Get("X-Undeclared"); got != "{Host}" {
		t.Errorf("undeclared placeholder = %q, want it literal", got)
	}
}

func TestGatewayErrors(t *testing.T) {
	srv := serve(t, dummySpec, "")
	res := do(t, "GET", srv.URL+"/nope", nil, nil)
	if res.status != 404 || res.header.Get("Content-Type") != "application/json" || !strings.Contains(res.body, `"message":"Not Found"`) {
		t.Errorf("404: %d %s %s", res.status, res.header.Get("Content-Type"), res.body)
	}
	res = do(t, "POST", srv.URL+"/only-get", nil, nil)
	if res.status != 405 || res.header.Get("Allow") != "GET, PUT" {
		t.Errorf("405: %d Allow=%q", res.status, res.header.Get("Allow"))
	}
	res = do(t, "GET", srv.URL+"/static/%2e%2e/etc", nil, nil)
	if res.status != 400 {
		t.Errorf("encoded dot segment: %d, want 400", res.status)
	}
	res = do(t, "GET", srv.URL+"/hello", map[string]string{"X-Request-Id": "trace-123"}, nil)
	if res.header.Get("X-Request-Id") != "trace-123" {
		t.Errorf("incoming X-Request-Id not kept: %q", res.header.Get("X-Request-Id"))
	}

	srv404 := serve(t, dummySpec, "routing: {method_not_allowed: 404}\n")
	if res := do(t, "POST", srv404.URL+"/only-get", nil, nil); res.status != 404 {
		t.Errorf("method_not_allowed: 404 gives %d", res.status)
	}
	strict := serve(t, "openapi: 3.0.0\nx-yc-apigateway: {ignoreTrailingSlashes: false}\npaths:\n  /pets:\n    get:\n      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': p}}\n", "")
	if res := do(t, "GET", strict.URL+"/pets/", nil, nil); res.status != 404 {
		t.Errorf("ignoreTrailingSlashes false: /pets/ gives %d, want 404", res.status)
	}
	if res := do(t, "GET", strict.URL+"/pets", nil, nil); res.status != 200 {
		t.Errorf("ignoreTrailingSlashes false: /pets gives %d", res.status)
	}
}

func TestBodyLimit(t *testing.T) {
	srv := serve(t, dummySpec, "limits: {max_request_body: 1KB}\n")
	res := do(t, "PUT", srv.URL+"/methods", nil, bytes.NewReader(make([]byte, 2048)))
	if res.status != 413 || !strings.Contains(res.body, "larger than 1024 bytes") {
		t.Errorf("413 by Content-Length: %d %s", res.status, res.body)
	}
}

// TestChunkedBodyLimit: a body of unknown length is held to the limit on
// every route, whether or not its integration reads it: a dummy answer
// and a CORS preflight are refused with 413 as a function is, and an http
// integration, which streams bodies, never completes an upstream request
// with one. The connection then closes. Within the limit it goes on.
func TestChunkedBodyLimit(t *testing.T) {
	var calls, complete atomic.Int64
	var got atomic.Value
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		b, err := io.ReadAll(r.Body)
		if err == nil {
			complete.Add(1)
		}
		got.Store(fmt.Sprintf("%d %d %v", len(b), r.ContentLength, r.TransferEncoding))
	}))
	t.Cleanup(up.Close)
	fn := newFakeFunction(t)
	src := `openapi: 3.0.0
paths:
  /dummy:
    x-yc-apigateway-cors: {origin: '*', methods: [POST]}
    post:
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': ok}}
  /proxy:
    post:
      x-yc-apigateway-integration: {type: http, url: "` + up.URL + `/"}
  /fn:
    post:
      x-yc-apigateway-integration: {type: cloud_functions, function_id: fn}
`
	srv := serve(t, src, "limits: {max_request_body: 1KB}\nfunctions: {fn: {url: '"+fn.srv.URL+"'}}\n")
	addr := strings.TrimPrefix(srv.URL, "http://")
	// send writes a request with a chunked body of n bytes over a new
	// connection and returns the response and, for a 413, whether the
	// gateway then closed the connection.
	send := func(method, path string, n int, extra string) (*http.Response, string, bool) {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		go func() {
			fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n%s\r\n", method, path, extra)
			chunk := bytes.Repeat([]byte("a"), 512)
			for sent := 0; sent < n; sent += len(chunk) {
				if _, err := fmt.Fprintf(c, "%x\r\n%s\r\n", len(chunk), chunk); err != nil {
					return // the gateway stopped reading: what a refusal looks like
				}
			}
			io.WriteString(c, "0\r\n\r\n")
		}()
		br := bufio.NewReader(c)
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		closed := false
		if res.StatusCode == 413 {
			_, err := br.ReadByte()
			closed = err == io.EOF
		}
		return res, string(body), closed
	}
	for _, tt := range []struct{ method, path, extra string }{
		{"POST", "/dummy", ""},
		{"OPTIONS", "/dummy", "Origin: http://a.example\r\nAccess-Control-Request-Method: POST\r\n"},
		{"POST", "/proxy", ""},
		{"POST", "/fn", ""},
	} {
		res, body, closed := send(tt.method, tt.path, 3*1024, tt.extra)
		if res.StatusCode != 413 || res.Header.Get("Content-Type") != "application/json" || !strings.Contains(body, "larger than 1024 bytes") || !closed {
			t.Errorf("%s %s with 3 KB chunked: %d %q, connection closed %v", tt.method, tt.path, res.StatusCode, body, closed)
		}
	}
	if complete.Load() != 0 {
		t.Errorf("the upstream received %d complete requests with a body over the limit", complete.Load())
	}
	if n, _ := fn.last(); n != nil {
		t.Errorf("the function was invoked with a body over the limit")
	}
	res, body, _ := send("POST", "/dummy", 1024, "")
	if res.StatusCode != 200 || body != "ok" {
		t.Errorf("1 KB chunked to /dummy: %d %q", res.StatusCode, body)
	}
	if res, _, _ := send("POST", "/proxy", 1024, ""); res.StatusCode != 200 || got.Load() != "1024 -1 [chunked]" {
		t.Errorf("1 KB chunked to /proxy: %d, the upstream got %v (streamed on)", res.StatusCode, got.Load())
	}
}

// upstream records what the http integration sent.
type upstream struct {
	mu   sync.Mutex
	last *http.Request
	body []byte
	srv  *httptest.Server
}

func newUpstream(t *testing.T, h http.HandlerFunc) *upstream {
	u := &upstream{}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.last, u.body = r, b
		u.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		w.Header().Set("X-Upstream", "yes")
		w.Header().Set("Connection", "X-Hop")
		w.Header().Set("X-Hop", "must-not-pass")
		io.WriteString(w, "from upstream")
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstream) request() (*http.Request, string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.last, string(u.body)
}

func TestHTTPIntegration(t *testing.T) {
	up := newUpstream(t, nil)
	host := strings.TrimPrefix(up.srv.URL, "http://")
	src := `openapi: 3.0.0
paths:
  /plain/{path+}:
    get:
      parameters: [{name: path, in: path, required: true, schema: {type: string}}]
      x-yc-apigateway-integration: {type: http, url: "` + up.srv.URL + `/{path}"}
    put:
      parameters: [{name: path, in: path, required: true, schema: {type: string}}]
      x-yc-apigateway-integration: {type: http, url: "` + up.srv.URL + `/{path}"}
    post:
      parameters: [{name: path, in: path, required: true, schema: {type: string}}]
      x-yc-apigateway-integration: {type: http, method: post, url: "` + up.srv.URL + `/{path}"}
    delete:
      parameters: [{name: path, in: path, required: true, schema: {type: string}}]
      x-yc-apigateway-integration: {type: http, method: POST, url: "` + up.srv.URL + `/{path}"}
  /all:
    get:
      x-yc-apigateway-integration:
        type: http
        url: "` + up.srv.URL + `/all?fixed=1"
        headers: {'*': '*', X-Drop: "", Bar-Header: [one, two]}
        query: {'*': '*', drop: "", tags: [a, b]}
        omitEmptyHeaders: true
        omitEmptyQueryParameters: true
  /items/{id}:
    get:
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
        - {name: q, in: query, schema: {type: string}}
      x-yc-apigateway-integration:
        type: http
        url: "` + up.srv.URL + `/v1/{id}/x?q={q}"
        headers: {X-Id: '{id}', Host: pinned.example, X-Empty: ""}
        query: {tags: [a, b]}
`
	srv := serve(t, src, "gateway_id: gw-test\n")

	t.Run("nothing forwarded but User-Agent (conformance 16)", func(t *testing.T) {
		res := do(t, "GET", srv.URL+"/plain/a/b?q=1", map[string]string{"X-Foo": "1", "User-Agent": "ua", "X-Forwarded-For": "10.0.0.1"}, nil)
		if res.status != 200 || res.body != "from upstream" || res.header.Get("X-Upstream") != "yes" {
			t.Fatalf("response %d %q", res.status, res.body)
		}
		if res.header.Get("X-Hop") != "" {
			t.Error("a hop-by-hop response header passed through")
		}
		r, _ := up.request()
		if r.URL.Path != "/a/b" || r.URL.RawQuery != "" {
			t.Errorf("upstream URL = %s", r.URL)
		}
		if r.Header.Get("X-Foo") != "" || r.Header.Get("User-Agent") != "ua" {
			t.Errorf("X-Foo = %q, User-Agent = %q", r.Header.Get("X-Foo"), r.Header.Get("User-Agent"))
		}
		if r.Host != host {
			t.Errorf("Host = %q, want derived from url %q", r.Host, host)
		}
		if got := r.Header.Get("X-Forwarded-For"); got != "10.0.0.1, 127.0.0.1" {
			t.Errorf("X-Forwarded-For = %q", got)
		}
		if r.Header.Get("X-Request-Id") != res.header.Get("X-Request-Id") || r.Header.Get("X-Serverless-Gateway-Id") != "gw-test" ||
			r.Header.Get("X-Forwarded-Proto") != "http" || !strings.HasPrefix(r.Header.Get("X-Real-Remote-Address"), "127.0.0.1:") {
			t.Errorf("gateway headers: %v", r.Header)
		}
	})
	t.Run("method kept or overridden (conformance 20)", func(t *testing.T) {
		do(t, "PUT", srv.URL+"/plain/m", nil, strings.NewReader("payload"))
		r, body := up.request()
		if r.Method != "PUT" || body != "payload" {
			t.Errorf("PUT arrived as %s with %q", r.Method, body)
		}
		do(t, "DELETE", srv.URL+"/plain/m", nil, nil)
		if r, _ := up.request(); r.Method != "POST" {
			t.Errorf("method: POST override arrived as %s", r.Method)
		}
		do(t, "POST", srv.URL+"/plain/m", nil, nil)
		if r, _ := up.request(); r.Method != "POST" {
			t.Errorf("lower-case method: arrived as %s", r.Method)
		}
	})
	t.Run("wildcards, omitted entries, arrays (conformance 17, 18)", func(t *testing.T) {
		do(t, "GET", srv.URL+"/all?keep=1&drop=2&x=%26y", map[string]string{"X-Keep": "k", "X-Drop": "d", "Host": "client.example", "Connection": "X-Conn", "X-Conn": "c"}, nil)
		r, _ := up.request()
		if r.Header.Get("X-Keep") != "k" || r.Header.Get("X-Drop") != "" || r.Header.Get("Bar-Header") != "one,two" {
			t.Errorf("headers: %v", r.Header)
		}
		if r.Header.Get("X-Conn") != "" {
			t.Error("a header named by Connection was forwarded")
		}
		if r.Host != "client.example" {
			t.Errorf("Host = %q, want the client's with '*'", r.Host)
		}
		if got := r.URL.RawQuery; got != "fixed=1&tags=a%2Cb&keep=1&x=%26y" {
			t.Errorf("query = %q", got)
		}
	})
	t.Run("substitution, pinned Host (conformance 19)", func(t *testing.T) {
		do(t, "GET", srv.URL+"/items/7?q=a%26b", nil, nil)
		r, _ := up.request()
		if r.Header.Get("X-Id") != "7" || r.Host != "pinned.example" {
			t.Errorf("X-Id = %q, Host = %q", r.Header.Get("X-Id"), r.Host)
		}
		if _, ok := r.Header["X-Empty"]; !ok {
			t.Error("an empty header without omitEmptyHeaders must still be sent")
		}
		if r.URL.Path != "/v1/7/x" || r.URL.RawQuery != "q=a%26b&tags=a%2Cb" {
			t.Errorf("URL = %s", r.URL)
		}
	})
	t.Run("values cannot escape the URL template", func(t *testing.T) {
		do(t, "GET", srv.URL+"/items/a%2F..%2Fadmin%3Fx", nil, nil)
		r, _ := up.request()
		if r.URL.EscapedPath() != "/v1/a%2F..%2Fadmin%3Fx/x" {
			t.Errorf("escaped path = %s", r.URL.EscapedPath())
		}
		if res := do(t, "GET", srv.URL+"/items/%2e%2e", nil, nil); res.status != 400 {
			t.Errorf("encoded dot segment: %d", res.status)
		}
	})
}

func TestHTTPFailures(t *testing.T) {
	slow := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(3 * time.Second):
		case <-r.Context().Done():
		}
	})
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	src := `openapi: 3.0.0
paths:
  /dead:
    get:
      x-yc-apigateway-integration: {type: http, url: "` + deadURL + `/"}
  /slow:
    get:
      x-yc-apigateway-integration: {type: http, url: "` + slow.srv.URL + `/", timeouts: {read: 0.2}}
  /slow-exec:
    get:
      x-yc-apigateway-integration: {type: http, url: "` + slow.srv.URL + `/"}
  /upload:
    post:
      x-yc-apigateway-integration: {type: http, url: "` + slow.srv.URL + `/"}
`
	srv := serve(t, src, "limits: {execution_timeout: 0.3s, max_request_body: 1KB}\n")
	for _, tt := range []struct {
		path   string
		status int
		msg    string
	}{
		{"/dead", 502, "upstream is unreachable"},
		{"/slow", 504, "timeouts.read"},
		{"/slow-exec", 504, "execution timeout"},
	} {
		res := do(t, "GET", srv.URL+tt.path, nil, nil)
		if res.status != tt.status || !strings.Contains(res.body, tt.msg) || res.header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %s", tt.path, res.status, res.body)
		}
	}
	// A chunked body (no Content-Length) over the limit is cut while streaming.
	pr, pw := io.Pipe()
	go func() { pw.Write(make([]byte, 4096)); pw.Close() }()
	res := do(t, "POST", srv.URL+"/upload", nil, pr)
	if res.status != 413 {
		t.Errorf("chunked upload over the limit: %d %s", res.status, res.body)
	}
}

func TestHTTPUpstreamConnections(t *testing.T) {
	var conns atomic.Int64
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/chunked":
			w.Header().Set("Trailer", "X-Sum")
			io.WriteString(w, "part1,")
			w.(http.Flusher).Flush()
			io.WriteString(w, "part2")
			w.Header().Set("X-Sum", "2")
		case "/sse":
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "data: first\n\n")
			w.(http.Flusher).Flush()
			<-r.Context().Done() // until the client hangs up
		case "/broken":
			w.Header().Set("Content-Length", "100")
			io.WriteString(w, "only part")
			w.(http.Flusher).Flush()
			c, _, _ := w.(http.Hijacker).Hijack()
			c.Close()
		default:
			io.WriteString(w, "ok")
		}
	}))
	up.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	up.Config.IdleTimeout = 200 * time.Millisecond
	up.Start()
	defer up.Close()
	src := `openapi: 3.0.0
paths:
  /{p+}:
    get:
      parameters: [{name: p, in: path, required: true}]
      x-yc-apigateway-integration: {type: http, url: "` + up.URL + `/{p}"}
`
	srv := serve(t, src, "")

	for i := 0; i < 20; i++ {
		if res := do(t, "GET", srv.URL+"/ok", nil, nil); res.status != 200 || res.body != "ok" {
			t.Fatalf("request %d: %d %q", i, res.status, res.body)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("20 sequential requests used %d upstream connections, want 1 (keep-alive)", n)
	}
	// The upstream closes the idle connection; the next request is retried
	// on a new one instead of failing.
	time.Sleep(400 * time.Millisecond)
	if res := do(t, "GET", srv.URL+"/ok", nil, nil); res.status != 200 {
		t.Errorf("after the upstream closed an idle connection: %d %s", res.status, res.body)
	}

	res, err := http.Get(srv.URL + "/chunked")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "part1,part2" || res.Trailer.Get("X-Sum") != "2" {
		t.Errorf("chunked: %q, trailer %q", b, res.Trailer.Get("X-Sum"))
	}

	// An event stream is flushed as it comes.
	res, err = http.Get(srv.URL + "/sse")
	if err != nil {
		t.Fatal(err)
	}
	line := make(chan string, 1)
	go func() {
		buf := make([]byte, 64)
		n, _ := res.Body.Read(buf)
		line <- string(buf[:n])
	}()
	select {
	case got := <-line:
		if got != "data: first\n\n" {
			t.Errorf("first event = %q", got)
		}
	case <-time.After(3 * time.Second):
		t.Error("the first event did not arrive while the stream stayed open")
	}
	res.Body.Close()

	// A body broken mid-way reaches the client as a broken transfer.
	res, err = http.Get(srv.URL + "/broken")
	if err == nil {
		_, err = io.ReadAll(res.Body)
		res.Body.Close()
	}
	if err == nil {
		t.Error("a truncated upstream body looked complete to the client")
	}
}

// TestHTTPUpgrade: a protocol upgrade (a WebSocket to a backend behind an
// http integration) is spliced through in both directions.
func TestHTTPUpgrade(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "echo" || !strings.EqualFold(r.Header.Get("Connection"), "Upgrade") {
			http.Error(w, "want an upgrade", http.StatusBadRequest)
			return
		}
		c, brw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		brw.Flush()
		line, _ := brw.ReadString('\n')
		brw.WriteString("echo: " + line)
		brw.Flush()
	}))
	defer up.Close()
	srv := serve(t, `openapi: 3.0.0
paths:
  /ws:
    get:
      x-yc-apigateway-integration: {type: http, url: "`+up.URL+`/ws"}
`, "")
	c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil || res.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", res, err)
	}
	io.WriteString(c, "hello\n")
	if line, err := br.ReadString('\n'); err != nil || line != "echo: hello\n" {
		t.Fatalf("after the upgrade: %q %v", line, err)
	}
}
