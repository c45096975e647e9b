package gateway

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// idp is a local identity provider: a JWKS endpoint, an OpenID discovery
// document, and the private keys to sign tokens with.
type idp struct {
	srv     *httptest.Server
	mu      sync.Mutex
	keys    []map[string]string // the published JWKS
	fetches atomic.Int64
}

func newIDP(t *testing.T) *idp {
	p := &idp{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			json.NewEncoder(w).Encode(map[string]string{"issuer": p.srv.URL, "jwks_uri": p.srv.URL + "/jwks"})
		case "/jwks":
			p.fetches.Add(1)
			p.mu.Lock()
			defer p.mu.Unlock()
			json.NewEncoder(w).Encode(map[string]any{"keys": p.keys})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *idp) publish(keys ...map[string]string) {
	p.mu.Lock()
	p.keys = keys
	p.mu.Unlock()
}

var b64 = base64.RawURLEncoding

func rsaJWK(kid string, k *rsa.PrivateKey) map[string]string {
	return map[string]string{"kty": "RSA", "kid": kid, "use": "sig", "n": b64.EncodeToString(k.N.Bytes()), "e": b64.EncodeToString(big.NewInt(int64(k.E)).Bytes())}
}

func ecJWK(kid string, k *ecdsa.PrivateKey) map[string]string {
	pad := func(b []byte) []byte { return append(make([]byte, 32-len(b)), b...) }
	return map[string]string{"kty": "EC", "kid": kid, "crv": "P-256", "x": b64.EncodeToString(pad(k.X.Bytes())), "y": b64.EncodeToString(pad(k.Y.Bytes()))}
}

// sign makes a JWT. key is an *rsa.PrivateKey (RS256, PS256), an
// *ecdsa.PrivateKey (ES256), []byte (HS256) or nil (none).
func sign(t *testing.T, alg, kid string, key any, claims map[string]any) string {
	t.Helper()
	h, _ := json.Marshal(map[string]string{"alg": alg, "kid": kid, "typ": "JWT"})
	c, _ := json.Marshal(claims)
	signing := b64.EncodeToString(h) + "." + b64.EncodeToString(c)
	sum := sha256.Sum256([]byte(signing))
	var sig []byte
	var err error
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if alg == "PS256" {
			sig, err = rsa.SignPSS(rand.Reader, k, crypto.SHA256, sum[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		} else {
			sig, err = rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, sum[:])
		}
	case *ecdsa.PrivateKey:
		r, s, e := ecdsa.Sign(rand.Reader, k, sum[:])
		err = e
		sig = append(append(make([]byte, 32-len(r.Bytes())), r.Bytes()...), append(make([]byte, 32-len(s.Bytes())), s.Bytes()...)...)
	case ed25519.PrivateKey:
		sig = ed25519.Sign(k, []byte(signing))
	case []byte:
		m := hmac.New(sha256.New, k)
		m.Write([]byte(signing))
		sig = m.Sum(nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return signing + "." + b64.EncodeToString(sig)
}

func TestJWTAuthorizer(t *testing.T) {
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	rk2, _ := rsa.GenerateKey(rand.Reader, 2048)
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	edPub, edKey, _ := ed25519.GenerateKey(rand.Reader)
	p := newIDP(t)
	pinned := rsaJWK("r-ps", rk2)
	pinned["alg"] = "PS256"
	p.publish(rsaJWK("r1", rk), ecJWK("e1", ek), map[string]string{"kty": "OKP", "crv": "Ed25519", "kid": "ed1", "x": b64.EncodeToString(edPub)}, pinned)
	fn := newFakeFunction(t)
	src := `openapi: 3.0.0
components:
  securitySchemes:
    jwt:
      type: openIdConnect
      openIdConnectUrl: ` + p.srv.URL + `/.well-known/openid-configuration
      x-yc-apigateway-authorizer:
        type: jwt
        identitySource: {in: header, name: Authorization, prefix: "Bearer "}
        issuers: [https://issuer.test]
        audiences: [my-api]
        requiredClaims: [email]
        jwkTtlInSeconds: 1
security: [{jwt: [profile:read]}]
paths:
  /me:
    get:
      x-yc-apigateway-integration: {type: cloud_functions, function_id: fn}
  /admin:
    get:
      security: [{jwt: [admin]}]
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': admin}}
  /public:
    get:
      security: []
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': public}}
`
	srv := serve(t, src, "functions: {fn: {url: '"+fn.srv.URL+"'}}\nauth: {jwks_min_refresh: 1h}\n")
	now := time.Now().Unix()
	claims := func(extra map[string]any) map[string]any {
		c := map[string]any{"iss": "https://issuer.test", "aud": []string{"other", "my-api"}, "sub": "u1", "email": "u@test",
			"exp": now + 600, "iat": now - 10, "scope": "profile:read profile:write"}
		for k, v := range extra {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return c
	}
	call := func(path, tok string) response {
		h := map[string]string{}
		if tok != "" {
			h["Authorization"] = "Bearer " + tok
		}
		return do(t, "GET", srv.URL+path, h, nil)
	}

	t.Run("RS256 through OIDC discovery; claims and scopes reach the function (conformance 34)", func(t *testing.T) {
		res := call("/me", sign(t, "RS256", "r1", rk, claims(nil)))
		if res.status != 200 {
			t.Fatalf("%d %s", res.status, res.body)
		}
		ev, _ := fn.last()
		if get(ev, "requestContext", "authorizer", "jwt", "claims", "email") != "u@test" {
			t.Errorf("authorizer context = %v", get(ev, "requestContext", "authorizer"))
		}
		if s, _ := get(ev, "requestContext", "authorizer", "jwt", "scopes").([]any); len(s) != 2 || s[0] != "profile:read" {
			t.Errorf("scopes = %v", s)
		}
	})
	for _, tt := range []struct {
		desc   string
		path   string
		token  string
		status int
	}{
		{"ES256", "/me", sign(t, "ES256", "e1", ek, claims(nil)), 200},
		{"EdDSA", "/me", sign(t, "EdDSA", "ed1", edKey, claims(nil)), 200},
		{"a JWK's own alg is enforced", "/me", sign(t, "RS256", "r-ps", rk2, claims(nil)), 401},
		{"the JWK's alg passes", "/me", sign(t, "PS256", "r-ps", rk2, claims(nil)), 200},
		{"PS256 on an RSA key", "/me", sign(t, "PS256", "r1", rk, claims(nil)), 200},
		{"scp as an array", "/me", sign(t, "RS256", "r1", rk, claims(map[string]any{"scope": nil, "scp": []string{"profile:read"}})), 200},
		{"aud as a string", "/me", sign(t, "RS256", "r1", rk, claims(map[string]any{"aud": "my-api"})), 200},
		{"no token (conformance 35)", "/me", "", 401},
		{"missing scope (conformance 35)", "/admin", sign(t, "RS256", "r1", rk, claims(nil)), 403},
		{"expired", "/me", sign(t, "RS256", "r1", rk, claims(map[string]any{"exp": now - 120})), 401},
		{"expired within the leeway", "/me", sign(t, "RS256", "r1", rk, claims(map[string]any{"exp": now - 5})), 200},
		{"no exp", "/me", sign(t, "RS256", "r1", rk, claims(map[string]any{"exp": nil})), 401},
		{"not yet valid", "/me", sign(t, "RS256", "r1", rk, claims(map[string]any{"nbf": now + 600})), 401},
		{"issued in the future", "/me", sign(t, "RS256", "r1", rk, claims(map[string]any{"iat": now + 600})), 401},
		{"wrong issuer (conformance 36)", "/me", sign(t, "RS256", "r1", rk, claims(map[string]any{"iss": "https://evil.test"})), 401},
		{"wrong audience", "/me", sign(t, "RS256", "r1", rk, claims(map[string]any{"aud": "other"})), 401},
		{"missing required claim", "/me", sign(t, "RS256", "r1", rk, claims(map[string]any{"email": nil})), 401},
		{"alg none", "/me", sign(t, "none", "r1", nil, claims(nil)), 401},
		{"HS256 signed with the public key", "/me", sign(t, "HS256", "r1", x509.MarshalPKCS1PublicKey(&rk.PublicKey), claims(nil)), 401},
		{"ES256 header on the RSA key", "/me", sign(t, "ES256", "r1", ek, claims(nil)), 401},
		{"signed by another key", "/me", sign(t, "RS256", "r1", rk2, claims(nil)), 401},
		{"garbage", "/me", "not.a.jwt", 401},
		{"security: [] opts out", "/public", "", 200},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			res := call(tt.path, tt.token)
			if res.status != tt.status {
				t.Fatalf("%d %s, want %d", res.status, res.body, tt.status)
			}
			if tt.status == 401 && !strings.HasPrefix(res.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate = %q", res.header.Get("WWW-Authenticate"))
			}
		})
	}
	t.Run("unknown kid: one refetch, then rate-limited", func(t *testing.T) {
		before := p.fetches.Load()
		for i := 0; i < 20; i++ {
			if res := call("/me", sign(t, "RS256", "forged", rk2, claims(nil))); res.status != 401 {
				t.Fatalf("forged kid: %d", res.status)
			}
		}
		if n := p.fetches.Load() - before; n > 1 {
			t.Errorf("20 tokens with an unknown kid fetched the JWKS %d times, want at most 1", n)
		}
	})
	t.Run("a rotated key is picked up after jwkTtlInSeconds", func(t *testing.T) {
		p.publish(rsaJWK("r2", rk2))
		tok := sign(t, "RS256", "r2", rk2, claims(nil))
		time.Sleep(1100 * time.Millisecond)
		if res := call("/me", tok); res.status != 200 {
			t.Errorf("after rotation: %d %s", res.status, res.body)
		}
		if res := call("/me", sign(t, "RS256", "r1", rk, claims(map[string]any{"sub": "again"}))); res.status != 401 {
			t.Errorf("the retired key still passes: %d", res.status)
		}
	})
}

func TestJWTAuthorizerKeyProblems(t *testing.T) {
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	p := newIDP(t)
	p.publish(rsaJWK("r1", rk))
	src := `openapi: 3.0.0
components:
  securitySchemes:
    jwt:
      type: openIdConnect
      x-yc-apigateway-authorizer:
        type: jwt
        jwksUri: ` + p.srv.URL + `/missing
        identitySource: {in: query, name: token}
    good:
      type: openIdConnect
      x-yc-apigateway-authorizer:
        type: jwt
        jwksUri: ` + p.srv.URL + `/jwks
        identitySource: {in: cookie, name: tok}
        authorizer_result_ttl_in_seconds: 60
paths:
  /broken:
    get:
      security: [{jwt: []}]
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': ok}}
  /cached:
    get:
      security: [{good: []}]
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': ok}}
`
	srv := serve(t, src, "auth: {jwt_invalid_token_status: 403}\n")
	tok := sign(t, "RS256", "r1", rk, map[string]any{"exp": time.Now().Unix() + 600})
	if res := do(t, "GET", srv.URL+"/broken?token="+tok, nil, nil); res.status != 500 {
		t.Errorf("JWKS unavailable: %d %s, want 500", res.status, res.body)
	}
	if res := do(t, "GET", srv.URL+"/cached", map[string]string{"Cookie": "tok=" + tok}, nil); res.status != 200 {
		t.Errorf("token from a cookie: %d %s", res.status, res.body)
	}
	if res := do(t, "GET", srv.URL+"/cached", map[string]string{"Cookie": "tok=x.y.z"}, nil); res.status != 403 {
		t.Errorf("strict mode, bad token: %d, want 403", res.status)
	}
	if res := do(t, "GET", srv.URL+"/cached", nil, nil); res.status != 401 {
		t.Errorf("strict mode, no token: %d, want 401 still", res.status)
	}
	// With the result cache on, the JWKS going away does not matter for a
	// token already verified.
	fetched := p.fetches.Load()
	p.srv.Close()
	if res := do(t, "GET", srv.URL+"/cached", map[string]string{"Cookie": "tok=" + tok}, nil); res.status != 200 {
		t.Errorf("cached result: %d", res.status)
	}
	if p.fetches.Load() != fetched {
		t.Error("a cached result fetched the JWKS")
	}
}

// TestJWTSlowKeyServer: a key server that stalls (20 s here) never holds up
// tokens whose key is cached, even once the set is past its TTL; forged
// kids wait for at most the one fetch under way, bounded by
// jwks_fetch_timeout, and the server sees one fetch per jwks_min_refresh.
func TestJWTSlowKeyServer(t *testing.T) {
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	var stalled atomic.Bool
	var fetches atomic.Int64
	release := make(chan struct{})
	jwksSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		if stalled.Load() {
			select {
			case <-release:
			case <-time.After(20 * time.Second):
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{rsaJWK("k1", rk)}})
	}))
	t.Cleanup(func() { close(release); jwksSrv.Close() })
	src := `openapi: 3.0.0
components:
  securitySchemes:
    jwt:
      type: openIdConnect
      x-yc-apigateway-authorizer:
        type: jwt
        jwksUri: ` + jwksSrv.URL + `
        identitySource: {in: header, name: Authorization, prefix: "Bearer "}
        jwkTtlInSeconds: 1
security: [{jwt: []}]
paths:
  /me:
    get:
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': ok}}
`
	srv := serve(t, src, "auth: {jwks_fetch_timeout: 0.5s, jwks_min_refresh: 10s}\n")
	now := time.Now().Unix()
	call := func(kid string) (int, time.Duration) {
		claims := map[string]any{"sub": "u", "exp": now + 600, "jti": fmt.Sprint(time.Now().UnixNano())} // no result cache hit
		start := time.Now()
		res := do(t, "GET", srv.URL+"/me", map[string]string{"Authorization": "Bearer " + sign(t, "RS256", kid, rk, claims)}, nil)
		return res.status, time.Since(start)
	}
	if st, _ := call("k1"); st != 200 {
		t.Fatalf("before the stall: %d", st)
	}
	stalled.Store(true)
	time.Sleep(1100 * time.Millisecond) // the set is now past its TTL
	var lat []time.Duration
	for i := 0; i < 50; i++ {
		st, d := call("k1")
		if st != 200 {
			t.Fatalf("a valid token during the stall: %d", st)
		}
		lat = append(lat, d)
	}
	slices.Sort(lat)
	t.Logf("valid tokens while the key server stalls: p50 %v, p99 %v", lat[len(lat)/2], lat[len(lat)*99/100])
	if lat[len(lat)*99/100] > time.Second {
		t.Errorf("valid tokens waited for the stalled key server: p99 %v", lat[len(lat)*99/100])
	}
	// Forged kids: the first waits for the fetch (cut at 0.5 s), the rest
	// are refused at once while the refetch limit holds.
	for i := 0; i < 20; i++ {
		st, d := call(fmt.Sprintf("forged-%d", i))
		if st != 401 && st != 500 || d > 2*time.Second {
			t.Errorf("forged kid %d: %d after %v", i, st, d)
		}
	}
	if n := fetches.Load(); n > 2 {
		t.Errorf("the key server was asked %d times, want the first fetch and one refresh", n)
	}
}
