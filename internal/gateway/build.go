// Package gateway builds an immutable Snapshot from a loaded spec and the
// bindings (router plus one compiled handler per operation), and serves HTTP
// requests from whichever snapshot is current. Everything costly happens in
// Build; a request only looks things up.
package gateway

import (
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/apigw/apigw/internal/auth"
	"github.com/apigw/apigw/internal/config"
	"github.com/apigw/apigw/internal/console"
	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/integration/registry"
	"github.com/apigw/apigw/internal/mock"
	"github.com/apigw/apigw/internal/params"
	"github.com/apigw/apigw/internal/policy/cors"
	"github.com/apigw/apigw/internal/policy/ratelimit"
	"github.com/apigw/apigw/internal/policy/security"
	"github.com/apigw/apigw/internal/policy/validate"
	"github.com/apigw/apigw/internal/router"
	"github.com/apigw/apigw/internal/spec"
	"github.com/apigw/apigw/internal/yamlx"
)

// Snapshot is one compiled spec + bindings. It never changes after Build.
type Snapshot struct {
	Doc      *spec.Document
	Bindings *config.Bindings
	BuiltAt  time.Time

	router           *router.Router[*Route]
	methodNotAllowed int
	maxBody          int64
	execTimeout      time.Duration
	limits           ratelimit.Store
	security         *security.Profile // nil: no security profile

	// canary serves canaryWeight percent of requests (nil: none);
	// canaryOverride honours a request's own choice.
	canary         *Snapshot
	canaryWeight   int
	canaryOverride bool

	hosts *hostTable // nil: one spec for every host

	// secrets are what the spec says are credentials, for the console.
	secrets *console.Secrets
}

// Canary returns the canary release and its weight (nil: none).
func (s *Snapshot) Canary() (*Snapshot, int) { return s.canary, s.canaryWeight }

// SetCanary makes c the canary release of s, serving weight percent of
// requests. Call it before the snapshot serves.
func (s *Snapshot) SetCanary(c *Snapshot, weight int, override bool) {
	s.canary, s.canaryWeight, s.canaryOverride = c, weight, override
}

// release picks the snapshot that serves r: once per request (per
// WebSocket connection), before routing, since variables can change the
// routes.
func (s *Snapshot) release(r *http.Request) (*Snapshot, bool) {
	if s.canary == nil {
		return s, false
	}
	if s.canaryOverride {
		choice := r.Header.Get("X-Apigw-Release")
		if choice == "" {
			if c, err := r.Cookie("apigw-release"); err == nil {
				choice = c.Value
			}
		}
		switch choice {
		case "canary":
			return s.canary, true
		case "stable":
			return s, false
		}
	}
	if rand.IntN(100) < s.canaryWeight {
		return s.canary, true
	}
	return s, false
}

// Route is one path item: its operations by method.
type Route struct {
	Template *router.Template
	ops      map[string]*Operation
	any      *Operation
	allow    string   // the Allow header for 405 answers
	ws       *wsRoute // nil: not a WebSocket path
	cors     *cors.Rule
}

// Operation is one compiled operation.
type Operation struct {
	Method      string // or spec.AnyMethod
	Route       string
	OperationID string
	Type        string
	Handler     integration.Handler
	Declared    *params.Declared
	timed       bool // the handler applies the execution deadline itself
	ignoresBody bool // the handler never reads the request body
	guard       *auth.Guard
	statusMap   map[int]int
	limit       *ratelimit.Scope // nil: no rate limit
	reqMap      bodyMap          // request x-yc-schema-mapping, by media type
	respMap     mappings         // response x-yc-schema-mapping, by status and media type
	validation  *opValidation    // nil: not validated
	spanName    string           // "integration <type>", the integration's trace span
}

