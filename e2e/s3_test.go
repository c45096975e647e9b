package e2e

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// startS3rver runs the npm s3rver (installed by scripts/test-servers) on a
// free port until the test ends, and returns its endpoint.
func startS3rver(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(testServerModule(t, "s3rver"), "bin", "s3rver.js")
	needInterpreter(t, "node")
	port := freePort(t)
	cmd := exec.Command("node", bin, "--address", "127.0.0.1", "--port", fmt.Sprint(port), "--directory", t.TempDir(), "--silent")
	return startTestServer(t, "s3rver", cmd, port)
}

// TestObjectStorageRealS3: objects put into a real S3-compatible server are
// what clients get through the gateway.
func TestObjectStorageRealS3(t *testing.T) {
	body := strings.Repeat("apigw ", 50_000) // 300 KB
	endpoint := s3rverBucket(t, "site", map[string]string{"docs/page.txt": body, "404.html": "<h1>gone</h1>"})
	dir := t.TempDir()
	spec := writeFile(t, dir, "api.yaml", "openapi: 3.0.0\npaths:\n  /s/{key+}:\n    get:\n      parameters: [{name: key, in: path, required: true}]\n      x-yc-apigateway-integration: {type: object_storage, bucket: site, object: '{key}', error_object: 404.html}\n")
	cfg := writeFile(t, dir, "apigw.yaml", "object_storage:\n  buckets:\n    site: {endpoint: '"+endpoint+"', access_key_id: S3RVER, secret_access_key: S3RVER}\n")
	g := start(t, "--spec", spec, "--config", cfg)
	status, h, got := get(t, g.URL+"/s/docs/page.txt")
	if status != 200 || got != body || h.Get("ETag") == "" {
		t.Fatalf("object: %d %d bytes (want %d) %v", status, len(got), len(body), h)
	}
	if status, _, got := get(t, g.URL+"/s/docs/page.txt", "Range", "bytes=6-10"); status != 206 || got != "apigw" {
		t.Errorf("Range: %d %q", status, got)
	}
	if status, _, _ := get(t, g.URL+"/s/docs/page.txt", "If-None-Match", h.Get("ETag")); status != 304 {
		t.Errorf("If-None-Match: %d", status)
	}
	if status, _, got := get(t, g.URL+"/s/nothing"); status != 404 || got != "<h1>gone</h1>" {
		t.Errorf("error_object: %d %q", status, got)
	}
}
