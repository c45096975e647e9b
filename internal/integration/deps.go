package integration

import (
	"github.com/apigw/apigw/internal/functions"
	"net"
	"net/http"
	"sync"
	"time"
)

// Deps holds what outlives a snapshot: upstream connection pools. A reload
// builds a new snapshot but keeps warm keep-alive connections.
type Deps struct {
	// Functions holds the invokers of function bindings, warm processes
	// included.
	Functions *functions.Pool

	mu         sync.Mutex
	transports map[time.Duration]*upstream
}

// NewDeps returns empty shared dependencies.
func NewDeps() *Deps {
	return &Deps{Functions: functions.NewPool(), transports: map[time.Duration]*upstream{}}
}

// Transport returns the pooled transport for a connect timeout.
//
// Go's default transport keeps 2 idle connections per host; under load a
// proxy would then open and close connections all the time, so the pool is
// sized for a gateway. Compression is left to the client and the upstream:
// the gateway passes bytes through.
func (d *Deps) Transport(connect time.Duration) http.RoundTripper {
	d.mu.Lock()
	defer d.mu.Unlock()
	if t, ok := d.transports[connect]; ok {
		return t
	}
	dialer := &net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}
	t := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          4096,
		MaxIdleConnsPerHost:   1024,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   connect,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
		WriteBufferSize:       32 << 10,
		ReadBufferSize:        32 << 10,
	}
	u := newUpstream(dialer, t)
	d.transports[connect] = u
	return u
}

// Close drops idle upstream connections and stops function processes.
func (d *Deps) Close() {
	d.mu.Lock()
	for _, t := range d.transports {
		t.closeIdle()
	}
	d.mu.Unlock()
	d.Functions.Close()
}
