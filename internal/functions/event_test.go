package functions

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"
)

var update = flag.Bool("update", false, "rewrite the golden event files")

// TestEventGolden renders the event of a table of requests in both payload
// versions and compares it with testdata/<name>.<version>.json
// (go test ./internal/functions -update rewrites them; review the diff).
func TestEventGolden(t *testing.T) {
	at := time.Date(2025, 9, 17, 4, 19, 34, 0, time.UTC)
	tests := []struct {
		name, method, target, template, opID, body string
		header                                     map[string][]string
		path                                       map[string]string
		declared                                   map[string][]string
		context                                    any
	}{
		{
			name: "get-pet", method: "GET", target: "/pets/42?verbose=1", template: "/pets/{petId}", opID: "getPet",
			header:   map[string][]string{"Accept": {"*/*"}, "User-Agent": {"curl/8.5.0"}},
			path:     map[string]string{"petId": "42"},
			declared: map[string][]string{"petId": {"42"}, "verbose": {"1"}},
			context:  map[string]any{"petId": "42", "source": "gateway"},
		},
		{
			name: "repeated-query-and-headers", method: "GET", target: "/search?tag=a&tag=b&q=x%20y", template: "/search",
			header:   map[string][]string{"X-Multi": {"1", "2"}, "Cookie": {"session=abc; theme=dark"}, "Connection": {"keep-alive, X-Hop"}, "X-Hop": {"h"}, "X-Forwarded-For": {"10.0.0.1"}},
			declared: map[string][]string{"tag": {"a", "b"}, "session": {"abc"}},
		},
		{
			name: "json-body", method: "POST", target: "/items", template: "/items", opID: "createItem",
			header: map[string][]string{"Content-Type": {"application/json; charset=utf-8"}},
			body:   `{"name":"ёлка","n":1}`,
		},
		{
			name: "binary-body", method: "PUT", target: "/files/a/b.bin", template: "/files/{path+}",
			header: map[string][]string{"Content-Type": {"application/octet-stream"}},
			path:   map[string]string{"path": "a/b.bin"},
			body:   "\x00\x01\xff\xfe",
		},
		{
			name: "text-body-unicode", method: "POST", target: "/echo/%D0%BF%D1%80%D0%B8%D0%B2%D0%B5%D1%82", template: "/echo/{word}",
			header: map[string][]string{"Content-Type": {"text/plain"}},
			path:   map[string]string{"word": "привет"},
			body:   "hello, world!",
		},
	}
	for _, tt := range tests {
		for _, version := range []string{"0.1", "1.0"} {
			t.Run(tt.name+"/"+version, func(t *testing.T) {
				r := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
				r.Host = "api.example.com"
				r.Header = map[string][]string{}
				for k, v := range tt.header {
					r.Header[k] = v
				}
				q := &Request{
					HTTP: r, Body: []byte(tt.body), Version: version, Template: tt.template, OperationID: tt.opID,
					PathParams: tt.path, Declared: tt.declared, RequestID: "0f61048c-0000-4000-8000-000000000001",
					ClientIP: "203.0.113.7", RemoteAddr: "203.0.113.7:50123", GatewayID: "gw1", Time: at,
					OperationContext: tt.context,
				}
				raw, err := Event(q)
				if err != nil {
					t.Fatal(err)
				}
				var pretty bytes.Buffer
				json.Indent(&pretty, raw, "", "  ")
				pretty.WriteByte('\n')
				file := filepath.Join("testdata", tt.name+"."+version+".json")
				if *update {
					os.WriteFile(file, pretty.Bytes(), 0o644)
					return
				}
				want, err := os.ReadFile(file)
				if err != nil {
					t.Fatalf("%v (run go test ./internal/functions -update to create it)", err)
				}
				if !bytes.Equal(pretty.Bytes(), want) {
					t.Errorf("event differs from %s:\n%s", file, pretty.String())
				}
			})
		}
	}
}

