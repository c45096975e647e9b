// Package auth enforces OpenAPI security with the two Yandex Cloud
// authorizers (digest §4): function authorizers on http basic/bearer and
// apiKey schemes, and JWT authorizers on openIdConnect schemes. A Guard is
// compiled per operation at build time; at request time it only extracts,
// looks up caches and verifies.
package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/apigw/apigw/internal/headers"
	"github.com/apigw/apigw/internal/httperr"
	"github.com/apigw/apigw/internal/integration"
)

// Guard is the compiled `security` of one operation: alternatives (OR) of
// requirements whose schemes must all pass (AND).
type Guard struct {
	alternatives [][]use
}

type use struct {
	scheme checker
	scopes []string
	name   string // the scheme's name in the spec
}

// Describe is the security as people write it: alternatives joined by
// " or ", the schemes of one by " and ", scopes in brackets.
func (g *Guard) Describe() string {
	if g == nil {
		return ""
	}
	var alts []string
	for _, alt := range g.alternatives {
		var names []string
		for _, u := range alt {
			n := u.name
			if len(u.scopes) > 0 {
				n += " [" + strings.Join(u.scopes, " ") + "]"
			}
			names = append(names, n)
		}
		alts = append(alts, strings.Join(names, " and "))
	}
	return strings.Join(alts, " or ")
}

// checker is one security scheme bound to its authorizer.
type checker interface {
	// check authorizes the request; it returns the context to merge into
	// requestContext.authorizer, or a failure.
	check(r *http.Request, c *integration.Call, scopes []string) (map[string]any, *failure)
}

type failure struct {
	status    int
	message   string
	err       error // log only
	challenge string
}

// Authorize runs the guard. On success it returns the authorizer context
// (nil when there is none); on failure it sets WWW-Authenticate for 401 and
// returns the error to render. Of several failed alternatives the strongest
// failure wins: 500 over 403 over 401.
func (g *Guard) Authorize(w http.ResponseWriter, r *http.Request, c *integration.Call) (map[string]any, error) {
	var worst *failure
	for _, alt := range g.alternatives {
		var merged map[string]any
		var fail *failure
		for i, u := range alt {
			ctx, f := u.scheme.check(r, c, u.scopes)
			if f != nil {
				fail = f
				break
			}
			switch {
			case len(ctx) == 0:
			case i == 0 && len(alt) == 1:
				merged = ctx // one scheme: its (read-only) context as it is
			default:
				if merged == nil {
					merged = map[string]any{}
				}
				for k, v := range ctx {
					merged[k] = v
				}
			}
		}
		if fail == nil {
			return merged, nil
		}
		if worst == nil || rank(fail.status) > rank(worst.status) {
			worst = fail
		}
	}
	if worst.status == http.StatusUnauthorized && worst.challenge != "" {
		w.Header().Set("WWW-Authenticate", worst.challenge)
	}
	return nil, httperr.Wrap(worst.status, worst.message, worst.err)
}

func rank(status int) int {
	switch {
	case status >= 500:
		return 3
	case status == http.StatusForbidden:
		return 2
	default:
		return 1
	}
}

// credentialKey is how credentials enter cache keys: hashed, never kept in
// the clear.
func credentialKey(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// cacheScope is the part of a result-cache key that the caching mode picks:
// the template (path mode, the default) or the actual path (uri mode).
func cacheScope(uriMode bool, r *http.Request, c *integration.Call) string {
	if uriMode {
		return r.URL.Path
	}
	return c.Route
}

// resultCache is a TTL cache with a size bound.
type resultCache[V any] struct {
	ttl          time.Duration
	mu           sync.Mutex
	m            map[string]cached[V]
	hits, misses prometheus.Counter
}

type cached[V any] struct {
	v       V
	expires time.Time
}

const maxCacheEntries = 100_000

func newResultCache[V any](kind string, ttl time.Duration) *resultCache[V] {
	if ttl <= 0 {
		return nil
	}
	return &resultCache[V]{ttl: ttl, m: map[string]cached[V]{},
		hits: CacheLookups.WithLabelValues(kind, "hit"), misses: CacheLookups.WithLabelValues(kind, "miss")}
}

// CacheLookups counts the authorizer result caches' lookups, by authorizer
// kind (function, jwt) and result (hit, miss). Caches that are off (no
// TTL) are not counted.
var CacheLookups = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "apigw_authorizer_cache_lookups_total",
	Help: "Authorizer result cache lookups, by authorizer kind and result (hit or miss).",
}, []string{"kind", "result"})

func (c *resultCache[V]) get(key string, now time.Time) (V, bool) {
	var zero V
	if c == nil {
		return zero, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || now.After(e.expires) {
		c.misses.Inc()
		return zero, false
	}
	c.hits.Inc()
	return e.v, true
}

func (c *resultCache[V]) put(key string, v V, now, notAfter time.Time) {
	if c == nil {
		return
	}
	exp := now.Add(c.ttl)
	if !notAfter.IsZero() && notAfter.Before(exp) {
		exp = notAfter
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxCacheEntries {
		for k, e := range c.m { // drop the expired, else an arbitrary tenth
			if now.After(e.expires) || len(c.m) >= maxCacheEntries*9/10 {
				delete(c.m, k)
			}
		}
	}
	c.m[key] = cached[V]{v, exp}
}

// source is where a scheme's credential is: a header, a query parameter
// or a cookie. A header the gateway sets itself (X-Forwarded-For and the
// others of headers.Forwarded) is read as the integration will receive
// it, since the cloud's front adds them before security is checked: a
// published spec guards routes with an apiKey scheme on X-Forwarded-For
// whose function authorizer allows listed client IPs.
type source struct {
	in, name  string
	gateway   bool // name is a header the gateway sets
	gatewayID string
}

func newSource(in, name, gatewayID string) source {
	s := source{in: in, name: name, gatewayID: gatewayID}
	if in == "header" {
		s.name = http.CanonicalHeaderKey(name)
		s.gateway = headers.SetByGateway(s.name)
	}
	return s
}

// extract reads the credential; ok is false when it is absent or empty.
func (s *source) extract(r *http.Request, c *integration.Call) (string, bool) {
	var v string
	switch s.in {
	case "header":
		if s.gateway {
			v, _ = headers.Forwarded(s.name, r, c.ClientIP, c.RemoteAddr, c.RequestID, s.gatewayID)
		} else {
			v = r.Header.Get(s.name)
		}
	case "query":
		v = r.URL.Query().Get(s.name)
	case "cookie":
		if ck, err := r.Cookie(s.name); err == nil {
			v = ck.Value
		}
	}
	return v, strings.TrimSpace(v) != ""
}
