package functions

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/apigw/apigw/internal/headers"
)

// Response is a function's answer (§8.7), checked and decoded.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Malformed is a function answer that cannot become an HTTP response. The
// gateway answers 502 with the body the cloud uses for it.
type Malformed struct {
	Reason  string // "not a valid json", "statusCode must be an integer", ...
	Payload []byte // the raw answer, for the body and the log
}

func (m *Malformed) Error() string { return "malformed function response: " + m.Reason }

// Body is the cloud's 502 body for a malformed answer.
func (m *Malformed) Body() []byte {
	b, _ := json.Marshal(map[string]string{
		"errorMessage": "Malformed serverless function response: " + m.Reason,
		"errorType":    "ProxyIntegrationError",
		"payload":      string(m.Payload),
	})
	return b
}

type rawResponse struct {
	StatusCode        json.RawMessage            `json:"statusCode"`
	Headers           map[string]json.RawMessage `json:"headers"`
	MultiValueHeaders map[string]json.RawMessage `json:"multiValueHeaders"`
	Body              json.RawMessage            `json:"body"`
	IsBase64Encoded   json.RawMessage            `json:"isBase64Encoded"`
}

// ParseResponse checks and decodes a function's answer. Absent fields take
// their defaults (status 200, empty body); a name in multiValueHeaders
// replaces the same name in headers; hop-by-hop headers are dropped.
func ParseResponse(raw []byte) (*Response, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 {
		return nil, &Malformed{Reason: "empty response", Payload: raw}
	}
	if trimmed[0] != '{' {
		if json.Valid(trimmed) {
			return nil, &Malformed{Reason: "not a JSON object", Payload: raw}
		}
		return nil, &Malformed{Reason: "not a valid json", Payload: raw}
	}
	var r rawResponse
	if err := json.Unmarshal(trimmed, &r); err != nil {
		if !json.Valid(trimmed) {
			return nil, &Malformed{Reason: "not a valid json", Payload: raw}
		}
		return nil, &Malformed{Reason: "wrong structure: " + err.Error(), Payload: raw}
	}
	out := &Response{Status: http.StatusOK, Header: http.Header{}}
	if !isNull(r.StatusCode) {
		var code int
		if err := json.Unmarshal(r.StatusCode, &code); err != nil || code < 100 || code > 599 {
			return nil, &Malformed{Reason: "statusCode must be an integer from 100 to 599, got " + string(r.StatusCode), Payload: raw}
		}
		out.Status = code
	}
	for k, v := range r.Headers {
		s, ok := scalar(v)
		if !ok {
			return nil, &Malformed{Reason: fmt.Sprintf("headers.%s must be a string", k), Payload: raw}
		}
		out.Header[http.CanonicalHeaderKey(k)] = []string{s}
	}
	for k, v := range r.MultiValueHeaders {
		var items []json.RawMessage
		if err := json.Unmarshal(v, &items); err != nil {
			return nil, &Malformed{Reason: fmt.Sprintf("multiValueHeaders.%s must be a list of strings", k), Payload: raw}
		}
		vals := make([]string, 0, len(items))
		for _, it := range items {
			s, ok := scalar(it)
			if !ok {
				return nil, &Malformed{Reason: fmt.Sprintf("multiValueHeaders.%s must be a list of strings", k), Payload: raw}
			}
			vals = append(vals, s)
		}
		out.Header[http.CanonicalHeaderKey(k)] = vals
	}
	for k, vv := range out.Header {
		if headers.IsHopByHop(k) || k == "Content-Length" {
			delete(out.Header, k)
			continue
		}
		for _, v := range vv {
			if !validHeader(k, v) {
				return nil, &Malformed{Reason: fmt.Sprintf("header %q has a value that cannot be sent (a control character)", k), Payload: raw}
			}
		}
	}
	var b64 bool
	if !isNull(r.IsBase64Encoded) {
		if err := json.Unmarshal(r.IsBase64Encoded, &b64); err != nil {
			return nil, &Malformed{Reason: "isBase64Encoded must be true or false", Payload: raw}
		}
	}
	if !isNull(r.Body) {
		var body string
		if err := json.Unmarshal(r.Body, &body); err != nil {
			return nil, &Malformed{Reason: "body must be a string (serialise JSON bodies, e.g. json.dumps)", Payload: raw}
		}
		if b64 {
			dec, err := base64.StdEncoding.DecodeString(body)
			if err != nil {
				return nil, &Malformed{Reason: "isBase64Encoded is true but body is not valid Base64", Payload: raw}
			}
			out.Body = dec
		} else {
			out.Body = []byte(body)
		}
	}
	return out, nil
}

func isNull(m json.RawMessage) bool { return len(m) == 0 || string(m) == "null" }

// scalar reads a header value: a string, or a number or boolean that a
// handler wrote without quotes (rendered as JSON would).
func scalar(m json.RawMessage) (string, bool) {
	var s string
	if json.Unmarshal(m, &s) == nil {
		return s, true
	}
	var v any
	if json.Unmarshal(m, &v) != nil {
		return "", false
	}
	switch x := v.(type) {
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

func validHeader(k, v string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7f || c == ':' {
			return false
		}
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == '\r' || c == '\n' || c == 0 {
			return false
		}
	}
	return true
}
