package connectionapi

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
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
	url := srv.URL + connectionsPrefix + "abc:send"
	b.ReportAllocs()
	for b.Loop() {
		res, err := http.Post(url, "application/json", strings.NewReader(`{"data":"aGVsbG8=","type":"TEXT"}`))
		if err != nil || res.StatusCode != 200 {
			b.Fatal(res, err)
		}
		io.Copy(io.Discard, res.Body) // read to the end, or the connection is not reused
		res.Body.Close()
	}
}

// BenchmarkSendGRPC is gRPC as the plain admin listener serves it: h2c
// on gRPC's own transport (SplitH2C).
func BenchmarkSendGRPC(b *testing.B) {
	srv := serveAPI(b, &API{Registry: discard{}})
	benchGRPC(b, strings.TrimPrefix(srv.URL, "http://"))
}

// BenchmarkSendGRPCServeHTTP is gRPC through net/http's HTTP/2 server
// (grpc.Server.ServeHTTP), as over TLS, here on h2c to leave TLS out.
func BenchmarkSendGRPCServeHTTP(b *testing.B) {
	srv := httptest.NewUnstartedServer(&API{Registry: discard{}})
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	defer srv.Close()
	benchGRPC(b, strings.TrimPrefix(srv.URL, "http://"))
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
