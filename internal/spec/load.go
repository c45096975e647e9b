package spec

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/apigw/apigw/internal/yamlx"
	"go.yaml.in/yaml/v3"
)

// LoadFile reads and loads a specification file. See Load.
func LoadFile(file string, values map[string]string) (*Document, yamlx.List) {
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, yamlx.List{{File: file, Msg: err.Error()}}
	}
	return Load(file, src, values)
}

// Load parses a specification. values override the variables' defaults. It
// returns the document and every problem found (warnings included). When the
// list holds an error the document is partial (nil if nothing could be read):
// it is still good for finding more problems, so that `validate` reports the
// integrations' errors too, but it must never be served.
func Load(file string, src []byte, values map[string]string) (*Document, yamlx.List) {
	doc, errs := load(src, values)
	errs.SetFile(file)
	errs.Sort()
	if doc != nil {
		doc.File = file
	}
	return doc, errs
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parserProblems are yaml.v3's parser messages (as opposed to its scanner's).
var parserProblems = map[string]bool{
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected '-' indicator":    true,
	"did not find expected <document start>": true,
	"did not find expected key":              true,
	"did not find expected node content":     true,
	"found undefined tag handle":             true,
}

func load(src []byte, values map[string]string) (*Document, yamlx.List) {
	var errs yamlx.List
	if len(src) > MaxSize {
		errs.Errorf(nil, "", "specification is %d bytes; the limit is %d (3.5 MB)", len(src), MaxSize)
		return nil, errs
	}
	var top yaml.Node
	if err := yaml.Unmarshal(src, &top); err != nil {
		e := &yamlx.Error{Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
		if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
			e.Line, _ = strconv.Atoi(m[1])
			e.Col = 1
			e.Msg = "YAML syntax: " + m[2]
			if parserProblems[m[2]] {
				// yaml.v3 reports parser (not scanner) problems with a 0-based
				// line: the line where the unclosed construct starts.
				e.Line++
				e.Msg += " (in the block or flow collection that starts here)"
			}
		}
		errs.Add(e)
		return nil, errs
	}
	root := yamlx.Deref(&top)
	if root == nil || root.Kind != yaml.MappingNode {
		errs.Errorf(root, "", "a specification must be a YAML or JSON mapping (an OpenAPI 3.0 document), got %s", yamlx.KindName(root))
		return nil, errs
	}
	doc := &Document{Root: root}
	duplicateKeys(root, "", 0, &errs)

	ver := yamlx.Get(root, "openapi")
	switch {
	case ver == nil:
		errs.Errorf(root, "openapi", "missing required key \"openapi\" (for example openapi: 3.0.0)")
	case ver.Kind != yaml.ScalarNode || !strings.HasPrefix(ver.Value, "3.0"):
		errs.Errorf(ver, "openapi", "version %q is not supported: the gateway serves OpenAPI 3.0.x", ver.Value)
	default:
		doc.OpenAPI = ver.Value
	}

	gw := yamlx.Get(root, "x-yc-apigateway")
	if gw != nil && gw.Kind != yaml.MappingNode {
		errs.Errorf(gw, "x-yc-apigateway", "must be a mapping, got %s", yamlx.KindName(gw))
		gw = nil
	}
	doc.Variables, doc.Values = readVariables(gw, values, &errs)
	substitute(root, yamlx.Get(gw, "variables"), doc.Values, "", &errs)

	r := &resolver{root: root}
	r.checkRefs(root, "", &errs)
	checkExtensions(root, "", "the document", rootExtensions, &errs)
	checkExtensions(yamlx.Get(root, "components"), "components", "components", componentExtensions, &errs)

	doc.Gateway = readGateway(gw, r, &errs)

	paths := yamlx.Get(root, "paths")
	switch {
	case paths == nil:
		errs.Errorf(root, "paths", "missing required key \"paths\"")
	case paths.Kind != yaml.MappingNode:
		if paths.ShortTag() != "!!null" {
			errs.Errorf(paths, "paths", "must be a mapping of path templates, got %s", yamlx.KindName(paths))
		}
	default:
		doc.Paths = readPaths(paths, r, &errs)
	}
	readSecurity(root, r, doc, &errs)
	return doc, errs
}

