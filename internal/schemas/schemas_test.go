package schemas

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/apigw/apigw/internal/config"
	"github.com/apigw/apigw/internal/functions"
)

func compile(t *testing.T, kind, version string) *jsonschema.Schema {
	t.Helper()
	src, err := Get(kind, version)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(src))
	if err != nil {
		t.Fatalf("%s: %v", kind, err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(kind+".json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(kind + ".json")
	if err != nil {
		t.Fatalf("%s does not compile: %v", kind, err)
	}
	return s
}

// fromYAML reads YAML as JSON would hold it (every key a string, as
// editors see it).
func fromYAML(t *testing.T, src []byte) any {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal(src, &n); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(nodeValue(&n))
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func nodeValue(n *yaml.Node) any {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil
		}
		return nodeValue(n.Content[0])
	case yaml.AliasNode:
		return nodeValue(n.Alias)
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = nodeValue(n.Content[i+1])
		}
		return m
	case yaml.SequenceNode:
		out := []any{}
		for _, c := range n.Content {
			out = append(out, nodeValue(c))
		}
		return out
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return n.Value
	}
	return v
}

// examples lists the project's example files: specs (with "openapi") and
// bindings files (apigw.yaml).
func examples(t *testing.T) (specs, bindings []string) {
	files, _ := filepath.Glob("../../examples/*/*.yaml")
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case filepath.Base(f) == "apigw.yaml":
			bindings = append(bindings, f)
		case bytes.Contains(src, []byte("\nopenapi:")) || bytes.HasPrefix(src, []byte("openapi:")):
			specs = append(specs, f)
		}
	}
	if len(specs) < 10 || len(bindings) < 10 {
		t.Fatalf("found %d specs and %d bindings files under examples/", len(specs), len(bindings))
	}
	return specs, bindings
}

