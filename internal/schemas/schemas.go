// Package schemas holds the JSON Schemas `apigw schema` prints: the spec's
// x-yc-* extensions (for editors: yaml-language-server, VS Code), the
// bindings file, and a function's event and response. The bindings
// schema is made from the loader's own types, so it cannot drift from
// what apigw accepts; the others are written by hand from the digest and
// tested against the project's examples and the real event builder.
package schemas

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/apigw/apigw/internal/config"
)

//go:embed spec.json
var spec []byte

//go:embed event.json
var event []byte

//go:embed response.json
var response []byte

// bindingsDocs describes the bindings keys, by path ("console.enabled",
// "functions.*.runtime"): the comments of docs/configuration.md's
// reference, extracted by TestBindingsDocs (APIGW_UPDATE_SCHEMAS=1 writes
// it), so that an editor's hover says what the reference says.
//
//go:embed bindings-docs.json
var bindingsDocs []byte

// Kinds are the schemas there are, for usage text.
var Kinds = []string{"spec", "bindings", "event", "response"}

// Get returns a schema, indented JSON. version applies to "event" ("1.0"
// or "0.1", default "0.1" as in the cloud).
func Get(kind, version string) ([]byte, error) {
	if version != "" && kind != "event" {
		return nil, fmt.Errorf("--version applies to the event schema only")
	}
	switch kind {
	case "spec":
		return indent(spec)
	case "response":
		return indent(response)
	case "event":
		return eventSchema(version)
	case "bindings":
		return bindings()
	}
	return nil, fmt.Errorf("unknown schema %q (one of %s)", kind, strings.Join(Kinds, ", "))
}

