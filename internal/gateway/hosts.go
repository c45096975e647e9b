package gateway

import (
	"crypto/tls"
	"net"
	"net/http"
	"strings"
)

// Domain is a set of hosts served by one snapshot, with the certificate
// that HTTPS presents for them (nil: none).
type Domain struct {
	Hosts []string
	Snap  *Snapshot
	Cert  *tls.Certificate
}

// hostTable picks the snapshot for a request's Host and the certificate
// for a TLS handshake's server name (digest §9.4).
type hostTable struct {
	snaps    nameTable[*Snapshot]
	certs    nameTable[*tls.Certificate]
	fallback *Snapshot        // unknown hosts: nil answers 404
	defCert  *tls.Certificate // names no domain covers
	// httpsPort, when set, makes plain requests for hosts that have a
	// certificate a redirect to HTTPS on this port.
	httpsPort string
	domains   []Domain // as given, for DomainInfos
}

// DomainInfo is one domain's hosts and routes, for the console.
type DomainInfo struct {
	Hosts  []string    `json:"hosts"`
	TLS    bool        `json:"tls"`
	Routes []RouteInfo `json:"routes"`
}

// DomainInfos lists the domains the snapshot serves (none without domains).
func (s *Snapshot) DomainInfos() []DomainInfo {
	if s.hosts == nil {
		return nil
	}
	out := make([]DomainInfo, 0, len(s.hosts.domains))
	for _, d := range s.hosts.domains {
		out = append(out, DomainInfo{Hosts: d.Hosts, TLS: d.Cert != nil, Routes: d.Snap.Routes()})
	}
	return out
}

// nameTable maps exact names and one-label wildcards (*.example.com).
type nameTable[T any] struct {
	exact map[string]T
	wild  map[string]T // by the suffix after "*"
}

func (t *nameTable[T]) add(name string, v T) {
	if t.exact == nil {
		t.exact, t.wild = map[string]T{}, map[string]T{}
	}
	name = strings.ToLower(name)
	if suffix, ok := strings.CutPrefix(name, "*"); ok {
		t.wild[suffix] = v
		return
	}
	t.exact[name] = v
}

func (t *nameTable[T]) get(name string) (T, bool) {
	if v, ok := t.exact[name]; ok {
		return v, true
	}
	if i := strings.IndexByte(name, '.'); i > 0 {
		if v, ok := t.wild[name[i:]]; ok {
			return v, true
		}
	}
	var zero T
	return zero, false
}

// SetDomains makes s the root of a multi-domain gateway: each domain's
// hosts are served by its snapshot; other hosts by s when fallback is set,
// else 404. defCert answers handshakes for names no domain covers;
// httpsPort, when set, redirects plain requests for certified hosts.
func (s *Snapshot) SetDomains(domains []Domain, fallback bool, defCert *tls.Certificate, httpsPort string) {
	t := &hostTable{defCert: defCert, httpsPort: httpsPort, domains: domains}
	if fallback {
		t.fallback = s
	}
	for _, d := range domains {
		for _, h := range d.Hosts {
			t.snaps.add(h, d.Snap)
			if d.Cert != nil {
				t.certs.add(h, d.Cert)
			}
		}
	}
	s.hosts = t
}

// Certificate is the certificate for a TLS server name (for
// tls.Config.GetCertificate).
func (s *Snapshot) Certificate(serverName string) (*tls.Certificate, bool) {
	if s.hosts == nil {
		return nil, false
	}
	if c, ok := s.hosts.certs.get(strings.ToLower(serverName)); ok {
		return c, true
	}
	return s.hosts.defCert, s.hosts.defCert != nil
}

// byHost picks the snapshot for r, or answers it: a redirect to HTTPS, or
// 404 for a host no domain serves (ok false).
func (t *hostTable) byHost(w http.ResponseWriter, r *http.Request) (*Snapshot, bool) {
	host := strings.ToLower(r.Host)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if t.httpsPort != "" && r.TLS == nil {
		if _, ok := t.certs.get(host); ok {
			target := "https://" + host
			if t.httpsPort != "443" {
				target += ":" + t.httpsPort
			}
			w.Header().Set("Location", target+r.URL.RequestURI())
			w.WriteHeader(http.StatusPermanentRedirect)
			return nil, false
		}
	}
	if snap, ok := t.snaps.get(host); ok {
		return snap, true
	}
	return t.fallback, t.fallback != nil
}
