package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/apigw/apigw/internal/mock"
	"net/http"
	"strings"
	"time"

	"github.com/apigw/apigw/internal/functions"
	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/params"
)

// functionChecker is a function authorizer (§4.2) on an http basic, http
// bearer or apiKey scheme.
type functionChecker struct {
	scheme    string
	src       source // where the credential is: header Authorization, or the apiKey's place
	prefix    string // "Basic " or "Bearer " for http schemes (case-insensitive)
	challenge string
	target    *functions.Target
	tag       params.Template
	uriMode   bool
	cache     *resultCache[functionResult]
	gatewayID string
	now       func() time.Time
	// mock: the function is mocked (apigw serve --mock, or mock: true):
	// a request with the credential passes, unless it asks
	// Prefer: auth=deny.
	mock bool
}

type functionResult struct {
	allowed bool
	context map[string]any
}

// authorizerEvent is the reduced 1.0-style event of §4.2/§8.8: no body, no
// multi-value maps, cookies as a map.
type authorizerEvent struct {
	Resource              string                   `json:"resource"`
	Path                  string                   `json:"path"`
	HTTPMethod            string                   `json:"httpMethod"`
	Headers               map[string]string        `json:"headers"`
	QueryStringParameters map[string]string        `json:"queryStringParameters"`
	PathParameters        map[string]string        `json:"pathParameters"`
	RequestContext        functions.RequestContext `json:"requestContext"`
	Cookies               map[string]string        `json:"cookies"`
}

func (f *functionChecker) check(r *http.Request, c *integration.Call, _ []string) (map[string]any, *failure) {
	cred, ok := f.src.extract(r, c)
	if ok && f.prefix != "" && !hasPrefixFold(cred, f.prefix) {
		ok = false
	}
	if !ok {
		// The credential is missing: 401 without calling the function.
		return nil, &failure{status: http.StatusUnauthorized, message: "Unauthorized", challenge: f.challenge}
	}
	if f.mock {
		if mock.ParsePrefer(r.Header.Values("Prefer")).Deny {
			return nil, &failure{status: http.StatusForbidden, message: "Forbidden"}
		}
		return map[string]any{}, nil
	}
	now := f.now()
	key := credentialKey(f.scheme, cacheScope(f.uriMode, r, c), r.Method, cred)
	if res, hit := f.cache.get(key, now); hit {
		return f.outcome(res)
	}
	tag := f.tag.Expand(c.Params, nil)
	event, err := json.Marshal(f.event(r, c))
	if err != nil {
		return nil, &failure{status: http.StatusInternalServerError, message: "authorizer failed", err: err}
	}
	answer, err := f.target.Invoke(r.Context(), tag, c.RequestID, event)
	if err != nil {
		return nil, &failure{status: http.StatusInternalServerError, message: "authorizer function could not be invoked", err: err}
	}
	res, err := parseAuthorizerAnswer(answer)
	if err != nil {
		return nil, &failure{status: http.StatusInternalServerError, message: "authorizer function answered a malformed response: " + err.Error(), err: err}
	}
	f.cache.put(key, res, now, time.Time{})
	return f.outcome(res)
}

func (f *functionChecker) outcome(res functionResult) (map[string]any, *failure) {
	if !res.allowed {
		return nil, &failure{status: http.StatusForbidden, message: "Forbidden"}
	}
	return res.context, nil
}

func (f *functionChecker) event(r *http.Request, c *integration.Call) *authorizerEvent {
	q := &functions.Request{HTTP: r, RequestID: c.RequestID, ClientIP: c.ClientIP, RemoteAddr: c.RemoteAddr, GatewayID: f.gatewayID, Time: c.Start}
	ev := &authorizerEvent{
		Resource: c.Route, Path: r.URL.Path, HTTPMethod: r.Method,
		Headers: map[string]string{}, QueryStringParameters: map[string]string{}, PathParameters: map[string]string{}, Cookies: map[string]string{},
		RequestContext: functions.RequestContext{
			Identity:   functions.Identity{SourceIP: c.ClientIP, UserAgent: r.UserAgent()},
			HTTPMethod: r.Method, RequestID: c.RequestID,
			RequestTime: c.Start.UTC().Format("2/Jan/2006:15:04:05 -0700"), RequestTimeEpoch: c.Start.Unix(),
		},
	}
	for k, vv := range functions.EventHeaders(q) {
		ev.Headers[k] = vv[len(vv)-1]
	}
	for k, vv := range r.URL.Query() {
		ev.QueryStringParameters[k] = vv[len(vv)-1]
	}
	for _, p := range c.Params.Path() {
		ev.PathParameters[p.Name] = p.Value
	}
	for _, ck := range r.Cookies() {
		ev.Cookies[ck.Name] = ck.Value
	}
	return ev
}

// parseAuthorizerAnswer reads {"isAuthorized": bool, "context": {...}}.
func parseAuthorizerAnswer(raw []byte) (functionResult, error) {
	var a struct {
		IsAuthorized *bool           `json:"isAuthorized"`
		Context      json.RawMessage `json:"context"`
	}
	if err := json.Unmarshal(raw, &a); err != nil {
		return functionResult{}, fmt.Errorf("not a JSON object")
	}
	if a.IsAuthorized == nil {
		return functionResult{}, errors.New("isAuthorized (a boolean) is missing")
	}
	res := functionResult{allowed: *a.IsAuthorized}
	if len(a.Context) > 0 && string(a.Context) != "null" {
		if err := json.Unmarshal(a.Context, &res.context); err != nil {
			return functionResult{}, errors.New("context must be a JSON object")
		}
	}
	return res, nil
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