func readGateway(gw *yaml.Node, r *resolver, errs *yamlx.List) Gateway {
	g := Gateway{IgnoreTrailingSlashes: true}
	if gw == nil {
		return g
	}
	var raw struct {
		ServiceAccountID      string    `yaml:"service_account_id"`
		IgnoreTrailingSlashes *bool     `yaml:"ignoreTrailingSlashes"`
		Validator             yaml.Node `yaml:"validator"`
		CORS                  yaml.Node `yaml:"cors"`
		RateLimit             yaml.Node `yaml:"rateLimit"`
		SmartWebSecurity      *struct {
			SecurityProfileID string `yaml:"securityProfileId"`
		} `yaml:"smartWebSecurity"`
		// The overview table of the cloud lists securityProfileId directly
		// here; its example nests it under smartWebSecurity.
		SecurityProfileID string    `yaml:"securityProfileId"`
		Variables         yaml.Node `yaml:"variables"`
	}
	e := yamlx.DecodeExtension(gw, &raw, "x-yc-apigateway")
	errs.Add(e...)
	if e.Err() != nil {
		return g
	}
	g.ServiceAccountID = raw.ServiceAccountID
	if raw.IgnoreTrailingSlashes != nil {
		g.IgnoreTrailingSlashes = *raw.IgnoreTrailingSlashes
	}
	g.Validator = resolveObject(r, nodeOrNil(&raw.Validator), "x-yc-apigateway.validator", errs)
	g.CORS = resolveObject(r, nodeOrNil(&raw.CORS), "x-yc-apigateway.cors", errs)
	g.RateLimit = resolveObject(r, nodeOrNil(&raw.RateLimit), "x-yc-apigateway.rateLimit", errs)
	top := yamlx.Get(gw, "securityProfileId")
	nested := yamlx.Get(yamlx.Get(gw, "smartWebSecurity"), "securityProfileId")
	switch {
	case top != nil && nested != nil && top.Value != nested.Value:
		errs.Errorf(top, "x-yc-apigateway.securityProfileId", "names profile %q, while smartWebSecurity.securityProfileId names %q: give one", top.Value, nested.Value)
	case nested != nil:
		g.SecurityProfileID, g.SecurityProfileNode = nested.Value, nested
	case top != nil:
		g.SecurityProfileID, g.SecurityProfileNode = top.Value, top
	}
	return g
}

// nodeOrNil turns an absent (zero) decoded node into nil.
func nodeOrNil(n *yaml.Node) *yaml.Node {
	if n.Kind == 0 {
		return nil
	}
	return n
}

// resolveObject resolves an extension object that may be a $ref and must end
// up a mapping. Unresolvable references were reported by checkRefs already.
func resolveObject(r *resolver, n *yaml.Node, path string, errs *yamlx.List) *yaml.Node {
	if n == nil {
		return nil
	}
	res, err := r.resolve(n)
	if err != nil {
		return nil
	}
	if res.Kind != yaml.MappingNode {
		errs.Errorf(n, path, "must be a mapping, got %s", yamlx.KindName(res))
		return nil
	}
	return res
}

// pathItemKeys are the keys OpenAPI allows on a path item besides methods
// and x- extensions.
var pathItemKeys = map[string]bool{"summary": true, "description": true, "servers": true, "parameters": true, "$ref": true}

var operationKeys = map[string]bool{
	"tags": true, "summary": true, "description": true, "externalDocs": true, "operationId": true,
	"parameters": true, "requestBody": true, "responses": true, "callbacks": true, "deprecated": true,
	"security": true, "servers": true,
}