// TestEventRules checks the §8 rules one by one, independently of the
// golden files (so that an -update cannot bless a broken rule).
func TestEventRules(t *testing.T) {
	r := httptest.NewRequest("GET", "/pets/42?x=1&x=2", nil)
	r.Header["X-Multi"] = []string{"a", "b"}
	q := &Request{HTTP: r, Template: "/pets/{petId}", PathParams: map[string]string{"petId": "42"},
		Declared: map[string][]string{"x": {"1", "2"}}, RequestID: "rid", ClientIP: "1.2.3.4", Time: time.Unix(1758082774, 0)}
	var e01, e10 map[string]any
	raw, _ := Event(q)
	json.Unmarshal(raw, &e01)
	q.Version = "1.0"
	raw, _ = Event(q)
	json.Unmarshal(raw, &e10)

	checks := []struct {
		desc      string
		got, want any
	}{
		{"0.1 path is the template", e01["path"], "/pets/{petId}"},
		{"0.1 url is the actual path with the query", e01["url"], "/pets/42?x=1&x=2"},
		{"1.0 path is the actual path", e10["path"], "/pets/42"},
		{"1.0 resource is the template", e10["resource"], "/pets/{petId}"},
		{"1.0 version", e10["version"], "1.0"},
		{"0.1 has no version", e01["version"], nil},
		{"last query value wins", e01["queryStringParameters"].(map[string]any)["x"], "2"},
		{"last header value wins", e01["headers"].(map[string]any)["X-Multi"], "b"},
		{"params use the last value", e01["params"].(map[string]any)["x"], "2"},
		{"empty body is Base64 true", e01["isBase64Encoded"], true},
		{"request id in the context", e01["requestContext"].(map[string]any)["requestId"], "rid"},
		{"epoch seconds", e01["requestContext"].(map[string]any)["requestTimeEpoch"], float64(1758082774)},
		{"generated operationId", e10["operationId"], GeneratedOperationID("GET", "/pets/{petId}")},
		{"X-Request-Id is the request id", e01["headers"].(map[string]any)["X-Request-Id"], "rid"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.desc, c.got, c.want)
		}
	}
	if got := e01["requestContext"].(map[string]any)["requestTime"]; got != "17/Sep/2025:04:19:34 +0000" {
		t.Errorf("requestTime = %v", got)
	}
}

func TestEncodeBody(t *testing.T) {
	tests := []struct {
		ct, body, want string
		b64            bool
	}{
		{"application/json", `{"a":1}`, `{"a":1}`, false},
		{"application/json; charset=utf-8", `[1]`, `[1]`, false},
		{"application/problem+json", `{}`, `{}`, false},
		{"text/plain", "hi", "aGk=", true},
		{"application/x-www-form-urlencoded", "hello, world!", "aGVsbG8sIHdvcmxkIQ==", true},
		{"", "", "", true},
		{"application/json", "", "", true},
		{"application/json", "\xff", "/w==", true},
		{"not a media type", "x", "eA==", true},
	}
	for _, tt := range tests {
		got, b64 := EncodeBody(tt.ct, []byte(tt.body))
		if got != tt.want || b64 != tt.b64 {
			t.Errorf("EncodeBody(%q, %q) = %q, %v; want %q, %v", tt.ct, tt.body, got, b64, tt.want, tt.b64)
		}
	}
}

// TestEventTraceparent: with a span in the request's context (tracing on),
// the event's Traceparent names that span; without one, a client's
// traceparent passes through like any other end-to-end header.
func TestEventTraceparent(t *testing.T) {
	const client = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	r := httptest.NewRequest("GET", "/x", nil)
	r.Header.Set("Traceparent", client)
	q := &Request{HTTP: r, Version: "1.0", Template: "/x", RequestID: "r1"}
	if got := EventHeaders(q).Get("Traceparent"); got != client {
		t.Errorf("tracing off: Traceparent %q, want the client's %q", got, client)
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd, 0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c},
		SpanID:     trace.SpanID{1, 2, 3, 4, 5, 6, 7, 8},
		TraceFlags: trace.FlagsSampled,
	})
	q.HTTP = r.WithContext(trace.ContextWithSpanContext(r.Context(), sc))
	h := EventHeaders(q)
	if want := "00-0af7651916cd43dd8448eb211c80319c-0102030405060708-01"; h.Get("Traceparent") != want || len(h["Traceparent"]) != 1 {
		t.Errorf("tracing on: Traceparent %q, want the integration span's %q", h["Traceparent"], want)
	}
}
