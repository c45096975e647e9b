package gateway

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestServerlessContainers(t *testing.T) {
	type seen struct {
		method, uri, host, body string
		header                  http.Header
	}
	got := make(chan seen, 1)
	ctr := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.RequestURI, r.Host, string(b), r.Header.Clone()}
		w.Header().Set("X-From", "container")
		w.WriteHeader(202)
		io.WriteString(w, "done")
	}))
	defer ctr.Close()
	src := `openapi: 3.0.0
paths:
  /{proxy+}:
    x-yc-apigateway-any-method:
      parameters: [{name: proxy, in: path, required: false, schema: {type: string, default: '-'}}]
      x-yc-apigateway-integration:
        type: serverless_containers
        container_id: bba1
        context: {k: v, p: "{proxy}"}
`
	srv := serve(t, src, "containers:\n  bba1: {url: '"+ctr.URL+"/base'}\n")
	res := do(t, "PATCH", srv.URL+"/users/7?a=1&a=2", map[string]string{
		"Host": "client.example", "X-Custom": "c", "X-Forwarded-For": "10.0.0.1", "Connection": "X-Hop", "X-Hop": "h",
	}, strings.NewReader("payload"))
	if res.status != 202 || res.body != "done" || res.header.Get("X-From") != "container" {
		t.Fatalf("response %d %q %v", res.status, res.body, res.header)
	}
	s := <-got
	ctx, _ := base64.StdEncoding.DecodeString(s.header.Get("X-Yc-Apigateway-Operation-Context"))
	for _, c := range []struct{ desc, got, want string }{
		{"method", s.method, "PATCH"},
		{"path and query (after the bound URL's path)", s.uri, "/base/users/7?a=1&a=2"},
		{"Host preserved", s.host, "client.example"},
		{"body", s.body, "payload"},
		{"custom header", s.header.Get("X-Custom"), "c"},
		{"X-Forwarded-For appended", s.header.Get("X-Forwarded-For"), "10.0.0.1, 127.0.0.1"},
		{"hop-by-hop header dropped", s.header.Get("X-Hop"), ""},
		{"operation context (conformance 27)", string(ctx), `{"k":"v","p":"users/7"}`},
		{"request id", s.header.Get("X-Request-Id"), res.header.Get("X-Request-Id")},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.desc, c.got, c.want)
		}
	}
}

func TestDataSphere(t *testing.T) {
	answer := `{"out": 2}`
	node := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if string(b) != `{"x": 1}` {
			http.Error(w, "unexpected input "+string(b), 500)
			return
		}
		io.WriteString(w, answer)
	}))
	defer node.Close()
	src := `openapi: 3.0.0
paths:
  /predict:
    post:
      x-yc-apigateway-integration: {type: cloud_datasphere, folder_id: f1, node_id: n1}
`
	srv := serve(t, src, "datasphere:\n  n1: {url: '"+node.URL+"'}\n")
	if res := do(t, "POST", srv.URL+"/predict", nil, strings.NewReader(`{"x": 1}`)); res.status != 200 || res.body != `{"out": 2}` {
		t.Errorf("object in, object out: %d %s", res.status, res.body)
	}
	for _, body := range []string{`[1]`, `"x"`, `not json`, ``} {
		if res := do(t, "POST", srv.URL+"/predict", nil, strings.NewReader(body)); res.status != 400 || !strings.Contains(res.body, "JSON object") {
			t.Errorf("body %q: %d %s", body, res.status, res.body)
		}
	}
	answer = `[1, 2]`
	if res := do(t, "POST", srv.URL+"/predict", nil, strings.NewReader(`{"x": 1}`)); res.status != 502 {
		t.Errorf("node answering a non-object: %d %s", res.status, res.body)
	}
}
