package spec

import (
	"strings"

	"github.com/apigw/apigw/internal/yamlx"
	"go.yaml.in/yaml/v3"
)

// The x-yc-* keys the cloud defines, by the object they belong to. Any
// other x-yc-* key there is most likely a typo of one of them (an
// "x-yc-apigateway-ratelimit" would silently not limit anything), so it
// warns, naming the closest; other x- keys are the author's own.
var (
	rootExtensions      = []string{"x-yc-apigateway"}
	pathItemExtensions  = []string{"x-yc-apigateway-any-method", "x-yc-apigateway-cors", "x-yc-apigateway-rate-limit", "x-yc-apigateway-websocket-connect", "x-yc-apigateway-websocket-message", "x-yc-apigateway-websocket-disconnect"}
	operationExtensions = []string{"x-yc-apigateway-integration", "x-yc-apigateway-validator", "x-yc-apigateway-rate-limit"}
	componentExtensions = []string{"x-yc-apigateway-integrations", "x-yc-apigateway-cors-rules", "x-yc-apigateway-validators", "x-yc-apigateway-rate-limits"}
	responsesExtensions = []string{"x-yc-mapping-index"}
	responseExtensions  = []string{"x-yc-status-mapping"}
)

// checkExtensions warns about the x-yc-* keys of mapping n that are not
// among known.
func checkExtensions(n *yaml.Node, path, what string, known []string, errs *yamlx.List) {
	n = yamlx.Deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !strings.HasPrefix(k.Value, "x-yc-") || contains(known, k.Value) {
			continue
		}
		hint := ""
		if s := yamlx.Suggest(k.Value, known); s != "" {
			hint = "; did you mean \"" + s + "\"?"
		}
		errs.Warnf(k, yamlx.Join(path, k.Value), "%s is not an extension of %s, ignored%s", k.Value, what, hint)
	}
}
