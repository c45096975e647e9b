package connectionapi

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"

	pb "github.com/apigw/apigw/internal/connectionapi/connectionpb"
	"github.com/apigw/apigw/internal/websocket"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// discard is a registry that takes every Send: the benchmarks measure the
// API's own cost per call, each form through a real client on loopback.
type discard struct{ failing }

func (discard) Send(context.Context, string, websocket.Opcode, []byte) error { return nil }

func BenchmarkSendREST(b *testing.B) {
	srv := serveAPI(b, &API{Registry: discard{}})
	defer srv.Close()
	url := srv.URL + connectionsPrefix + "abc:send"
	b.ReportAllocs()
	for b.Loop() {
		res, err := http.Post(url, "application/json", strings.NewReader(`{"data":"aGVsbG8=","type":"TEXT"}`))
		if err != nil || res.StatusCode != 200 {
			b.Fatal(res, err)
		}
		res.Body.Close()
	}
}

func BenchmarkSendGRPC(b *testing.B) {
	srv := serveAPI(b, &API{Registry: discard{}})
	defer srv.Close()
	benchGRPC(b, strings.TrimPrefix(srv.URL, "http://"))
}

// BenchmarkSendGRPCNative is the same service on grpc-go's own HTTP/2
// transport, for comparison with serving it through net/http.
func BenchmarkSendGRPCNative(b *testing.B) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	api := &API{Registry: discard{}}
	go api.GRPC().Serve(ln)
	defer api.GRPC().Stop()
	benchGRPC(b, ln.Addr().String())
}

func benchGRPC(b *testing.B, addr string) {
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer cc.Close()
	client := pb.NewConnectionServiceClient(cc)
	ctx := context.Background()
	req := &pb.SendToConnectionRequest{ConnectionId: "abc", Data: []byte("hello"), Type: pb.SendToConnectionRequest_TEXT}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := client.Send(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
