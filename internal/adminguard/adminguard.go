// Package adminguard holds the admin listener's rules against what a web
// page elsewhere can make a browser send to it. The listener is private
// (loopback by default) and its powers are real: the console reads every
// exchange and replays them, the connection API broadcasts to clients,
// pprof profiles the process. A page on another site cannot read the
// answers, but it can make the browser send requests, and it can make its
// own name resolve to 127.0.0.1 (DNS rebinding) to become same-origin.
//
// So, for every endpoint but the health checks:
//
//   - Without a token, only a Host that cannot be rebound is served: a
//     loopback name, an IP address, or a name the operator lists
//     (admin_hosts). With one, the token is what protects.
//   - A request from another site is refused unless it is a plain
//     navigation to a page (Sec-Fetch-Site other than same-origin or
//     none, or an Origin other than the listener's own).
//   - A change is JSON (or gRPC): a form or a no-cors fetch can send only
//     text/plain, form and multipart bodies without the browser asking
//     first.
package adminguard

import (
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Refusal is why a request is refused, with its status.
type Refusal struct {
	Status  int
	Message string
}

// Check applies the rules to r. guarded says whether the endpoint r
// reaches takes a token (then any Host is served); hosts are the names
// served without one besides loopback names and IP addresses.
func Check(r *http.Request, guarded bool, hosts []string) *Refusal {
	if !guarded && !AllowedHost(r.Host, hosts) {
		return &Refusal{http.StatusForbidden, "without a token the admin listener answers only at a loopback name, an IP address or a name in admin_hosts, not " + r.Host}
	}
	navigation := (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		r.Header.Get("Sec-Fetch-Mode") == "navigate" && r.Header.Get("Sec-Fetch-Dest") == "document"
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" && !navigation {
		return &Refusal{http.StatusForbidden, "the admin listener takes requests only from its own pages, not from another site (Sec-Fetch-Site: " + site + ")"}
	}
	if origin := r.Header.Get("Origin"); origin != "" && !navigation {
		if u, err := url.Parse(origin); err != nil || !strings.EqualFold(u.Host, r.Host) {
			return &Refusal{http.StatusForbidden, "the admin listener takes requests only from its own pages, not from " + origin}
		}
	}
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		if !jsonOrGRPC(r.Header.Get("Content-Type")) {
			return &Refusal{http.StatusUnsupportedMediaType, "the admin listener takes changes as JSON: send Content-Type: application/json"}
		}
	}
	return nil
}

func jsonOrGRPC(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json") || mt == "application/grpc" || strings.HasPrefix(mt, "application/grpc+")
}

// AllowedHost reports whether a Host (name or address, with or without a
// port) cannot be made to point at the listener by someone else's DNS: a
// loopback name, an IP address, or one of hosts.
func AllowedHost(host string, hosts []string) bool {
	h := host
	if name, _, err := net.SplitHostPort(host); err == nil {
		h = name
	}
	h = strings.TrimSuffix(strings.Trim(h, "[]"), ".")
	if h == "" {
		return false
	}
	if strings.EqualFold(h, "localhost") || strings.HasSuffix(strings.ToLower(h), ".localhost") {
		return true // RFC 6761: resolvers answer loopback for these, never someone's DNS
	}
	if net.ParseIP(h) != nil {
		return true
	}
	for _, allowed := range hosts {
		if strings.EqualFold(h, strings.TrimSuffix(allowed, ".")) {
			return true
		}
	}
	return false
}

// Headers are set on every admin answer: no page of the listener may be
// framed by another (clickjacking Replay or Clear), nor its answers
// sniffed into another type.
func Headers(h http.Header) {
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
}
