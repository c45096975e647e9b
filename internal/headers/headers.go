// Package headers knows which HTTP headers belong to one connection
// (hop-by-hop, RFC 9110 §7.6.1) and so never cross the gateway, in either
// direction, whatever the integration; which ones the gateway itself sets;
// and how the admin listener reads its bearer tokens.
package headers

import (
	"crypto/subtle"
	"net/http"
	"slices"
	"strings"
)

// IsHopByHop reports the connection-level headers every proxy drops.
func IsHopByHop(k string) bool {
	switch k {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
		"Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

// ConnectionTokens returns the headers a Connection header declares
// hop-by-hop, canonicalised (nil when there is none).
func ConnectionTokens(h http.Header) map[string]bool {
	vals := h["Connection"]
	if len(vals) == 0 {
		return nil
	}
	out := map[string]bool{}
	for _, v := range vals {
		for _, tok := range strings.Split(v, ",") {
			if tok = strings.TrimSpace(tok); tok != "" {
				out[http.CanonicalHeaderKey(tok)] = true
			}
		}
	}
	return out
}

// EndToEnd copies the end-to-end headers of h (values shared, not copied),
// leaving out the hop-by-hop ones, those Connection names, and any in skip.
func EndToEnd(h http.Header, skip map[string]bool) http.Header {
	conn := ConnectionTokens(h)
	out := make(http.Header, len(h)+6)
	for k, vv := range h {
		if IsHopByHop(k) || conn[k] || skip[k] {
			continue
		}
		out[k] = vv
	}
	return out
}

// AppendForwardedFor returns the X-Forwarded-For value with the client IP
// appended to whatever the request carried.
func AppendForwardedFor(h http.Header, clientIP string) string {
	if prior := h.Values("X-Forwarded-For"); len(prior) > 0 {
		return strings.Join(prior, ", ") + ", " + clientIP
	}
	return clientIP
}

// Forwarded is the value the gateway gives header name (canonical) on a
// request it forwards (digest §9.1), and whether name is one of those
// headers: X-Forwarded-For with the client IP appended, X-Request-Id,
// X-Real-Remote-Address, X-Serverless-Gateway-Id (when there is an ID), and
// X-Forwarded-Proto unless the request carried one (the gateway may sit
// behind a TLS-terminating balancer). in is the client's request. A
// client's own copy of the others is replaced.
//
// The cloud's front adds these before security is checked, so an
// authorizer that reads one (an apiKey scheme on X-Forwarded-For) must see
// this value, not the client's.
func Forwarded(name string, in *http.Request, clientIP, remoteAddr, requestID, gatewayID string) (string, bool) {
	switch name {
	case "X-Forwarded-For":
		return AppendForwardedFor(in.Header, clientIP), true
	case "X-Request-Id":
		return requestID, true
	case "X-Real-Remote-Address":
		return remoteAddr, true
	case "X-Serverless-Gateway-Id":
		return gatewayID, gatewayID != ""
	case "X-Forwarded-Proto":
		if v, ok := in.Header["X-Forwarded-Proto"]; ok && len(v) > 0 {
			return v[0], true
		}
		if in.TLS != nil {
			return "https", true
		}
		return "http", true
	}
	return "", false
}

// forwardedNames are the headers Forwarded knows, in the order they are
// set.
var forwardedNames = []string{"X-Forwarded-For", "X-Request-Id", "X-Real-Remote-Address", "X-Serverless-Gateway-Id", "X-Forwarded-Proto"}

// SetByGateway reports whether the gateway sets header name (canonical)
// on the requests it forwards.
func SetByGateway(name string) bool { return slices.Contains(forwardedNames, name) }

// SetForwarded sets the headers the gateway adds to a request it forwards:
// each of Forwarded's. h holds the end-to-end headers of the client's
// request in.
func SetForwarded(h http.Header, in *http.Request, clientIP, remoteAddr, requestID, gatewayID string) {
	for _, name := range forwardedNames {
		if v, ok := Forwarded(name, in, clientIP, remoteAddr, requestID, gatewayID); ok {
			h[name] = []string{v}
		}
	}
}

// HasBearer reports whether r carries "Authorization: Bearer <token>",
// compared in constant time (the admin listener's tokens).
func HasBearer(r *http.Request, token string) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}
