// Package containers is the serverless_containers integration (digest
// §3.5): the request goes to the container bound to container_id as it
// came (method, path, query, headers, body, Host), through the same proxy
// engine as the http integration, with the operation context in
// X-Yc-ApiGateway-Operation-Context.
package containers

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/apigw/apigw/internal/headers"
	"github.com/apigw/apigw/internal/httperr"
	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/integration/httpproxy"
	"github.com/apigw/apigw/internal/params"
	"github.com/apigw/apigw/internal/yamlx"
	"go.yaml.in/yaml/v3"
)

type settings struct {
	Type             string    `yaml:"type"`
	ContainerID      string    `yaml:"container_id"`
	ServiceAccountID string    `yaml:"service_account_id"`
	Context          yaml.Node `yaml:"context"`
}

// Integration is a compiled serverless_containers integration.
type Integration struct {
	base      *url.URL
	context   *params.Value
	gatewayID string
	engine    httpproxy.Engine
	account   *integration.Account // a private container is invoked as this account
}

var (
	_ integration.Handler = (*Integration)(nil)
	_ integration.Timed   = (*Integration)(nil)
)

// AppliesDeadline: the proxy engine bounds the call by Call.Deadline.
func (*Integration) AppliesDeadline() {}

// New decodes a serverless_containers integration and resolves its binding.
func New(b *integration.Build, n *yaml.Node, path string) (integration.Handler, yamlx.List) {
	var s settings
	errs := yamlx.DecodeExtension(n, &s, path)
	if errs.Err() != nil {
		return nil, errs
	}
	it := &Integration{gatewayID: b.Bindings.GatewayID}
	if s.ContainerID == "" {
		errs.Errorf(n, path, "serverless_containers integration needs container_id")
		return nil, errs
	}
	if s.Context.Kind != 0 {
		v, e := params.CompileValue(&s.Context, yamlx.Join(path, "context"), b.Declared)
		errs.Add(e...)
		it.context = v
	}
	c := b.Bindings.Containers[s.ContainerID]
	if c == nil {
		c = b.Bindings.Containers["default"]
	}
	if c == nil {
		if h := b.Unbound("containers", s.ContainerID, ""); h != nil {
			return h, errs
		}
	}
	if c == nil {
		errs.Errorf(yamlx.Get(n, "container_id"), yamlx.Join(path, "container_id"),
			"container %s is not bound: add containers.%s.url (or mock: true) to the bindings file, or serve with --mock", s.ContainerID, s.ContainerID)
		return nil, errs
	}
	it.base, _ = url.Parse(c.URL) // checked when the bindings were loaded
	connect := 10 * time.Second
	if c.ConnectTimeout != nil {
		connect = c.ConnectTimeout.D()
	}
	it.engine = httpproxy.Engine{Transport: b.Deps.Transport(connect), Read: c.ReadTimeout.D()}
	acct, e := b.ServiceAccount(s.ServiceAccountID, n, path, true)
	errs.Add(e...)
	it.account = acct
	if len(errs.Errors()) > 0 {
		return nil, errs
	}
	return it, errs
}

// gatewaySet are headers the gateway sets itself; a client's copy is
// replaced.
var gatewaySet = map[string]bool{
	"X-Request-Id": true, "X-Forwarded-For": true, "X-Real-Remote-Address": true,
	"X-Serverless-Gateway-Id": true, "X-Yc-Apigateway-Operation-Context": true,
	integration.AuthorizerHeader: true,
}

// Serve forwards the request to the container.
func (it *Integration) Serve(w http.ResponseWriter, r *http.Request, c *integration.Call) error {
	target := *it.base
	target.Path = strings.TrimSuffix(it.base.Path, "/") + r.URL.Path
	if it.base.RawPath != "" || r.URL.RawPath != "" {
		target.RawPath = strings.TrimSuffix(it.base.EscapedPath(), "/") + r.URL.EscapedPath()
	}
	target.RawQuery = r.URL.RawQuery
	h := headers.EndToEnd(r.Header, gatewaySet)
	headers.SetForwarded(h, r, c.ClientIP, c.RemoteAddr, c.RequestID, it.gatewayID)
	if _, ok := h["User-Agent"]; !ok {
		h["User-Agent"] = []string{""} // Go's client would add its own
	}
	c.SetAuthorizerHeader(h)
	if it.account != nil {
		// A private container is invoked with the account's IAM token, in
		// place of the client's Authorization.
		if err := it.account.SetBearer(r.Context(), h, c.Deadline); err != nil {
			return err
		}
	}
	if it.context != nil {
		js, err := json.Marshal(it.context.Expand(c.Params))
		if err != nil {
			return httperr.Wrap(http.StatusInternalServerError, "could not encode the operation context", err)
		}
		h["X-Yc-Apigateway-Operation-Context"] = []string{base64.StdEncoding.EncodeToString(js)}
	}
	if c.Observed != nil {
		c.Observe("container", r.Method+" "+target.String())
	}
	return it.engine.Forward(w, r, c.Deadline, &httpproxy.Outbound{Method: r.Method, URL: &target, Header: h, Host: r.Host})
}
