package controlplane

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/endpoint"
	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	apigateway "github.com/yandex-cloud/go-genproto/yandex/cloud/serverless/apigateway/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// rest is the REST form of the services: the paths of their
// google.api.http annotations, protobuf JSON (camelCase, int64 and
// durations as strings), errors as the cloud's {code, message, details}.
type rest struct {
	routes []route
	access *access
}

// route is one annotated method: path = prefix + {field} + suffix (no
// field: the path is prefix).
type route struct {
	name           string // Service.Method, for Calls
	method         string
	prefix, suffix string
	field          string
	public, body   bool
	serve          func(ctx context.Context, fill func(proto.Message) error) (proto.Message, error)
}

func handle[Req, Resp proto.Message](name, method, pattern string, body bool, call func(context.Context, Req) (Resp, error)) route {
	rt := route{name: name, method: method, body: body, prefix: pattern}
	if i := strings.IndexByte(pattern, '{'); i >= 0 {
		j := strings.IndexByte(pattern, '}')
		rt.prefix, rt.field, rt.suffix = pattern[:i], pattern[i+1:j], pattern[j+1:]
	}
	rt.serve = func(ctx context.Context, fill func(proto.Message) error) (proto.Message, error) {
		var zero Req
		req := zero.ProtoReflect().New().Interface().(Req)
		if err := fill(req); err != nil {
			return nil, err
		}
		return call(ctx, req)
	}
	return rt
}

func newREST(g gateways, o operations, e endpoints, t tokens, a *access) *rest {
	const base = "/apigateways/v1/apigateways"
	r := &rest{access: a, routes: []route{
		handle("ApiGatewayService.GetOpenapiSpec", "GET", base+"/{api_gateway_id}:spec", false, g.GetOpenapiSpec),
		handle("ApiGatewayService.ListOperations", "GET", base+"/{api_gateway_id}/operations", false, g.ListOperations),
		handle("ApiGatewayService.ListAccessBindings", "GET", base+"/{resource_id}:listAccessBindings", false, g.ListAccessBindings),
		handle("ApiGatewayService.SetAccessBindings", "POST", base+"/{resource_id}:setAccessBindings", true, g.SetAccessBindings),
		handle("ApiGatewayService.UpdateAccessBindings", "PATCH", base+"/{resource_id}:updateAccessBindings", true, g.UpdateAccessBindings),
		handle("ApiGatewayService.Stop", "POST", base+"/{api_gateway_id}:stop", true, g.Stop),
		handle("ApiGatewayService.Resume", "POST", base+"/{api_gateway_id}:resume", true, g.Resume),
		handle("ApiGatewayService.AddDomain", "POST", base+"/{api_gateway_id}:addDomain", true, g.AddDomain),
		handle("ApiGatewayService.RemoveDomain", "POST", base+"/{api_gateway_id}:removeDomain", true, g.RemoveDomain),
		handle("ApiGatewayService.Get", "GET", base+"/{api_gateway_id}", false, g.Get),
		handle("ApiGatewayService.Update", "PATCH", base+"/{api_gateway_id}", true, g.Update),
		handle("ApiGatewayService.Delete", "DELETE", base+"/{api_gateway_id}", false, g.Delete),
		handle("ApiGatewayService.List", "GET", base, false, g.List),
		handle("ApiGatewayService.Create", "POST", base, true, g.Create),
		handle("OperationService.Cancel", "GET", "/operations/{operation_id}:cancel", false, o.Cancel),
		handle("OperationService.Get", "GET", "/operations/{operation_id}", false, o.Get),
		handle("ApiEndpointService.Get", "GET", "/endpoints/{api_endpoint_id}", false, e.Get),
		handle("ApiEndpointService.List", "GET", "/endpoints", false, e.List),
		handle("IamTokenService.Create", "POST", "/iam/v1/tokens", true, t.Create),
	}}
	for i := range r.routes {
		rt := &r.routes[i]
		rt.public = strings.HasPrefix(rt.prefix, "/endpoints") || rt.prefix == "/iam/v1/tokens"
	}
	return r
}

// match finds the route of a path, with its field's value.
func (rt *route) match(path string) (string, bool) {
	if rt.field == "" {
		return "", path == rt.prefix
	}
	rest, ok := strings.CutPrefix(path, rt.prefix)
	if !ok {
		return "", false
	}
	v, ok := strings.CutSuffix(rest, rt.suffix)
	if !ok || v == "" || strings.ContainsAny(v, "/:") {
		return "", false
	}
	return v, true
}

var jsonOut = protojson.MarshalOptions{}

