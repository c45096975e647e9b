package e2e

import (
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestQuickstart runs the README's first command on the shipped example and
// the tour's curl lines.
func TestQuickstart(t *testing.T) {
	admin := freePort(t)
	g := startOn(t, freePort(t), admin,
		"--spec", "../examples/quickstart/api.yaml", "--config", "../examples/quickstart/apigw.yaml",
		"--var", fmt.Sprintf("admin_url=http://127.0.0.1:%d", admin))
	for _, tt := range []struct {
		path, accept string
		status       int
		body         string
	}{
		{"/hello", "", 200, "Hello, world!\n"},
		{"/hello?user=API", "", 200, "Hello, API!\n"},
		{"/env", "", 200, `{"env": "dev"}`},
		{"/items/7", "application/json", 200, `{"id": "7", "name": "item 7"}`},
		{"/items/7", "text/plain", 200, "item 7\n"},
		{"/files/docs/a.txt", "", 200, "you asked for the file docs/a.txt\n"},
		{"/health", "", 200, `{"status":"ok"}` + "\n"},
		{"/nope", "", 404, ""},
	} {
		status, _, body := get(t, g.URL+tt.path, "Accept", tt.accept)
		if status != tt.status || (tt.body != "" && body != tt.body) {
			t.Errorf("GET %s: %d %q, want %d %q", tt.path, status, body, tt.status, tt.body)
		}
	}
	// The access log has one JSON line per request with the route template
	// and the bindings' gateway_id.
	if !g.waitLog(`"route":"/items/{id}"`, 2*time.Second) || !strings.Contains(g.Logs(), `"operation_id":"getItem"`) ||
		!strings.Contains(g.Logs(), `"gateway_id":"quickstart"`) {
		t.Errorf("access log lacks the route template:\n%s", g.Logs())
	}
	_, _, metrics := get(t, g.Admin+"/metrics")
	for _, series := range []string{
		`apigw_requests_total{integration="dummy",method="GET",release="stable",route="/items/{id}",status_class="2xx"} 2`,
		`apigw_request_duration_seconds_bucket{integration="dummy",method="GET",release="stable",route="/hello"`,
		`apigw_integration_duration_seconds_bucket{integration="http",route="/health"`,
		`apigw_gateway_errors_total{route="(unmatched)",status="404"} 1`,
		`apigw_websocket_connections 0`,
		`apigw_websocket_disconnections_total 0`,
		`go_goroutines`,
	} {
		if !strings.Contains(metrics, series) {
			t.Errorf("metrics lack %s:\n%s", series, grep(metrics, "apigw_"))
		}
	}
	if status, _, _ := get(t, g.Admin+"/healthz"); status != 200 {
		t.Errorf("healthz = %d", status)
	}
}

func grep(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestVarOverridesAndEnum checks --var and the enum at deploy time.
func TestVarOverridesAndEnum(t *testing.T) {
	g := start(t, "--spec", "../examples/quickstart/api.yaml", "--var", "env=prod")
	if _, _, body := get(t, g.URL+"/env"); body != `{"env": "prod"}` {
		t.Errorf("--var env=prod: %q", body)
	}
	code, out, _ := runCLI(t, "validate", "--spec", "../examples/quickstart/api.yaml", "--var", "env=qa")
	if code != 1 || !strings.Contains(out, `value "qa" is not one of the allowed values [dev, prod] of variable "env"`) {
		t.Errorf("enum violation: exit %d, %q", code, out)
	}
}

func TestValidateCLI(t *testing.T) {
	dir := t.TempDir()
	broken := writeFile(t, dir, "api.yaml", `openapi: 3.0.0
paths:
  /users/{id}:
    get:
      parameters: [{name: id, in: path, required: true}]
      x-yc-apigateway-integration:
        type: dummy
        http_code: "two hundred"
        content: {'*': "${var.missing}"}
    post:
      x-yc-apigateway-integration:
        $ref: '#/components/x-yc-apigateway-integrations/Nope'
  /fn:
    get:
      x-yc-apigateway-integration:
        type: grpc
`)
	// One run reports the spec's errors and the integrations' errors alike,
	// in file order.
	code, out, _ := runCLI(t, "validate", "--spec", broken)
	want := []string{
		broken + `:8:20: paths./users/{id}.get.x-yc-apigateway-integration.http_code: must be an integer, got a string ("two hundred")`,
		broken + `:9:24: paths./users/{id}.get.x-yc-apigateway-integration.content.*: unknown variable "missing" (declare it under x-yc-apigateway.variables)`,
		broken + `:12:15: paths./users/{id}.post.x-yc-apigateway-integration: $ref "#/components/x-yc-apigateway-integrations/Nope": "components" not found`,
		broken + `:16:15: paths./fn.get.x-yc-apigateway-integration.type: unknown integration type "grpc" (supported: cloud_datasphere, cloud_datastreams, cloud_functions, cloud_ydb, cloud_ymq, dummy, http, object_storage, serverless_containers, swagger)`,
	}
	if code != 1 || strings.TrimSpace(out) != strings.Join(want, "\n") {
		t.Errorf("exit %d, output:\n%s\nwant:\n%s", code, out, strings.Join(want, "\n"))
	}
	fixed := writeFile(t, dir, "api2.yaml", strings.Replace(strings.Replace(mustRead(t, broken), "${var.missing}", "x", 1),
		"$ref: '#/components/x-yc-apigateway-integrations/Nope'", "{type: http}", 1))
	code, out, _ = runCLI(t, "validate", "--spec", fixed)
	want = []string{
		fixed + `:8:20: paths./users/{id}.get.x-yc-apigateway-integration.http_code: must be an integer, got a string ("two hundred")`,
		fixed + `:12:9: paths./users/{id}.post.x-yc-apigateway-integration: http integration needs url`,
		fixed + `:16:15: paths./fn.get.x-yc-apigateway-integration.type: unknown integration type "grpc" (supported: cloud_datasphere, cloud_datastreams, cloud_functions, cloud_ydb, cloud_ymq, dummy, http, object_storage, serverless_containers, swagger)`,
	}
	if code != 1 || strings.TrimSpace(out) != strings.Join(want, "\n") {
		t.Errorf("exit %d, output:\n%s\nwant:\n%s", code, out, strings.Join(want, "\n"))
	}
	syntax := writeFile(t, dir, "syntax.yaml", "openapi: 3.0.0\npaths:\n  /a: {get: [}\n")
	if code, out, _ := runCLI(t, "validate", "--spec", syntax); code != 1 || !strings.HasPrefix(out, syntax+":3:1: YAML syntax: did not find expected node content") {
		t.Errorf("syntax error: exit %d %q", code, out)
	}
	bindings := writeFile(t, dir, "apigw.yaml", "listen: :1\nlimits:\n  max_body: 1MB\n")
	if code, out, _ := runCLI(t, "validate", "--spec", "../examples/quickstart/api.yaml", "--config", bindings); code != 1 || !strings.Contains(out, bindings+`:3:3: limits: unknown key "max_body"`) {
		t.Errorf("bindings error: exit %d %q", code, out)
	}
	if code, out, _ := runCLI(t, "validate", "--spec", "../examples/quickstart/api.yaml", "--config", "../examples/quickstart/apigw.yaml"); code != 0 || out != "ok\n" {
		t.Errorf("valid spec: exit %d %q", code, out)
	}
	// Unknown keys in x-yc-* objects warn: validate passes unless --strict.
	drift := writeFile(t, dir, "drift.yaml", "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      x-yc-apigateway-ratelimit: {allRequests: {rps: 1}}\n"+
		"      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': ok}, httpHeaders: {A: b}}\n")
	warns := []string{
		drift + `:5:7: paths./a.get.x-yc-apigateway-ratelimit: warning: x-yc-apigateway-ratelimit is not an extension of an operation, ignored; did you mean "x-yc-apigateway-rate-limit"?`,
		drift + `:6:86: paths./a.get.x-yc-apigateway-integration: warning: unknown key "httpHeaders", ignored; did you mean "http_headers"?`,
	}
	code, out, stderr := runCLI(t, "validate", "--spec", drift)
	if code != 0 || out != "ok, with 2 warnings\n" || strings.TrimSpace(stderr) != strings.Join(warns, "\n") {
		t.Errorf("warnings: exit %d %q, stderr:\n%s\nwant:\n%s", code, out, stderr, strings.Join(warns, "\n"))
	}
	if code, out, _ := runCLI(t, "validate", "--strict", "--spec", drift); code != 1 || out != "2 warnings; --strict fails on them\n" {
		t.Errorf("--strict: exit %d %q", code, out)
	}
	// serve refuses what validate refuses, naming the type and its line.
	code, _, stderr = runCLI(t, "serve", "--spec", fixed, "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0")
	if code != 1 || !strings.Contains(stderr, `:16:15: paths./fn.get.x-yc-apigateway-integration.type: unknown integration type "grpc"`) {
		t.Errorf("serve with an unsupported type: exit %d %q", code, stderr)
	}
}

func mustRead(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRoutesCLI(t *testing.T) {
	dir := t.TempDir()
	d := func(s string) string { return "{type: dummy, http_code: 200, content: {'*': " + s + "}}" }
	spec := writeFile(t, dir, "api.yaml", "openapi: 3.0.0\npaths:\n"+
		"  /{rest+}:\n    x-yc-apigateway-any-method:\n      x-yc-apigateway-integration: "+d("a")+"\n"+
		"  /a/{p2}/d:\n    get:\n      operationId: p2d\n      x-yc-apigateway-integration: "+d("b")+"\n"+
		"  /a/b/{p1}:\n    get:\n      x-yc-apigateway-integration: "+d("c")+"\n"+
		"  /a/{prm}:\n    get:\n      x-yc-apigateway-integration: "+d("d")+"\n"+
		"  /a/{param}:\n    get:\n      x-yc-apigateway-integration: "+d("e")+"\n"+
		"  /users/me:\n    get:\n      x-yc-apigateway-integration: "+d("f")+"\n")
	code, out, stderr := runCLI(t, "routes", "--spec", spec)
	want := `PRIORITY  CLASS          METHOD  TEMPLATE                                    OPERATION  INTEGRATION  TARGET
1         fixed          GET     /users/me                                   -          dummy        answers 200
2         parameterized  GET     /a/b/{p1}                                   -          dummy        answers 200
3         parameterized  GET     /a/{param}                                  -          dummy        answers 200
4         parameterized  GET     /a/{p2}/d                                   p2d        dummy        answers 200
5         parameterized  GET     /a/{prm}  (never matches: /a/{param} wins)  -          dummy        answers 200
6         greedy         ANY     /{rest+}                                    -          dummy        answers 200
`
	if code != 0 || out != want {
		t.Errorf("exit %d, routes:\n%s\nwant:\n%s", code, out, want)
	}
	if !strings.Contains(stderr, `warning: never matches: "/a/{param}" matches the same paths and wins`) {
		t.Errorf("no shadowing warning: %q", stderr)
	}
}

// TestReloadUnderLoad rewrites the spec while clients hammer the gateway: no
// request fails, the new content appears, a broken spec is refused and the
// last good snapshot keeps serving.
func TestReloadUnderLoad(t *testing.T) {
	dir := t.TempDir()
	version := func(v string) string {
		return "openapi: 3.0.0\npaths:\n  /v:\n    get:\n      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': " + v + "}}\n"
	}
	spec := writeFile(t, dir, "api.yaml", version("v1"))
	cfg := writeFile(t, dir, "apigw.yaml", "reload: {interval: 100ms}\nlog: {access: false}\n")
	g := start(t, "--spec", spec, "--config", cfg)

	var failures, total atomic.Int64
	seen := sync.Map{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				res, err := client.Get(g.URL + "/v")
				total.Add(1)
				if err != nil {
					failures.Add(1)
					continue
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					failures.Add(1)
				}
				seen.Store(string(b), true)
			}
		}()
	}
	waitBody := func(want string) {
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if _, ok := seen.Load(want); ok {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Errorf("never served %q", want)
	}
	waitBody("v1")
	os.WriteFile(spec, []byte(version("v2")), 0o644)
	waitBody("v2")
	os.WriteFile(spec, []byte("openapi: 3.0.0\npaths:\n  /v:\n    get: {x-yc-apigateway-integration: {type: dummy}}\n"), 0o644)
	if !g.waitLog("reload failed; the previous snapshot keeps serving", 5*time.Second) {
		t.Error("a broken spec was not reported")
	}
	seen.Delete("v2")
	waitBody("v2") // still serving the last good snapshot
	// SIGHUP reloads too (the watcher sees no change in between).
	os.WriteFile(spec, []byte(version("v3")), 0o644)
	g.cmd.Process.Signal(syscall.SIGHUP)
	waitBody("v3")
	close(stop)
	wg.Wait()
	if failures.Load() != 0 || total.Load() < 100 {
		t.Errorf("%d of %d requests failed during reloads", failures.Load(), total.Load())
	}
	t.Logf("%d requests, %d failed, across 3 reloads and 1 refused spec", total.Load(), failures.Load())
	_, _, metrics := get(t, g.Admin+"/metrics")
	if !strings.Contains(metrics, `apigw_reloads_total{result="error"}`) || !strings.Contains(metrics, `apigw_reloads_total{result="ok"}`) {
		t.Errorf("reload metrics missing:\n%s", grep(metrics, "reload"))
	}
}

// TestDrainOnSIGTERM: /readyz turns 503 at once; for the drain delay new
// requests are still served, each with Connection: close; then new
// connections are refused, in-flight requests finish, and the process
// exits 0.
func TestDrainOnSIGTERM(t *testing.T) {
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
		io.WriteString(w, "finished")
	}))
	defer up.Close()
	dir := t.TempDir()
	spec := writeFile(t, dir, "api.yaml", "openapi: 3.0.0\npaths:\n  /{p}:\n    get:\n      parameters: [{name: p, in: path, required: true}]\n      x-yc-apigateway-integration: {type: http, url: '"+up.URL+"/{p}'}\n")
	g := start(t, "--spec", spec, "--config", writeFile(t, dir, "apigw.yaml", "limits: {drain_delay: 1.5s}\n"))

	type result struct {
		status int
		body   string
		err    error
	}
	inflight := make(chan result, 1)
	go func() {
		res, err := http.Get(g.URL + "/slow")
		if err != nil {
			inflight <- result{err: err}
			return
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		inflight <- result{status: res.StatusCode, body: string(b)}
	}()
	time.Sleep(300 * time.Millisecond) // the request is now waiting on the upstream
	g.cmd.Process.Signal(syscall.SIGTERM)
	if !g.waitLog("still accepting while the balancer lets go", 5*time.Second) {
		t.Fatal("no drain delay started")
	}
	if code, _, _ := get(t, g.Admin+"/readyz"); code != 503 {
		t.Errorf("/readyz during the drain delay: %d, want 503", code)
	}
	res, err := http.Get(g.URL + "/fast")
	if err != nil {
		t.Fatalf("a request during the drain delay: %v", err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !res.Close {
		t.Errorf("during the drain delay: %d, Connection: close %v", res.StatusCode, res.Close)
	}
	if !g.waitLog("draining in-flight requests", 5*time.Second) {
		t.Fatal("no drain started")
	}
	if _, err := http.Get(g.URL + "/fast"); err == nil {
		t.Error("a new connection was accepted while draining")
	}
	close(release)
	r := <-inflight
	if r.err != nil || r.status != 200 || r.body != "finished" {
		t.Errorf("in-flight request: %+v", r)
	}
	select {
	case <-g.done:
		if code := g.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("exit code %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("apigw did not exit after draining")
	}
}

// TestStreamingDoesNotBuffer pushes 1 GiB through the http integration and
// checks that the gateway's resident memory does not grow with it.
func TestStreamingDoesNotBuffer(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 1 GiB")
	}
	const size = 1 << 30
	chunk := make([]byte, 256<<10)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/warm" {
			io.WriteString(w, "warm")
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(size))
		for sent := 0; sent < size; sent += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer up.Close()
	dir := t.TempDir()
	spec := writeFile(t, dir, "api.yaml", "openapi: 3.0.0\npaths:\n  /{p}:\n    get:\n      parameters: [{name: p, in: path, required: true}]\n      x-yc-apigateway-integration: {type: http, url: '"+up.URL+"/{p}', timeouts: {read: 5}}\n")
	g := start(t, "--spec", spec)
	pid := g.cmd.Process.Pid
	if status, _, body := get(t, g.URL+"/warm"); status != 200 || body != "warm" { // warm the pools
		t.Fatalf("warm-up: %d %q", status, body)
	}
	before := rssKB(pid)
	peakRSS := watchRSS(pid)
	res, err := http.Get(g.URL + "/big")
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, res.Body)
	res.Body.Close()
	peak := peakRSS()
	if err != nil || n != size {
		t.Fatalf("read %d bytes (%v), want %d", n, err, size)
	}
	growthMB := (peak - before) / 1024
	t.Logf("RSS before %d MB, peak %d MB while streaming 1024 MB", before/1024, peak/1024)
	if growthMB > 100 {
		t.Errorf("gateway RSS grew by %d MB while streaming 1 GiB: the body is being buffered", growthMB)
	}
}

