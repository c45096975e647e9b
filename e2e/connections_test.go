package e2e

import (
	"strings"
	"testing"

	"github.com/apigw/apigw/internal/connectionapi/connectionpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// connectionClient is a gRPC client of the connection service on a
// gateway's admin listener (h2c).
func connectionClient(t *testing.T, adminURL string) connectionpb.ConnectionServiceClient {
	t.Helper()
	cc, err := grpc.NewClient(strings.TrimPrefix(adminURL, "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return connectionpb.NewConnectionServiceClient(cc)
}