func readPaths(paths *yaml.Node, r *resolver, errs *yamlx.List) []*PathItem {
	var out []*PathItem
	opIDs := map[string]*Operation{}
	for i := 0; i+1 < len(paths.Content); i += 2 {
		k := paths.Content[i]
		base := yamlx.Join("paths", k.Value)
		if strings.HasPrefix(k.Value, "x-") {
			continue
		}
		if !strings.HasPrefix(k.Value, "/") {
			errs.Errorf(k, base, "a path template must start with \"/\"")
			continue
		}
		item, err := r.resolve(paths.Content[i+1])
		if err != nil {
			continue // reported by checkRefs
		}
		if item.Kind != yaml.MappingNode {
			if item.ShortTag() != "!!null" {
				errs.Errorf(item, base, "a path item must be a mapping, got %s", yamlx.KindName(item))
			}
			continue
		}
		pi := &PathItem{Template: k.Value, Node: k, Path: base}
		checkExtensions(item, base, "a path item", pathItemExtensions, errs)
		common := readParameters(yamlx.Get(item, "parameters"), r, yamlx.Join(base, "parameters"), errs)
		for j := 0; j+1 < len(item.Content); j += 2 {
			key, val := item.Content[j], item.Content[j+1]
			name := key.Value
			switch {
			case isMethod(name):
				op := readOperation(val, r, pi, strings.ToUpper(name), yamlx.Join(base, name), common, errs)
				if op != nil {
					pi.Operations = append(pi.Operations, op)
				}
			case name == "x-yc-apigateway-any-method":
				pi.AnyMethod = readOperation(val, r, pi, AnyMethod, yamlx.Join(base, name), common, errs)
			case name == "x-yc-apigateway-cors":
				pi.CORS = resolveObject(r, val, yamlx.Join(base, name), errs)
			case name == "x-yc-apigateway-rate-limit":
				pi.RateLimit = resolveObject(r, val, yamlx.Join(base, name), errs)
			case name == "x-yc-apigateway-websocket-connect":
				pi.WSConnect = readOperation(val, r, pi, WSConnect, yamlx.Join(base, name), common, errs)
			case name == "x-yc-apigateway-websocket-message":
				pi.WSMessage = readOperation(val, r, pi, WSMessage, yamlx.Join(base, name), common, errs)
			case name == "x-yc-apigateway-websocket-disconnect":
				pi.WSDisconnect = readOperation(val, r, pi, WSDisconnect, yamlx.Join(base, name), common, errs)
			case pathItemKeys[name], strings.HasPrefix(name, "x-"):
			default:
				if strings.ToLower(name) != name && isMethod(strings.ToLower(name)) {
					errs.Errorf(key, yamlx.Join(base, name), "method keys are lower case in OpenAPI: write %q", strings.ToLower(name))
				} else {
					errs.Errorf(key, yamlx.Join(base, name), "unknown key %q in a path item", name)
				}
			}
		}
		for _, op := range append(pi.Operations, pi.AnyMethod) {
			if op == nil || op.OperationID == "" {
				continue
			}
			if prev, dup := opIDs[op.OperationID]; dup {
				errs.Errorf(yamlx.Get(op.Node, "operationId"), op.Path, "operationId %q is also used by %s", op.OperationID, prev.Path)
				continue
			}
			opIDs[op.OperationID] = op
		}
		out = append(out, pi)
	}
	return out
}

func isMethod(s string) bool {
	for _, m := range methodKeys {
		if s == m {
			return true
		}
	}
	return false
}

func readOperation(n *yaml.Node, r *resolver, pi *PathItem, method, path string, common []Parameter, errs *yamlx.List) *Operation {
	n = yamlx.Deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		errs.Errorf(n, path, "an operation must be a mapping, got %s", yamlx.KindName(n))
		return nil
	}
	op := &Operation{Method: method, Template: pi.Template, Path: path, Node: n}
	checkExtensions(n, path, "an operation", operationExtensions, errs)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !operationKeys[k.Value] && !strings.HasPrefix(k.Value, "x-") {
			errs.Errorf(k, yamlx.Join(path, k.Value), "unknown key %q in an operation", k.Value)
		}
	}
	if id := yamlx.Get(n, "operationId"); id != nil {
		if id.Kind != yaml.ScalarNode {
			errs.Errorf(id, yamlx.Join(path, "operationId"), "must be a string")
		} else {
			op.OperationID = id.Value
		}
	}
	own := readParameters(yamlx.Get(n, "parameters"), r, yamlx.Join(path, "parameters"), errs)
	op.Parameters = mergeParameters(common, own)
	op.Validator = resolveObject(r, yamlx.Get(n, "x-yc-apigateway-validator"), yamlx.Join(path, "x-yc-apigateway-validator"), errs)
	op.RateLimit = resolveObject(r, yamlx.Get(n, "x-yc-apigateway-rate-limit"), yamlx.Join(path, "x-yc-apigateway-rate-limit"), errs)
	op.StatusMapping = readStatusMapping(yamlx.Get(n, "responses"), r, yamlx.Join(path, "responses"), errs)
	if rb, err := r.resolve(yamlx.Get(n, "requestBody")); err == nil && rb != nil {
		op.RequestMapping = readMappings(yamlx.Get(rb, "content"), r, yamlx.Join(path, "requestBody.content"))
	}
	if rs := yamlx.Deref(yamlx.Get(n, "responses")); rs != nil && rs.Kind == yaml.MappingNode {
		checkExtensions(rs, yamlx.Join(path, "responses"), "responses", responsesExtensions, errs)
		for i := 0; i+1 < len(rs.Content); i += 2 {
			code, ok := ResponseKey(rs.Content[i].Value)
			res, rerr := r.resolve(rs.Content[i+1])
			if !ok || rerr != nil || res == nil {
				continue
			}
			if m := readMappings(yamlx.Get(res, "content"), r, yamlx.Join(path, "responses."+rs.Content[i].Value+".content")); m != nil {
				if op.ResponseMapping == nil {
					op.ResponseMapping = map[int]map[string]Mapping{}
				}
				op.ResponseMapping[code] = m
			}
		}
		op.MappingIndex = readMappingIndex(yamlx.Get(rs, "x-yc-mapping-index"), op.ResponseMapping, yamlx.Join(path, "responses.x-yc-mapping-index"), errs)
	}

	ipath := yamlx.Join(path, "x-yc-apigateway-integration")
	in := yamlx.Get(n, "x-yc-apigateway-integration")
	if in == nil {
		errs.Errorf(n, path, "operation has no x-yc-apigateway-integration: the gateway would not know what to call")
		return op
	}
	res, err := r.resolve(in)
	if err != nil {
		return op // reported by checkRefs
	}
	if res.Kind != yaml.MappingNode {
		errs.Errorf(in, ipath, "must be a mapping with a type, got %s", yamlx.KindName(res))
		return op
	}
	t := yamlx.Get(res, "type")
	if t == nil || t.Kind != yaml.ScalarNode || t.Value == "" {
		errs.Errorf(res, ipath, "missing required key \"type\" (dummy, http, cloud_functions, ...)")
		return op
	}
	typ := t.Value
	if canon, ok := typeAliases[typ]; ok {
		typ = canon
	}
	op.Integration = &Integration{Type: typ, Node: res, Path: ipath}
	return op
}

