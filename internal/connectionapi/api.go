// Package connectionapi serves the WebSocket connection management API of
// digest §6.5 in both of the cloud's forms: REST (JSON, google.rpc.Status
// errors) and gRPC (yandex.cloud.serverless.apigateway.websocket.v1.
// ConnectionService), on one handler, so that both share one
// authorization and one set of rules and reach the same registry (the
// process's hub, or the Redis registry that finds the replica holding a
// socket).
package connectionapi

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/apigw/apigw/internal/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// MaxSend is the largest Send payload (131072 bytes, §6.5).
const MaxSend = websocket.MaxSend

// MaxIDLength is the longest connection ID the API takes (§6.5).
const MaxIDLength = 50

// RESTPrefix is where the REST form lives, on the admin listener as on the
// cloud's host.
const RESTPrefix = "/apigateways/websocket/v1/"

const connectionsPrefix = RESTPrefix + "connections/"

// BroadcastPath is apigw's REST extension: POST {"path", "data", "type"}
// queues a message for every connection open on a path.
const BroadcastPath = RESTPrefix + "broadcast"

// GRPCPrefix is the gRPC service's path prefix.
const GRPCPrefix = "/yandex.cloud.serverless.apigateway.websocket.v1.ConnectionService/"

// Status is an API error: a gRPC code and a message, written as a
// google.rpc.Status JSON body in REST and as grpc-status in gRPC.
type Status struct {
	Code    codes.Code
	Message string
}

func (s *Status) Error() string { return s.Code.String() + ": " + s.Message }

func errorf(code codes.Code, msg string) *Status { return &Status{Code: code, Message: msg} }

// Calls counts the API's calls by form (rest, grpc), call (Get, Send,
// Disconnect, Broadcast), gRPC status code, and where they came in (admin:
// the admin listener; intercept: a local function's call to the cloud's
// host).
var Calls = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "apigw_connection_api_calls_total",
	Help: "WebSocket connection management calls, by form (rest, grpc), call, gRPC status code and entry (admin, intercept).",
}, []string{"form", "call", "code", "via"})

// API is the handler of both forms for one registry.
type API struct {
	Registry websocket.Registry
	// Via names where the API is reached, for Calls ("admin" if empty).
	Via string
	// Authorize decides whether a caller may use the API; nil lets every
	// caller in. See AdminAccess and BearerAccess.
	Authorize func(Caller) *Status

	once sync.Once
	rpc  *grpc.Server
}

// Caller is what the access rules look at, in either form.
type Caller struct {
	Addr          string // host:port of the peer
	Authorization string // the Authorization header or metadata
}

// AdminAccess is the admin listener's rule: with a token (the bindings'
// websocket.management_token, read per call so a reload can change it)
// the caller must present it as a bearer token; without one only loopback
// callers are served.
func AdminAccess(token func() string) func(Caller) *Status {
	return func(c Caller) *Status {
		t := token()
		if t == "" {
			host, _, _ := net.SplitHostPort(c.Addr)
			if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
				return errorf(codes.PermissionDenied, "the management API answers only loopback callers unless websocket.management_token is set")
			}
			return nil
		}
		got, ok := strings.CutPrefix(c.Authorization, "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(t)) != 1 {
			return errorf(codes.Unauthenticated, "a valid bearer token is required")
		}
		return nil
	}
}

// BearerAccess lets in a caller whose bearer token accept takes; it is the
// rule for calls that apigw's own function processes make to the cloud's
// host (their IAM token from context).
func BearerAccess(accept func(token string) bool) func(Caller) *Status {
	return func(c Caller) *Status {
		tok, ok := strings.CutPrefix(c.Authorization, "Bearer ")
		if !ok || tok == "" {
			return errorf(codes.Unauthenticated, "the request has no bearer token (Authorization: Bearer <IAM token>)")
		}
		if !accept(tok) {
			return errorf(codes.Unauthenticated, "the bearer token is not one that apigw gave its functions, nor the management token")
		}
		return nil
	}
}

