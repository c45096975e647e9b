package controlplane

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"strings"
	"time"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/endpoint"
	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// operations is OperationService.
type operations struct {
	operation.UnimplementedOperationServiceServer
	p *Plane
}

func (s operations) Get(ctx context.Context, req *operation.GetOperationRequest) (*operation.Operation, error) {
	if req.OperationId == "" {
		return nil, invalid("operation_id is required")
	}
	op, err := s.p.opts.Store.Operation(ctx, req.OperationId)
	if err != nil {
		return nil, storeErr(err, "operation "+req.OperationId)
	}
	return op, nil
}

// Cancel: every operation here is done by the time it is returned, and the
// cloud refuses to cancel a done operation with FAILED_PRECONDITION.
func (s operations) Cancel(ctx context.Context, req *operation.CancelOperationRequest) (*operation.Operation, error) {
	if _, err := s.Get(ctx, &operation.GetOperationRequest{OperationId: req.OperationId}); err != nil {
		return nil, err
	}
	return nil, status.Errorf(codes.FailedPrecondition, "operation %s is already done and cannot be cancelled", req.OperationId)
}

// EndpointIDs are the services the SDKs look up by ID in the endpoint
// list; each is answered with this listener's address.
var EndpointIDs = []string{
	"endpoint", "iam", "operation", "serverless-apigateway", "apigateway-connections",
	"serverless-gateway-connections", "resource-manager",
}

// endpoints is ApiEndpointService: every service the SDKs ask for is
// here, at the address the client reached us by.
type endpoints struct {
	endpoint.UnimplementedApiEndpointServiceServer
	addr string // the listener's address, when the client's is unknown
}

// address is where the client reached this listener (its :authority),
// so a client that dialled localhost:8443 is told localhost:8443.
func (s endpoints) address(ctx context.Context) string {
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if a := md.Get(":authority"); len(a) > 0 && a[0] != "" {
			host := a[0]
			if _, _, err := net.SplitHostPort(host); err == nil {
				return host
			}
			return net.JoinHostPort(host, "443")
		}
	}
	return s.addr
}

func (s endpoints) List(ctx context.Context, req *endpoint.ListApiEndpointsRequest) (*endpoint.ListApiEndpointsResponse, error) {
	addr := s.address(ctx)
	out := &endpoint.ListApiEndpointsResponse{}
	for _, id := range EndpointIDs {
		out.Endpoints = append(out.Endpoints, &endpoint.ApiEndpoint{Id: id, Address: addr})
	}
	return out, nil
}

func (s endpoints) Get(ctx context.Context, req *endpoint.GetApiEndpointRequest) (*endpoint.ApiEndpoint, error) {
	for _, id := range EndpointIDs {
		if id == req.ApiEndpointId {
			return &endpoint.ApiEndpoint{Id: id, Address: s.address(ctx)}, nil
		}
	}
	return nil, status.Errorf(codes.NotFound, "endpoint %q not found", req.ApiEndpointId)
}

// TokenLifetime is how long an IAM token that apigw issues is valid, as
// the cloud's.
const TokenLifetime = 12 * time.Hour

// tokens is IamTokenService.Create: the SDKs and Terraform exchange an
// OAuth token or a service account's JWT for an IAM token first.
type tokens struct {
	iam.UnimplementedIamTokenServiceServer
	a *access
}

func (s tokens) Create(ctx context.Context, req *iam.CreateIamTokenRequest) (*iam.CreateIamTokenResponse, error) {
	oauth, jwt := req.GetYandexPassportOauthToken(), req.GetJwt()
	if oauth == "" && jwt == "" {
		return nil, invalid("one of yandex_passport_oauth_token or jwt is required")
	}
	exp := timestamppb.New(time.Now().Add(TokenLifetime))
	if s.a.open {
		// Any credential is accepted on loopback; the token is a fresh
		// one of the cloud's shape.
		var b [24]byte
		rand.Read(b[:])
		return &iam.CreateIamTokenResponse{IamToken: "t1.apigw." + hex.EncodeToString(b[:]), ExpiresAt: exp}, nil
	}
	// With control_plane.tokens, an accepted token is exchanged for
	// itself: every replica accepts it, with no state shared. A JWT
	// cannot be checked without the service account's public key.
	if oauth != "" && s.a.accepts(oauth) {
		return &iam.CreateIamTokenResponse{IamToken: oauth, ExpiresAt: exp}, nil
	}
	if jwt != "" {
		return nil, status.Error(codes.Unauthenticated, "this control plane accepts only the tokens in control_plane.tokens (as an OAuth or IAM token); a service account JWT cannot be checked")
	}
	return nil, status.Error(codes.Unauthenticated, "the OAuth token is not one of control_plane.tokens")
}

// bearer extracts the token of an Authorization value.
func bearer(v string) string {
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		return strings.TrimSpace(v[7:])
	}
	return ""
}
