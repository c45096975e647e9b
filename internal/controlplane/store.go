package controlplane

import (
	"context"
	"errors"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	apigateway "github.com/yandex-cloud/go-genproto/yandex/cloud/serverless/apigateway/v1"
)

// Record is one gateway as the store keeps it: the resource the API
// returns, its spec's text, and the revision of its last write (a
// replica rebuilds a gateway whose revision it has not built).
type Record struct {
	Gateway  *apigateway.ApiGateway
	Spec     string
	Revision int64
}

// Store keeps the gateways and their operations. Every write is durable
// when it returns: an operation is reported done only after it is.
// Both stores keep the same records (the gateway and the operation as
// their protobuf JSON, the spec as text), so a state moves between them.
type Store interface {
	// List returns every gateway.
	List(ctx context.Context) ([]*Record, error)
	// Get returns one gateway (ErrNotFound).
	Get(ctx context.Context, id string) (*Record, error)
	// Put writes rec and op in one transaction. prev is the revision the
	// change was computed from (0: a new gateway): a write that lost a
	// race with another gives ErrConflict, a name taken in the folder
	// ErrNameTaken, a domain attached elsewhere ErrDomainTaken. It sets
	// rec.Revision.
	Put(ctx context.Context, rec *Record, prev int64, op *operation.Operation) error
	// Delete removes a gateway and writes op (ErrNotFound).
	Delete(ctx context.Context, id string, op *operation.Operation) error
	// Operation returns one operation (ErrNotFound).
	Operation(ctx context.Context, id string) (*operation.Operation, error)
	// Operations returns a gateway's operations, newest first.
	Operations(ctx context.Context, gatewayID string) ([]*operation.Operation, error)
	// Changed is signalled when another process changed the state (nil:
	// no other process writes this store).
	Changed() <-chan struct{}
	Close() error
}

var (
	ErrNotFound    = errors.New("not found")
	ErrConflict    = errors.New("changed concurrently")
	ErrNameTaken   = errors.New("name taken")
	ErrDomainTaken = errors.New("domain taken")
	// ErrUnavailable wraps a store that cannot be reached.
	ErrUnavailable = errors.New("the state store is unavailable")
)

// domainsOf lists a gateway's attached domain names.
func domainsOf(g *apigateway.ApiGateway) []string {
	out := make([]string, 0, len(g.GetAttachedDomains()))
	for _, d := range g.GetAttachedDomains() {
		out = append(out, d.GetDomain())
	}
	return out
}