// Build compiles a snapshot. It returns every problem found (warnings
// included); the snapshot is nil when the list holds an error.
func Build(doc *spec.Document, b *config.Bindings, deps *integration.Deps) (*Snapshot, yamlx.List) {
	var errs yamlx.List
	s := &Snapshot{
		Doc:              doc,
		Bindings:         b,
		BuiltAt:          time.Now(),
		router:           router.New[*Route](doc.Gateway.IgnoreTrailingSlashes),
		methodNotAllowed: b.Routing.MethodNotAllowed,
		maxBody:          int64(b.Limits.MaxRequestBody),
		execTimeout:      b.Limits.ExecutionTimeout.D(),
		limits:           deps.RateLimits,
		secrets:          specSecrets(doc),
	}
	deps.JWKS.SetMinRefresh(b.Auth.JWKSMinRefresh.D())
	deps.JWKS.SetFetchTimeout(b.Auth.JWKSFetchTimeout.D())
	if local, ok := deps.RateLimits.(*ratelimit.Local); ok {
		local.SetMax(b.Limits.MaxRateLimitBuckets)
	}
	ac := &auth.Compiler{Doc: doc, Bindings: b, Deps: deps}
	kd := &kinDoc{doc: doc}
	s.security = securityProfile(doc, b, &errs)
	topCORS, e := cors.Compile(doc.Gateway.CORS, "x-yc-apigateway.cors")
	errs.Add(e...)
	topLimit, e := ratelimit.Compile(doc.Gateway.RateLimit, "x-yc-apigateway.rateLimit")
	errs.Add(e...)
	var gatewayScope *ratelimit.Scope
	if topLimit != nil {
		gatewayScope = ratelimit.NewScope("gateway", topLimit)
	}
	for _, pi := range doc.Paths {
		rt := &Route{ops: map[string]*Operation{}, cors: topCORS}
		tmpl, err := s.router.Add(pi.Template, rt)
		if err != nil {
			errs.Errorf(pi.Node, pi.Path, "%v", err)
			continue
		}
		rt.Template = tmpl
		if pi.CORS != nil {
			rule, e := cors.Compile(pi.CORS, yamlx.Join(pi.Path, "x-yc-apigateway-cors"))
			errs.Add(e...)
			rt.cors = rule
		}
		if !rt.cors.Active() {
			rt.cors = nil
		}
		limits := limitScopes{gateway: gatewayScope}
		if pi.RateLimit != nil {
			l, e := ratelimit.Compile(pi.RateLimit, yamlx.Join(pi.Path, "x-yc-apigateway-rate-limit"))
			errs.Add(e...)
			if l != nil {
				limits.path = ratelimit.NewScope("path "+pi.Template, l)
			}
		}
		var allow []string
		for _, op := range pi.Operations {
			if c := buildOperation(doc, kd, b, deps, ac, tmpl, op, &errs); c != nil {
				c.limit = limits.of(pi, op, tmpl, &errs)
				rt.ops[op.Method] = c
				allow = append(allow, op.Method)
			}
		}
		if pi.AnyMethod != nil {
			rt.any = buildOperation(doc, kd, b, deps, ac, tmpl, pi.AnyMethod, &errs)
			if rt.any != nil {
				rt.any.limit = limits.of(pi, pi.AnyMethod, tmpl, &errs)
			}
		}
		if tmpl.Class == router.Greedy && limits.path != nil {
			errs.Errorf(pi.RateLimit, yamlx.Join(pi.Path, "x-yc-apigateway-rate-limit"), greedyLimit)
		}
		if tmpl.Class == router.Greedy && gatewayScope != nil && limits.path == nil {
			errs.Warnf(pi.Node, pi.Path, "the top-level rate limit does not cover this path: rate limits do not apply to greedy parameters ({name+}), as in the cloud")
		}
		if pi.WSConnect != nil || pi.WSMessage != nil || pi.WSDisconnect != nil {
			ws := &wsRoute{}
			for _, o := range []struct {
				op  *spec.Operation
				dst **Operation
			}{{pi.WSConnect, &ws.connect}, {pi.WSMessage, &ws.message}, {pi.WSDisconnect, &ws.disconnect}} {
				if o.op != nil {
					*o.dst = buildOperation(doc, kd, b, deps, ac, tmpl, o.op, &errs)
				}
			}
			ws.accepts = ws.message != nil || (*b.WebSocket.PushOnly && ws.connect != nil)
			rt.ws = ws
		}
		sort.Strings(allow)
		rt.allow = strings.Join(allow, ", ")
	}
	for _, sh := range s.router.Shadowed() {
		for _, pi := range doc.Paths {
			if pi.Template == sh.Template {
				errs.Warnf(pi.Node, pi.Path, "never matches: %q matches the same paths and wins (the longer template wins a tie)", sh.By)
			}
		}
	}
	errs.SetFile(doc.File)
	errs.Sort()
	if errs.Err() != nil {
		return nil, errs
	}
	return s, errs
}