func (s *rest) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	var allowed []string
	for i := range s.routes {
		rt := &s.routes[i]
		v, ok := rt.match(path)
		if !ok {
			continue
		}
		if rt.method != r.Method {
			allowed = append(allowed, rt.method)
			continue
		}
		if !rt.public {
			if err := s.access.check(r.Header.Get("Authorization")); err != nil {
				Calls.WithLabelValues("rest", rt.name, status.Code(err).String()).Inc()
				writeError(w, err)
				return
			}
		}
		// The endpoint list names the address the client reached us by.
		ctx := metadata.NewIncomingContext(r.Context(), metadata.Pairs(":authority", r.Host))
		resp, err := rt.serve(ctx, func(m proto.Message) error { return fillRequest(m, r, rt, v) })
		Calls.WithLabelValues("rest", rt.name, status.Code(err).String()).Inc()
		if err != nil {
			writeError(w, err)
			return
		}
		b, err := jsonOut.Marshal(resp)
		if err != nil {
			writeError(w, status.Errorf(codes.Internal, "%v", err))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
		return
	}
	if len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeStatus(w, http.StatusMethodNotAllowed, codes.Unimplemented, "method "+r.Method+" is not allowed here")
		return
	}
	writeStatus(w, http.StatusNotFound, codes.NotFound, "no API method at "+path)
}

// fillRequest reads the body (protobuf JSON; unknown fields are an
// error, as the cloud's), then the query (GET and DELETE), then the path.
func fillRequest(m proto.Message, r *http.Request, rt *route, pathValue string) error {
	if rt.body && r.Body != nil {
		b, err := io.ReadAll(io.LimitReader(r.Body, MaxMessage+1))
		if err != nil {
			return status.Errorf(codes.InvalidArgument, "reading the body: %v", err)
		}
		if len(b) > MaxMessage {
			return status.Errorf(codes.InvalidArgument, "the body is larger than %d bytes", MaxMessage)
		}
		if len(strings.TrimSpace(string(b))) > 0 {
			if err := protojson.Unmarshal(b, m); err != nil {
				return status.Errorf(codes.InvalidArgument, "the body: %v", err)
			}
		}
	}
	fields := m.ProtoReflect().Descriptor().Fields()
	for k, vs := range r.URL.Query() {
		fd := fields.ByJSONName(k)
		if fd == nil {
			fd = fields.ByName(protoreflect.Name(k))
		}
		if fd == nil || fd.IsList() || fd.IsMap() {
			return status.Errorf(codes.InvalidArgument, "unknown query parameter %q", k)
		}
		v, err := scalar(fd, vs[0])
		if err != nil {
			return status.Errorf(codes.InvalidArgument, "query parameter %s: %v", k, err)
		}
		m.ProtoReflect().Set(fd, v)
	}
	if rt.field != "" {
		m.ProtoReflect().Set(fields.ByName(protoreflect.Name(rt.field)), protoreflect.ValueOfString(pathValue))
	}
	return nil
}

func scalar(fd protoreflect.FieldDescriptor, s string) (protoreflect.Value, error) {
	switch fd.Kind() {
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(s), nil
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		n, err := strconv.ParseInt(s, 10, 64)
		return protoreflect.ValueOfInt64(n), err
	case protoreflect.BoolKind:
		b, err := strconv.ParseBool(s)
		return protoreflect.ValueOfBool(b), err
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByName(protoreflect.Name(strings.ToUpper(s))); ev != nil {
			return protoreflect.ValueOfEnum(ev.Number()), nil
		}
		n, err := strconv.Atoi(s)
		if err != nil || fd.Enum().Values().ByNumber(protoreflect.EnumNumber(n)) == nil {
			return protoreflect.Value{}, strconvErr(s)
		}
		return protoreflect.ValueOfEnum(protoreflect.EnumNumber(n)), nil
	}
	return protoreflect.Value{}, strconvErr(s)
}

type strconvErr string

func (e strconvErr) Error() string { return "unexpected value " + strconv.Quote(string(e)) }

// httpStatus is the HTTP status of a gRPC code, as grpc-gateway (and the
// cloud's REST front) maps them.
var httpStatus = map[codes.Code]int{
	codes.OK: 200, codes.Canceled: 499, codes.Unknown: 500, codes.InvalidArgument: 400,
	codes.DeadlineExceeded: 504, codes.NotFound: 404, codes.AlreadyExists: 409, codes.PermissionDenied: 403,
	codes.ResourceExhausted: 429, codes.FailedPrecondition: 400, codes.Aborted: 409, codes.OutOfRange: 400,
	codes.Unimplemented: 501, codes.Internal: 500, codes.Unavailable: 503, codes.DataLoss: 500, codes.Unauthenticated: 401,
}

func writeError(w http.ResponseWriter, err error) {
	st := status.Convert(err)
	writeStatus(w, httpStatus[st.Code()], st.Code(), st.Message())
}

func writeStatus(w http.ResponseWriter, httpCode int, code codes.Code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	if httpCode == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="apigw control plane"`)
	}
	w.WriteHeader(httpCode)
	json.NewEncoder(w).Encode(struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Details []any  `json:"details"`
	}{int(code), msg, []any{}})
}

var (
	_ apigateway.ApiGatewayServiceServer = gateways{}
	_ operation.OperationServiceServer   = operations{}
	_ endpoint.ApiEndpointServiceServer  = endpoints{}
	_ iam.IamTokenServiceServer          = tokens{}
)
