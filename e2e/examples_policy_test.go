package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPoliciesExample runs examples/policies as the README says.
func TestPoliciesExample(t *testing.T) {
	g := start(t, "--spec", "../examples/policies/api.yaml", "--config", "../examples/policies/apigw.yaml")
	req, _ := http.NewRequest("OPTIONS", g.URL+"/orders", nil)
	req.Header.Set("Origin", "http://localhost:3000")
	req.Header.Set("Access-Control-Request-Method", "POST")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 204 || res.Header.Get("Access-Control-Allow-Origin") != "http://localhost:3000" {
		t.Errorf("preflight: %d %v", res.StatusCode, res.Header)
	}
	post := func(body string) (int, string) {
		res, err := http.Post(g.URL+"/orders", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if status, body := post(`{"customer":"bob","items":[{"sku":"tea","qty":0}],"coupon":"x"}`); status != 400 ||
		!strings.Contains(body, `"field":"/items/0/qty"`) || !strings.Contains(body, `"field":"/coupon"`) || !strings.Contains(body, `"field":"/customer"`) {
		t.Errorf("invalid order: %d %s", status, body)
	}
	if status, body := post(`{"customer":"c-7","items":[{"sku":"tea","qty":2}]}`); status != 201 || body != `{"status": "accepted"}` {
		t.Errorf("valid order: %d %s", status, body)
	}
	if status, _, body := get(t, g.URL+"/orders/x?fields=colour"); status != 400 || !strings.Contains(body, `"name":"id"`) || !strings.Contains(body, `"name":"fields"`) {
		t.Errorf("invalid lookup: %d %s", status, body)
	}
	if status, _, body := get(t, g.URL+"/orders/o-1?fields=status,items"); status != 200 || !strings.Contains(body, `"id": "o-1"`) {
		t.Errorf("lookup: %d %s", status, body)
	}
	limited := 0
	for i := 0; i < 10; i++ {
		if status, _ := post(`{"customer":"c-7","items":[{"sku":"tea","qty":2}]}`); status == 429 {
			limited++
		}
	}
	if limited == 0 {
		t.Error("10 orders at once were all admitted under a limit of 5 rps")
	}
	if status, _, body := get(t, g.URL+"/docs"); status != 200 || !strings.Contains(body, "SwaggerUIBundle") {
		t.Errorf("docs: %d %.100s", status, body)
	}
}

// TestDomainsExample runs examples/domains as the README says: mkcert,
// then HTTPS on two domains.
func TestDomainsExample(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"api.yaml", "shop.yaml", "apigw.yaml"} {
		writeFile(t, dir, f, mustRead(t, "../examples/domains/"+f))
	}
	mk := exec.Command("go", "run", "./examples/domains/mkcert", "-out", filepath.Join(dir, "certs"))
	mk.Dir = ".."
	if out, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("mkcert: %v\n%s", err, out)
	}
	api, admin, tlsPort := freePort(t), freePort(t), freePort(t)
	cfg := strings.Replace(mustRead(t, filepath.Join(dir, "apigw.yaml")), "127.0.0.1:8443", fmt.Sprintf("127.0.0.1:%d", tlsPort), 1)
	writeFile(t, dir, "apigw.yaml", cfg)
	startOn(t, api, admin, "--spec", filepath.Join(dir, "api.yaml"), "--config", filepath.Join(dir, "apigw.yaml"))
	caPEM, _ := os.ReadFile(filepath.Join(dir, "certs", "ca.pem"))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, fmt.Sprintf("127.0.0.1:%d", tlsPort))
		},
	}}
	for host, want := range map[string]string{"api.example.test": "Hello from the API\n", "eu.api.example.test": "Hello from the API\n", "shop.example.test": "Hello from the shop\n"} {
		res, err := client.Get(fmt.Sprintf("https://%s:%d/hello", host, tlsPort))
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(b) != want || res.Proto != "HTTP/2.0" {
			t.Errorf("%s: %q over %s", host, b, res.Proto)
		}
	}
}

