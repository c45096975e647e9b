package gateway

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestObjectStorageDir(t *testing.T) {
	root := t.TempDir()
	site := filepath.Join(root, "site")
	os.MkdirAll(filepath.Join(site, "js"), 0o755)
	os.WriteFile(filepath.Join(site, "js", "app.js"), []byte("console.log(1)"), 0o644)
	os.WriteFile(filepath.Join(site, "index.html"), []byte("<h1>spa</h1>"), 0o644)
	os.WriteFile(filepath.Join(site, "404.html"), []byte("<h1>missing</h1>"), 0o644)
	os.WriteFile(filepath.Join(root, "secret.txt"), []byte("TOP SECRET"), 0o644)
	os.Symlink(root, filepath.Join(site, "out"))        // a symlink out of the bucket
	os.Symlink("index.html", filepath.Join(site, "in")) // a relative one that stays inside
	src := `openapi: 3.0.0
paths:
  /static/{file+}:
    get:
      parameters: [{name: file, in: path, required: true, schema: {type: string}}]
      x-yc-apigateway-integration:
        type: object_storage
        bucket: site
        object: '{file}'
        error_object: {object: 404.html, statusCode: 404}
    head:
      parameters: [{name: file, in: path, required: true, schema: {type: string}}]
      x-yc-apigateway-integration: {type: object_storage, bucket: site, object: '{file}'}
  /spa/{p+}:
    get:
      parameters: [{name: p, in: path, required: true, schema: {type: string}}]
      x-yc-apigateway-integration: {type: object_storage, bucket: site, object: '{p}', default_object: index.html}
  /plain/{p}:
    get:
      parameters: [{name: p, in: path, required: true, schema: {type: string}}]
      x-yc-apigateway-integration: {type: object_storage, bucket: site, object: '{p}', error_object: 404.html}
`
	srv := serve(t, src, "object_storage:\n  buckets:\n    site: {dir: '"+site+"'}\n")

	res := do(t, "GET", srv.URL+"/static/js/app.js", nil, nil)
	if res.status != 200 || res.body != "console.log(1)" || !strings.Contains(res.header.Get("Content-Type"), "javascript") ||
		res.header.Get("ETag") == "" || res.header.Get("Last-Modified") == "" || res.header.Get("Content-Length") != "14" {
		t.Fatalf("object (conformance 10): %d %q %v", res.status, res.body, res.header)
	}
	etag, modified := res.header.Get("ETag"), res.header.Get("Last-Modified")
	for _, tt := range []struct {
		desc   string
		header map[string]string
		status int
		body   string
	}{
		{"If-None-Match", map[string]string{"If-None-Match": etag}, 304, ""},
		{"If-Modified-Since", map[string]string{"If-Modified-Since": modified}, 304, ""},
		{"Range", map[string]string{"Range": "bytes=0-6"}, 206, "console"},
		{"stale If-None-Match", map[string]string{"If-None-Match": `"other"`}, 200, "console.log(1)"},
	} {
		if r := do(t, "GET", srv.URL+"/static/js/app.js", tt.header, nil); r.status != tt.status || r.body != tt.body {
			t.Errorf("%s: %d %q, want %d %q", tt.desc, r.status, r.body, tt.status, tt.body)
		}
	}
	if r := do(t, "HEAD", srv.URL+"/static/index.html", nil, nil); r.status != 200 || r.body != "" || r.header.Get("Content-Length") != "12" {
		t.Errorf("HEAD: %d %q %v", r.status, r.body, r.header)
	}
	// Missing: error_object with its statusCode (conformance 28); a plain
	// string error_object keeps 404; default_object answers 200 (SPA).
	if r := do(t, "GET", srv.URL+"/static/nope.js", nil, nil); r.status != 404 || r.body != "<h1>missing</h1>" {
		t.Errorf("error_object: %d %q", r.status, r.body)
	}
	if r := do(t, "GET", srv.URL+"/plain/nope", nil, nil); r.status != 404 || r.body != "<h1>missing</h1>" {
		t.Errorf("string error_object: %d %q", r.status, r.body)
	}
	if r := do(t, "GET", srv.URL+"/spa/some/route", nil, nil); r.status != 200 || r.body != "<h1>spa</h1>" {
		t.Errorf("default_object: %d %q", r.status, r.body)
	}
	// No key ever leaves the bucket's directory.
	for _, path := range []string{
		"/static/..%2Fsecret.txt", "/static/js%2F..%2F..%2Fsecret.txt", "/plain/..%2Fsecret.txt",
		"/static/out/secret.txt", "/static/%2Fetc%2Fpasswd", "/static/js/..%5C..%5Csecret.txt", "/static/js",
	} {
		r := do(t, "GET", srv.URL+path, nil, nil)
		if strings.Contains(r.body, "TOP SECRET") || strings.Contains(r.body, "root:") || r.status == 200 {
			t.Errorf("%s: %d %q escaped the bucket", path, r.status, r.body)
		}
	}
	if r := do(t, "GET", srv.URL+"/static/in", nil, nil); r.status != 200 || r.body != "<h1>spa</h1>" {
		t.Errorf("a symlink inside the bucket: %d %q", r.status, r.body)
	}
}
