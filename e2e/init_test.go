package e2e

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestInitEveryExample: `apigw init` on every example spec writes a file
// that loads, after which `apigw validate` reports nothing but what is
// left to bind, each with its spec line.
func TestInitEveryExample(t *testing.T) {
	specs, _ := filepath.Glob("../examples/*/api.yaml")
	if len(specs) < 10 {
		t.Fatalf("found %d example specs", len(specs))
	}
	for _, spec := range specs {
		out := filepath.Join(t.TempDir(), "apigw.yaml")
		if b, err := exec.Command(binary, "init", "--spec", spec, "--out", out).CombinedOutput(); err != nil || !strings.HasPrefix(string(b), "wrote ") {
			t.Errorf("%s: init: %v\n%s", spec, err, b)
			continue
		}
		b, _ := exec.Command(binary, "validate", "--spec", spec, "--config", out).Output()
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if line == "ok" || strings.HasPrefix(line, "ok, with") {
				continue
			}
			if !strings.Contains(line, "is not bound") || !strings.HasPrefix(line, spec+":") {
				t.Errorf("%s: validate with the written file says %q, want only what is left to bind, with its line", spec, line)
			}
		}
	}
}

// TestInitBindsLocalCode: a spec whose function has its code in
// functions/<id>/ serves at once from the file init writes; init never
// replaces a file without --force.
func TestInitBindsLocalCode(t *testing.T) {
	needInterpreter(t, "python3")
	dir := t.TempDir()
	spec := writeFile(t, dir, "api.yaml", `openapi: 3.0.0
info: {title: t, version: '1'}
paths:
  /hi:
    get:
      x-yc-apigateway-integration: {type: cloud_functions, function_id: d4e-hi}
`)
	os.MkdirAll(filepath.Join(dir, "functions", "d4e-hi"), 0o755)
	writeFile(t, filepath.Join(dir, "functions", "d4e-hi"), "index.py", "def handler(event, context):\n    return {'statusCode': 200, 'body': 'hi from local code'}\n")
	out, err := exec.Command(binary, "init", "--spec", spec).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "1 resource bound, 0 resources to fill in") {
		t.Fatalf("init: %v %s", err, out)
	}
	cfg := filepath.Join(dir, "apigw.yaml")
	g := start(t, "--spec", spec, "--config", cfg)
	res, err := http.Get(g.URL + "/hi")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "hi from local code" {
		t.Errorf("the bound function answered %d %q", res.StatusCode, b)
	}
	before, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, append(before, []byte("# my edit\n")...), 0o644)
	if out, err := exec.Command(binary, "init", "--spec", spec).CombinedOutput(); err == nil || !strings.Contains(string(out), "--force") {
		t.Errorf("init replaced an existing file: %v %s", err, out)
	}
	if after, _ := os.ReadFile(cfg); !strings.HasSuffix(string(after), "# my edit\n") {
		t.Error("the existing file was changed")
	}
	if out, err := exec.Command(binary, "init", "--spec", spec, "--force").CombinedOutput(); err != nil {
		t.Errorf("init --force: %v %s", err, out)
	}
}
