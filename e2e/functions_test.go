package e2e

import (
	"encoding/json"
	"fmt"
	"github.com/apigw/apigw/internal/yc/yctest"
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

// startRuntimes serves /py and /js (any method) from the Python and
// Node.js handler handlerSpec in testdata/dir, each binding given extra
// keys ("": none).
func startRuntimes(t *testing.T, dir, handlerSpec, extra string) *gateway {
	t.Helper()
	abs, _ := filepath.Abs(filepath.Join("testdata", dir))
	var cfg strings.Builder
	cfg.WriteString("functions:\n")
	for ext, rt := range map[string]string{"py": "python", "js": "nodejs"} {
		needInterpreter(t, map[string]string{"python": "python3", "nodejs": "node"}[rt])
		fmt.Fprintf(&cfg, "  fn-%s: {runtime: %s, handler: %s, dir: %q%s}\n", ext, rt, handlerSpec, abs, extra)
	}
	tmp := t.TempDir()
	spec := writeFile(t, tmp, "api.yaml", `openapi: 3.0.0
paths:
  /py:
    x-yc-apigateway-any-method:
      x-yc-apigateway-integration: {type: cloud_functions, function_id: fn-py}
  /js:
    x-yc-apigateway-any-method:
      x-yc-apigateway-integration: {type: cloud_functions, function_id: fn-js}
`)
	return start(t, "--spec", spec, "--config", writeFile(t, tmp, "apigw.yaml", cfg.String()))
}

// TestFunctionCrash: an exception is the function's 502 (the process lives
// on); a process that dies gives 502 and the next request works again.
func TestFunctionCrash(t *testing.T) {
	g := startRuntimes(t, "crash", "crash.handler", "")
	runtimes := []string{"py", "js"}
	for _, ext := range runtimes {
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

// TestFunctionOutputAndHangs: a handler that prints its event keeps
// answering whatever the event's size (a 1 MB line wedged it for good:
// the gateway stopped reading its output, and its next print blocked); a
// handler that never answers gets a 504 and its process is restarted, so
// the next call is served (it waited behind the hung one until its own
// timeout, every time).
func TestFunctionOutputAndHangs(t *testing.T) {
	g := startRuntimes(t, "crash", "crash.handler", ", timeout: 2s")
	runtimes := []string{"py", "js"}
	big := strings.Repeat("x", 3<<20/2) // 1.5 MB, printed as one line of the event
	for _, ext := range runtimes {
		t.Run(ext, func(t *testing.T) {
			status, _, first := get(t, g.URL+"/"+ext)
			if status != 200 {
				t.Fatalf("first call: %d %s", status, first)
			}
			for i := range 3 {
				res, body := post(t, g.URL+"/"+ext+"?print=1", "text/plain", big)
				if res.StatusCode != 200 || body != first {
					t.Fatalf("print %d: %d %.200s", i, res.StatusCode, body)
				}
			}
			if !g.waitLog(`"function_id":"fn-`+ext+`","pid":`+first+`,"stream":"stdout","line":"printed `, 5*time.Second) {
				t.Errorf("the line after the event is not in the log")
			}
			start := time.Now()
			if status, _, body := get(t, g.URL+"/"+ext+"?hang=1"); status != 504 {
				t.Fatalf("a hung handler: %d %s", status, body)
			}
			status, _, pid := get(t, g.URL+"/"+ext)
			if status != 200 || pid == first {
				t.Errorf("after the hang: %d, pid %s (was %s): want a new process", status, pid, first)
			}
			if d := time.Since(start); d > 15*time.Second {
				t.Errorf("the hang and the next call took %s", d)
			}
		})
	}
	if !g.waitLog("its process is restarted", time.Second) {
		t.Errorf("the restart is not in the log")
	}
}

// TestFunctionMissingPackage: a handler whose package is not installed
// (the WebSocket example without npm ci) says so in one line of the log,
// with what to run, instead of a stack trace through the module loader.
func TestFunctionMissingPackage(t *testing.T) {
	g := startRuntimes(t, "needs", "needs.handler", "")
	abs, _ := filepath.Abs("testdata/needs")
	for ext, want := range map[string]string{
		"js": `needs the npm package apigw-test-package-not-installed, which is not installed: run \"npm ci\" (or \"npm install\") in ` + abs,
		"py": `needs the Python package apigw_test_package_not_installed, which is not installed: pip install it`,
	} {
		if status, _, body := get(t, g.URL+"/"+ext); status != 502 {
			t.Errorf("%s: %d %s", ext, status, body)
		}
		if !g.waitLog(want, 5*time.Second) {
			t.Errorf("%s: the log lacks %q", ext, want)
		}
	}
	if logs := g.Logs(); strings.Contains(logs, "Module._resolveFilename") || strings.Contains(logs, "importlib") {
		t.Errorf("a stack trace in the log:\n%s", logs)
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

// TestHybridYandexFunction binds a function to "the cloud" (a local
// stand-in that verifies the signed JWT exactly, as the IAM endpoint does):
// the gateway exchanges the service account key for an IAM token once,
// reuses it, and invokes with integration=raw and the tag.
func TestHybridYandexFunction(t *testing.T) {
	cloud := yctest.New()
	defer cloud.Close()
	keyJSON, err := cloud.AddKey("ajek1", "ajesa1")
	if err != nil {
		t.Fatal(err)
	}
	cloud.Function = func(id, tag string, event []byte) (int, string) {
		var ev struct{ Path string }
		json.Unmarshal(event, &ev)
		if ev.Path == "/boom" {
			return 502, `{"errorMessage":"division by zero","errorType":"ZeroDivisionError","stackTrace":[]}`
		}
		return 200, fmt.Sprintf(`{"statusCode":200,"body":"%s@%s served %s"}`, id, tag, ev.Path)
	}
	dir := t.TempDir()
	writeFile(t, dir, "key.json", string(keyJSON))
	spec := writeFile(t, dir, "api.yaml", `openapi: 3.0.0
paths:
  /hello:
    get:
      x-yc-apigateway-integration: {type: cloud_functions, function_id: d4ecloud, tag: prod}
  /boom:
    get:
      x-yc-apigateway-integration: {type: cloud_functions, function_id: d4ecloud}
`)
	cfg := writeFile(t, dir, "apigw.yaml", fmt.Sprintf(`functions:
  d4ecloud:
    yandex:
      service_account_key_file: key.json   # relative to this file
      iam_endpoint: %s
      functions_endpoint: %s
`, cloud.IAMEndpoint(), cloud.FunctionsEndpoint()))
	g := start(t, "--spec", spec, "--config", cfg)
	for i := 0; i < 5; i++ {
		if status, _, body := get(t, g.URL+"/hello"); status != 200 || body != "d4ecloud@prod served /hello" {
			t.Fatalf("request %d: %d %q", i, status, body)
		}
	}
	if exchanges, invokes := cloud.Counts(); exchanges != 1 || invokes != 5 {
		t.Errorf("%d token exchanges and %d invocations, want 1 and 5", exchanges, invokes)
	}
	status, h, body := get(t, g.URL+"/boom")
	if status != 502 || h.Get("X-Function-Error") != "true" || !strings.Contains(body, "division by zero") {
		t.Errorf("function error: %d %v %s", status, h, body)
	}
	if strings.Contains(g.Logs(), "PRIVATE KEY") || strings.Contains(g.Logs(), "t1.iam-") {
		t.Error("the gateway log carries the key or the IAM token")
	}

	// A key the cloud does not know: 502 that says the function could not
	// be invoked; the cause (the IAM answer) is in the log.
	other, _, _ := yctest.NewKey("ajek9", "ajesa1")
	dir2 := t.TempDir()
	writeFile(t, dir2, "key.json", string(other))
	cfg2 := writeFile(t, dir2, "apigw.yaml", strings.Replace(mustRead(t, cfg), "key.json", filepath.Join(dir2, "key.json"), 1))
	g2 := start(t, "--spec", spec, "--config", cfg2)
	if status, _, body := get(t, g2.URL+"/hello"); status != 502 || !strings.Contains(body, "could not be invoked") {
		t.Errorf("unknown key: %d %s", status, body)
	}
	if !g2.waitLog("unknown key id", 2*time.Second) {
		t.Errorf("the IAM refusal is not in the log:\n%s", g2.Logs())
	}
}

// TestValidateWithoutBindings: a CI lint of the spec alone passes with
// unbound function/container/node IDs; given a bindings file, validate
// checks them as serve does.
func TestValidateWithoutBindings(t *testing.T) {
	dir := t.TempDir()
	spec := writeFile(t, dir, "api.yaml", `openapi: 3.0.0
paths:
  /f:
    get:
      x-yc-apigateway-integration: {type: cloud_functions, function_id: d4e1}
  /c:
    get:
      x-yc-apigateway-integration: {type: serverless_containers, container_id: bba1}
  /d:
    post:
      x-yc-apigateway-integration: {type: cloud_datasphere, folder_id: f, node_id: n1}
`)
	if code, out, stderr := runCLI(t, "validate", "--spec", spec); code != 0 || out != "ok\n" {
		t.Errorf("spec alone: exit %d %q %q", code, out, stderr)
	}
	cfg := writeFile(t, dir, "apigw.yaml", "functions:\n  d4e1: {url: 'http://127.0.0.1:1/'}\n")
	code, out, _ := runCLI(t, "validate", "--spec", spec, "--config", cfg)
	if code != 1 || !strings.Contains(out, "container bba1 is not bound") || !strings.Contains(out, "DataSphere node n1 is not bound") || strings.Contains(out, "d4e1") {
		t.Errorf("with bindings: exit %d\n%s", code, out)
	}
}

// TestAuthExample runs examples/auth as the README says: a function
// authorizer written in Python and a JWT authorizer whose keys the spec
// serves itself, with tokens from examples/auth/mktoken.
func TestAuthExample(t *testing.T) {
	needInterpreter(t, "python3")
	api, admin := freePort(t), freePort(t)
	g := startOn(t, api, admin, "--spec", "../examples/auth/api.yaml", "--config", "../examples/auth/apigw.yaml",
		"--var", fmt.Sprintf("jwks_url=http://127.0.0.1:%d/.well-known/jwks.json", api))
	basic := func(user, pass string) (int, string) {
		req, _ := http.NewRequest("GET", g.URL+"/basic/whoami", nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if status, body := basic("alice", "secret"); status != 200 || !strings.Contains(body, `"user": "alice"`) {
		t.Errorf("alice: %d %s", status, body)
	}
	if status, _ := basic("alice", "wrong"); status != 403 {
		t.Errorf("wrong password: %d", status)
	}
	if status, _ := basic("", ""); status != 401 {
		t.Errorf("no credential: %d", status)
	}
	mint := func(scope string) string {
		out, err := exec.Command("go", "run", "../examples/auth/mktoken", "-scope", scope).Output()
		if err != nil {
			t.Fatalf("mktoken: %v", err)
		}
		return strings.TrimSpace(string(out))
	}
	bearer := func(path, tok string) (int, string) {
		req, _ := http.NewRequest("GET", g.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	reader := mint("profile:read")
	if status, body := bearer("/profile", reader); status != 200 || !strings.Contains(body, `"email": "alice@example.test"`) {
		t.Errorf("profile: %d %s", status, body)
	}
	if status, _ := bearer("/admin", reader); status != 403 {
		t.Errorf("admin without the scope: %d", status)
	}
	if status, body := bearer("/admin", mint("profile:read admin")); status != 200 || body != "welcome, admin\n" {
		t.Errorf("admin: %d %q", status, body)
	}
	if !g.waitLog(`"auth_result":"denied"`, 2*time.Second) || !strings.Contains(g.Logs(), `"auth_result":"allowed"`) {
		t.Error("the access log lacks auth_result")
	}
	// Credentials never reach the log.
	for _, secret := range []string{"secret", "YWxpY2U6c2VjcmV0", reader} {
		if strings.Contains(g.Logs(), secret) {
			t.Errorf("the gateway log contains a credential (%.20s...)", secret)
		}
	}
}
