package gateway

import (
	"strings"
	"testing"

	"github.com/apigw/apigw/internal/config"
	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/spec"
)

func TestBuildErrors(t *testing.T) {
	op := func(integ string) string {
		return "openapi: 3.0.0\npaths:\n  /a/{id}:\n    get:\n      parameters: [{name: id, in: path, required: true}]\n      x-yc-apigateway-integration: " + integ + "\n"
	}
	tests := []struct {
		desc string
		src  string
		want []string
	}{
		{"dummy without http_code", op("{type: dummy, content: {'*': x}}"), []string{"api.yaml:6:36: paths./a/{id}.get.x-yc-apigateway-integration: dummy integration needs http_code"}},
		{"dummy http_code out of range", op("{type: dummy, http_code: 99, content: {'*': x}}"), []string{"6:61: paths./a/{id}.get.x-yc-apigateway-integration.http_code: http_code must be between 100 and 599"}},
		{"dummy http_code of the wrong type", op("{type: dummy, http_code: two hundred, content: {'*': x}}"), []string{"6:61: paths./a/{id}.get.x-yc-apigateway-integration.http_code: must be an integer, got a string (\"two hundred\")"}},
		{"a mistyped required key warns and still fails", op("{type: dummy, http_code: 200, contnet: {'*': x}}"), []string{"6:36: paths./a/{id}.get.x-yc-apigateway-integration: dummy integration needs content"}},
		{"dummy content not a media type", op("{type: dummy, http_code: 200, content: {'json': x}}"), []string{"6:76: paths./a/{id}.get.x-yc-apigateway-integration.content: \"json\" is neither a media type"}},
		{"http without url", op("{type: http}"), []string{"6:36: paths./a/{id}.get.x-yc-apigateway-integration: http integration needs url"}},
		{"http url without scheme", op("{type: http, url: 'backend/x'}"), []string{"6:54: paths./a/{id}.get.x-yc-apigateway-integration.url: url \"backend/x\" needs a scheme"}},
		{"http bad timeouts", op("{type: http, url: 'http://b/', timeouts: {read: -1}}"), []string{"timeouts.read: must be a positive number of seconds"}},
		{"http bad wildcard", op("{type: http, url: 'http://b/', headers: {'*': yes}}"), []string{"headers.*: the wildcard entry must be '*': '*'"}},
		{"unknown type refused with its line", op("{type: grpc}"), []string{"6:43: paths./a/{id}.get.x-yc-apigateway-integration.type: unknown integration type \"grpc\" (supported: cloud_datasphere, cloud_datastreams, cloud_functions, cloud_ydb, cloud_ymq, dummy, http, object_storage, serverless_containers, swagger)"}},
		{"unbound database refused with its line", op(`{type: cloud_ydb, action: GetItem, database: db1, table_name: t, key: '{"id": "{id}"}'}`), []string{"paths./a/{id}.get.x-yc-apigateway-integration.database: database db1 is not bound"}},
		{"ydb key placeholders must sit inside JSON strings", op(`{type: cloud_ydb, action: GetItem, database: db1, table_name: t, key: '{"id": {id}}'}`), []string{"key: must be JSON with each {param} inside a JSON string"}},
		{"unbound stream refused with its line", op("{type: cloud_datastreams, action: PutRecord, stream_name: s1}"), []string{"paths./a/{id}.get.x-yc-apigateway-integration.stream_name: stream s1 is not bound"}},
		{"unbound queue refused with its line", op("{type: cloud_ymq, action: SendMessage, queue_url: q1, folder_id: f}"), []string{"paths./a/{id}.get.x-yc-apigateway-integration.queue_url: queue q1 is not bound"}},
		{"ymq action and delay checked", op("{type: cloud_ymq, action: ReceiveMessage, queue_url: q1, delay_seconds: 901}"), []string{"action must be SendMessage", "delay_seconds: must be 0 to 900 seconds"}},
		{"unbound bucket refused with its line", op("{type: object_storage, bucket: b1, object: o}"), []string{"paths./a/{id}.get.x-yc-apigateway-integration.bucket: bucket b1 is not bound: add object_storage.buckets.b1 to the bindings file"}},
		{"unbound container refused with its line", op("{type: serverless_containers, container_id: c1}"), []string{"6:80: paths./a/{id}.get.x-yc-apigateway-integration.container_id: container c1 is not bound: add containers.c1.url"}},
		{"unbound DataSphere node refused with its line", op("{type: cloud_datasphere, folder_id: f, node_id: n1}"), []string{"paths./a/{id}.get.x-yc-apigateway-integration.node_id: DataSphere node n1 is not bound"}},
		{"unbound function refused with its line", op("{type: cloud_functions, function_id: fn1}"), []string{"6:73: paths./a/{id}.get.x-yc-apigateway-integration.function_id: function fn1 (tag $latest) is not bound: add functions.fn1"}},
		{"bad payload_format_version", op("{type: cloud_functions, function_id: fn1, payload_format_version: '2.0'}"), []string{"payload_format_version: must be \"0.1\" or \"1.0\", not \"2.0\""}},
		{"unknown type", op("{type: lambda}"), []string{"6:43: paths./a/{id}.get.x-yc-apigateway-integration.type: unknown integration type \"lambda\""}},
		{"bad template", "openapi: 3.0.0\npaths:\n  /a/{id:\n    get:\n      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': x}}\n", []string{"3:3: paths./a/{id: segment \"{id\" has \"{\" without \"}\""}},
		{"path parameter not in the template", "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      parameters: [{name: id, in: path, required: true}]\n      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': x}}\n", []string{"5:20: paths./a.get: path parameter \"id\" does not appear in the template /a"}},
		{"duplicate template", "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': x}}\n  /a/:\n    get:\n      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': x}}\n", []string{"6:3: paths./a/: template \"/a/\" matches exactly the same paths as \"/a\""}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			doc, errs := spec.Load("api.yaml", []byte(tt.src), nil)
			if errs.Err() != nil {
				t.Fatalf("spec: %v", errs)
			}
			snap, errs := Build(doc, config.Default(), integration.NewDeps())
			if snap != nil {
				t.Fatalf("Build succeeded, want %q", tt.want)
			}
			got := errs.Errors()
			if len(got) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i].Error(), w) {
					t.Errorf("error %d = %q\nwant it to contain %q", i, got[i].Error(), w)
				}
			}
		})
	}
}

