package auth

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/apigw/apigw/internal/config"
	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/params"
	"github.com/apigw/apigw/internal/spec"
	"github.com/apigw/apigw/internal/yamlx"
	"go.yaml.in/yaml/v3"
)

// Compiler builds the guards of one snapshot. Schemes are compiled once
// (their result caches are shared by every operation that requires them).
type Compiler struct {
	Doc      *spec.Document // for the spec's top-level service account
	Bindings *config.Bindings
	Deps     *integration.Deps
	Now      func() time.Time

	mu      sync.Mutex
	schemes map[*spec.SecurityScheme]checkerFactory
}

// checkerFactory makes a scheme's checker for one operation (a function
// authorizer's tag may use the operation's parameters).
type checkerFactory func(declared *params.Declared) checker

type schemeDecl struct {
	Type             string    `yaml:"type"`
	Scheme           string    `yaml:"scheme"`
	BearerFormat     string    `yaml:"bearerFormat"`
	In               string    `yaml:"in"`
	Name             string    `yaml:"name"`
	Description      string    `yaml:"description"`
	OpenIDConnectURL string    `yaml:"openIdConnectUrl"`
	Flows            yaml.Node `yaml:"flows"`
	Authorizer       yaml.Node `yaml:"x-yc-apigateway-authorizer"`
}

type authorizerDecl struct {
	Type             string `yaml:"type"`
	FunctionID       string `yaml:"function_id"`
	Tag              string `yaml:"tag"`
	ServiceAccountID string `yaml:"service_account_id"`
	TTL              int    `yaml:"authorizer_result_ttl_in_seconds"`
	Mode             string `yaml:"authorizer_result_caching_mode"`
	// jwt
	JWKSURI             string          `yaml:"jwksUri"`
	IdentitySource      *identitySource `yaml:"identitySource"`
	IdentitySourceUpper *identitySource `yaml:"IdentitySource"`
	Issuers             []string        `yaml:"issuers"`
	Audiences           []string        `yaml:"audiences"`
	RequiredClaims      []string        `yaml:"requiredClaims"`
	JWKTTL              int             `yaml:"jwkTtlInSeconds"`
}

type identitySource struct {
	In     string `yaml:"in"`
	Name   string `yaml:"name"`
	Prefix string `yaml:"prefix"`
}

// Guard compiles an operation's security; nil when it has none.
func (c *Compiler) Guard(op *spec.Operation, declared *params.Declared, errs *yamlx.List) *Guard {
	if len(op.Security) == 0 {
		return nil
	}
	g := &Guard{}
	for _, req := range op.Security {
		if len(req) == 0 {
			return nil // {} in the list: anonymous access is one of the alternatives
		}
		var alt []use
		for _, u := range req {
			f := c.scheme(u.Scheme, errs)
			if f == nil {
				return nil
			}
			alt = append(alt, use{scheme: f(declared), scopes: u.Scopes, name: u.Scheme.Name})
		}
		g.alternatives = append(g.alternatives, alt)
	}
	return g
}

func (c *Compiler) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// scheme compiles a security scheme (once per snapshot).
func (c *Compiler) scheme(s *spec.SecurityScheme, errs *yamlx.List) checkerFactory {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.schemes == nil {
		c.schemes = map[*spec.SecurityScheme]checkerFactory{}
	}
	if f, ok := c.schemes[s]; ok {
		return f
	}
	f := c.compile(s, errs)
	c.schemes[s] = f
	return f
}

func (c *Compiler) compile(s *spec.SecurityScheme, errs *yamlx.List) checkerFactory {
	var d schemeDecl
	if e := yamlx.Decode(s.Node, &d, s.Path); len(e) > 0 {
		errs.Add(e...)
		return nil
	}
	apath := yamlx.Join(s.Path, "x-yc-apigateway-authorizer")
	if d.Authorizer.Kind == 0 {
		errs.Errorf(s.Node, s.Path, "security scheme %s has no x-yc-apigateway-authorizer: the gateway cannot check it, and will not serve the operations that require it unprotected", s.Name)
		return nil
	}
	var a authorizerDecl
	if e := yamlx.DecodeExtension(&d.Authorizer, &a, apath); len(e) > 0 {
		errs.Add(e...)
		if e.Err() != nil {
			return nil
		}
	}
	at := func(key string) *yaml.Node {
		if n := yamlx.Get(&d.Authorizer, key); n != nil {
			return n
		}
		return &d.Authorizer
	}
	uriMode := false
	switch strings.ToLower(a.Mode) {
	case "", "path":
	case "uri":
		uriMode = true
	default:
		errs.Errorf(at("authorizer_result_caching_mode"), yamlx.Join(apath, "authorizer_result_caching_mode"), "must be path or uri, not %q", a.Mode)
		return nil
	}
	if a.TTL < 0 {
		errs.Errorf(at("authorizer_result_ttl_in_seconds"), yamlx.Join(apath, "authorizer_result_ttl_in_seconds"), "must be 0 or more")
		return nil
	}
	ttl := time.Duration(a.TTL) * time.Second
	switch a.Type {
	case "function":
		return c.compileFunction(s, &d, &a, apath, at, ttl, uriMode, errs)
	case "jwt":
		return c.compileJWT(s, &d, &a, apath, at, ttl, uriMode, errs)
	default:
		errs.Errorf(at("type"), yamlx.Join(apath, "type"), "authorizer type must be function or jwt, not %q", a.Type)
		return nil
	}
}

