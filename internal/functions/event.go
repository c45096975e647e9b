// Package functions is the contract between the gateway and a serverless
// function (digest §8): the event a request becomes, the response JSON that
// becomes the client's answer, and the invokers that carry the exchange to
// where the function runs (an invoke URL, or unchanged handler code kept warm
// in a local process).
package functions

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/apigw/apigw/internal/headers"
	"github.com/apigw/apigw/internal/tracing"
)

// Request is what an event is made of: the client's request as the gateway
// saw it, and what routing found.
type Request struct {
	HTTP        *http.Request
	Body        []byte
	Version     string // payload_format_version: "0.1" or "1.0"
	Template    string // the matched path template
	OperationID string // "" lets 1.0 generate one
	PathParams  map[string]string
	Declared    map[string][]string // declared parameters and their values
	RequestID   string
	ClientIP    string
	RemoteAddr  string
	GatewayID   string
	Time        time.Time
	// OperationContext is the integration's `context`, substituted; nil
	// when the integration has none.
	OperationContext any
	// Authorizer is the authorizer's context (requestContext.authorizer).
	Authorizer map[string]any
	// WebSocket makes this a WebSocket event (§8.5).
	WebSocket *WebSocketEvent
}

// WebSocketEvent describes a WebSocket CONNECT, MESSAGE or DISCONNECT.
type WebSocketEvent struct {
	ConnectionID     string
	ConnectedAt      time.Time
	EventType        string // CONNECT, MESSAGE, DISCONNECT
	MessageID        string // MESSAGE
	DisconnectCode   int    // DISCONNECT
	DisconnectReason string // DISCONNECT
}

// wsEvent is a WebSocket event: the 1.0-style fields without version
// (as observed), no body on CONNECT and DISCONNECT.
type wsEvent struct {
	Resource                        string              `json:"resource"`
	Path                            string              `json:"path"`
	HTTPMethod                      string              `json:"httpMethod"`
	Headers                         map[string]string   `json:"headers"`
	MultiValueHeaders               map[string][]string `json:"multiValueHeaders"`
	QueryStringParameters           map[string]string   `json:"queryStringParameters"`
	MultiValueQueryStringParameters map[string][]string `json:"multiValueQueryStringParameters"`
	PathParameters                  map[string]string   `json:"pathParameters"`
	Parameters                      map[string]string   `json:"parameters"`
	MultiValueParameters            map[string][]string `json:"multiValueParameters"`
	OperationID                     string              `json:"operationId"`
	RequestContext                  RequestContext      `json:"requestContext"`
	Body                            *string             `json:"body,omitempty"`
	IsBase64Encoded                 *bool               `json:"isBase64Encoded,omitempty"`
}

// Base fields of both versions (§8.1).
type base struct {
	HTTPMethod                      string              `json:"httpMethod"`
	Headers                         map[string]string   `json:"headers"`
	MultiValueHeaders               map[string][]string `json:"multiValueHeaders"`
	QueryStringParameters           map[string]string   `json:"queryStringParameters"`
	MultiValueQueryStringParameters map[string][]string `json:"multiValueQueryStringParameters"`
	RequestContext                  RequestContext      `json:"requestContext"`
	Body                            string              `json:"body"`
	IsBase64Encoded                 bool                `json:"isBase64Encoded"`
}

// event01 is payload_format_version 0.1: `path` is the template (§8.2).
type event01 struct {
	URL  string `json:"url"`
	Path string `json:"path"`
	base
	PathParams       map[string]string   `json:"pathParams"`
	Params           map[string]string   `json:"params"`
	MultiValueParams map[string][]string `json:"multiValueParams"`
}

// event10 is payload_format_version 1.0: `path` is the actual path and the
// template is `resource` (§8.3).
type event10 struct {
	Version  string `json:"version"`
	Resource string `json:"resource"`
	Path     string `json:"path"`
	base
	PathParameters       map[string]string   `json:"pathParameters"`
	Parameters           map[string]string   `json:"parameters"`
	MultiValueParameters map[string][]string `json:"multiValueParameters"`
	OperationID          string              `json:"operationId"`
}

// RequestContext is §8.4.
type RequestContext struct {
	Identity         Identity       `json:"identity"`
	HTTPMethod       string         `json:"httpMethod"`
	RequestID        string         `json:"requestId"`
	RequestTime      string         `json:"requestTime"`
	RequestTimeEpoch int64          `json:"requestTimeEpoch"`
	Authorizer       map[string]any `json:"authorizer,omitempty"`
	APIGateway       *APIGateway    `json:"apiGateway,omitempty"`
	// WebSocket events only.
	ConnectionID         string `json:"connectionId,omitempty"`
	ConnectedAt          int64  `json:"connectedAt,omitempty"` // epoch milliseconds
	EventType            string `json:"eventType,omitempty"`
	MessageID            string `json:"messageId,omitempty"`
	DisconnectStatusCode int    `json:"disconnectStatusCode,omitempty"`
	DisconnectReason     string `json:"disconnectReason,omitempty"`
}

// Identity is requestContext.identity.
type Identity struct {
	SourceIP  string `json:"sourceIp"`
	UserAgent string `json:"userAgent"`
}

// APIGateway carries the integration's `context`.
type APIGateway struct {
	OperationContext any `json:"operationContext"`
}

