package auth

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/apigw/apigw/internal/auth/jwks"
	"github.com/apigw/apigw/internal/integration"
)

// jwtChecker is a JWT authorizer (§4.3) on an openIdConnect scheme.
type jwtChecker struct {
	scheme         string
	src            source
	prefix         string
	jwksURI        string // "" when discovered from configURL
	configURL      string
	issuers        []string
	audiences      []string
	requiredClaims []string
	keyTTL         time.Duration
	leeway         time.Duration
	invalidStatus  int // 401 (default) or 403 for a token that fails verification
	uriMode        bool
	cache          *resultCache[*verified]
	keys           *jwks.Cache
	now            func() time.Time
}

type verified struct {
	scopes []string
	ctx    map[string]any // {"jwt": {claims, scopes}}, built once, read-only
}

func (j *jwtChecker) check(r *http.Request, c *integration.Call, required []string) (map[string]any, *failure) {
	raw, ok := j.src.extract(r, c)
	if ok && j.prefix != "" {
		if !strings.HasPrefix(raw, j.prefix) {
			ok = false
		}
		raw = strings.TrimPrefix(raw, j.prefix)
	}
	raw = strings.TrimSpace(raw)
	if !ok || raw == "" {
		return nil, &failure{status: http.StatusUnauthorized, message: "Unauthorized: no token", challenge: `Bearer realm="apigw"`}
	}
	now := j.now()
	key := credentialKey(j.scheme, cacheScope(j.uriMode, r, c), r.Method, raw)
	v, hit := j.cache.get(key, now)
	if !hit {
		var f *failure
		if v, f = j.verify(r, raw, now); f != nil {
			return nil, f
		}
		exp, _ := numericDate(v.ctx["jwt"].(map[string]any)["claims"].(map[string]any)["exp"])
		j.cache.put(key, v, now, exp)
	}
	for _, s := range required {
		if !slices.Contains(v.scopes, s) {
			return nil, &failure{status: http.StatusForbidden, message: "Forbidden: the token lacks the scope " + s,
				challenge: `Bearer error="insufficient_scope"`}
		}
	}
	return v.ctx, nil
}

func (j *jwtChecker) invalid(reason string, err error) *failure {
	return &failure{status: j.invalidStatus, message: "Unauthorized: " + reason, err: err,
		challenge: `Bearer error="invalid_token"`}
}

func (j *jwtChecker) verify(r *http.Request, raw string, now time.Time) (*verified, *failure) {
	t, err := parseToken(raw)
	if err != nil {
		return nil, j.invalid("malformed token", err)
	}
	url := j.jwksURI
	if url == "" {
		if url, err = j.keys.JWKSURI(r.Context(), j.configURL, j.keyTTL); err != nil {
			return nil, &failure{status: http.StatusInternalServerError, message: "OpenID configuration is unavailable", err: err}
		}
	}
	k, err := j.keys.Key(r.Context(), url, t.kid, j.keyTTL)
	switch {
	case errors.Is(err, jwks.ErrUnknownKey):
		return nil, j.invalid("unknown signing key", err)
	case err != nil:
		return nil, &failure{status: http.StatusInternalServerError, message: "the JWKS is unavailable", err: err}
	}
	if err := t.verify(k); err != nil {
		return nil, j.invalid("bad signature", err)
	}
	exp, hasExp := numericDate(t.claims["exp"])
	if !hasExp {
		return nil, j.invalid("the token has no exp", nil)
	}
	if !now.Before(exp.Add(j.leeway)) {
		return nil, j.invalid("the token has expired", nil)
	}
	for _, c := range []string{"nbf", "iat"} {
		if at, ok := numericDate(t.claims[c]); ok && at.After(now.Add(j.leeway)) {
			return nil, j.invalid("the token is not valid yet ("+c+")", nil)
		} else if _, present := t.claims[c]; present && !ok {
			return nil, j.invalid(c+" is not a number", nil)
		}
	}
	if len(j.issuers) > 0 {
		iss, _ := t.claims["iss"].(string)
		if !slices.Contains(j.issuers, iss) {
			return nil, j.invalid(fmt.Sprintf("issuer %q is not accepted", iss), nil)
		}
	}
	if len(j.audiences) > 0 && !slices.ContainsFunc(audiences(t.claims), func(a string) bool { return slices.Contains(j.audiences, a) }) {
		return nil, j.invalid("audience is not accepted", nil)
	}
	for _, c := range j.requiredClaims {
		if _, ok := t.claims[c]; !ok {
			return nil, j.invalid("missing claim "+c, nil)
		}
	}
	scopes := scopesOf(t.claims)
	return &verified{scopes: scopes, ctx: map[string]any{"jwt": map[string]any{"claims": t.claims, "scopes": scopes}}}, nil
}
