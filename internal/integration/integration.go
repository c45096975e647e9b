// Package integration defines what every `x-yc-apigateway-integration` type
// implements: a factory that decodes and checks its parameters once, at build
// time, and a Handler that serves requests from the result.
package integration

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/apigw/apigw/internal/config"
	"github.com/apigw/apigw/internal/functions"
	"github.com/apigw/apigw/internal/httperr"
	"github.com/apigw/apigw/internal/params"
	"github.com/apigw/apigw/internal/spec"
	"github.com/apigw/apigw/internal/yamlx"
	"go.yaml.in/yaml/v3"
)

// Call is what the gateway knows about one request when it hands it over.
type Call struct {
	RequestID   string
	Route       string // the matched path template
	OperationID string
	Params      *params.Request
	ClientIP    string // the peer's address, without port
	RemoteAddr  string // ip:port of the peer
	Start       time.Time
	// Authorizer is the context of the authorizers that let the request
	// in (requestContext.authorizer of a function event), nil without one.
	Authorizer map[string]any
	// WebSocket is the WebSocket event this call carries (nil for HTTP).
	WebSocket *functions.WebSocketEvent
	// Deadline is when the execution timeout expires (zero: no timeout).
	// For handlers that are not Timed the gateway has already bounded the
	// request context with it.
	Deadline time.Time
	// Observed, when not nil (the console records), is where a handler
	// notes what went to its backend.
	Observed *Observed
}

// Observed is what an integration sent its backend, for the console: the
// kind and target (a URL, a function ID), and a function's event and its
// answer.
type Observed struct {
	Kind, Target  string
	Event, Answer []byte
}

// Observe notes the backend call when the console records; it costs a nil
// check otherwise.
func (c *Call) Observe(kind, target string) {
	if c.Observed != nil {
		c.Observed.Kind, c.Observed.Target = kind, target
	}
}

// Describer is implemented by handlers that can say what they are bound
// to (a URL, a function, a bucket), for `apigw routes` and the console.
type Describer interface {
	Describe() string
}

// Timed is implemented by handlers that bound their own work by
// Call.Deadline (or cannot block), which saves the gateway a context and a
// timer per request.
type Timed interface {
	AppliesDeadline()
}

// Handler serves the requests of one operation. It writes the response
// itself, or returns an error (an *httperr.Error for a chosen status) before
// writing anything; the gateway renders such errors uniformly. It must not
// keep w, r or c after Serve returns: the gateway reuses them.
type Handler interface {
	Serve(w http.ResponseWriter, r *http.Request, c *Call) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(w http.ResponseWriter, r *http.Request, c *Call) error

func (f HandlerFunc) Serve(w http.ResponseWriter, r *http.Request, c *Call) error { return f(w, r, c) }

// Build is what a factory may use while it builds an operation's handler.
type Build struct {
	Doc      *spec.Document
	Op       *spec.Operation
	Declared *params.Declared
	Bindings *config.Bindings
	Deps     *Deps
}

// Factory decodes an integration node and returns its handler, or every
// problem it found (positioned at the node). Warnings may accompany a handler.
type Factory func(b *Build, n *yaml.Node, path string) (Handler, yamlx.List)

// AuthorizerHeader carries the authorizer context to http and
// serverless_containers integrations as Base64 JSON (an apigw extension:
// the cloud passes it to http integrations by a mechanism it does not
// document). A client's own copy is never forwarded.
const AuthorizerHeader = "X-Yc-Apigateway-Authorizer-Context"

// SetAuthorizerHeader puts c's authorizer context, if any, into h.
func (c *Call) SetAuthorizerHeader(h http.Header) {
	if c.Authorizer == nil {
		return
	}
	b, _ := json.Marshal(c.Authorizer)
	h[AuthorizerHeader] = []string{base64.StdEncoding.EncodeToString(b)}
}

// ReadBody reads a request body that an integration must hold whole (a
// function event, a queue message, an item): over the gateway's body limit
// it answers 413, a broken body 400.
func ReadBody(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	var b []byte
	var err error
	if n := r.ContentLength; n > 0 && n <= 64<<20 {
		// The length is known (and within the body limit, which the
		// gateway checked): one allocation of the right size.
		b = make([]byte, n)
		_, err = io.ReadFull(r.Body, b)
	} else {
		b, err = io.ReadAll(r.Body)
	}
	if err != nil {
		return nil, BodyError(err)
	}
	return b, nil
}

// BodyError is the gateway's answer to a request body that could not be
// read: 413 past the body limit, else 400.
func BodyError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return httperr.Wrap(http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d bytes", mbe.Limit), err)
	}
	return httperr.Wrap(http.StatusBadRequest, "could not read the request body", err)
}

// IgnoresBody is implemented by handlers that never read the request body
// (a dummy answer, Swagger UI, a bucket): before they answer, the gateway
// reads a body of unknown length itself, so that one over the body limit
// is still refused.
type IgnoresBody interface {
	IgnoresBody()
}

// RequestEvent is the whole request as a function event (format 1.0), which
// the queue and stream integrations send when payload_format_type is
// "request".
func (c *Call) RequestEvent(r *http.Request, body []byte, gatewayID string) ([]byte, error) {
	event, err := functions.Event(&functions.Request{
		HTTP: r, Body: body, Version: "1.0", Template: c.Route, OperationID: c.OperationID,
		Declared: c.Params.Declared(), RequestID: c.RequestID, ClientIP: c.ClientIP, RemoteAddr: c.RemoteAddr,
		GatewayID: gatewayID, Time: c.Start, Authorizer: c.Authorizer,
	})
	if err != nil {
		return nil, httperr.Wrap(http.StatusInternalServerError, "could not build the request event", err)
	}
	return event, nil
}

// NotBound is the handler of an operation whose target (Kind "functions",
// "containers", "buckets", "queues", "streams", "ydb" or "datasphere")
// the bindings leave unbound where that is no error: `apigw validate` and
// `routes` without a bindings file, or a mocked target, which the gateway
// then answers from the spec's declared responses instead.
type NotBound struct {
	Kind, ID, Tag string
}

// Unbound returns a NotBound handler when the bindings allow target id of
// kind to stay unbound, else nil (the factory reports the error).
func (b *Build) Unbound(kind, id, tag string) Handler {
	if !b.Bindings.AllowUnbound(kind, id, tag) {
		return nil
	}
	return &NotBound{Kind: kind, ID: id, Tag: tag}
}

var notBoundNames = map[string]string{
	"functions": "function", "containers": "container", "buckets": "bucket", "queues": "queue",
	"streams": "stream", "ydb": "database", "datasphere": "DataSphere node",
}

// KindNoun names one target of a kind: "function" for "functions".
func KindNoun(kind string) string { return notBoundNames[kind] }

func (n *NotBound) Serve(http.ResponseWriter, *http.Request, *Call) error {
	return httperr.New(http.StatusBadGateway, notBoundNames[n.Kind]+" "+n.ID+" is not bound")
}

func (n *NotBound) Describe() string { return notBoundNames[n.Kind] + " " + n.ID + " (not bound)" }
func (n *NotBound) IgnoresBody()     {}