// securityProfile compiles the profile the spec's
// smartWebSecurity.securityProfileId names in the bindings, else the
// bindings' "default" profile, else none.
func securityProfile(doc *spec.Document, b *config.Bindings, errs *yamlx.List) *security.Profile {
	idNode := doc.Gateway.SecurityProfileNode
	id := "default"
	if doc.Gateway.SecurityProfileID != "" {
		id = doc.Gateway.SecurityProfileID
	}
	p := b.SecurityProfiles[id]
	if p == nil {
		p, id = b.SecurityProfiles["default"], "default"
	}
	if p == nil {
		if idNode != nil {
			errs.Warnf(idNode, "x-yc-apigateway.smartWebSecurity.securityProfileId", "security profile %s is not bound: requests are not filtered (bind it, or default, under security_profiles: in the bindings file)", idNode.Value)
		}
		return nil
	}
	prof, err := security.Compile(id, p, b)
	if err != nil {
		errs.Errorf(idNode, "security_profiles."+id, "%v", err)
		return nil
	}
	return prof
}

const greedyLimit = "rate limits are not supported on paths with greedy parameters ({name+}), as in the cloud"

// limitScopes are the rate limits that reach a path item's operations.
type limitScopes struct {
	gateway, path *ratelimit.Scope
}

// of returns an operation's effective rate limit: its own, else the path
// item's, else the gateway's (the narrowest wins). A greedy path takes none:
// a limit on one is an error, as the cloud refuses it.
func (ls limitScopes) of(pi *spec.PathItem, op *spec.Operation, tmpl *router.Template, errs *yamlx.List) *ratelimit.Scope {
	own := ls.path
	if op.RateLimit != nil {
		l, e := ratelimit.Compile(op.RateLimit, yamlx.Join(op.Path, "x-yc-apigateway-rate-limit"))
		errs.Add(e...)
		if l != nil {
			own = ratelimit.NewScope("operation "+op.Method+" "+op.Template, l)
		}
	}
	if tmpl.Class == router.Greedy {
		if op.RateLimit != nil {
			errs.Errorf(op.RateLimit, yamlx.Join(op.Path, "x-yc-apigateway-rate-limit"), greedyLimit)
		}
		return nil
	}
	if own != nil {
		return own
	}
	return ls.gateway
}

func buildOperation(doc *spec.Document, kd *kinDoc, b *config.Bindings, deps *integration.Deps, ac *auth.Compiler, tmpl *router.Template, op *spec.Operation, errs *yamlx.List) *Operation {
	inTemplate := map[string]bool{}
	for _, n := range tmpl.Params() {
		inTemplate[n] = true
	}
	for _, p := range op.Parameters {
		if p.In == "path" && !inTemplate[p.Name] {
			errs.Errorf(p.Node, op.Path, "path parameter %q does not appear in the template %s", p.Name, op.Template)
		}
	}
	if op.Integration == nil {
		return nil // the spec loader reported why
	}
	declared := params.NewDeclared(op.Parameters, tmpl)
	guard := ac.Guard(op, declared, errs)
	in := op.Integration
	factory := registry.Lookup(in.Type)
	if factory == nil {
		errs.Errorf(yamlx.Get(in.Node, "type"), yamlx.Join(in.Path, "type"), "unknown integration type %q (supported: %s)", in.Type, strings.Join(registry.Types(), ", "))
		return nil
	}
	ib := &integration.Build{Doc: doc, Op: op, Declared: declared, Bindings: b, Deps: deps}
	h, e := factory(ib, in.Node, in.Path)
	errs.Add(e...)
	if h == nil {
		return nil
	}
	if nb, ok := h.(*integration.NotBound); ok && b.MockTarget(nb.Kind, nb.ID, nb.Tag) {
		h = buildMock(kd, op, mock.Target{Kind: nb.Kind, ID: nb.ID}, errs)
	}
	_, timed := h.(integration.Timed)
	_, ignoresBody := h.(integration.IgnoresBody)
	reqMap, respMap := compileMappings(op, b.Limits.MappingTimeout.D(), errs)
	statusMap := op.StatusMapping
	if _, mocked := h.(*mock.Responder); mocked {
		// A mock answers what the client gets: the declared response,
		// which the status and schema mappings would map a second time.
		respMap, statusMap = nil, nil
	}
	return &Operation{
		spanName:    "integration " + in.Type,
		validation:  compileValidation(kd, ib, op, errs),
		reqMap:      reqMap,
		respMap:     respMap,
		guard:       guard,
		timed:       timed,
		ignoresBody: ignoresBody,
		Method:      op.Method,
		Route:       op.Template,
		OperationID: op.OperationID,
		Type:        in.Type,
		Handler:     h,
		Declared:    declared,
		statusMap:   statusMap,
	}
}