// TestUploadStreams pushes 512 MiB of request body (chunked, no
// Content-Length) through the http integration, with the body limit raised:
// the upstream gets every byte and the gateway's memory does not grow with it.
func TestUploadStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 512 MiB")
	}
	const size = 512 << 20
	var received atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		received.Store(n)
		fmt.Fprint(w, n)
	}))
	defer up.Close()
	dir := t.TempDir()
	spec := writeFile(t, dir, "api.yaml", "openapi: 3.0.0\npaths:\n  /up:\n    post:\n      x-yc-apigateway-integration: {type: http, url: '"+up.URL+"/'}\n")
	cfg := writeFile(t, dir, "apigw.yaml", "limits: {max_request_body: 1GB}\nlog: {access: false}\n")
	g := start(t, "--spec", spec, "--config", cfg)
	pid := g.cmd.Process.Pid
	before := rssKB(pid)
	peakRSS := watchRSS(pid)
	pr, pw := io.Pipe()
	go func() {
		chunk := make([]byte, 256<<10)
		for sent := 0; sent < size; sent += len(chunk) {
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
		pw.Close()
	}()
	res, err := http.Post(g.URL+"/up", "application/octet-stream", pr)
	peak := peakRSS()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(b) != fmt.Sprint(size) || received.Load() != size {
		t.Fatalf("upload: %d %q, upstream received %d bytes, want %d", res.StatusCode, b, received.Load(), size)
	}
	growthMB := (peak - before) / 1024
	t.Logf("RSS before %d MB, peak %d MB while uploading 512 MB", before/1024, peak/1024)
	if growthMB > 100 {
		t.Errorf("gateway RSS grew by %d MB while uploading 512 MiB: the body is being buffered", growthMB)
	}
}

