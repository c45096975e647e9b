// Package headers knows which HTTP headers belong to one connection
// (hop-by-hop, RFC 9110 §7.6.1) and so never cross the gateway, in either
// direction, whatever the integration.
package headers

import (
	"net/http"
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

// SetForwarded sets the headers the gateway adds to a request it forwards
// (digest §9.1): X-Forwarded-For with the client IP appended, X-Request-Id,
// X-Real-Remote-Address, X-Serverless-Gateway-Id (when there is an ID), and
// X-Forwarded-Proto unless the request carried one (the gateway may sit
// behind a TLS-terminating balancer). in is the client's request.
func SetForwarded(h http.Header, in *http.Request, clientIP, remoteAddr, requestID, gatewayID string) {
	h["X-Forwarded-For"] = []string{AppendForwardedFor(in.Header, clientIP)}
	h["X-Request-Id"] = []string{requestID}
	h["X-Real-Remote-Address"] = []string{remoteAddr}
	if gatewayID != "" {
		h["X-Serverless-Gateway-Id"] = []string{gatewayID}
	}
	if _, ok := h["X-Forwarded-Proto"]; !ok {
		proto := "http"
		if in.TLS != nil {
			proto = "https"
		}
		h["X-Forwarded-Proto"] = []string{proto}
	}
}