// Event renders the event JSON of a request.
func Event(q *Request) ([]byte, error) {
	r := q.HTTP
	b := base{
		HTTPMethod:                      r.Method,
		Headers:                         map[string]string{},
		MultiValueHeaders:               map[string][]string{},
		QueryStringParameters:           map[string]string{},
		MultiValueQueryStringParameters: map[string][]string{},
		RequestContext: RequestContext{
			Identity:         Identity{SourceIP: q.ClientIP, UserAgent: r.UserAgent()},
			HTTPMethod:       r.Method,
			RequestID:        q.RequestID,
			RequestTime:      q.Time.UTC().Format("2/Jan/2006:15:04:05 -0700"),
			RequestTimeEpoch: q.Time.Unix(),
			Authorizer:       q.Authorizer,
		},
	}
	if q.OperationContext != nil {
		b.RequestContext.APIGateway = &APIGateway{OperationContext: q.OperationContext}
	}
	for k, vv := range EventHeaders(q) {
		b.MultiValueHeaders[k] = vv
		b.Headers[k] = vv[len(vv)-1] // on repeats the last value is kept
	}
	for k, vv := range r.URL.Query() {
		b.MultiValueQueryStringParameters[k] = vv
		b.QueryStringParameters[k] = vv[len(vv)-1]
	}
	b.Body, b.IsBase64Encoded = EncodeBody(r.Header.Get("Content-Type"), q.Body)

	single := make(map[string]string, len(q.Declared))
	multi := make(map[string][]string, len(q.Declared))
	for k, vv := range q.Declared {
		multi[k] = vv
		single[k] = vv[len(vv)-1]
	}
	pathParams := q.PathParams
	if pathParams == nil {
		pathParams = map[string]string{}
	}
	if ws := q.WebSocket; ws != nil {
		rc := &b.RequestContext
		rc.ConnectionID, rc.ConnectedAt, rc.EventType = ws.ConnectionID, ws.ConnectedAt.UnixMilli(), ws.EventType
		rc.MessageID, rc.DisconnectStatusCode, rc.DisconnectReason = ws.MessageID, ws.DisconnectCode, ws.DisconnectReason
		ev := wsEvent{
			Resource: q.Template, Path: r.URL.Path, HTTPMethod: r.Method,
			Headers: b.Headers, MultiValueHeaders: b.MultiValueHeaders,
			QueryStringParameters: b.QueryStringParameters, MultiValueQueryStringParameters: b.MultiValueQueryStringParameters,
			PathParameters: pathParams, Parameters: single, MultiValueParameters: multi,
			OperationID: q.OperationID, RequestContext: b.RequestContext,
		}
		if ev.OperationID == "" {
			ev.OperationID = GeneratedOperationID(r.Method, q.Template)
		}
		if ws.EventType == "MESSAGE" {
			ev.Body, ev.IsBase64Encoded = &b.Body, &b.IsBase64Encoded
		}
		return marshal(ev)
	}
	if q.Version == "1.0" {
		opID := q.OperationID
		if opID == "" {
			opID = GeneratedOperationID(r.Method, q.Template)
		}
		return marshal(event10{
			Version: "1.0", Resource: q.Template, Path: r.URL.Path, base: b,
			PathParameters: pathParams, Parameters: single, MultiValueParameters: multi, OperationID: opID,
		})
	}
	return marshal(event01{
		URL: r.URL.Path + "?" + r.URL.RawQuery, Path: q.Template, base: b,
		PathParams: pathParams, Params: single, MultiValueParams: multi,
	})
}

// marshal is json.Marshal without HTML escaping: the cloud's events carry
// "&" and "<" as they are.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// GeneratedOperationID stands in for a missing operationId in 1.0 events: the
// SHA-256 hex of "METHOD template" (digest §8.3 recommendation), stable
// across restarts and replicas.
func GeneratedOperationID(method, template string) string {
	sum := sha256.Sum256([]byte(method + " " + template))
	return hex.EncodeToString(sum[:])
}

// gatewaySet are headers the gateway sets itself; a client's copy is
// replaced.
var gatewaySet = map[string]bool{"X-Request-Id": true, "X-Forwarded-For": true, "X-Real-Remote-Address": true, "X-Serverless-Gateway-Id": true, "X-Yc-Apigateway-Authorizer-Context": true}

// EventHeaders are the headers a function sees: the client's end-to-end
// headers (Cookie and Authorization included, as on the cloud's gateway
// path), Host as the client sent it, and the headers the gateway adds
// (§9.1). Names are canonical Title-Case. With tracing on, Traceparent
// names the integration's span, so that the function's own spans join the
// request's trace, as an http backend's do.
func EventHeaders(q *Request) http.Header {
	r := q.HTTP
	h := headers.EndToEnd(r.Header, gatewaySet)
	h["Host"] = []string{r.Host}
	headers.SetForwarded(h, r, q.ClientIP, q.RemoteAddr, q.RequestID, q.GatewayID)
	tracing.Inject(r.Context(), h)
	return h
}

// EncodeBody applies §8.6: a JSON-family body (application/json with any
// parameters, or */*+json) stays verbatim; anything else, an empty body
// included, is Base64. A "JSON" body that is not valid UTF-8 is Base64 too,
// since a JSON string could not carry it unchanged.
func EncodeBody(contentType string, body []byte) (string, bool) {
	if len(body) > 0 && isJSON(contentType) && utf8.Valid(body) {
		return string(body), false
	}
	return base64.StdEncoding.EncodeToString(body), true
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// itoa is strconv.Itoa, kept short for header values.
func itoa(n int64) string { return strconv.FormatInt(n, 10) }
