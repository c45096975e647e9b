package httpproxy

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/apigw/apigw/internal/headers"
	"github.com/apigw/apigw/internal/httperr"
	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/params"
)

// target computes the upstream URL. Substituted values are escaped for where
// they land: in the path a value cannot add a segment ("/" is escaped, except
// in a greedy parameter, which is a path by nature), start a query ("?") or
// climb out of the URL's path (a "." or ".." segment is refused); in the query
// a value cannot add a parameter ("&", "=").
func (it *Integration) target(r *http.Request, v *params.Request) (*url.URL, error) {
	u := it.url
	var out *url.URL
	if u.static != nil {
		cp := *u.static
		out = &cp
	} else {
		var bad error
		host := u.host.Expand(v, func(_, val string) string {
			if !validHost(val) {
				bad = httperr.New(http.StatusBadRequest, "a parameter value is not valid in the upstream host")
			}
			return val
		})
		path := u.path.Expand(v, func(name, val string) string {
			if it.declared.Greedy(name) {
				segs := strings.Split(val, "/")
				for i, s := range segs {
					if s == "." || s == ".." {
						bad = httperr.New(http.StatusBadRequest, "a path parameter value contains a dot segment")
					}
					segs[i] = url.PathEscape(s)
				}
				return strings.Join(segs, "/")
			}
			if val == "." || val == ".." {
				bad = httperr.New(http.StatusBadRequest, "a parameter value is a dot segment")
			}
			return url.PathEscape(val)
		})
		query := u.rawQuery.Expand(v, func(_, val string) string { return url.QueryEscape(val) })
		if bad != nil {
			return nil, bad
		}
		parsed, err := url.Parse(u.scheme + "://" + host + path)
		if err != nil {
			return nil, httperr.Wrap(http.StatusBadRequest, "parameter values do not form a valid upstream URL", err)
		}
		parsed.RawQuery = query
		out = parsed
	}
	if len(it.query) > 0 || it.allQuery {
		q, err := it.outQuery(r, v)
		if err != nil {
			return nil, err
		}
		switch {
		case out.RawQuery == "":
			out.RawQuery = q
		case q != "":
			out.RawQuery += "&" + q
		}
	}
	return out, nil
}

func validHost(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' || c == ':' || c == '[' || c == ']') {
			return false
		}
	}
	return true
}

// outQuery builds the query string from the `query` map: named entries in
// document order (arrays joined with ","), then, with '*': '*', every original
// parameter the map does not name, in its original order and encoding.
func (it *Integration) outQuery(r *http.Request, v *params.Request) (string, error) {
	var b strings.Builder
	add := func(k, val string) {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(k))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(val))
	}
	for _, e := range it.query {
		val := e.join(v)
		if val == "" && it.omitQuery {
			continue
		}
		add(e.name, val)
	}
	if it.allQuery {
		for _, piece := range strings.Split(r.URL.RawQuery, "&") {
			if piece == "" {
				continue
			}
			k, _, _ := strings.Cut(piece, "=")
			if dk, err := url.QueryUnescape(k); err == nil && it.namedQuery[dk] {
				continue
			}
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(piece)
		}
	}
	return b.String(), nil
}

func (e *entry) join(v *params.Request) string {
	if e.null || len(e.values) == 0 {
		return ""
	}
	if len(e.values) == 1 {
		return e.values[0].Expand(v, nil)
	}
	parts := make([]string, len(e.values))
	for i, t := range e.values {
		parts[i] = t.Expand(v, nil)
	}
	return strings.Join(parts, ",")
}

// gatewayHeaders are set by the gateway on every forwarded request (§9.1);
// the client cannot forge them through '*'.
var gatewayHeaders = map[string]bool{
	"X-Forwarded-Proto": true, "X-Real-Remote-Address": true, "X-Serverless-Gateway-Id": true, "X-Request-Id": true,
	integration.AuthorizerHeader: true,
}

// outHeaders builds the upstream headers: by default only User-Agent is
// forwarded; '*': '*' forwards all (hop-by-hop headers are already gone)
// except those the map names; named entries are substituted, and an empty
// one is dropped under omitEmptyHeaders.
func (it *Integration) outHeaders(r *http.Request, c *integration.Call) (http.Header, string, error) {
	out := make(http.Header, len(it.headers)+8)
	host := ""
	if it.allHeaders {
		conn := headers.ConnectionTokens(r.Header)
		for k, vals := range r.Header {
			if it.named[k] || gatewayHeaders[k] || headers.IsHopByHop(k) || conn[k] {
				continue
			}
			out[k] = vals
		}
		host = r.Host
	} else if ua, ok := r.Header["User-Agent"]; ok && !it.named["User-Agent"] {
		out["User-Agent"] = ua
	}
	for _, e := range it.headers {
		val, err := e.joinHeader(c.Params)
		if err != nil {
			return nil, "", httperr.Wrap(http.StatusBadRequest, "invalid parameter value for header "+e.name, err)
		}
		if val == "" && it.omitHeaders {
			continue
		}
		if strings.EqualFold(e.name, "Host") {
			host = val
			continue
		}
		out[http.CanonicalHeaderKey(e.name)] = []string{val}
	}
	if _, ok := out["User-Agent"]; !ok {
		// Go's client would add its own; the upstream should see none.
		out["User-Agent"] = []string{""}
	}
	out["X-Forwarded-For"] = []string{headers.AppendForwardedFor(r.Header, c.ClientIP)}
	setDefault(out, "X-Forwarded-Proto", proto(r))
	setDefault(out, "X-Real-Remote-Address", c.RemoteAddr)
	setDefault(out, "X-Request-Id", c.RequestID)
	setDefault(out, "X-Serverless-Gateway-Id", it.gatewayID)
	delete(out, integration.AuthorizerHeader)
	c.SetAuthorizerHeader(out)
	if it.account != nil {
		// The target is a Yandex Cloud API: it gets the account's token, and
		// never the client's own credentials.
		if err := it.account.SetBearer(r.Context(), out, c.Deadline); err != nil {
			return nil, "", err
		}
	}
	return out, host, nil
}

func (e *entry) joinHeader(v *params.Request) (string, error) {
	if e.null || len(e.values) == 0 {
		return "", nil
	}
	parts := make([]string, len(e.values))
	for i, t := range e.values {
		s, err := t.ExpandHeader(v)
		if err != nil {
			return "", err
		}
		parts[i] = s
	}
	return strings.Join(parts, ","), nil
}

func setDefault(h http.Header, k, v string) {
	if _, ok := h[k]; !ok {
		h[k] = []string{v}
	}
}

func proto(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}
