package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func needInterpreter(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed (scripts/test installs it)", name)
		}
		t.Skipf("%s is not installed (scripts/test installs it)", name)
	}
}

// TestFunctionsExample runs examples/functions as the README says: unchanged
// Python and Node.js handlers behind the gateway, kept warm.
func TestFunctionsExample(t *testing.T) {
	needInterpreter(t, "python3")
	needInterpreter(t, "node")
	g := start(t, "--spec", "../examples/functions/api.yaml", "--config", "../examples/functions/apigw.yaml")
	for _, rt := range []string{"py", "node"} {
		t.Run(rt, func(t *testing.T) {
			pids := map[any]bool{}
			for i := 0; i < 100; i++ {
				status, h, body := get(t, g.URL+"/"+rt+"/hello?name=Ann")
				var out map[string]any
				if status != 200 || json.Unmarshal([]byte(body), &out) != nil || out["message"] != "Hello, Ann!" {
					t.Fatalf("request %d: %d %s", i, status, body)
				}
				if out["request_id"] != h.Get("X-Request-Id") {
					t.Errorf("context request id %v, response X-Request-Id %q", out["request_id"], h.Get("X-Request-Id"))
				}
				pids[out["pid"]] = true
			}
			if len(pids) != 1 {
				t.Errorf("100 requests were served by %d processes, want 1 warm one", len(pids))
			}
			res, body := post(t, g.URL+"/"+rt+"/echo/7", "text/plain", "hello")
			if res.StatusCode != 201 || len(res.Header["Set-Cookie"]) != 2 || !strings.Contains(body, `"got":`) || !strings.Contains(body, "hello") {
				t.Errorf("POST: %d %v %s", res.StatusCode, res.Header, body)
			}
		})
	}
	if !g.waitLog(`"msg":"function process started","function_id":"d4e-python-hello"`, 2*time.Second) {
		t.Errorf("no process start in the log:\n%s", g.Logs())
	}
}

// TestFunctionCrash: an exception is the function's 502 (the process lives
// on); a process that dies gives 502 and the next request works again.
func TestFunctionCrash(t *testing.T) {
	dir := t.TempDir()
	var cfg strings.Builder
	cfg.WriteString("functions:\n")
	runtimes := map[string]string{"py": "python", "js": "nodejs"}
	for ext, rt := range runtimes {
		needInterpreter(t, map[string]string{"python": "python3", "nodejs": "node"}[rt])
		abs, _ := filepath.Abs("testdata/crash")
		fmt.Fprintf(&cfg, "  fn-%s: {runtime: %s, handler: crash.handler, dir: %q}\n", ext, rt, abs)
	}
	spec := writeFile(t, dir, "api.yaml", `openapi: 3.0.0
paths:
  /py:
    get:
      x-yc-apigateway-integration: {type: cloud_functions, function_id: fn-py}
  /js:
    get:
      x-yc-apigateway-integration: {type: cloud_functions, function_id: fn-js}
`)
	g := start(t, "--spec", spec, "--config", writeFile(t, dir, "apigw.yaml", cfg.String()))
	for ext := range runtimes {
		t.Run(ext, func(t *testing.T) {
			status, _, first := get(t, g.URL+"/"+ext)
			if status != 200 {
				t.Fatalf("first call: %d %s", status, first)
			}
			status, h, body := get(t, g.URL+"/"+ext+"?raise=1")
			var fe struct{ ErrorMessage, ErrorType string }
			json.Unmarshal([]byte(body), &fe)
			if status != 502 || h.Get("X-Function-Error") != "true" || fe.ErrorMessage != "bad input" || fe.ErrorType == "" {
				t.Errorf("exception: %d %v %s", status, h, body)
			}
			if status, _, pid := get(t, g.URL+"/"+ext); status != 200 || pid != first {
				t.Errorf("after an exception: %d, pid %s (was %s): the process should live on", status, pid, first)
			}
			if status, _, body := get(t, g.URL+"/"+ext+"?exit=1"); status != 502 {
				t.Errorf("process exit: %d %s", status, body)
			}
			status, _, pid := get(t, g.URL+"/"+ext)
			if status != 200 || pid == first {
				t.Errorf("after the crash: %d, pid %s (was %s): want a new process", status, pid, first)
			}
		})
	}
}

func post(t *testing.T, url, contentType, body string) (*http.Response, string) {
	t.Helper()
	res, err := http.Post(url, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}