func (c *Compiler) compileFunction(s *spec.SecurityScheme, d *schemeDecl, a *authorizerDecl, apath string, at func(string) *yaml.Node, ttl time.Duration, uriMode bool, errs *yamlx.List) checkerFactory {
	fc := &functionChecker{scheme: s.Name, uriMode: uriMode, cache: newResultCache[functionResult]("function", ttl), gatewayID: c.Bindings.GatewayID, now: c.now}
	switch {
	case d.Type == "http" && strings.EqualFold(d.Scheme, "basic"):
		fc.src, fc.prefix, fc.challenge = newSource("header", "Authorization", ""), "Basic ", `Basic realm="apigw"`
	case d.Type == "http" && strings.EqualFold(d.Scheme, "bearer"):
		fc.src, fc.prefix, fc.challenge = newSource("header", "Authorization", ""), "Bearer ", `Bearer realm="apigw"`
	case d.Type == "apiKey" && (d.In == "header" || d.In == "query" || d.In == "cookie") && d.Name != "":
		fc.src = newSource(d.In, d.Name, c.Bindings.GatewayID)
	default:
		errs.Errorf(s.Node, s.Path, "a function authorizer needs a scheme of type http (basic or bearer) or apiKey (in header, query or cookie, with a name)")
		return nil
	}
	if a.FunctionID == "" {
		errs.Errorf(&d.Authorizer, apath, "a function authorizer needs function_id")
		return nil
	}
	tag := a.Tag
	if tag == "" {
		tag = "$latest"
	}
	dynamic := strings.Contains(tag, "{") // a {param} tag: bind every tag of the function
	if c.Bindings.Function(a.FunctionID, tag) == nil && c.Bindings.MockTarget("functions", a.FunctionID, tag) {
		fc.mock = true
		return func(*params.Declared) checker {
			cp := *fc
			return &cp
		}
	}
	ib := &integration.Build{Doc: c.Doc, Bindings: c.Bindings, Deps: c.Deps}
	tokens, e := ib.AccountTokens(c.Bindings.KeylessYandex(a.FunctionID), a.ServiceAccountID, &d.Authorizer, apath)
	errs.Add(e...)
	target, err := c.Deps.Functions.Target(c.Bindings, a.FunctionID, tag, dynamic, int64(c.Bindings.Limits.MaxResponseBody), tokens)
	if err != nil {
		errs.Errorf(at("function_id"), yamlx.Join(apath, "function_id"), "%v", err)
		return nil
	}
	fc.target = target
	return func(declared *params.Declared) checker {
		cp := *fc
		cp.tag = params.Compile(tag, declared)
		return &cp
	}
}

func (c *Compiler) compileJWT(s *spec.SecurityScheme, d *schemeDecl, a *authorizerDecl, apath string, at func(string) *yaml.Node, ttl time.Duration, uriMode bool, errs *yamlx.List) checkerFactory {
	if d.Type != "openIdConnect" {
		errs.Errorf(s.Node, s.Path, "a jwt authorizer needs a scheme of type openIdConnect, not %q", d.Type)
		return nil
	}
	src := a.IdentitySource
	if src == nil {
		src = a.IdentitySourceUpper
	}
	if src == nil || src.Name == "" || (src.In != "header" && src.In != "query" && src.In != "cookie") {
		errs.Errorf(at("identitySource"), yamlx.Join(apath, "identitySource"), "a jwt authorizer needs identitySource {in: header|query|cookie, name, prefix}")
		return nil
	}
	if a.JWKSURI == "" && d.OpenIDConnectURL == "" {
		errs.Errorf(&d.Authorizer, apath, "a jwt authorizer needs jwksUri, or openIdConnectUrl on the scheme")
		return nil
	}
	ab := c.Bindings.Auth
	keyTTL := time.Duration(a.JWKTTL) * time.Second
	if keyTTL <= 0 {
		keyTTL = ab.JWKSDefaultTTL.D()
	}
	status := http.StatusUnauthorized
	if ab.JWTInvalidTokenStatus == http.StatusForbidden {
		status = http.StatusForbidden
	}
	jc := &jwtChecker{
		scheme: s.Name, src: newSource(src.In, src.Name, c.Bindings.GatewayID), prefix: src.Prefix,
		jwksURI: a.JWKSURI, configURL: d.OpenIDConnectURL,
		issuers: a.Issuers, audiences: a.Audiences, requiredClaims: a.RequiredClaims,
		keyTTL: keyTTL, leeway: ab.JWTLeeway.D(), invalidStatus: status, uriMode: uriMode,
		cache: newResultCache[*verified]("jwt", ttl), keys: c.Deps.JWKS, now: c.now,
	}
	return func(*params.Declared) checker { return jc }
}