func indent(b []byte) ([]byte, error) {
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// The fields each event version adds to the common ones (digest §8.2, §8.3).
var eventFields = map[string]struct{ fields, required string }{
	"0.1": {
		fields: `,
    "url": {"type": "string", "description": "The request's path and query, ending in ? without a query: /users?limit=2."},
    "path": {"type": "string", "description": "The spec's template that matched, such as /pets/{petId} (not the actual path)."},
    "pathParams": {"$ref": "#/definitions/single"},
    "params": {"$ref": "#/definitions/single", "description": "Every parameter the spec declares (path, query, header, cookie)."},
    "multiValueParams": {"$ref": "#/definitions/multi"}`,
		// WebSocket events take the 1.0 form in either version (§8.5).
		required: `"if": {"properties": {"requestContext": {"required": ["eventType"]}}, "required": ["requestContext"]},
  "then": {"required": ["resource", "path", "pathParameters", "parameters", "multiValueParameters", "operationId"]},
  "else": {"required": ["url", "path", "pathParams", "params", "multiValueParams"]},`,
	},
	"1.0": {
		fields: `,
    "version": {"const": "1.0"},
    "resource": {"type": "string", "description": "The spec's template that matched, such as /pets/{petId}."},
    "path": {"type": "string", "description": "The actual request path, without the query."},
    "pathParameters": {"$ref": "#/definitions/single"},
    "parameters": {"$ref": "#/definitions/single", "description": "Every parameter the spec declares (path, query, header, cookie)."},
    "multiValueParameters": {"$ref": "#/definitions/multi"},
    "operationId": {"type": "string", "description": "The operation's operationId, else a SHA-256 of METHOD and template."}`,
		required: `"allOf": [{"required": ["resource", "path", "pathParameters", "parameters", "multiValueParameters", "operationId"]}],`,
	},
}

func eventSchema(version string) ([]byte, error) {
	switch version {
	case "", "0.1":
		version = "0.1"
	case "1", "1.0":
		version = "1.0"
	default:
		return nil, fmt.Errorf("--version must be 1.0 or 0.1, not %q", version)
	}
	f := eventFields[version]
	s := strings.NewReplacer("__VERSION__", version, "__FIELDS__", f.fields, "__REQUIRED_MORE__", f.required).Replace(string(event))
	return indent([]byte(s))
}

// bindings makes the bindings file's schema from config.Bindings: every
// key the loader accepts, nothing else (the loader refuses unknown keys
// too).
func bindings() ([]byte, error) {
	root := typeSchema(reflect.TypeFor[config.Bindings]())
	root["$schema"] = "http://json-schema.org/draft-07/schema#"
	root["$id"] = "https://github.com/apigw/apigw/schemas/bindings.json"
	root["title"] = "apigw bindings file (apigw.yaml)"
	root["description"] = "What the cloud keeps outside the spec, and where the IDs the spec names run here. See docs/configuration.md."
	var docs map[string]string
	if err := json.Unmarshal(bindingsDocs, &docs); err != nil {
		return nil, fmt.Errorf("bindings-docs.json: %w", err)
	}
	describe(root, docs)
	b, err := json.Marshal(root)
	if err != nil {
		return nil, err
	}
	return indent(b)
}

// describe sets each key's description from docs; a type's own
// description (a duration, a size) follows the key's.
func describe(root map[string]any, docs map[string]string) {
	eachKey(root, "", func(p string, ps map[string]any) {
		if d := docs[p]; d != "" {
			if own, ok := ps["description"].(string); ok {
				d += ". " + own
			}
			ps["description"] = d
		}
	})
}

// eachKey calls fn with each key of a schema made by typeSchema and the
// key's schema, by path as the keys nest: a struct's properties by name,
// a map's entries as "*", a list's items at the list's own path
// ("domains.hosts").
func eachKey(s map[string]any, path string, fn func(path string, s map[string]any)) {
	if props, ok := s["properties"].(map[string]any); ok {
		for k, v := range props {
			p := k
			if path != "" {
				p = path + "." + k
			}
			ps := v.(map[string]any)
			fn(p, ps)
			eachKey(ps, p, fn)
		}
	}
	if entry, ok := s["additionalProperties"].(map[string]any); ok {
		eachKey(entry, path+".*", fn)
	}
	if alts, ok := s["anyOf"].([]any); ok {
		for _, a := range alts {
			eachKey(a.(map[string]any), path, fn)
		}
	}
	if items, ok := s["items"].(map[string]any); ok {
		eachKey(items, path, fn)
	}
}

var (
	unmarshaler = reflect.TypeFor[yaml.Unmarshaler]()
	nodeType    = reflect.TypeFor[yaml.Node]()
)

// scalars are the types with a YAML form of their own.
var scalars = map[reflect.Type]map[string]any{
	reflect.TypeFor[config.Duration](): {"type": []string{"string", "integer"}, "description": "A duration such as 300ms, 30s, 5m; 0 where it turns a limit off."},
	reflect.TypeFor[config.Size]():     {"type": []string{"string", "integer"}, "description": "Bytes, or with KB, MB or GB (binary multiples): 2.5MB."},
}

func typeSchema(t reflect.Type) map[string]any {
	nullable := false
	for t.Kind() == reflect.Pointer {
		t, nullable = t.Elem(), true
	}
	if s, ok := scalars[t]; ok {
		return copyOf(s)
	}
	if t == nodeType {
		return map[string]any{}
	}
	if reflect.PointerTo(t).Implements(unmarshaler) {
		return map[string]any{}
	}
	var s map[string]any
	switch t.Kind() {
	case reflect.Bool:
		s = map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		s = map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		s = map[string]any{"type": "number"}
	case reflect.String:
		s = map[string]any{"type": "string"}
	case reflect.Slice:
		s = map[string]any{"type": "array", "items": typeSchema(t.Elem())}
	case reflect.Map:
		s = map[string]any{"type": "object", "additionalProperties": typeSchema(t.Elem())}
		if t.Elem().Kind() == reflect.Pointer && t.Elem().Elem().Kind() == reflect.Struct {
			// {id: } with nothing under it still loads (and is reported
			// with its line).
			s["additionalProperties"] = map[string]any{"anyOf": []any{typeSchema(t.Elem().Elem()), map[string]any{"type": "null"}}}
		}
	case reflect.Struct:
		props := map[string]any{}
		structFields(t, props)
		s = map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	default:
		s = map[string]any{}
	}
	if nullable {
		if typ, ok := s["type"].(string); ok {
			s["type"] = []string{typ, "null"}
		}
	}
	return s
}

func structFields(t reflect.Type, props map[string]any) {
	for f := range t.Fields() {
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		switch {
		case name == "-" || !f.IsExported():
		case opts == "inline":
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			structFields(ft, props)
		default:
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			props[name] = typeSchema(f.Type)
		}
	}
}

func copyOf(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
