package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	cws "github.com/coder/websocket"
)

// TestCanaryRelease: a canary with a weight serves about that share of
// requests with its variable values, marks them with
// x-yc-apigateway-release: canary and logs release=canary; with override
// on, a header or cookie picks the release; a canary naming an undeclared
// variable is refused as the canary's problem.
func TestCanaryRelease(t *testing.T) {
	dir := t.TempDir()
	spec := writeFile(t, dir, "api.yaml", `openapi: 3.0.0
x-yc-apigateway:
  variables:
    greeting: {default: stable-hello}
paths:
  /hello:
    get:
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': '${var.greeting}'}}
`)
	cfg := writeFile(t, dir, "apigw.yaml", "canary: {weight: 25, variables: {greeting: canary-hello}, override: true}\n")
	g := start(t, "--spec", spec, "--config", cfg)
	const n = 800
	canary := 0
	for i := 0; i < n; i++ {
		status, h, body := get(t, g.URL+"/hello")
		isCanary := h.Get("X-Yc-Apigateway-Release") == "canary"
		if status != 200 || isCanary != (body == "canary-hello") || (!isCanary && body != "stable-hello") {
			t.Fatalf("request %d: %d %q release header %q", i, status, body, h.Get("X-Yc-Apigateway-Release"))
		}
		if isCanary {
			canary++
		}
	}
	if share := float64(canary) / n; share < 0.19 || share > 0.31 {
		t.Errorf("canary served %.1f%% of requests, want about 25%%", share*100)
	}
	for _, h := range [][]string{{"X-Apigw-Release", "canary"}, {"Cookie", "apigw-release=canary"}} {
		for i := 0; i < 20; i++ {
			if _, _, body := get(t, g.URL+"/hello", h...); body != "canary-hello" {
				t.Fatalf("%s did not force the canary: %q", h[0], body)
			}
		}
	}
	for i := 0; i < 20; i++ {
		if _, rh, body := get(t, g.URL+"/hello", "X-Apigw-Release", "stable"); body != "stable-hello" || rh.Get("X-Yc-Apigateway-Release") != "" {
			t.Fatalf("forcing stable: %q %v", body, rh)
		}
	}
	if !g.waitLog(`"release":"canary"`, 2*time.Second) || !strings.Contains(g.Logs(), `"release":"stable"`) {
		t.Error("the access log does not carry both releases")
	}
	_, _, metrics := get(t, g.Admin+"/metrics")
	if !strings.Contains(metrics, `release="canary"`) {
		t.Error("metrics carry no canary release label")
	}

	// A WebSocket connection picks its release once, at the handshake.
	wsSpec := writeFile(t, dir, "ws.yaml", `openapi: 3.0.0
x-yc-apigateway:
  variables:
    greeting: {default: stable-hello}
paths:
  /ws:
    x-yc-apigateway-websocket-message:
      x-yc-apigateway-integration: {type: dummy, http_code: 200, http_headers: {Content-Type: text/plain}, content: {'*': '${var.greeting}'}}
`)
	gw := start(t, "--spec", wsSpec, "--config", cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, res, err := cws.Dial(ctx, "ws"+strings.TrimPrefix(gw.URL, "http")+"/ws", &cws.DialOptions{HTTPHeader: http.Header{"X-Apigw-Release": {"canary"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if res.Header.Get("X-Yc-Apigateway-Release") != "canary" {
		t.Errorf("handshake headers: %v", res.Header)
	}
	for i := 0; i < 3; i++ {
		c.Write(ctx, cws.MessageText, []byte("?"))
		if _, got, err := c.Read(ctx); err != nil || string(got) != "canary-hello" {
			t.Fatalf("message %d on a canary connection: %q %v", i, got, err)
		}
	}

	// Without override, a request cannot choose.
	cfg2 := writeFile(t, dir, "apigw2.yaml", "canary: {weight: 0, variables: {greeting: canary-hello}}\n")
	g2 := start(t, "--spec", spec, "--config", cfg2)
	for i := 0; i < 20; i++ {
		if _, _, body := get(t, g2.URL+"/hello", "X-Apigw-Release", "canary"); body != "stable-hello" {
			t.Fatalf("weight 0 without override served %q", body)
		}
	}

	bad := writeFile(t, dir, "bad.yaml", "canary: {weight: 10, variables: {greting: x}}\n")
	code, stdout, _ := runCLI(t, "validate", "--spec", spec, "--config", bad)
	if code == 0 || !strings.Contains(stdout, `bad.yaml: canary.variables.greting: canary release: variable "greting" is given a value but is not declared`) {
		t.Errorf("validate with a misspelt canary variable: exit %d\n%s", code, stdout)
	}
}