func TestExamplesMatchTheSchemas(t *testing.T) {
	specSchema, bindingsSchema := compile(t, "spec", ""), compile(t, "bindings", "")
	specs, bindings := examples(t)
	for _, f := range specs {
		src, _ := os.ReadFile(f)
		if err := specSchema.Validate(fromYAML(t, src)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	for _, f := range bindings {
		src, _ := os.ReadFile(f)
		if err := bindingsSchema.Validate(fromYAML(t, src)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	// The reference of every key, docs/configuration.md, is a bindings file too.
	ref, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for i, block := range strings.Split(string(ref), "```yaml\n")[1:] {
		block, _, _ = strings.Cut(block, "```")
		if err := bindingsSchema.Validate(fromYAML(t, []byte(block))); err != nil {
			t.Errorf("docs/configuration.md, yaml block %d: %v", i+1, err)
		}
	}
}

// A typo is what an editor must underline: each of these fails, naming
// the place.
func TestSchemasCatchTypos(t *testing.T) {
	specSchema, bindingsSchema := compile(t, "spec", ""), compile(t, "bindings", "")
	base := `openapi: 3.0.0
info: {title: t, version: '1'}
paths:
  /a:
    get:
      x-yc-apigateway-integration: {type: cloud_functions, function_id: f1}
      responses: {'200': {description: ok}}
`
	for _, tc := range []struct{ from, to, where string }{
		{"x-yc-apigateway-integration:", "x-yc-apigateway-integraton:", "/paths/~1a/get"},
		{"function_id: f1", "function_idd: f1", "/paths/~1a/get/x-yc-apigateway-integration"},
		{"type: cloud_functions", "type: cloud_function", "/paths/~1a/get/x-yc-apigateway-integration/type"},
		{"responses:", "x-yc-apigateway-cors: {origin: '*', method: GET}\n      responses:", "/paths/~1a/get"},
		{"openapi: 3.0.0", "openapi: 3.1.0", "/openapi"},
	} {
		src := strings.Replace(base, tc.from, tc.to, 1)
		err := specSchema.Validate(fromYAML(t, []byte(src)))
		if err == nil || !strings.Contains(err.Error(), tc.where) {
			t.Errorf("%q → %q: want an error at %s, got %v", tc.from, tc.to, tc.where, err)
		}
	}
	if err := specSchema.Validate(fromYAML(t, []byte(base))); err != nil {
		t.Errorf("the base spec: %v", err)
	}
	for _, tc := range []struct{ src, where string }{
		{"listen: :8080\nlimts: {}\n", "limts"},
		{"functions:\n  f1: {runtime: python, handlr: index.handler}\n", "handlr"},
		{"limits: {max_request_body: [1]}\n", "/limits/max_request_body"},
		{"websocket: {push_only: maybe}\n", "/websocket/push_only"},
	} {
		err := bindingsSchema.Validate(fromYAML(t, []byte(tc.src)))
		if err == nil || !strings.Contains(err.Error(), tc.where) {
			t.Errorf("%q: want an error naming %s, got %v", tc.src, tc.where, err)
		}
	}
}

// The event schema describes what the real builder makes, in both
// versions, for a plain request, a body and an authorized WebSocket
// message.
func TestEventSchemaMatchesTheBuilder(t *testing.T) {
	for _, version := range []string{"0.1", "1.0"} {
		s := compile(t, "event", version)
		get := httptest.NewRequest("GET", "/pets/42?verbose=1&verbose=2", nil)
		get.Header.Set("User-Agent", "curl/8")
		post := httptest.NewRequest("POST", "/pets", strings.NewReader(`{"name":"Tom"}`))
		post.Header.Set("Content-Type", "application/json")
		for _, req := range []*functions.Request{
			{HTTP: get, Template: "/pets/{petId}", PathParams: map[string]string{"petId": "42"}, Declared: map[string][]string{"petId": {"42"}, "verbose": {"1", "2"}}},
			{HTTP: post, Body: []byte(`{"name":"Tom"}`), Template: "/pets", OperationID: "createPet", Authorizer: map[string]any{"user": "u1"}, OperationContext: map[string]any{"k": "v"}},
			{HTTP: post, Body: []byte(`hi`), Template: "/ws", WebSocket: &functions.WebSocketEvent{ConnectionID: "c1", ConnectedAt: time.Now(), EventType: "MESSAGE", MessageID: "m1"}},
		} {
			req.Version, req.RequestID, req.ClientIP, req.GatewayID, req.Time = version, "r1", "192.0.2.1", "apigw", time.Now()
			ev, err := functions.Event(req)
			if err != nil {
				t.Fatal(err)
			}
			v, _ := jsonschema.UnmarshalJSON(bytes.NewReader(ev))
			if err := s.Validate(v); err != nil {
				t.Errorf("%s event of %s %s:\n%s\n%v", version, req.HTTP.Method, req.Template, ev, err)
			}
		}
	}
	if _, err := Get("event", "2.0"); err == nil {
		t.Error("--version 2.0 was accepted")
	}
}

// The response schema accepts what apigw's parser accepts and refuses
// the shapes it refuses.
func TestResponseSchemaMatchesTheParser(t *testing.T) {
	s := compile(t, "response", "")
	for _, raw := range []string{
		`{"statusCode": 200, "body": "ok"}`,
		`{"statusCode": 201, "headers": {"X-A": "1", "X-N": 2}, "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]}, "body": "aGk=", "isBase64Encoded": true}`,
		`{}`,
		`{"statusCode": 99}`,
		`{"statusCode": "200"}`,
		`{"body": {"ok": true}}`,
		`{"headers": {"X-A": ["1"]}}`,
		`{"multiValueHeaders": {"X-A": "1"}}`,
		`{"isBase64Encoded": "yes"}`,
	} {
		_, perr := functions.ParseResponse([]byte(raw))
		v, _ := jsonschema.UnmarshalJSON(strings.NewReader(raw))
		serr := s.Validate(v)
		if (perr == nil) != (serr == nil) {
			t.Errorf("%s: the parser says %v, the schema %v", raw, perr, serr)
		}
	}
}

// docs/schemas/ holds what `apigw schema` prints, for modelines that
// point at a file: it must not drift.
func TestDocsCopiesAreCurrent(t *testing.T) {
	for _, c := range []struct{ kind, version, file string }{
		{"spec", "", "spec.json"}, {"bindings", "", "bindings.json"}, {"event", "0.1", "event-0.1.json"},
		{"event", "1.0", "event-1.0.json"}, {"response", "", "response.json"},
	} {
		want, _ := Get(c.kind, c.version)
		path := filepath.Join("../../docs/schemas", c.file)
		if os.Getenv("APIGW_UPDATE_SCHEMAS") != "" {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is not what `apigw schema %s` prints (%v): run APIGW_UPDATE_SCHEMAS=1 go test ./internal/schemas", path, c.kind, err)
		}
	}
}

// TestBindingsDocs extracts the bindings keys' descriptions from the
// comments of docs/configuration.md's reference into bindings-docs.json
// (APIGW_UPDATE_SCHEMAS=1 writes it), and holds the reference to
// describing every key.
// maxUndescribed is how many keys may go without a comment: their name
// says it, or their section's comment does.
const maxUndescribed = 28

func TestBindingsDocs(t *testing.T) {
	src, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	schema := typeSchema(reflect.TypeFor[config.Bindings]())
	docs := map[string]string{}
	for _, b := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(src, -1) {
		var doc yaml.Node
		if err := yaml.Unmarshal(b[1], &doc); err != nil {
			t.Fatal(err)
		}
		collectDocs(doc.Content[0], schema, "", docs)
	}
	want, _ := json.MarshalIndent(docs, "", "  ")
	want = append(want, '\n')
	if os.Getenv("APIGW_UPDATE_SCHEMAS") != "" {
		if err := os.WriteFile("bindings-docs.json", want, 0o644); err != nil {
			t.Fatal(err)
		}
		// The copy in docs/ with these descriptions, without waiting for
		// the next build to embed them.
		bindingsDocs = want
		b, err := Get("bindings", "")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("../../docs/schemas/bindings.json", b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := os.ReadFile("bindings-docs.json"); !bytes.Equal(got, want) {
		t.Errorf("bindings-docs.json is not what docs/configuration.md says: run APIGW_UPDATE_SCHEMAS=1 go test ./internal/schemas")
	}
	var undescribed []string
	eachKey(schema, "", func(p string, _ map[string]any) {
		if docs[p] == "" && !config.DocumentedInSWS(p) {
			undescribed = append(undescribed, p)
		}
	})
	sort.Strings(undescribed)
	t.Logf("%d keys without a comment: %s", len(undescribed), strings.Join(undescribed, ", "))
	if len(undescribed) > maxUndescribed {
		t.Errorf("%d bindings keys have no comment in docs/configuration.md's reference (at most %d may): %s", len(undescribed), maxUndescribed, strings.Join(undescribed, ", "))
	}
	// The schema carries them.
	var got map[string]any
	b, _ := Get("bindings", "")
	json.Unmarshal(b, &got)
	if d := got["properties"].(map[string]any)["console"].(map[string]any)["properties"].(map[string]any)["max_body"].(map[string]any)["description"]; !strings.HasPrefix(fmt.Sprint(d), "of each request and response body kept. Bytes") {
		t.Errorf("console.max_body's description: %v", d)
	}
}

// collectDocs reads the line comment of each key of the reference, at
// its place in the schema ("*" for a map's entries; the first entry's
// comment wins).
func collectDocs(n *yaml.Node, s map[string]any, path string, docs map[string]string) {
	if alts, ok := s["anyOf"].([]any); ok {
		s = alts[0].(map[string]any)
	}
	if items, ok := s["items"].(map[string]any); ok && n.Kind == yaml.SequenceNode {
		for _, item := range n.Content {
			collectDocs(item, items, path, docs)
		}
		return
	}
	if n.Kind != yaml.MappingNode {
		return
	}
	props, _ := s["properties"].(map[string]any)
	entry, _ := s["additionalProperties"].(map[string]any)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		var child map[string]any
		var p string
		switch {
		case props != nil && props[k.Value] != nil:
			child, p = props[k.Value].(map[string]any), k.Value
		case entry != nil:
			child, p = entry, "*"
		default:
			continue
		}
		if path != "" {
			p = path + "." + p
		}
		c := k.LineComment
		if c == "" {
			c = v.LineComment
		}
		if c = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(c), "#")); c != "" && docs[p] == "" {
			docs[p] = c
		}
		collectDocs(v, child, p, docs)
	}
}
