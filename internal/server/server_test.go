package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apigw/apigw/internal/integration"
)

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	r := httptest.NewRequest("GET", path, nil)
	r.Host = "localhost:9090" // without a token, the admin listener answers loopback names
	h.ServeHTTP(rec, r)
	b, _ := io.ReadAll(rec.Body)
	return rec.Code, string(b)
}

// TestAdminProbes follows /healthz and /readyz through a server's life:
// alive at once, ready only while a snapshot serves, not ready while draining.
func TestAdminProbes(t *testing.T) {
	dir := t.TempDir()
	specFile := filepath.Join(dir, "api.yaml")
	os.WriteFile(specFile, []byte("openapi: 3.0.0\npaths:\n  /a:\n    get:\n      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': a}}\n"), 0o644)
	s := New(Options{SpecFile: specFile})
	admin := s.adminMux()

	if code, body := get(t, admin, "/healthz"); code != 200 || !strings.Contains(body, `"ok"`) {
		t.Errorf("healthz before the first snapshot: %d %s", code, body)
	}
	if code, body := get(t, admin, "/readyz"); code != 503 || !strings.Contains(body, "no snapshot") {
		t.Errorf("readyz before the first snapshot: %d %s, want 503", code, body)
	}
	if code, _ := get(t, s.handler, "/a"); code != 503 {
		t.Errorf("API before the first snapshot: %d, want 503", code)
	}

	snap, errs := Load(s.opts, integration.NewDeps())
	if snap == nil {
		t.Fatal(errs)
	}
	s.handler.Swap(snap)
	if code, body := get(t, admin, "/readyz"); code != 200 || !strings.Contains(body, "ready") {
		t.Errorf("readyz with a snapshot: %d %s, want 200", code, body)
	}
	if code, body := get(t, s.handler, "/a"); code != 200 || body != "a" {
		t.Errorf("API with a snapshot: %d %q", code, body)
	}

	s.draining.Store(true)
	if code, body := get(t, admin, "/readyz"); code != 503 || !strings.Contains(body, "draining") {
		t.Errorf("readyz while draining: %d %s, want 503", code, body)
	}
	if code, _ := get(t, admin, "/healthz"); code != 200 {
		t.Errorf("healthz while draining: %d, want 200", code)
	}
}

// TestLoadReportsEveryStage: the bindings' errors stop the load (nothing to
// build with), while the spec's and the integrations' errors come together.
func TestLoadReportsEveryStage(t *testing.T) {
	dir := t.TempDir()
	specFile := filepath.Join(dir, "api.yaml")
	os.WriteFile(specFile, []byte("openapi: 3.0.0\npaths:\n  /a:\n    get:\n      x-yc-apigateway-integration: {type: dummy, content: {'*': '${var.nope}'}}\n"), 0o644)
	snap, errs := Load(Options{SpecFile: specFile}, integration.NewDeps())
	if snap != nil || len(errs.Errors()) != 2 {
		t.Fatalf("want 2 errors (unknown variable, missing http_code), got %v", errs)
	}
	cfg := filepath.Join(dir, "apigw.yaml")
	os.WriteFile(cfg, []byte("lisen: :1\n"), 0o644)
	snap, errs = Load(Options{SpecFile: specFile, ConfigFile: cfg}, integration.NewDeps())
	if snap != nil || len(errs.Errors()) != 1 || !strings.Contains(errs.Error(), `unknown key "lisen"`) {
		t.Fatalf("bindings error: %v", errs)
	}
}

// TestAdminProfiling: pprof is there for operators, the command line (which
// may carry --var secrets) is not.
func TestAdminProfiling(t *testing.T) {
	admin := New(Options{}).adminMux()
	if code, _ := get(t, admin, "/debug/pprof/heap?debug=1"); code != 200 {
		t.Errorf("heap profile: %d", code)
	}
	if code, body := get(t, admin, "/debug/pprof/cmdline"); code == 200 {
		t.Errorf("the command line is exposed: %q", body)
	}
}
