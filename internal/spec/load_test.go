package spec

import (
	"github.com/apigw/apigw/internal/yamlx"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		desc string
		src  string
		vars map[string]string
		want []string // substrings of the error lines, in order
	}{
		{
			desc: "YAML syntax error has its line",
			src:  "openapi: 3.0.0\npaths:\n  /a:\n    get: [\n",
			want: []string{"api.yaml:5:1: YAML syntax: did not find expected node content"},
		},
		{
			desc: "unclosed flow sequence points at its start",
			src:  "a: 1\nb: [1, 2\nc: 3\n",
			want: []string{"api.yaml:2:1: YAML syntax: did not find expected ',' or ']'"},
		},
		{
			desc: "bad indentation",
			src:  "a: 1\n b: 2\nc: 3\n",
			want: []string{"api.yaml:2:1: YAML syntax: mapping values are not allowed in this context"},
		},
		{
			desc: "missing openapi and paths",
			src:  "info: {title: x}\n",
			want: []string{"api.yaml:1:1: openapi: missing required key \"openapi\"", "api.yaml:1:1: paths: missing required key \"paths\""},
		},
		{
			desc: "OpenAPI 3.1 refused",
			src:  "openapi: 3.1.0\npaths: {}\n",
			want: []string{"api.yaml:1:10: openapi: version \"3.1.0\" is not supported"},
		},
		{
			desc: "operation without integration",
			src:  "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      summary: x\n",
			want: []string{"api.yaml:5:7: paths./a.get: operation has no x-yc-apigateway-integration"},
		},
		{
			desc: "integration without type",
			src:  "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      x-yc-apigateway-integration:\n        http_code: 200\n",
			want: []string{"api.yaml:6:9: paths./a.get.x-yc-apigateway-integration: missing required key \"type\""},
		},
		{
			desc: "bad $ref is reported where it is written",
			src:  "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      x-yc-apigateway-integration:\n        $ref: '#/components/x-yc-apigateway-integrations/Nope'\n",
			want: []string{"api.yaml:6:15: paths./a.get.x-yc-apigateway-integration: $ref \"#/components/x-yc-apigateway-integrations/Nope\": \"components\" not found"},
		},
		{
			desc: "circular $ref",
			src:  "openapi: 3.0.0\npaths: {}\ncomponents:\n  schemas:\n    A: {$ref: '#/components/schemas/B'}\n    B: {$ref: '#/components/schemas/A'}\n",
			want: []string{"5:15: components.schemas.A: $ref \"#/components/schemas/B\" is circular", "6:15: components.schemas.B: $ref \"#/components/schemas/A\" is circular"},
		},
		{
			desc: "external $ref refused",
			src:  "openapi: 3.0.0\npaths: {}\ncomponents:\n  schemas:\n    A: {$ref: 'other.yaml#/x'}\n",
			want: []string{"5:15: components.schemas.A: $ref \"other.yaml#/x\": only local references"},
		},
		{
			desc: "unknown variable",
			src:  "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      x-yc-apigateway-integration:\n        type: dummy\n        http_code: 200\n        content: {'*': 'It is ${var.nope}'}\n",
			want: []string{"8:24: paths./a.get.x-yc-apigateway-integration.content.*: unknown variable \"nope\""},
		},
		{
			desc: "variable default outside its enum",
			src:  "openapi: 3.0.0\nx-yc-apigateway:\n  variables:\n    env: {default: qa, enum: [prod, dev]}\npaths: {}\n",
			want: []string{"4:20: x-yc-apigateway.variables.env.default: default \"qa\" is not one of the enum values [prod, dev]"},
		},
		{
			desc: "supplied value outside the enum",
			src:  "openapi: 3.0.0\nx-yc-apigateway:\n  variables:\n    env: {default: prod, enum: [prod, dev]}\npaths: {}\n",
			vars: map[string]string{"env": "qa"},
			want: []string{"variables.env: value \"qa\" is not one of the allowed values [prod, dev]"},
		},
		{
			desc: "supplied value for an undeclared variable",
			src:  "openapi: 3.0.0\npaths: {}\n",
			vars: map[string]string{"ghost": "1"},
			want: []string{"variables.ghost: variable \"ghost\" is given a value but is not declared"},
		},
		{
			desc: "variable without default",
			src:  "openapi: 3.0.0\nx-yc-apigateway:\n  variables:\n    env: {enum: [a]}\npaths: {}\n",
			want: []string{"4:10: x-yc-apigateway.variables.env: variable needs a scalar default"},
		},
		{
			desc: "two security profiles",
			src:  "openapi: 3.0.0\nx-yc-apigateway:\n  securityProfileId: a\n  smartWebSecurity: {securityProfileId: b}\npaths: {}\n",
			want: []string{"3:22: x-yc-apigateway.securityProfileId: names profile \"a\", while smartWebSecurity.securityProfileId names \"b\": give one"},
		},
		{
			desc: "wrong type in x-yc-apigateway",
			src:  "openapi: 3.0.0\nx-yc-apigateway:\n  ignoreTrailingSlashes: maybe\npaths: {}\n",
			want: []string{"3:26: x-yc-apigateway.ignoreTrailingSlashes: must be true or false, got a string (\"maybe\")"},
		},
		{
			desc: "bad parameter location, missing name",
			src:  "openapi: 3.0.0\npaths:\n  /a:\n    parameters:\n      - {name: x, in: body}\n      - {in: query}\n    get:\n      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': x}}\n",
			want: []string{"5:23: paths./a.parameters[0].in: parameter \"x\": \"in\" must be path, query, header or cookie", "6:9: paths./a.parameters[1]: parameter needs a name"},
		},
		{
			desc: "upper-case method key",
			src:  "openapi: 3.0.0\npaths:\n  /a:\n    GET:\n      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': x}}\n",
			want: []string{"4:5: paths./a.GET: method keys are lower case in OpenAPI: write \"get\""},
		},
		{
			desc: "path without slash, duplicate operationId",
			src:  "openapi: 3.0.0\npaths:\n  a:\n    get: {operationId: x, x-yc-apigateway-integration: {type: dummy}}\n  /b:\n    get: {operationId: x, x-yc-apigateway-integration: {type: dummy}}\n  /c:\n    get:\n      operationId: x\n      x-yc-apigateway-integration: {type: dummy}\n",
			want: []string{"3:3: paths.a: a path template must start with \"/\"", "9:20: paths./c.get: operationId \"x\" is also used by paths./b.get"},
		},
		{
			desc: "security naming an undeclared scheme",
			src:  "openapi: 3.0.0\nsecurity: [{bearer: []}]\npaths:\n  /a:\n    get:\n      security: [{bearer: [a]}, basic]\n      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': x}}\n",
			want: []string{"2:13: security[0]: unknown security scheme \"bearer\" (declare it under components.securitySchemes)", "6:19: paths./a.get.security[0]: unknown security scheme \"bearer\"", "6:33: paths./a.get.security[1]: a security requirement is a mapping"},
		},
		{
			desc: "websocket operation without integration",
			src:  "openapi: 3.0.0\npaths:\n  /ws:\n    x-yc-apigateway-websocket-message:\n      summary: x\n",
			want: []string{"5:7: paths./ws.x-yc-apigateway-websocket-message: operation has no x-yc-apigateway-integration"},
		},
		{
			desc: "too large",
			src:  "openapi: 3.0.0\n#" + strings.Repeat("x", MaxSize),
			want: []string{"the limit is 3670016 (3.5 MB)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, errs := Load("api.yaml", []byte(tt.src), tt.vars)
			got := errs.Errors()
			if len(got) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i].Error(), w) {
					t.Errorf("error %d = %q, want it to contain %q", i, got[i].Error(), w)
				}
			}
		})
	}
}