func TestBuildReportsEveryError(t *testing.T) {
	src := "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      x-yc-apigateway-integration: {type: dummy}\n  /b:\n    get:\n      x-yc-apigateway-integration: {type: http}\n"
	doc, _ := spec.Load("api.yaml", []byte(src), nil)
	_, errs := Build(doc, config.Default(), integration.NewDeps())
	if len(errs.Errors()) != 3 {
		t.Fatalf("want 3 errors (http_code, content, url), got %v", errs)
	}
}

func TestBuildSecurityErrors(t *testing.T) {
	spec1 := func(scheme string) string {
		return "openapi: 3.0.0\ncomponents:\n  securitySchemes:\n    s: " + scheme + "\nsecurity: [{s: []}]\npaths:\n  /a:\n    get:\n      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': x}}\n"
	}
	tests := []struct{ desc, scheme, want string }{
		{"no authorizer", "{type: http, scheme: bearer}", "4:8: components.securitySchemes.s: security scheme s has no x-yc-apigateway-authorizer"},
		{"function authorizer on openIdConnect", "{type: openIdConnect, openIdConnectUrl: 'http://x', x-yc-apigateway-authorizer: {type: function, function_id: f}}", "a function authorizer needs a scheme of type http"},
		{"unbound authorizer function", "{type: apiKey, in: header, name: X-Key, x-yc-apigateway-authorizer: {type: function, function_id: f}}", "function_id: function f (tag $latest) is not bound"},
		{"jwt without identitySource", "{type: openIdConnect, x-yc-apigateway-authorizer: {type: jwt, jwksUri: 'http://x'}}", "a jwt authorizer needs identitySource"},
		{"jwt without keys", "{type: openIdConnect, x-yc-apigateway-authorizer: {type: jwt, identitySource: {in: header, name: A}}}", "needs jwksUri, or openIdConnectUrl"},
		{"bad caching mode", "{type: http, scheme: basic, x-yc-apigateway-authorizer: {type: function, function_id: f, authorizer_result_caching_mode: host}}", "must be path or uri"},
		{"unknown authorizer type", "{type: http, scheme: basic, x-yc-apigateway-authorizer: {type: iam}}", "authorizer type must be function or jwt"},
		{"both spellings of the service account", "{type: http, scheme: basic, x-yc-apigateway-authorizer: {type: function, function_id: f, service_account_id: a, serviceAccountId: b}}", `"service_account_id" and "serviceAccountId" are the same setting`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			doc, errs := spec.Load("api.yaml", []byte(spec1(tt.scheme)), nil)
			if errs.Err() != nil {
				t.Fatalf("spec: %v", errs)
			}
			snap, errs := Build(doc, config.Default(), integration.NewDeps())
			if snap != nil || !strings.Contains(errs.Error(), tt.want) {
				t.Fatalf("Build = %v, want an error containing %q", errs, tt.want)
			}
		})
	}
}

