package integration

import (
	"net/http"
	"sync"
	"time"

	"github.com/apigw/apigw/internal/auth/jwks"
	"github.com/apigw/apigw/internal/functions"
	"github.com/apigw/apigw/internal/policy/ratelimit"
	"github.com/apigw/apigw/internal/upstream"
	"github.com/apigw/apigw/internal/yc"
)

// Deps holds what outlives a snapshot: upstream connection pools. A reload
// builds a new snapshot but keeps warm keep-alive connections.
type Deps struct {
	// Functions holds the invokers of function bindings, warm processes
	// included.
	Functions *functions.Pool
	// JWKS caches the JWT authorizers' key sets.
	JWKS *jwks.Cache
	// Tokens caches the IAM tokens of service account keys.
	Tokens *yc.Tokens
	// RateLimits holds the rate limits' buckets: in the process, or in
	// Redis when replicas share them.
	RateLimits ratelimit.Store

	mu         sync.Mutex
	transports map[time.Duration]*upstream.Transport
}

// NewDeps returns empty shared dependencies.
func NewDeps() *Deps {
	t := upstream.New(10 * time.Second)
	tokens := yc.NewTokens(&http.Client{Transport: t})
	return &Deps{
		Functions:  functions.NewPool(t, tokens),
		JWKS:       jwks.New(&http.Client{Transport: t}),
		Tokens:     tokens,
		RateLimits: ratelimit.NewLocal(),
		transports: map[time.Duration]*upstream.Transport{10 * time.Second: t},
	}
}

// Transport returns the pooled upstream transport for a connect timeout
// (the dialer carries it).
func (d *Deps) Transport(connect time.Duration) http.RoundTripper {
	d.mu.Lock()
	defer d.mu.Unlock()
	if t, ok := d.transports[connect]; ok {
		return t
	}
	t := upstream.New(connect)
	d.transports[connect] = t
	return t
}

// Close drops idle upstream connections and stops function processes.
func (d *Deps) Close() {
	d.mu.Lock()
	for _, t := range d.transports {
		t.CloseIdleConnections()
	}
	d.mu.Unlock()
	d.Functions.Close()
}
