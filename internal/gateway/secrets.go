package gateway

import (
	"net/http"

	"go.yaml.in/yaml/v3"

	"github.com/apigw/apigw/internal/console"
	"github.com/apigw/apigw/internal/spec"
	"github.com/apigw/apigw/internal/yamlx"
)

// specSecrets lists what the spec says carries a credential, for the
// console to mask wherever an exchange shows it: the header or query
// parameter of each apiKey scheme and of each JWT authorizer's identity
// source, and the declared parameters by where they are (a cookie's value
// is always one; a header's or a query parameter's when its name is one).
func specSecrets(doc *spec.Document) *console.Secrets {
	s := &console.Secrets{Headers: map[string]bool{}, Query: map[string]bool{}, Params: map[string]string{}}
	add := func(in, name string) {
		switch in {
		case "header":
			s.Headers[http.CanonicalHeaderKey(name)] = true
		case "query":
			s.Query[name] = true
		}
	}
	for _, sc := range doc.SecuritySchemes {
		if sc == nil || sc.Node == nil {
			continue
		}
		if scalar(sc.Node, "type") == "apiKey" {
			add(scalar(sc.Node, "in"), scalar(sc.Node, "name"))
		}
		az := yamlx.Get(sc.Node, "x-yc-apigateway-authorizer")
		for _, key := range []string{"identitySource", "IdentitySource"} {
			if src := yamlx.Get(az, key); src != nil {
				add(scalar(src, "in"), scalar(src, "name"))
			}
		}
	}
	for _, pi := range doc.Paths {
		ops := append([]*spec.Operation{pi.AnyMethod, pi.WSConnect, pi.WSMessage, pi.WSDisconnect}, pi.Operations...)
		for _, op := range ops {
			if op == nil {
				continue
			}
			for _, p := range op.Parameters {
				if p.In != "path" {
					s.Params[p.Name] = p.In
				}
			}
		}
	}
	return s
}

func scalar(n *yaml.Node, key string) string {
	if v := yamlx.Get(n, key); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}