const fullSpec = `openapi: "3.0.0"
info: {title: t, version: "1"}
x-yc-apigateway:
  service_account_id: sa-1
  ignoreTrailingSlashes: false
  cors: {$ref: '#/components/x-yc-apigateway-cors-rules/All'}
  variables:
    handler: {default: "#/components/x-yc-apigateway-integrations/Live"}
    code: {default: 201, enum: [201, 202]}
    function.tag: {default: stable}
paths:
  /items/{id}:
    parameters:
      - $ref: '#/components/parameters/Id'
      - {name: q, in: query, schema: {$ref: '#/components/schemas/Q'}}
    x-yc-apigateway-rate-limit: {$ref: '#/components/x-yc-apigateway-rate-limits/Slow'}
    get:
      operationId: getItem
      x-yc-apigateway-validator: {$ref: '#/components/x-yc-apigateway-validators/Strict'}
      parameters:
        - {name: q, in: query, schema: {type: string, default: override}}
      x-yc-apigateway-integration:
        $ref: "${var.handler}"
    x-yc-apigateway-any-method:
      x-yc-apigateway-integration:
        type: dummy
        http_code: ${var.code}
        content: {'*': "tag ${var.function.tag} ${apigw.code}"}
  /legacy:
    post:
      x-yc-apigateway-integration: {type: object-storage, bucket: b, object: o}
components:
  parameters:
    Id: {name: id, in: path, required: true, schema: {type: integer}}
  schemas:
    Q: {type: string, default: fromref}
  x-yc-apigateway-cors-rules:
    All: {origin: '*'}
  x-yc-apigateway-rate-limits:
    Slow: {allRequests: {rps: 1}}
  x-yc-apigateway-validators:
    Strict: {validateRequestBody: true}
  x-yc-apigateway-integrations:
    Live: {type: dummy, http_code: 200, content: {'*': live}}
    Next: {type: dummy, http_code: 200, content: {'*': next}}
`