// readMappings finds x-yc-schema-mapping in the schema of each media type
// of a content map.
func readMappings(content *yaml.Node, r *resolver, path string) map[string]Mapping {
	content = yamlx.Deref(content)
	if content == nil || content.Kind != yaml.MappingNode {
		return nil
	}
	var out map[string]Mapping
	for i := 0; i+1 < len(content.Content); i += 2 {
		mt := content.Content[i].Value
		schema, err := r.resolve(yamlx.Get(yamlx.Deref(content.Content[i+1]), "schema"))
		if err != nil || schema == nil {
			continue
		}
		if m := yamlx.Get(schema, "x-yc-schema-mapping"); m != nil {
			if out == nil {
				out = map[string]Mapping{}
			}
			out[mt] = Mapping{Node: m, Path: yamlx.Join(yamlx.Join(path, mt), "schema.x-yc-schema-mapping")}
		}
	}
	return out
}

// ResponseKey reads a key of an operation's responses: a status (100-599)
// is itself, a range (1XX to 5XX, either case) its first digit, and
// `default` 0, so that one map holds all three and a lookup tries the
// status, then status/100, then 0 (OpenAPI's precedence).
func ResponseKey(key string) (int, bool) {
	if key == "default" {
		return 0, true
	}
	if len(key) == 3 && key[0] >= '1' && key[0] <= '5' && (key[1] == 'X' || key[1] == 'x') && (key[2] == 'X' || key[2] == 'x') {
		return int(key[0] - '0'), true
	}
	code, err := strconv.Atoi(key)
	if err != nil || code < 100 || code > 599 || len(key) != 3 {
		return 0, false
	}
	return code, true
}

// readMappingIndex reads responses.x-yc-mapping-index: for a status, the
// media type whose x-yc-schema-mapping applies to that status's answers
// whatever their Content-Type (digest §12). Each entry must name a mapping
// the responses declare.
func readMappingIndex(n *yaml.Node, mappings map[int]map[string]Mapping, path string, errs *yamlx.List) map[int]string {
	n = yamlx.Deref(n)
	if n == nil {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		errs.Errorf(n, path, "must map a status to a media type, such as {200: application/json}, got %s", yamlx.KindName(n))
		return nil
	}
	out := map[int]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], yamlx.Deref(n.Content[i+1])
		code, ok := ResponseKey(k.Value)
		if !ok {
			errs.Errorf(k, path, "a key must be a response status such as 200, a range such as 2XX, or default, not %q", k.Value)
			continue
		}
		if v.Kind != yaml.ScalarNode {
			errs.Errorf(v, yamlx.Join(path, k.Value), "must be a media type, such as application/json")
			continue
		}
		if _, ok := mappings[code][v.Value]; !ok {
			errs.Errorf(v, yamlx.Join(path, k.Value), "responses.%s.content.%s has no x-yc-schema-mapping to select", k.Value, v.Value)
			continue
		}
		out[code] = v.Value
	}
	return out
}

