package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cws "github.com/coder/websocket"
)

// TestSwaggerUIInBrowser: headless Chromium renders the Swagger UI that
// apigw serves from its own binary, lists the spec's operations, and
// "Try it out" → "Execute" calls the gateway and shows its answer.
func TestSwaggerUIInBrowser(t *testing.T) {
	needInterpreter(t, "chromium")
	dir := t.TempDir()
	spec := writeFile(t, dir, "api.yaml", `openapi: 3.0.0
info: {title: Shop, version: '1'}
paths:
  /items:
    get:
      operationId: listItems
      summary: List the items
      responses: {'200': {description: the items}}
      x-yc-apigateway-integration: {type: dummy, http_code: 200, http_headers: {Content-Type: application/json}, content: {'*': '{"items":["tea"]}'}}
  /docs:
    get:
      x-yc-apigateway-integration: {type: swagger}
`)
	g := start(t, "--spec", spec)
	profile := t.TempDir()
	browser := exec.Command("chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+profile, "--remote-debugging-port=0", g.URL+"/docs")
	if err := browser.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { browser.Process.Kill(); browser.Wait() }()

	// The DevTools protocol: the port is in the profile, the page's socket
	// in /json/list.
	var port string
	for deadline := time.Now().Add(20 * time.Second); port == "" && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if b, err := os.ReadFile(filepath.Join(profile, "DevToolsActivePort")); err == nil {
			port = strings.SplitN(string(b), "\n", 2)[0]
		}
	}
	if port == "" {
		t.Fatal("Chromium did not open its DevTools port")
	}
	var wsURL string
	for deadline := time.Now().Add(10 * time.Second); wsURL == "" && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		res, err := http.Get("http://127.0.0.1:" + port + "/json/list")
		if err != nil {
			continue
		}
		var targets []struct{ Type, URL, WebSocketDebuggerURL string }
		json.NewDecoder(res.Body).Decode(&targets)
		res.Body.Close()
		for _, tg := range targets {
			if tg.Type == "page" && strings.Contains(tg.URL, "/docs") {
				wsURL = tg.WebSocketDebuggerURL
			}
		}
	}
	if wsURL == "" {
		t.Fatal("no page target for /docs")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, _, err := cws.Dial(ctx, wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	c.SetReadLimit(16 << 20)

	const script = `(async () => {
  const wait = async (sel) => {
    for (let i = 0; i < 200; i++) { const e = document.querySelector(sel); if (e) return e; await new Promise(r => setTimeout(r, 100)); }
    throw new Error("nothing matches " + sel);
  };
  await wait("#operations-default-listItems");
  const paths = [...document.querySelectorAll(".opblock-summary-path")].map(e => e.textContent.trim());
  (await wait("#operations-default-listItems .opblock-summary-control")).click();
  (await wait("#operations-default-listItems .try-out__btn")).click();
  (await wait("#operations-default-listItems .execute")).click();
  const status = await wait("#operations-default-listItems .live-responses-table tr.response .response-col_status");
  const body = await wait("#operations-default-listItems .live-responses-table .microlight, #operations-default-listItems .live-responses-table pre");
  return JSON.stringify({paths, status: status.textContent.trim(), body: body.textContent});
})()`
	var reply struct {
		ID     int
		Error  *struct{ Message string }
		Result struct {
			Result           struct{ Value string }
			ExceptionDetails *struct {
				Exception struct{ Description string }
			}
		}
	}
	var raw []byte
	// The page may still be navigating when the socket opens, which
	// destroys the evaluation's context: try again.
	for attempt := 1; ; attempt++ {
		msg, _ := json.Marshal(map[string]any{"id": attempt, "method": "Runtime.evaluate", "params": map[string]any{"expression": script, "awaitPromise": true, "returnByValue": true}})
		if err := c.Write(ctx, cws.MessageText, msg); err != nil {
			t.Fatal(err)
		}
		reply.ID, reply.Error = 0, nil
		for reply.ID != attempt {
			_, data, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("DevTools: %v; gateway log:\n%s", err, g.Logs())
			}
			raw = data
			json.Unmarshal(data, &reply)
		}
		if reply.Error == nil || attempt == 5 {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if reply.Error != nil {
		t.Fatalf("DevTools: %s", raw)
	}
	if e := reply.Result.ExceptionDetails; e != nil {
		t.Fatalf("in the page: %s\ngateway log:\n%s", e.Exception.Description, g.Logs())
	}
	var seen struct {
		Paths        []string
		Status, Body string
	}
	if err := json.Unmarshal([]byte(reply.Result.Result.Value), &seen); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	if fmt.Sprint(seen.Paths) != "[/items /docs]" || seen.Status != "200" || !strings.Contains(seen.Body, "tea") {
		t.Errorf("the page showed %+v", seen)
	}
	for _, want := range []string{`"path":"/docs"`, `"path":"/items"`} {
		if !strings.Contains(g.Logs(), want) {
			t.Errorf("the gateway never saw %s", want)
		}
	}
}