// startBehindPython runs an example whose backend is a Python stand-in,
// as the README says: examples/<name>/<script> on a free port (PORT), then
// the gateway with the example's bindings, their address of the stand-in
// (addr) moved to that port.
func startBehindPython(t *testing.T, name, script, addr string) *gateway {
	t.Helper()
	needInterpreter(t, "python3")
	port := freePort(t)
	backend := exec.Command("python3", "../examples/"+name+"/"+script)
	backend.Env = append(os.Environ(), fmt.Sprintf("PORT=%d", port))
	startTestServer(t, name+"/"+script, backend, port)
	cfg := writeFile(t, t.TempDir(), "apigw.yaml", strings.Replace(mustRead(t, "../examples/"+name+"/apigw.yaml"), addr, fmt.Sprintf("127.0.0.1:%d", port), 1))
	return start(t, "--spec", "../examples/"+name+"/api.yaml", "--config", cfg)
}

// TestContainersExample runs examples/containers as the README says: the
// stand-in container, then the gateway in front of it.
func TestContainersExample(t *testing.T) {
	g := startBehindPython(t, "containers", "app.py", "127.0.0.1:8081")
	res, err := http.Post(g.URL+"/orders/42/items?x=1", "text/plain", strings.NewReader("two teas"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{`"body": "two teas"`, `"context": {"env": "dev", "item": "42/items"}`, `"method": "POST"`, `"path": "/orders/42/items?x=1"`, `"forwarded_for": "127.0.0.1"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the container's answer %s lacks %s", b, want)
		}
	}
}

// TestDataSphereExample runs examples/datasphere as the README says: the
// stand-in node, then the gateway in front of it.
func TestDataSphereExample(t *testing.T) {
	g := startBehindPython(t, "datasphere", "node.py", "127.0.0.1:8082")
	for _, c := range []struct {
		body   string
		status int
		want   string
	}{
		{`{"area": 60, "rooms": 2}`, 200, `{"currency": "EUR", "model": "linear-v1", "price": 11230.0}`},
		{`[60, 2]`, 400, `"message":"the request body must be a JSON object of the node's input variables"`},
		{`{"area": "big"}`, 422, `{"error": "could not convert string to float: 'big'"}`},
	} {
		res, err := http.Post(g.URL+"/estimate", "application/json", strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != c.status || !strings.Contains(string(b), c.want) || res.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %s %s, want %d with %s", c.body, res.StatusCode, res.Header.Get("Content-Type"), b, c.status, c.want)
		}
	}
}

// TestWorkflowsExample runs examples/workflows as the README says: the IAM
// and Workflows stand-ins, then the gateway, which calls the API as the
// example's service account and maps bodies with jq.
func TestWorkflowsExample(t *testing.T) {
	standin := filepath.Join(t.TempDir(), "standin")
	if out, err := exec.Command("go", "build", "-o", standin, "../examples/workflows/standin").CombinedOutput(); err != nil {
		t.Fatalf("building the stand-in: %v\n%s", err, out)
	}
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	startTestServer(t, "workflows stand-in", exec.Command(standin, "-listen", addr, "-key", "../examples/workflows/sa-key.json"), port)
	key, _ := filepath.Abs("../examples/workflows/sa-key.json")
	cfg := mustRead(t, "../examples/workflows/apigw.yaml")
	cfg = strings.Replace(strings.Replace(cfg, "127.0.0.1:8083", addr, 1), "service_account_key_file: sa-key.json", "service_account_key_file: "+key, 1)
	g := start(t, "--spec", "../examples/workflows/api.yaml", "--config", writeFile(t, t.TempDir(), "apigw.yaml", cfg), "--var", "workflows_api=http://"+addr)

	status, _, body := send(t, "POST", g.URL+"/hooks/build", `{"repo": "apigw", "ref": "main", "commits": 3}`, "Content-Type", "application/json")
	if status != 200 || body != `{"execution":"exec-1","started":true}` {
		t.Fatalf("start: %d %s", status, body)
	}
	status, _, body = get(t, g.URL+"/executions/exec-1")
	if status != 200 || !strings.HasPrefix(body, `{"id":"exec-1","input":{"commits":3,"ref":"main","repo":"apigw"},"status":"running","summary":"dfq-example-build is running since 20`) {
		t.Errorf("execution: %d %s", status, body)
	}
	if status, _, _ := get(t, g.URL+"/executions/exec-9"); status != 404 {
		t.Errorf("an unknown execution: %d", status)
	}
	if strings.Contains(g.Logs(), "t1.iam-") || strings.Contains(g.Logs(), "PRIVATE KEY") {
		t.Errorf("the gateway logged a token or the key:\n%s", g.Logs())
	}
}