// TestHTTPSUpstream: certificates are verified; an untrusted one is a 502
// that says so, and a private CA is trusted through SSL_CERT_FILE.
func TestHTTPSUpstream(t *testing.T) {
	up := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "tls %s", r.URL.Path)
	}))
	defer up.Close()
	dir := t.TempDir()
	spec := writeFile(t, dir, "api.yaml", "openapi: 3.0.0\npaths:\n  /s:\n    get:\n      x-yc-apigateway-integration: {type: http, url: '"+up.URL+"/secure'}\n")

	g := start(t, "--spec", spec)
	status, _, body := get(t, g.URL+"/s")
	if status != 502 || !strings.Contains(body, "upstream TLS certificate is not trusted") {
		t.Errorf("untrusted upstream certificate: %d %s", status, body)
	}

	ca := filepath.Join(dir, "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: up.Certificate().Raw})
	if err := os.WriteFile(ca, pemBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSL_CERT_FILE", ca)
	g2 := start(t, "--spec", spec)
	if status, _, body := get(t, g2.URL+"/s"); status != 200 || body != "tls /secure" {
		t.Errorf("upstream trusted through SSL_CERT_FILE: %d %s", status, body)
	}
}

// TestExampleSpecsValidate keeps every shipped example valid.
func TestExampleSpecsValidate(t *testing.T) {
	specs, _ := filepath.Glob("../examples/*/api.yaml")
	if len(specs) == 0 {
		t.Fatal("no examples found")
	}
	for _, s := range specs {
		args := []string{"validate", "--spec", s}
		// examples/domains needs the certificates its mkcert makes; its
		// own test runs it whole.
		if cfg := filepath.Join(filepath.Dir(s), "apigw.yaml"); fileExists(cfg) && !fileExists(filepath.Join(filepath.Dir(s), "mkcert")) {
			args = append(args, "--config", cfg)
		}
		if code, out, stderr := runCLI(t, args...); code != 0 {
			t.Errorf("%s: exit %d\n%s%s", s, code, out, stderr)
		}
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// TestObjectStorageStreams serves a 1 GiB object from a directory bucket:
// every byte arrives and the gateway's memory does not grow with it.
func TestObjectStorageStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 1 GiB")
	}
	dir := t.TempDir()
	bucket := filepath.Join(dir, "bucket")
	os.MkdirAll(bucket, 0o755)
	f, err := os.Create(filepath.Join(bucket, "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	const size = 1 << 30
	f.Truncate(size) // sparse: no disk, same bytes on the wire
	f.Close()
	spec := writeFile(t, dir, "api.yaml", "openapi: 3.0.0\npaths:\n  /files/{key+}:\n    get:\n      parameters: [{name: key, in: path, required: true}]\n      x-yc-apigateway-integration: {type: object_storage, bucket: b, object: '{key}'}\n")
	cfg := writeFile(t, dir, "apigw.yaml", "object_storage:\n  buckets:\n    b: {dir: ./bucket}\nlog: {access: false}\n")
	g := start(t, "--spec", spec, "--config", cfg)
	before := rssKB(g.cmd.Process.Pid)
	peakRSS := watchRSS(g.cmd.Process.Pid)
	res, err := http.Get(g.URL + "/files/big.bin")
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, res.Body)
	res.Body.Close()
	peak := peakRSS()
	if err != nil || n != size || res.StatusCode != 200 {
		t.Fatalf("read %d bytes (%v), status %d", n, err, res.StatusCode)
	}
	t.Logf("RSS before %d MB, peak %d MB while serving a 1024 MB object", before/1024, peak/1024)
	if (peak-before)/1024 > 100 {
		t.Errorf("gateway RSS grew by %d MB serving 1 GiB", (peak-before)/1024)
	}
}

// TestStaticSiteExample runs examples/static-site as the README says.
func TestStaticSiteExample(t *testing.T) {
	g := start(t, "--spec", "../examples/static-site/api.yaml", "--config", "../examples/static-site/apigw.yaml")
	for _, tt := range []struct {
		path   string
		status int
		has    string
	}{
		{"/", 200, "Served by apigw from a bucket"},
		{"/assets/site.css", 200, "font-family"},
		{"/assets/nope.css", 404, "404: no such file"},
		{"/users/42/settings", 200, "Served by apigw from a bucket"}, // the SPA fallback
		{"/assets/..%2F..%2Fapigw.yaml", 404, "404: no such file"},
	} {
		status, _, body := get(t, g.URL+tt.path)
		if status != tt.status || !strings.Contains(body, tt.has) {
			t.Errorf("GET %s: %d %.80q, want %d with %q", tt.path, status, body, tt.status, tt.has)
		}
	}
}

var labelRE = regexp.MustCompile(`(\w+)="([^"]*)"`)

// TestMetricsCardinality: whatever paths and methods clients send, the
// metrics name only the spec's route templates and a fixed set of methods
// and status classes.
func TestMetricsCardinality(t *testing.T) {
	g := start(t, "--spec", "../examples/quickstart/api.yaml")
	for i := 0; i < 200; i++ {
		req, _ := http.NewRequest([]string{"GET", "BREW", "PROPFIND"}[i%3], fmt.Sprintf("%s/items/%d?x=%d", g.URL, i, i), nil)
		if i%2 == 0 {
			req.URL.Path = fmt.Sprintf("/random/%d/path", i)
		}
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
		}
	}
	_, _, metrics := get(t, g.Admin+"/metrics")
	routes, methods := map[string]bool{}, map[string]bool{}
	for _, line := range strings.Split(metrics, "\n") {
		if !strings.HasPrefix(line, "apigw_requests_total{") {
			continue
		}
		for _, m := range labelRE.FindAllStringSubmatch(line, -1) {
			switch m[1] {
			case "route":
				routes[m[2]] = true
			case "method":
				methods[m[2]] = true
			}
		}
	}
	if len(routes) > 2 || !routes["/items/{id}"] || !routes["(unmatched)"] {
		t.Errorf("route labels: %v", routes)
	}
	if len(methods) > 2 || !methods["GET"] || !methods["OTHER"] {
		t.Errorf("method labels: %v", methods)
	}
}