// RouteInfo describes one route for `apigw routes`.
type RouteInfo struct {
	Class      string `json:"class"`
	Template   string `json:"path"`
	Method     string `json:"method"`
	Operation  string `json:"operationId,omitempty"`
	Type       string `json:"integration"`
	Shadowed   bool   `json:"shadowed,omitempty"`
	ShadowedBy string `json:"shadowedBy,omitempty"`
	// Target is what the operation is bound to, as its integration says
	// (a URL, a function and its binding, a bucket...).
	Target string `json:"target,omitempty"`
	// The operation's policies.
	Security  string `json:"security,omitempty"`  // "jwt or apiKey and basic [scope]"
	Validates string `json:"validates,omitempty"` // request, response, request+response
	CORS      bool   `json:"cors,omitempty"`
	RateLimit string `json:"rateLimit,omitempty"`
	Mapping   string `json:"mapping,omitempty"` // request, response, request+response
}

// both names which of a request and a response a policy applies to.
func both(request, response bool) string {
	switch {
	case request && response:
		return "request+response"
	case request:
		return "request"
	case response:
		return "response"
	}
	return ""
}

// Routes lists the compiled routes in match-priority order; within a route,
// explicit methods come before any-method.
func (s *Snapshot) Routes() []RouteInfo {
	shadow := map[string]string{}
	for _, sh := range s.router.Shadowed() {
		shadow[sh.Template] = sh.By
	}
	var out []RouteInfo
	for _, r := range s.router.Routes() {
		rt := r.Value
		methods := make([]string, 0, len(rt.ops))
		for m := range rt.ops {
			methods = append(methods, m)
		}
		sort.Strings(methods)
		add := func(m string, op *Operation) {
			info := RouteInfo{
				Class: r.Template.Class.String(), Template: r.Template.Raw, Method: m,
				Operation: op.OperationID, Type: op.Type,
				Shadowed: shadow[r.Template.Raw] != "", ShadowedBy: shadow[r.Template.Raw],
				Security: op.guard.Describe(), CORS: rt.cors != nil,
			}
			if d, ok := op.Handler.(integration.Describer); ok {
				info.Target = d.Describe()
			}
			if v := op.validation; v != nil {
				info.Validates = both(v.v.ValidatesRequest(), v.v.ValidatesResponse())
			}
			if op.limit != nil {
				info.RateLimit = op.limit.Limit.Text
			}
			info.Mapping = both(op.reqMap != nil, op.respMap != nil)
			out = append(out, info)
		}
		for _, m := range methods {
			add(m, rt.ops[m])
		}
		if rt.any != nil {
			add("ANY", rt.any)
		}
		if ws := rt.ws; ws != nil {
			for _, o := range []struct {
				name string
				op   *Operation
			}{{"WS-CONNECT", ws.connect}, {"WS-MESSAGE", ws.message}, {"WS-DISCONNECT", ws.disconnect}} {
				if o.op != nil {
					add(o.name, o.op)
				}
			}
		}
	}
	return out
}

// buildMock makes the mock that answers an operation whose target is
// mocked: from kin-openapi's view of its responses (loaded once per
// build, as for validation).
func buildMock(kd *kinDoc, op *spec.Operation, t mock.Target, errs *yamlx.List) *mock.Responder {
	if strings.HasPrefix(op.Method, "WS-") {
		return mock.New(nil, op.Method, t, kd.doc.Root, op.Node, op.Path, errs)
	}
	doc, err := kd.get()
	if err != nil {
		errs.Warnf(op.Node, op.Path, "the mock answers 200 with no body: the spec cannot be loaded for its responses: %v", err)
		return mock.New(nil, op.Method, t, kd.doc.Root, op.Node, op.Path, errs)
	}
	_, _, kop, err := validate.Operation(doc, op.Template, op.Method)
	if err != nil {
		errs.Warnf(op.Node, op.Path, "the mock answers 200 with no body: %v", err)
	}
	return mock.New(kop, op.Method, t, kd.doc.Root, op.Node, op.Path, errs)
}