// IsGRPC reports whether r is a gRPC call.
func IsGRPC(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc")
}

// count records one call's outcome.
func (a *API) count(form, call string, st *Status) {
	code := codes.OK
	if st != nil {
		code = st.Code
	}
	via := a.Via
	if via == "" {
		via = "admin"
	}
	Calls.WithLabelValues(form, call, code.String(), via).Inc()
}

func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if IsGRPC(r) {
		// The rule first, from the headers: a caller without the token
		// gets its status before anything of the call is read.
		if a.Authorize != nil {
			if st := a.Authorize(Caller{Addr: r.RemoteAddr, Authorization: r.Header.Get("Authorization")}); st != nil {
				a.count("grpc", r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:], st)
				h := w.Header()
				h.Set("Content-Type", "application/grpc")
				h.Set("Grpc-Status", strconv.Itoa(int(st.Code)))
				h.Set("Grpc-Message", encodeGRPCMessage(st.Message))
				w.WriteHeader(http.StatusOK)
				return
			}
		}
		a.GRPC().ServeHTTP(w, r)
		return
	}
	if a.Authorize != nil {
		if st := a.Authorize(Caller{Addr: r.RemoteAddr, Authorization: r.Header.Get("Authorization")}); st != nil {
			writeStatus(w, st)
			return
		}
	}
	a.serveREST(w, r)
}

// checkID applies the cloud's rule for connection IDs.
func checkID(id string) *Status {
	if id == "" || len(id) > MaxIDLength || strings.Contains(id, "/") {
		return errorf(codes.InvalidArgument, "connectionId must be 1 to 50 characters")
	}
	return nil
}

// fromRegistry turns a registry error into the API's status.
func fromRegistry(err error, id string) *Status {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, websocket.ErrNotFound):
		return errorf(codes.NotFound, "connection "+id+" not found")
	case errors.Is(err, websocket.ErrLocationUnknown):
		return errorf(codes.Unavailable, "connection "+id+": "+err.Error())
	case errors.Is(err, websocket.ErrQueueFull):
		return errorf(codes.ResourceExhausted, "connection "+id+": its outbound queue is full (the client does not keep up); the message was not queued")
	case errors.Is(err, context.DeadlineExceeded):
		return errorf(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, context.Canceled):
		return errorf(codes.Canceled, err.Error())
	default:
		return errorf(codes.Unavailable, err.Error())
	}
}

// get, send and disconnect are the three calls, whatever the form.
func (a *API) get(ctx context.Context, id string) (websocket.Info, *Status) {
	if st := checkID(id); st != nil {
		return websocket.Info{}, st
	}
	info, err := a.Registry.Get(ctx, id)
	return info, fromRegistry(err, id)
}

func (a *API) send(ctx context.Context, id string, op websocket.Opcode, data []byte) *Status {
	if st := checkID(id); st != nil {
		return st
	}
	if len(data) > MaxSend {
		return errorf(codes.InvalidArgument, "data is larger than 131072 bytes")
	}
	return fromRegistry(a.Registry.Send(ctx, id, op, data), id)
}

func (a *API) disconnect(ctx context.Context, id string) *Status {
	if st := checkID(id); st != nil {
		return st
	}
	return fromRegistry(a.Registry.Disconnect(ctx, id), id)
}

// The REST form.

// httpStatus is the standard mapping of gRPC codes to HTTP statuses.
var httpStatus = map[codes.Code]int{
	codes.InvalidArgument: 400, codes.NotFound: 404, codes.PermissionDenied: 403,
	codes.Unauthenticated: 401, codes.ResourceExhausted: 429, codes.Internal: 500,
	codes.Unavailable: 503, codes.DeadlineExceeded: 504, codes.Canceled: 499, codes.Unimplemented: 501,
}

func writeStatus(w http.ResponseWriter, st *Status) {
	code := httpStatus[st.Code]
	if code == 0 {
		code = 500
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Details []any  `json:"details"`
	}{int(st.Code), st.Message, []any{}})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