// TestBuildToleratesUnknownExtensionKeys loads keys that published specs
// carry and the cloud ignores: each is a warning naming the closest known
// key, and the gateway serves.
func TestBuildToleratesUnknownExtensionKeys(t *testing.T) {
	src := `openapi: 3.0.0
x-yc-apigateway:
  serviceAccountId: sa-gw
  securityProfileId: prof-1
  cors: {origin: '*', allowHeaders: [X-Key], headers: [X-Other]}
  rateLimit: {allRequests: {rps: 100}, burst: 10}
  variables:
    env: {default: dev, descripton: typo}
components:
  securitySchemes:
    key:
      type: apiKey
      in: header
      name: X-Key
      x-yc-apigateway-authorizer:
        type: function
        function_id: auth
        serviceAccountId: sa-auth
        authorizer_result_ttl: 5
paths:
  /a:
    get:
      x-yc-apigateway-integration:
        type: http
        url: http://127.0.0.1:1/
        timeout_ms: 500
        http_method: GET
  /b:
    get:
      security: [{key: []}]
      x-yc-apigateway-integration:
        type: dummy
        http_code: 200
        content: {'*': ok}
        contnt_type: text/plain
  /c:
    get:
      x-yc-apigateway-integration:
        type: cloud-functions
        function_id: fn
        function-id: fn
`
	doc, errs := spec.Load("api.yaml", []byte(src), nil)
	if errs.Err() != nil {
		t.Fatalf("spec: %v", errs)
	}
	b, _ := config.Parse([]byte("functions: {default: {url: 'http://127.0.0.1:1/'}}\nsecurity_profiles: {prof-1: {}}\n"))
	snap, berrs := Build(doc, b, integration.NewDeps())
	if snap == nil {
		t.Fatalf("Build refused the spec: %v", berrs)
	}
	all := append(errs, berrs...).Dedup()
	all.Sort()
	var got []string
	for _, w := range all.Warnings() {
		got = append(got, w.Error())
	}
	want := []string{
		`api.yaml:5:23: x-yc-apigateway.cors: warning: unknown key "allowHeaders", ignored; did you mean "allowedHeaders"?`,
		`api.yaml:5:46: x-yc-apigateway.cors: warning: unknown key "headers", ignored; did you mean "allowedHeaders"?`,
		`api.yaml:6:40: x-yc-apigateway.rateLimit: warning: unknown key "burst", ignored`,
		`api.yaml:8:25: x-yc-apigateway.variables.env: warning: unknown key "descripton", ignored; did you mean "description"?`,
		`api.yaml:19:9: components.securitySchemes.key.x-yc-apigateway-authorizer: warning: unknown key "authorizer_result_ttl", ignored; did you mean "authorizer_result_ttl_in_seconds"?`,
		`api.yaml:26:9: paths./a.get.x-yc-apigateway-integration: warning: unknown key "timeout_ms", ignored; did you mean "timeouts"?`,
		`api.yaml:35:9: paths./b.get.x-yc-apigateway-integration: warning: unknown key "contnt_type", ignored`,
		`api.yaml:41:9: paths./c.get.x-yc-apigateway-integration: warning: unknown key "function-id", ignored; did you mean "function_id"?`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if doc.Gateway.ServiceAccountID != "sa-gw" || doc.Gateway.SecurityProfileID != "prof-1" {
		t.Errorf("aliases: service account %q, profile %q", doc.Gateway.ServiceAccountID, doc.Gateway.SecurityProfileID)
	}
}
