package connectionapi

import (
	"context"
	"fmt"
	"strings"

	pb "github.com/apigw/apigw/internal/connectionapi/connectionpb"
	"github.com/apigw/apigw/internal/websocket"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// maxGRPCMessage bounds what the gRPC form reads of one request: a Send of
// the largest allowed payload fits with room to spare, and a larger one up
// to this size gets the API's own INVALID_ARGUMENT; past it gRPC itself
// answers RESOURCE_EXHAUSTED without reading it whole.
const maxGRPCMessage = 1 << 20

// GRPC is the gRPC form's server, built on first use. It serves calls
// that come through ServeHTTP (HTTP/2 over TLS, and the intercept), and
// connections handed to its own transport (h2c on the admin listener: see
// SplitH2C), which costs half as much per call.
func (a *API) GRPC() *grpc.Server {
	a.once.Do(func() {
		// The access rule is applied where a call enters, from its
		// headers and before its message is read: tap on gRPC's own
		// transport, ServeHTTP on net/http's.
		a.rpc = grpc.NewServer(grpc.MaxRecvMsgSize(maxGRPCMessage), grpc.MaxConcurrentStreams(MaxStreams), grpc.InTapHandle(a.tap))
		pb.RegisterConnectionServiceServer(a.rpc, service{a: a})
	})
	return a.rpc
}

// MaxStreams bounds the calls one HTTP/2 connection has in flight: one
// connection opened 33,000 streams (39 to 278 MB) before any was refused.
const MaxStreams = 100

// tap applies the API's rule when a stream opens on gRPC's own transport
// (h2c), from its headers, before its message is read.
func (a *API) tap(ctx context.Context, info *tap.Info) (context.Context, error) {
	if a.Authorize == nil {
		return ctx, nil
	}
	c := Caller{}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		c.Addr = p.Addr.String()
	}
	if v := info.Header.Get("authorization"); len(v) > 0 {
		c.Authorization = v[0]
	}
	if st := a.Authorize(c); st != nil {
		a.count("grpc", info.FullMethodName[strings.LastIndexByte(info.FullMethodName, '/')+1:], st)
		return nil, asError(st)
	}
	return ctx, nil
}

// service is the gRPC form of the three calls.
type service struct {
	pb.UnimplementedConnectionServiceServer
	a *API
}

var _ pb.ConnectionServiceServer = service{}

func asError(st *Status) error {
	if st == nil {
		return nil
	}
	return status.Error(st.Code, st.Message)
}

func (s service) Get(ctx context.Context, req *pb.GetConnectionRequest) (*pb.Connection, error) {
	info, st := s.a.get(ctx, req.GetConnectionId())
	s.a.count("grpc", "Get", st)
	if st != nil {
		return nil, asError(st)
	}
	return &pb.Connection{
		Id: info.ID, GatewayId: info.GatewayID,
		Identity:     &pb.Identity{SourceIp: info.Identity.SourceIP, UserAgent: info.Identity.UserAgent},
		ConnectedAt:  timestamppb.New(info.ConnectedAt),
		LastActiveAt: timestamppb.New(info.LastActiveAt),
	}, nil
}

func (s service) Send(ctx context.Context, req *pb.SendToConnectionRequest) (*pb.SendToConnectionResponse, error) {
	var op websocket.Opcode
	switch req.GetType() {
	case pb.SendToConnectionRequest_TEXT:
		op = websocket.OpText
	case pb.SendToConnectionRequest_BINARY, pb.SendToConnectionRequest_DATA_TYPE_UNSPECIFIED:
		op = websocket.OpBinary
	default:
		st := errorf(codes.InvalidArgument, fmt.Sprintf("type must be TEXT or BINARY, not %d", req.GetType()))
		s.a.count("grpc", "Send", st)
		return nil, asError(st)
	}
	st := s.a.send(ctx, req.GetConnectionId(), op, req.GetData())
	s.a.count("grpc", "Send", st)
	if st != nil {
		return nil, asError(st)
	}
	return &pb.SendToConnectionResponse{}, nil
}

func (s service) Disconnect(ctx context.Context, req *pb.DisconnectRequest) (*pb.DisconnectResponse, error) {
	st := s.a.disconnect(ctx, req.GetConnectionId())
	s.a.count("grpc", "Disconnect", st)
	if st != nil {
		return nil, asError(st)
	}
	return &pb.DisconnectResponse{}, nil
}
