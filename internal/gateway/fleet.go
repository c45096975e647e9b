package gateway

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// FleetPrefix is the host-less form of a created gateway's address:
// /_apigw/gateways/<id>/<path> serves <path> of gateway <id>, for clients
// that cannot set a Host or resolve a wildcard name.
const FleetPrefix = "/_apigw/gateways/"

// FleetGateway is one gateway the control plane created, as the data
// plane serves it.
type FleetGateway struct {
	ID string
	// Snap serves it (nil: it never built; answered with 502).
	Snap *Snapshot
	// Stopped gateways answer 503 (docs/control-plane.md).
	Stopped bool
	// Hosts are its service domain and attached domains; Certs the
	// attached domains' certificates by name.
	Hosts []string
	Certs map[string]*tls.Certificate
}

// Fleet is the immutable table of the created gateways: by host, by ID
// and the certificates of their domains. The control plane builds a new
// one on every change and swaps it in (SetFleet), as a reload swaps
// snapshots.
type Fleet struct {
	byHost map[string]*FleetGateway
	byID   map[string]*FleetGateway
	certs  map[string]*tls.Certificate
}

// NewFleet indexes gws.
func NewFleet(gws []*FleetGateway) *Fleet {
	f := &Fleet{byHost: map[string]*FleetGateway{}, byID: map[string]*FleetGateway{}, certs: map[string]*tls.Certificate{}}
	for _, g := range gws {
		f.byID[g.ID] = g
		for _, h := range g.Hosts {
			f.byHost[strings.ToLower(h)] = g
		}
		for h, c := range g.Certs {
			f.certs[strings.ToLower(h)] = c
		}
	}
	return f
}

// Len is the number of gateways.
func (f *Fleet) Len() int { return len(f.byID) }

// Certificate is the certificate of an attached domain (for SNI).
func (f *Fleet) Certificate(serverName string) (*tls.Certificate, bool) {
	if f == nil {
		return nil, false
	}
	c, ok := f.certs[strings.ToLower(serverName)]
	return c, ok
}

// Fleet is the control plane's gateways being served (nil: none).
func (h *Handler) Fleet() *Fleet { return h.fleet.Load() }

// SetFleet swaps in the control plane's gateways; in-flight requests
// finish on the gateways they started on.
func (h *Handler) SetFleet(f *Fleet) { h.fleet.Store(f) }

// match finds the created gateway a request is for: by its Host, or by
// the host-less path form, in which case r is rewritten to the path
// behind the prefix.
func (f *Fleet) match(r *http.Request) (*FleetGateway, *http.Request) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if g, ok := f.byHost[strings.ToLower(host)]; ok {
		return g, r
	}
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), FleetPrefix)
	if !ok {
		return nil, r
	}
	id, path, _ := strings.Cut(rest, "/")
	g, ok := f.byID[id]
	if !ok {
		return nil, r
	}
	u := *r.URL
	u.RawPath = "/" + path
	u.Path, _ = url.PathUnescape(u.RawPath)
	r2 := new(http.Request)
	*r2 = *r
	r2.URL = &u
	r2.RequestURI = u.RequestURI()
	return g, r2
}