func TestLoadResolves(t *testing.T) {
	doc, errs := Load("api.yaml", []byte(fullSpec), map[string]string{"handler": "#/components/x-yc-apigateway-integrations/Next", "code": "202"})
	if doc == nil {
		t.Fatalf("Load: %v", errs)
	}
	if doc.Gateway.ServiceAccountID != "sa-1" || doc.Gateway.IgnoreTrailingSlashes {
		t.Errorf("gateway = %+v", doc.Gateway)
	}
	items := doc.Paths[0]
	get := items.Operations[0]
	if get.Method != "GET" || get.OperationID != "getItem" {
		t.Fatalf("operation = %+v", get)
	}
	// The $ref built from a variable points at Next.
	if got := nodeText(t, get.Integration.Node); got != "next" {
		t.Errorf("integration content = %q, want component Next's", got)
	}
	// Path-item parameters merge with the operation's, which override by name+in.
	var names []string
	for _, p := range get.Parameters {
		names = append(names, p.In+":"+p.Name+"="+p.Default)
	}
	if got := strings.Join(names, ","); got != "path:id=,query:q=override" {
		t.Errorf("parameters = %s", got)
	}
	// The any-method operation inherits the path-item parameter with its $ref default.
	anyOp := items.AnyMethod
	if got := anyOp.Parameters[1].Default; got != "fromref" {
		t.Errorf("any-method q default = %q, want fromref", got)
	}
	// A plain scalar substituted from a variable decodes as a number.
	var code struct {
		HTTPCode int `yaml:"http_code"`
		Content  map[string]string
	}
	if err := anyOp.Integration.Node.Decode(&code); err != nil || code.HTTPCode != 202 {
		t.Errorf("http_code = %d (%v), want 202", code.HTTPCode, err)
	}
	if code.Content["*"] != "tag stable 202" {
		t.Errorf("content = %q (dotted names and the ${apigw.x} alias)", code.Content["*"])
	}
	// Policy extensions given by $ref arrive resolved (their keys, not the $ref).
	for what, n := range map[string]*yaml.Node{"cors": doc.Gateway.CORS, "rate limit": items.RateLimit, "validator": get.Validator} {
		if n == nil || n.Kind != yaml.MappingNode || yamlx.Get(n, "$ref") != nil {
			t.Errorf("%s: not resolved: %v", what, n)
		}
	}
	if yamlx.Get(doc.Gateway.CORS, "origin") == nil || yamlx.Get(items.RateLimit, "allRequests") == nil || yamlx.Get(get.Validator, "validateRequestBody") == nil {
		t.Error("a $ref'd policy lost its content")
	}
	if got := doc.Paths[1].Operations[0].Integration.Type; got != "object_storage" {
		t.Errorf("alias type = %q, want object_storage", got)
	}
}