type sendBody struct {
	Data *string `json:"data"`
	Type string  `json:"type"`
	Path string  `json:"path"`
}

// decodeSend reads {"data": base64, "type": TEXT|BINARY}.
func decodeSend(r *http.Request) (sendBody, websocket.Opcode, []byte, *Status) {
	var b sendBody
	raw, err := io.ReadAll(io.LimitReader(r.Body, MaxSend*2))
	if err != nil || json.Unmarshal(raw, &b) != nil || b.Data == nil {
		return b, 0, nil, errorf(codes.InvalidArgument, `the body must be {"data": "<base64>", "type": "TEXT"|"BINARY"}`)
	}
	data, err := base64.StdEncoding.DecodeString(*b.Data)
	if err != nil {
		return b, 0, nil, errorf(codes.InvalidArgument, "data is not valid Base64")
	}
	if len(data) > MaxSend {
		return b, 0, nil, errorf(codes.InvalidArgument, "data is larger than 131072 bytes")
	}
	switch b.Type {
	case "TEXT":
		return b, websocket.OpText, data, nil
	case "BINARY", "", "DATA_TYPE_UNSPECIFIED":
		return b, websocket.OpBinary, data, nil
	}
	return b, 0, nil, errorf(codes.InvalidArgument, "type must be TEXT or BINARY")
}

func (a *API) serveREST(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == BroadcastPath && r.Method == http.MethodPost {
		b, op, data, st := decodeSend(r)
		if st == nil && b.Path == "" {
			st = errorf(codes.InvalidArgument, "path is required")
		}
		if st == nil {
			n, err := a.Registry.Broadcast(r.Context(), b.Path, op, data)
			if err == nil {
				a.count("rest", "Broadcast", nil)
				// delivered: the connections the message was queued for.
				writeJSON(w, map[string]int{"delivered": n})
				return
			}
			st = errorf(codes.Unavailable, err.Error())
		}
		a.count("rest", "Broadcast", st)
		writeStatus(w, st)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, connectionsPrefix)
	if !ok {
		writeStatus(w, errorf(codes.NotFound, "no such operation: "+r.Method+" "+r.URL.Path))
		return
	}
	id, isSend := strings.CutSuffix(rest, ":send")
	id = strings.TrimSuffix(id, "/") // {id}/:send, as one client library writes it
	var st *Status
	call := "Get"
	switch {
	case isSend && r.Method == http.MethodPost:
		call = "Send"
		_, op, data, bad := decodeSend(r)
		if bad != nil {
			a.count("rest", call, bad)
			writeStatus(w, bad)
			return
		}
		if st = a.send(r.Context(), id, op, data); st == nil {
			a.count("rest", call, nil)
			// The cloud answers {}; the header says what that means here:
			// the message is queued, in order, for the connection's writer.
			w.Header().Set("X-Apigw-Delivery", "queued")
			writeJSON(w, struct{}{})
			return
		}
	case !isSend && r.Method == http.MethodGet:
		var info websocket.Info
		if info, st = a.get(r.Context(), id); st == nil {
			a.count("rest", call, nil)
			writeJSON(w, info)
			return
		}
	case !isSend && r.Method == http.MethodDelete:
		call = "Disconnect"
		if st = a.disconnect(r.Context(), id); st == nil {
			a.count("rest", call, nil)
			writeJSON(w, struct{}{})
			return
		}
	default:
		writeStatus(w, errorf(codes.InvalidArgument, "unsupported method "+r.Method))
		return
	}
	a.count("rest", call, st)
	writeStatus(w, st)
}

// encodeGRPCMessage percent-encodes a grpc-message header value as the
// gRPC protocol asks (anything outside printable ASCII, and '%').
func encodeGRPCMessage(msg string) string {
	var b strings.Builder
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if c >= ' ' && c <= '~' && c != '%' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
