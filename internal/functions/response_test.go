package functions

import (
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func TestParseResponse(t *testing.T) {
	tests := []struct {
		desc      string
		raw       string
		status    int
		header    http.Header
		body      string
		malformed string // the reason, when malformed
	}{
		{"full answer", `{"statusCode":201,"headers":{"X-A":"1"},"body":"aGk=","isBase64Encoded":true}`, 201, http.Header{"X-A": {"1"}}, "hi", ""},
		{"multiValueHeaders win over headers (conformance 25)", `{"statusCode":200,"headers":{"X-A":"1","x-b":"k"},"multiValueHeaders":{"X-A":["2","3"]}}`, 200, http.Header{"X-A": {"2", "3"}, "X-B": {"k"}}, "", ""},
		{"Set-Cookie lines", `{"multiValueHeaders":{"Set-Cookie":["a=1","b=2"]},"body":"x"}`, 200, http.Header{"Set-Cookie": {"a=1", "b=2"}}, "x", ""},
		{"defaults", `{}`, 200, http.Header{}, "", ""},
		{"nulls are absent", `{"statusCode":null,"headers":null,"body":null,"isBase64Encoded":null}`, 200, http.Header{}, "", ""},
		{"numbers and booleans in headers", `{"headers":{"X-N":5,"X-B":true}}`, 200, http.Header{"X-N": {"5"}, "X-B": {"true"}}, "", ""},
		{"hop-by-hop and Content-Length dropped", `{"headers":{"Connection":"close","Transfer-Encoding":"chunked","Content-Length":"99","X-Ok":"1"},"body":"abc"}`, 200, http.Header{"X-Ok": {"1"}}, "abc", ""},
		{"not JSON", `hello`, 0, nil, "", "not a valid json"},
		{"empty", ``, 0, nil, "", "empty response"},
		{"a JSON string", `"ok"`, 0, nil, "", "not a JSON object"},
		{"null", `null`, 0, nil, "", "not a JSON object"},
		{"status out of range", `{"statusCode":42}`, 0, nil, "", "statusCode must be an integer from 100 to 599"},
		{"status as a string", `{"statusCode":"200"}`, 0, nil, "", "statusCode must be an integer"},
		{"body not a string", `{"body":{"a":1}}`, 0, nil, "", "body must be a string"},
		{"bad base64", `{"body":"***","isBase64Encoded":true}`, 0, nil, "", "not valid Base64"},
		{"header injection", `{"headers":{"X-A":"1\r\nSet-Cookie: evil=1"}}`, 0, nil, "", "control character"},
		{"nested header value", `{"headers":{"X-A":{"b":1}}}`, 0, nil, "", "headers.X-A must be a string"},
		{"bad multi value", `{"multiValueHeaders":{"X-A":"one"}}`, 0, nil, "", "must be a list of strings"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			res, err := ParseResponse([]byte(tt.raw))
			if tt.malformed != "" {
				var m *Malformed
				if !errors.As(err, &m) || !strings.Contains(m.Reason, tt.malformed) {
					t.Fatalf("got %v, %v; want malformed %q", res, err, tt.malformed)
				}
				if !strings.Contains(string(m.Body()), `"errorType":"ProxyIntegrationError"`) {
					t.Errorf("502 body = %s", m.Body())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tt.status || string(res.Body) != tt.body || !reflect.DeepEqual(res.Header, tt.header) {
				t.Errorf("got %d %v %q, want %d %v %q", res.Status, res.Header, res.Body, tt.status, tt.header, tt.body)
			}
		})
	}
}