// readStatusMapping reads x-yc-status-mapping from each response object
// ($ref resolved) of an operation's responses.
func readStatusMapping(n *yaml.Node, r *resolver, path string, errs *yamlx.List) map[int]int {
	n = yamlx.Deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	var out map[int]int
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		res, err := r.resolve(n.Content[i+1])
		if err != nil || res == nil {
			continue
		}
		m := yamlx.Get(res, "x-yc-status-mapping")
		if m == nil {
			continue
		}
		p := yamlx.Join(yamlx.Join(path, k.Value), "x-yc-status-mapping")
		from, err := strconv.Atoi(k.Value)
		if err != nil || from < 100 || from > 599 {
			errs.Errorf(k, p, "x-yc-status-mapping needs a response code such as 404, not %q", k.Value)
			continue
		}
		to, err := strconv.Atoi(m.Value)
		if m.Kind != yaml.ScalarNode || err != nil || to < 100 || to > 599 {
			errs.Errorf(m, p, "must be an HTTP status (100-599)")
			continue
		}
		if out == nil {
			out = map[int]int{}
		}
		out[from] = to
	}
	return out
}

// readParameters reads an OpenAPI parameters list, resolving $ref items and
// the schema default.
func readParameters(n *yaml.Node, r *resolver, path string, errs *yamlx.List) []Parameter {
	n = yamlx.Deref(n)
	if n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		errs.Errorf(n, path, "parameters must be a list, got %s", yamlx.KindName(n))
		return nil
	}
	var out []Parameter
	for i, item := range n.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		res, err := r.resolve(item)
		if err != nil {
			continue
		}
		if res.Kind != yaml.MappingNode {
			errs.Errorf(item, p, "a parameter must be a mapping, got %s", yamlx.KindName(res))
			continue
		}
		prm := Parameter{Node: yamlx.Deref(item)}
		name, in := yamlx.Get(res, "name"), yamlx.Get(res, "in")
		if name == nil || name.Kind != yaml.ScalarNode || name.Value == "" {
			errs.Errorf(res, p, "parameter needs a name")
			continue
		}
		prm.Name = name.Value
		if in == nil || in.Kind != yaml.ScalarNode {
			errs.Errorf(res, p, "parameter %q needs \"in\" (path, query, header or cookie)", prm.Name)
			continue
		}
		switch in.Value {
		case "path", "query", "header", "cookie":
			prm.In = in.Value
		default:
			errs.Errorf(in, yamlx.Join(p, "in"), "parameter %q: \"in\" must be path, query, header or cookie, not %q", prm.Name, in.Value)
			continue
		}
		if req := yamlx.Get(res, "required"); req != nil {
			if req.ShortTag() != "!!bool" {
				errs.Errorf(req, yamlx.Join(p, "required"), "must be true or false")
			} else {
				prm.Required = req.Value == "true"
			}
		}
		if s := yamlx.Get(res, "schema"); s != nil {
			if schema, err := r.resolve(s); err == nil {
				if d := yamlx.Get(schema, "default"); d != nil && d.Kind == yaml.ScalarNode && d.ShortTag() != "!!null" {
					prm.Default, prm.HasDefault = d.Value, true
				}
			}
		}
		out = append(out, prm)
	}
	return out
}

// mergeParameters applies OpenAPI's rule: an operation parameter overrides a
// path-item parameter with the same name and location.
func mergeParameters(common, own []Parameter) []Parameter {
	if len(common) == 0 {
		return own
	}
	out := make([]Parameter, 0, len(common)+len(own))
	for _, c := range common {
		overridden := false
		for _, o := range own {
			if o.Name == c.Name && o.In == c.In {
				overridden = true
				break
			}
		}
		if !overridden {
			out = append(out, c)
		}
	}
	return append(out, own...)
}