func TestLoadJSON(t *testing.T) {
	src := `{"openapi": "3.0.0", "paths": {"/a": {"get": {"x-yc-apigateway-integration": {"type": "dummy", "http_code": 200, "content": {"*": "x"}}}}}}`
	doc, errs := Load("api.json", []byte(src), nil)
	if doc == nil || len(doc.Paths) != 1 || doc.Paths[0].Operations[0].Integration.Type != "dummy" {
		t.Fatalf("Load JSON: %v", errs)
	}
}

func nodeText(t *testing.T, n *yaml.Node) string {
	t.Helper()
	var v struct{ Content map[string]string }
	if err := n.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v.Content["*"]
}

func TestUnknownGatewayKeysWarn(t *testing.T) {
	doc, errs := Load("api.yaml", []byte("openapi: 3.0.0\nx-yc-apigateway:\n  ignoreTrailingSlash: false\n  service_account: sa1\n  smartWebSecurity: {securityProfileId: p1}\npaths: {}\n"), nil)
	if errs.Err() != nil || len(errs) != 1 {
		t.Fatalf("errs: %v", errs)
	}
	if want := `api.yaml:3:3: x-yc-apigateway: warning: unknown key "ignoreTrailingSlash", ignored; did you mean "ignoreTrailingSlashes"?`; errs[0].Error() != want {
		t.Errorf("got  %s\nwant %s", errs[0], want)
	}
	if !doc.Gateway.IgnoreTrailingSlashes || doc.Gateway.ServiceAccountID != "sa1" || doc.Gateway.SecurityProfileID != "p1" {
		t.Errorf("gateway: %+v", doc.Gateway)
	}
}

func TestDuplicateKeysWarn(t *testing.T) {
	src := "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': first}}\n    get:\n      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': second}}\n"
	doc, errs := Load("api.yaml", []byte(src), nil)
	if errs.Err() != nil || doc == nil {
		t.Fatalf("a duplicate key is a warning, not an error: %v", errs)
	}
	w := errs.Warnings().Error()
	if !strings.Contains(w, `api.yaml:6:5: paths./a.get: warning: duplicate key "get" (first at line 4)`) {
		t.Errorf("warnings: %s", w)
	}
}

func TestResponseKey(t *testing.T) {
	for _, c := range []struct {
		key  string
		want int
		ok   bool
	}{
		{"200", 200, true}, {"599", 599, true}, {"100", 100, true},
		{"2XX", 2, true}, {"4xx", 4, true}, {"5Xx", 5, true}, {"default", 0, true},
		{"600", 0, false}, {"099", 0, false}, {"0200", 0, false}, {"6XX", 0, false}, {"2X", 0, false},
		{"Default", 0, false}, {"x-yc-mapping-index", 0, false}, {"", 0, false}, {"+200", 0, false},
	} {
		got, ok := ResponseKey(c.key)
		if got != c.want || ok != c.ok {
			t.Errorf("ResponseKey(%q) = %d, %v; want %d, %v", c.key, got, ok, c.want, c.ok)
		}
	}
}
