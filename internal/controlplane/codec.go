package controlplane

import (
	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	apigateway "github.com/yandex-cloud/go-genproto/yandex/cloud/serverless/apigateway/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// The stores keep resources as protobuf JSON: readable with psql or a
// bbolt browser, and decoded exactly (the gateway and operation types and
// the Any types an operation packs are all registered by their imports).
var (
	marshal   = protojson.MarshalOptions{UseProtoNames: true}
	unmarshal = protojson.UnmarshalOptions{DiscardUnknown: true}
)

func encodeGateway(g *apigateway.ApiGateway) ([]byte, error) { return marshal.Marshal(g) }

func decodeGateway(b []byte) (*apigateway.ApiGateway, error) {
	g := &apigateway.ApiGateway{}
	return g, unmarshal.Unmarshal(b, g)
}

func encodeOperation(op *operation.Operation) ([]byte, error) { return marshal.Marshal(op) }

func decodeOperation(b []byte) (*operation.Operation, error) {
	op := &operation.Operation{}
	return op, unmarshal.Unmarshal(b, op)
}
