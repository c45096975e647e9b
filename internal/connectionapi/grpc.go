package connectionapi

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	pb "github.com/apigw/apigw/internal/connectionapi/connectionpb"
	"github.com/apigw/apigw/internal/websocket"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// maxGRPCMessage bounds what the gRPC form reads of one request: a Send of
// the largest allowed payload fits with room to spare, and a larger one up
// to this size gets the API's own INVALID_ARGUMENT; past it gRPC itself
// answers RESOURCE_EXHAUSTED without reading it whole.
const maxGRPCMessage = 1 << 20

// grpcServer is built on first use: a gateway that never sees a gRPC call
// never builds one.
func (a *API) grpcServer() *grpc.Server {
	a.once.Do(func() {
		a.rpc = grpc.NewServer(grpc.MaxRecvMsgSize(maxGRPCMessage))
		pb.RegisterConnectionServiceServer(a.rpc, service{a: a})
	})
	return a.rpc
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

// writeGRPCStatus answers a gRPC call that never reached the service (it
// was refused before) as a Trailers-Only response: HTTP 200 with the
// status in the headers, which every gRPC client reads as the call's
// result.
func writeGRPCStatus(w http.ResponseWriter, st *Status) {
	h := w.Header()
	h.Set("Content-Type", "application/grpc")
	h.Set("Grpc-Status", strconv.Itoa(int(st.Code)))
	h.Set("Grpc-Message", percentEncode(st.Message))
	w.WriteHeader(http.StatusOK)
}

// percentEncode is grpc-message's encoding: bytes outside printable ASCII,
// and '%', as %XX.
func percentEncode(s string) string {
	const hex = "0123456789ABCDEF"
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '%' {
			out = append(out, '%', hex[c>>4], hex[c&15])
			continue
		}
		out = append(out, c)
	}
	return string(out)
}
