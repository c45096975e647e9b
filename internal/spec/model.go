// Package spec turns a Yandex Cloud API Gateway specification (OpenAPI 3.0 plus
// the x-yc-apigateway* extensions) into a typed, position-carrying model:
// variables substituted, every $ref resolved, every problem reported with its
// file, line, column and spec path.
//
// The model holds what apigw interprets; an integration's own parameters stay a
// yaml.Node (positions included) until its factory decodes them at build time.
package spec

import "go.yaml.in/yaml/v3"

// MaxSize is the largest specification the cloud accepts (3.5 MB).
const MaxSize = 3*1024*1024 + 512*1024

// Document is one loaded specification.
type Document struct {
	File    string
	OpenAPI string
	Root    *yaml.Node // the root mapping, variables substituted
	Gateway Gateway
	// Variables declared under x-yc-apigateway.variables, by name.
	Variables map[string]Variable
	// Values are the effective variable values (defaults overridden).
	Values map[string]string
	// Paths in document order.
	Paths []*PathItem
	// SecuritySchemes are components.securitySchemes by name.
	SecuritySchemes map[string]*SecurityScheme
}

// Variable is one x-yc-apigateway.variables entry.
type Variable struct {
	Name    string
	Default string
	Enum    []string
	Node    *yaml.Node
}

// Gateway is the x-yc-apigateway top-level object. The policy defaults are
// kept as resolved nodes for the policies that interpret them.
type Gateway struct {
	ServiceAccountID      string
	IgnoreTrailingSlashes bool
	CORS                  *yaml.Node
	Validator             *yaml.Node
	RateLimit             *yaml.Node
	// SecurityProfileID is the Smart Web Security profile protecting the
	// gateway (smartWebSecurity.securityProfileId, or securityProfileId
	// directly here); SecurityProfileNode is where it is written.
	SecurityProfileID   string
	SecurityProfileNode *yaml.Node
}

// PathItem is one entry of paths.
type PathItem struct {
	Template string
	Node     *yaml.Node // the key node, for positions
	Path     string     // spec path, e.g. paths./users/{id}
	// Operations holds the explicit methods in document order.
	Operations []*Operation
	// AnyMethod is x-yc-apigateway-any-method, or nil.
	AnyMethod *Operation
	// WSConnect, WSMessage and WSDisconnect are the WebSocket operations
	// (x-yc-apigateway-websocket-*), nil when absent.
	WSConnect, WSMessage, WSDisconnect *Operation
	CORS                               *yaml.Node
	RateLimit                          *yaml.Node
}

// Operation is one operation object (an explicit method or any-method).
type Operation struct {
	Method      string // GET, POST, ...; AnyMethod for x-yc-apigateway-any-method
	Template    string
	Path        string // spec path, e.g. paths./users/{id}.get
	OperationID string
	Parameters  []Parameter // path-item parameters merged with the operation's
	Integration *Integration
	// Security is the effective requirement list: the operation's own
	// `security`, else the document's. Alternatives are OR-ed; nil or empty
	// means unprotected (`security: []` opts out of the document's).
	Security []Requirement
	// Validator and RateLimit are the operation's own policies ($ref
	// resolved), nil when absent; they override the path item's and the
	// top-level defaults.
	Validator *yaml.Node
	RateLimit *yaml.Node
	// StatusMapping maps an integration's status to the one the client
	// gets (responses.<code>.x-yc-status-mapping); nil when none.
	StatusMapping map[int]int
	// RequestMapping and ResponseMapping are the x-yc-schema-mapping
	// objects in the schemas of the request body and of the responses, by
	// media type ($refs resolved); nil when none. ResponseMapping is keyed
	// by ResponseKey: a status, a range's digit (2 for 2XX) or 0 for
	// `default`.
	RequestMapping  map[string]Mapping
	ResponseMapping map[int]map[string]Mapping
	// MappingIndex is responses.x-yc-mapping-index: for a response key
	// (as ResponseMapping's), the media type of ResponseMapping that
	// applies whatever the answer's Content-Type; nil when none.
	MappingIndex map[int]string
	Node         *yaml.Node
}

// Mapping is one x-yc-schema-mapping object and its spec path.
type Mapping struct {
	Node *yaml.Node
	Path string
}

// Requirement is one security requirement object: every scheme in it must
// pass (AND).
type Requirement []SchemeUse

// SchemeUse names a security scheme and the scopes the operation requires
// of it.
type SchemeUse struct {
	Scheme *SecurityScheme
	Scopes []string
	Node   *yaml.Node
}

// SecurityScheme is a components.securitySchemes entry ($ref resolved).
type SecurityScheme struct {
	Name string
	Node *yaml.Node // the scheme mapping
	Path string     // components.securitySchemes.<name>
}

// AnyMethod is the Method of an x-yc-apigateway-any-method operation.
const AnyMethod = "*"

// The Method of WebSocket operations.
const (
	WSConnect    = "WS-CONNECT"
	WSMessage    = "WS-MESSAGE"
	WSDisconnect = "WS-DISCONNECT"
)

// Parameter is one declared OpenAPI parameter.
type Parameter struct {
	Name       string
	In         string // path, query, header, cookie
	Required   bool
	Default    string
	HasDefault bool
	Node       *yaml.Node
}

// Integration is an x-yc-apigateway-integration, $ref resolved.
type Integration struct {
	Type string     // canonical type (aliases such as cloud-functions normalised)
	Node *yaml.Node // the integration mapping, with positions
	Path string     // spec path of the integration
}

// methodKeys are the OpenAPI operation keys in their canonical order.
var methodKeys = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// typeAliases maps the hyphenated spellings of older documentation.
var typeAliases = map[string]string{
	"cloud-functions": "cloud_functions",
	"object-storage":  "object_storage",
}