// checkSecurity refuses specs that require authorization: serving such an API
// without its authorizers would expose it, so this build says so instead.
// readSecurity resolves components.securitySchemes and the security
// requirements of the document and of every operation.
func readSecurity(root *yaml.Node, r *resolver, doc *Document, errs *yamlx.List) {
	schemes := map[string]*SecurityScheme{}
	if sec := yamlx.Get(yamlx.Get(root, "components"), "securitySchemes"); sec != nil && sec.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(sec.Content); i += 2 {
			name := sec.Content[i].Value
			path := yamlx.Join("components.securitySchemes", name)
			if n := resolveObject(r, sec.Content[i+1], path, errs); n != nil {
				schemes[name] = &SecurityScheme{Name: name, Node: n, Path: path}
			}
		}
	}
	doc.SecuritySchemes = schemes
	rootReq, _ := readRequirements(yamlx.Get(root, "security"), "security", schemes, errs)
	for _, pi := range doc.Paths {
		for _, op := range append(pi.Operations, pi.AnyMethod, pi.WSConnect, pi.WSMessage, pi.WSDisconnect) {
			if op == nil {
				continue
			}
			own, present := readRequirements(yamlx.Get(op.Node, "security"), yamlx.Join(op.Path, "security"), schemes, errs)
			if present {
				op.Security = own
			} else {
				op.Security = rootReq
			}
		}
	}
}

// readRequirements reads a `security` list; present is false when there is
// none (as opposed to an empty list, which opts out).
func readRequirements(n *yaml.Node, path string, schemes map[string]*SecurityScheme, errs *yamlx.List) ([]Requirement, bool) {
	n = yamlx.Deref(n)
	if n == nil {
		return nil, false
	}
	if n.Kind != yaml.SequenceNode {
		errs.Errorf(n, path, "must be a list of security requirements, such as [{myAuth: []}], got %s", yamlx.KindName(n))
		return nil, true
	}
	out := []Requirement{}
	for i, item := range n.Content {
		ipath := path + "[" + strconv.Itoa(i) + "]"
		item = yamlx.Deref(item)
		if item.Kind != yaml.MappingNode {
			errs.Errorf(item, ipath, "a security requirement is a mapping of scheme name to scopes, got %s", yamlx.KindName(item))
			continue
		}
		var req Requirement
		for j := 0; j+1 < len(item.Content); j += 2 {
			k, v := item.Content[j], yamlx.Deref(item.Content[j+1])
			sc := schemes[k.Value]
			if sc == nil {
				errs.Errorf(k, ipath, "unknown security scheme %q (declare it under components.securitySchemes)", k.Value)
				continue
			}
			var scopes []string
			if v != nil && v.Kind == yaml.SequenceNode {
				for _, s := range v.Content {
					scopes = append(scopes, s.Value)
				}
			} else if v != nil && !(v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null") {
				errs.Errorf(v, yamlx.Join(ipath, k.Value), "scopes must be a list, such as [] or [profile:read]")
			}
			req = append(req, SchemeUse{Scheme: sc, Scopes: scopes, Node: k})
		}
		out = append(out, req)
	}
	return out, true
}

func nonEmptySeq(n *yaml.Node) bool {
	return n != nil && (n.Kind != yaml.SequenceNode || len(n.Content) > 0)
}

// duplicateKeys warns of a key written twice in one mapping: YAML
// forbids it, yet parsers differ in which one they keep (apigw reads the
// first), so a spec that relies on it may not mean the same in the cloud.
// Usually it is an operation or a parameter pasted twice. The later ones
// are dropped from the tree, so that everything built from it (the
// validator's and the mocks' kin-openapi model, which refuses a duplicate
// key) reads what the loader read.
func duplicateKeys(n *yaml.Node, path string, depth int, errs *yamlx.List) {
	if n == nil || depth > 64 {
		return
	}
	switch n.Kind {
	case yaml.MappingNode:
		var seen map[string]*yaml.Node
		kept := n.Content[:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind == yaml.ScalarNode {
				if first, dup := seen[k.Value]; dup {
					errs.Warnf(k, yamlx.Join(path, k.Value), "duplicate key %q (first at line %d): apigw reads the first; YAML parsers differ in which they keep", k.Value, first.Line)
					continue
				}
				if seen == nil {
					seen = map[string]*yaml.Node{}
				}
				seen[k.Value] = k
			}
			duplicateKeys(n.Content[i+1], yamlx.Join(path, k.Value), depth+1, errs)
			kept = append(kept, k, n.Content[i+1])
		}
		n.Content = kept
	case yaml.SequenceNode:
		for i, c := range n.Content {
			duplicateKeys(c, path+"["+strconv.Itoa(i)+"]", depth+1, errs)
		}
	}
}
