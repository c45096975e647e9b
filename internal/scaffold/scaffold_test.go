package scaffold

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apigw/apigw/internal/config"
	"github.com/apigw/apigw/internal/spec"
)

const api = `openapi: 3.0.0
info: {title: t, version: '1'}
x-yc-apigateway:
  service_account_id: aje-gateway
  variables:
    env: {default: dev, enum: [dev, prod]}
    "true": {default: "yes"}
components:
  securitySchemes:
    key:
      type: apiKey
      in: header
      name: X-Key
      x-yc-apigateway-authorizer: {type: function, function_id: d4e-authz}
paths:
  /hello:
    get:
      x-yc-apigateway-integration: {type: cloud_functions, function_id: d4e-hello, tag: "${var.env}"}
  /auth:
    get:
      security: [{key: []}]
      x-yc-apigateway-integration: {type: cloud_functions, function_id: d4e-remote}
  /c/{p+}:
    x-yc-apigateway-any-method:
      x-yc-apigateway-integration: {type: serverless_containers, container_id: bba-app}
  /site:
    get:
      x-yc-apigateway-integration: {type: object_storage, bucket: my-site, object: index.html}
  /q:
    post:
      x-yc-apigateway-integration: {type: cloud_ymq, action: SendMessage, queue_url: "https://message-queue.api.cloud.yandex.net/b1g/dj6/orders", folder_id: b1g}
  /s:
    post:
      x-yc-apigateway-integration: {type: cloud_datastreams, action: PutRecord, stream_name: /ru-central1/b1g/etn/clicks}
  /t:
    get:
      x-yc-apigateway-integration: {type: cloud_ydb, action: Scan, database: /ru-central1/b1g/etn, table_name: movies}
  /n:
    post:
      x-yc-apigateway-integration: {type: cloud_datasphere, folder_id: b1g, node_id: bt1-model}
  /ws:
    x-yc-apigateway-websocket-message:
      x-yc-apigateway-integration: {type: cloud_functions, function_id: d4e-hello}
`

// TestBindings: every kind of resource is listed with the lines that use
// it; a function with code in functions/<id>/ is bound to it; the rest is
// commented out; the file loads.
func TestBindings(t *testing.T) {
	dir := t.TempDir()
	specFile := filepath.Join(dir, "api.yaml")
	os.WriteFile(specFile, []byte(api), 0o644)
	os.MkdirAll(filepath.Join(dir, "functions", "d4e-hello"), 0o755)
	os.WriteFile(filepath.Join(dir, "functions", "d4e-hello", "index.py"), []byte("def handler(e, c): return {}\n"), 0o644)
	os.MkdirAll(filepath.Join(dir, "functions", "d4e-authz"), 0o755)
	os.WriteFile(filepath.Join(dir, "functions", "d4e-authz", "index.js"), []byte("exports.handler = async () => ({});\n"), 0o644)
	doc, errs := spec.LoadFile(specFile, nil)
	if doc == nil {
		t.Fatal(errs)
	}
	out, res := Bindings(doc, []byte(api), Options{Out: filepath.Join(dir, "apigw.yaml")})
	text := string(out)
	for _, want := range []string{
		"  d4e-hello: {runtime: python, handler: index.handler, dir: ./functions/d4e-hello}  # tags dev",
		"  d4e-authz: {runtime: nodejs, handler: index.handler, dir: ./functions/d4e-authz}",
		"  # used at api.yaml:18 (GET /hello), api.yaml:43 (WS-MESSAGE /ws)",
		"  # used at api.yaml:14 (authorizer key)",
		"  # d4e-remote: {runtime: python",
		"  # used at api.yaml:25 (ANY /c/{p+})",
		"  # bba-app: {url: http://127.0.0.1:8081}",
		"    #   my-site: {dir: ./my-site}",
		`  # "https://message-queue.api.cloud.yandex.net/b1g/dj6/orders": {endpoint:`,
		"  # /ru-central1/b1g/etn/clicks: {endpoint:",
		"  # /ru-central1/b1g/etn: {endpoint:",
		"  # bt1-model: {url:",
		"  # used at api.yaml:4 (x-yc-apigateway)",
		"  # aje-gateway: {service_account_key_file: sa-key.json}",
		"  # used at api.yaml:18\n  # one of: dev, prod\n  env: dev",
		`  "true": "yes"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the file lacks %q:\n%s", want, text)
		}
	}
	if res.Bound != 2 || res.ToFill != 8 || res.Variables != 2 {
		t.Errorf("result %+v", res)
	}
	b, errs := config.Parse(out)
	if errs.Err() != nil {
		t.Fatalf("the file does not load: %v\n%s", errs, text)
	}
	if f := b.Functions["d4e-hello"]; f == nil || f.Runtime != "python" || b.VariableValues()["env"] != "dev" || b.VariableValues()["true"] != "yes" {
		t.Errorf("loaded as %+v", b)
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{"d4e-x": "d4e-x", "yes": `"yes"`, "1.5": `"1.5"`, "a b": `"a b"`, "https://x/y": `"https://x/y"`, "": `""`, "/p/q": "/p/q", "./f": "./f"} {
		if got := quote(in); got != want {
			t.Errorf("quote(%q) = %s, want %s", in, got, want)
		}
	}
}
