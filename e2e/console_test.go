package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	cws "github.com/coder/websocket"
)

// TestConsoleInBrowser drives the console in headless Chromium over the
// DevTools protocol: the routes table lists the spec's operations; a
// request made from outside appears in the live list within a second,
// without a reload; opened, it shows its headers (Authorization masked) and
// body; Replay sends it again and the backend sees it twice; a save that
// breaks the spec shows its error with the line. Each view is captured at
// 1280×800 (and the list at a phone's width) into the test's artifact
// directory (go test -artifacts).
func TestConsoleInBrowser(t *testing.T) {
	needInterpreter(t, "chromium")
	var seen atomic.Int64
	var lastAuth atomic.Value
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Add(1)
		lastAuth.Store(r.Header.Get("Authorization"))
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"stored":`+string(b)+`}`)
	}))
	defer backend.Close()
	dir := t.TempDir()
	spec := `openapi: 3.0.0
info: {title: Shop, version: '1'}
paths:
  /hello:
    get:
      operationId: hello
      x-yc-apigateway-integration: {type: dummy, http_code: 200, http_headers: {Content-Type: application/json}, content: {'*': '{"hello":"world"}'}}
  /items/{id}:
    post:
      operationId: addItem
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      x-yc-apigateway-integration: {type: http, url: '` + backend.URL + `/items/{id}', headers: {'*': '*'}}
`
	specFile := writeFile(t, dir, "api.yaml", spec)
	g := start(t, "--spec", specFile)
	shots := t.ArtifactDir()
	devtools := startChromium(t)

	// Routes.
	p := openPage(t, devtools, g.Admin+"/console/routes")
	p.viewport(1280, 800, false)
	got := p.eval(waitScript + `await wait("the routes table", () => document.querySelectorAll("tbody.routes tr").length >= 2);
return [...document.querySelectorAll("tbody.routes tr")].map(tr => [...tr.children].map(td => td.textContent).join(" | "));`)
	if !strings.Contains(got, "GET | /hello | hello | dummy | answers 200") || !strings.Contains(got, "POST | /items/{id} | addItem | http | "+backend.URL+"/items/{id}") {
		t.Errorf("routes table: %s", got)
	}
	p.screenshot(shots, "console-routes.png")

	// Live requests: one from outside shows up within a second.
	p.navigate(g.Admin + "/console/")
	p.eval(waitScript + `await wait("the live stream", () => document.getElementById("live").classList.contains("on"));`)
	req, _ := http.NewRequest("POST", g.URL+"/items/7?color=red", strings.NewReader(`{"name":"tea","qty":2}`))
	req.Header.Set("Authorization", "Bearer secret-token-123")
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	got = p.eval(waitScript + `const row = await wait("the request's row", () => [...document.querySelectorAll("#requests-body tr.row")].find(tr => tr.textContent.includes("/items/7")), 1000);
return row.textContent;`)
	if !strings.Contains(got, "POST") || !strings.Contains(got, "/items/7?color=red") || !strings.Contains(got, "200") {
		t.Errorf("live row: %s", got)
	}
	p.screenshot(shots, "console-requests.png")

	// Opened: headers with Authorization masked, the body, the backend.
	got = p.eval(waitScript + `[...document.querySelectorAll("#requests-body tr.row")].find(tr => tr.textContent.includes("/items/7")).click();
await wait("the exchange", () => document.getElementById("request"));
return {url: location.pathname, request: document.getElementById("request").textContent, response: document.getElementById("response").textContent,
  upstream: document.getElementById("upstream").textContent, phases: document.querySelector(".legend").textContent};`)
	var view struct{ URL, Request, Response, Upstream, Phases string }
	json.Unmarshal([]byte(got), &view)
	if !strings.HasPrefix(view.URL, "/console/requests/") {
		t.Errorf("the exchange opened at %q, want an address of its own", view.URL)
	}
	if !strings.Contains(view.Request, "Bearer •••• (masked)") || strings.Contains(view.Request, "secret-token-123") {
		t.Errorf("request headers shown: %s", view.Request)
	}
	if !strings.Contains(view.Request, `"name": "tea"`) || !strings.Contains(view.Response, `"stored"`) {
		t.Errorf("bodies: request %q response %q", view.Request, view.Response)
	}
	if !strings.Contains(view.Upstream, "POST "+backend.URL+"/items/7") || !strings.Contains(view.Phases, "integration") {
		t.Errorf("backend %q, phases %q", view.Upstream, view.Phases)
	}
	p.screenshot(shots, "console-exchange.png")

	// Replay: the backend sees the request again, with its real token.
	before := seen.Load()
	got = p.eval(waitScript + `document.getElementById("replay").click();
return (await wait("the replay's answer", () => { const t = document.getElementById("replay-result").textContent; return t.startsWith("Replayed") && t; }));`)
	if !strings.Contains(got, "Replayed: 200") || seen.Load() != before+1 || lastAuth.Load() != "Bearer secret-token-123" {
		t.Errorf("replay: %s; backend saw %d more, Authorization %q", got, seen.Load()-before, lastAuth.Load())
	}
	// ...and the list marks it.
	p.navigate(g.Admin + "/console/")
	got = p.eval(waitScript + `const r = await wait("the replay's row", () => [...document.querySelectorAll("#requests-body tr.row")].find(tr => tr.textContent.includes("replay")));
return r.textContent;`)
	if !strings.Contains(got, "/items/7") {
		t.Errorf("replay row: %s", got)
	}
	p.viewport(390, 844, true)
	p.screenshot(shots, "console-requests-phone.png")
	p.viewport(1280, 800, false)

	// A save that breaks the spec shows its error, with the line.
	p.navigate(g.Admin + "/console/spec")
	p.eval(waitScript + `await wait("the spec view", () => document.getElementById("spec-ok"));`)
	os.WriteFile(specFile, []byte(strings.Replace(spec, "type: dummy, http_code: 200", "type: dummy, http_code: 200, bogus: [", 1)), 0o644)
	got = p.eval(waitScript + `return (await wait("the spec's errors", () => document.getElementById("spec-errors")?.textContent, 8000));`)
	if !strings.Contains(got, "api.yaml:") || !strings.Contains(got, "previous spec keeps serving") {
		t.Errorf("spec errors: %s", got)
	}
	p.screenshot(shots, "console-spec.png")
	// Mended, the errors go.
	os.WriteFile(specFile, []byte(spec), 0o644)
	p.eval(waitScript + `await wait("the spec to load again", () => document.getElementById("spec-ok"), 8000);`)

	// Ten loads in one tab: each one's stream is live. A page kept in the
	// back/forward cache held its stream open, and the seventh load waited
	// for a connection forever.
	for i := range 10 {
		p.navigate(g.Admin + []string{"/console/", "/console/routes"}[i%2] + "?load=" + fmt.Sprint(i))
		p.eval(waitScript + `await wait("the live stream of load ` + fmt.Sprint(i) + `", () => document.getElementById("live").classList.contains("on"), 5000);`)
	}
	t.Logf("screenshots in %s", shots)

}

// TestConsoleFunctionsAndWebSocket: the functions view shows a local
// function process and what it printed; the WebSocket view lists an open
// connection, shows its messages, sends it a message typed into the page,
// and disconnects it with 1000.
func TestConsoleFunctionsAndWebSocket(t *testing.T) {
	needInterpreter(t, "chromium")
	needInterpreter(t, "python3")
	dir := t.TempDir()
	writeFile(t, dir, "hello.py", "def handler(event, context):\n    print('handling', event['path'], flush=True)\n    return {'statusCode': 200, 'body': 'hi'}\n")
	spec := writeFile(t, dir, "api.yaml", `openapi: 3.0.0
info: {title: fn, version: '1'}
paths:
  /py:
    get:
      x-yc-apigateway-integration: {type: cloud_functions, function_id: fn-hello}
  /ws:
    x-yc-apigateway-websocket-message:
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': ''}}
`)
	cfg := writeFile(t, dir, "apigw.yaml", "functions:\n  fn-hello: {runtime: python, handler: hello.handler, dir: '"+dir+"'}\n")
	g := start(t, "--spec", spec, "--config", cfg)
	shots := t.ArtifactDir()
	if res, err := http.Get(g.URL + "/py"); err != nil || res.StatusCode != 200 {
		t.Fatalf("the function: %v %v", res, err)
	}
	devtools := startChromium(t)
	p := openPage(t, devtools, g.Admin+"/console/functions")
	p.viewport(1280, 800, false)
	got := p.eval(waitScript + `await wait("the process", () => document.querySelector("#functions-body tr"));
await wait("its output", () => document.getElementById("function-output")?.textContent.includes("handling /py"));
return {row: document.querySelector("#functions-body tr").textContent, output: document.getElementById("function-output").textContent};`)
	if !strings.Contains(got, "fn-hello") || !strings.Contains(got, "hello.handler") || !strings.Contains(got, "running") || !strings.Contains(got, "handling /py") {
		t.Errorf("functions view: %s", got)
	}
	p.screenshot(shots, "console-functions.png")

	// A WebSocket client, seen from the page.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, id := g.wsConnect(ctx, "/ws")
	c.Write(ctx, cws.MessageText, []byte("hello from the client"))
	p.navigate(g.Admin + "/console/websocket")
	p.eval(waitScript + `const row = await wait("the connection", () => document.querySelector('#ws-body tr[data-id="` + id + `"]'));
row.click();
await wait("its message", () => document.getElementById("ws-messages").textContent.includes("hello from the client"));
document.getElementById("ws-text").value = "hello from the console";
document.getElementById("ws-send").click();`)
	if _, got, err := c.Read(ctx); err != nil || string(got) != "hello from the console" {
		t.Fatalf("the client got %q (%v)", got, err)
	}
	got = p.eval(waitScript + `return await wait("the sent message", () => { const t = document.getElementById("ws-messages").textContent; return t.includes("→ client: hello from the console") && t; });`)
	if !strings.Contains(got, "← client: hello from the client") {
		t.Errorf("messages: %s", got)
	}
	p.screenshot(shots, "console-websocket.png")
	p.eval(`document.getElementById("ws-disconnect").click();`)
	if _, _, err := c.Read(ctx); cws.CloseStatus(err) != cws.StatusNormalClosure {
		t.Errorf("after Disconnect the client saw %v, want 1000", err)
	}
}

// TestConsoleAccess: the console is on for a loopback-only admin listener
// and off for one others can reach, unless the bindings turn it on with a
// token (refused at start without one).
func TestConsoleAccess(t *testing.T) {
	dir := t.TempDir()
	spec := writeFile(t, dir, "api.yaml", "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': a}}\n")
	status := func(url string, header ...string) int {
		req, _ := http.NewRequest("GET", url, nil)
		if len(header) == 2 {
			req.Header.Set(header[0], header[1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if g := start(t, "--spec", spec); status(g.Admin+"/console/api/exchanges") != 200 {
		t.Error("a loopback admin listener has no console")
	}
	admin := freePort(t)
	open := fmt.Sprintf("0.0.0.0:%d", admin)
	g := startOn(t, freePort(t), admin, "--spec", spec, "--admin", open)
	if got := status(g.Admin + "/console/"); got != 404 {
		t.Errorf("an admin listener on %s serves the console (%d) without being asked", open, got)
	}
	cfg := writeFile(t, dir, "token.yaml", "console: {enabled: true, token: console-secret}\n")
	admin = freePort(t)
	g = startOn(t, freePort(t), admin, "--spec", spec, "--config", cfg, "--admin", fmt.Sprintf("0.0.0.0:%d", admin))
	if got := status(g.Admin + "/console/api/exchanges"); got != 401 {
		t.Errorf("without the token: %d", got)
	}
	if got := status(g.Admin+"/console/api/exchanges", "Authorization", "Bearer console-secret"); got != 200 {
		t.Errorf("with the token: %d", got)
	}
	// The page asks for the token once, then shows the view.
	if _, err := exec.LookPath("chromium"); err == nil {
		status(g.URL + "/a")
		p := openPage(t, startChromium(t), g.Admin+"/console/")
		got := p.eval(waitScript + `await wait("the token dialog", () => document.getElementById("login").open);
document.getElementById("login-token").value = "wrong";
document.getElementById("login-form").requestSubmit();
const said = await wait("the refusal", () => document.getElementById("login-error").textContent);
document.getElementById("login-token").value = "console-secret";
document.getElementById("login-form").requestSubmit();
await wait("the requests", () => document.querySelector("#requests-body tr.row"));
return said + " | " + document.getElementById("login").open;`)
		if !strings.Contains(got, "not the console") || !strings.Contains(got, "| false") {
			t.Errorf("token dialog: %s", got)
		}
	}
	// On for everyone without a token: refused at start.
	bad := writeFile(t, dir, "open.yaml", "console: {enabled: true}\n")
	out, err := exec.Command(binary, "serve", "--spec", spec, "--config", bad, "--listen", fmt.Sprintf("127.0.0.1:%d", freePort(t)), "--admin", fmt.Sprintf("0.0.0.0:%d", freePort(t))).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "needs console.token") {
		t.Errorf("a console open to all without a token started: %v %s", err, out)
	}
}

// TestConsoleInFirefox: the same page in Firefox (over WebDriver BiDi):
// the routes table, a request appearing live, the exchange with its
// secret masked.
func TestConsoleInFirefox(t *testing.T) {
	if _, err := exec.LookPath("firefox-esr"); err != nil {
		needInterpreter(t, "firefox")
	}
	dir := t.TempDir()
	spec := writeFile(t, dir, "api.yaml", `openapi: 3.0.0
info: {title: ff, version: '1'}
paths:
  /hello:
    get:
      operationId: hello
      x-yc-apigateway-integration: {type: dummy, http_code: 200, http_headers: {Content-Type: application/json}, content: {'*': '{"hello":"firefox"}'}}
`)
	g := start(t, "--spec", spec)
	f := startFirefox(t)
	f.navigate(g.Admin + "/console/routes")
	if got := f.eval(waitScript + `return (await wait("the routes", () => document.querySelector("tbody.routes tr"))).textContent;`); !strings.Contains(got, "/hello") || !strings.Contains(got, "answers 200") {
		t.Errorf("routes in Firefox: %s", got)
	}
	f.navigate(g.Admin + "/console/")
	f.eval(waitScript + `await wait("the live stream", () => document.getElementById("live").classList.contains("on"));`)
	req, _ := http.NewRequest("GET", g.URL+"/hello", nil)
	req.Header.Set("Authorization", "Bearer firefox-secret")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	got := f.eval(waitScript + `const row = await wait("the live row", () => document.querySelector("#requests-body tr.row"), 15000); // without a reload (Chromium is held to 1 s; here, under load, Firefox gets more)
row.click();
return (await wait("the exchange", () => document.getElementById("request"))).textContent + " || " + document.getElementById("response").textContent;`)
	json.Unmarshal([]byte(got), &got)
	if !strings.Contains(got, "Bearer •••• (masked)") || strings.Contains(got, "firefox-secret") || !strings.Contains(got, `"hello": "firefox"`) {
		t.Errorf("the exchange in Firefox: %s", got)
	}
	f.screenshot(t.ArtifactDir(), "console-exchange-firefox.png")
}

// TestConsoleRoutesOfReleasesAndDomains: the routes the console lists
// include the canary's (with its weight) and each domain's.
func TestConsoleRoutesOfReleasesAndDomains(t *testing.T) {
	dir := t.TempDir()
	spec := writeFile(t, dir, "api.yaml", `openapi: 3.0.0
x-yc-apigateway:
  variables:
    greeting: {default: hello}
paths:
  /hi:
    get:
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': '${var.greeting}'}}
`)
	writeFile(t, dir, "other.yaml", "openapi: 3.0.0\nx-yc-apigateway:\n  variables:\n    greeting: {default: yo}\npaths:\n  /other:\n    get:\n      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': o}}\n")
	cfg := writeFile(t, dir, "apigw.yaml", "canary: {weight: 25, variables: {greeting: hey}}\nrouting: {unknown_host: default}\ndomains:\n  - hosts: [other.local]\n    spec: other.yaml\n")
	g := start(t, "--spec", spec, "--config", cfg)
	res, err := http.Get(g.Admin + "/console/api/routes")
	if err != nil {
		t.Fatal(err)
	}
	var routes struct {
		Routes []struct{ Path string }
		Canary struct {
			Weight int
			Routes []struct{ Path string }
		}
		Domains []struct {
			Hosts  []string
			Routes []struct{ Path string }
		}
	}
	json.NewDecoder(res.Body).Decode(&routes)
	res.Body.Close()
	if len(routes.Routes) != 1 || routes.Routes[0].Path != "/hi" || routes.Canary.Weight != 25 || len(routes.Canary.Routes) != 1 {
		t.Errorf("stable and canary: %+v", routes)
	}
	if len(routes.Domains) != 1 || routes.Domains[0].Hosts[0] != "other.local" || routes.Domains[0].Routes[0].Path != "/other" {
		t.Errorf("domains: %+v", routes.Domains)
	}
}

// TestConsoleTryAnOperation: from the routes view, Try composes a request
// the spec describes (its example body, a path parameter of the declared
// type), the request validator accepts it, Send puts it through the
// gateway to the backend, and the new exchange opens from the answer.
func TestConsoleTryAnOperation(t *testing.T) {
	needInterpreter(t, "chromium")
	var got atomic.Value
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.Store(r.Method + " " + r.URL.RequestURI() + " " + string(b))
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
	}))
	defer backend.Close()
	spec := writeFile(t, t.TempDir(), "api.yaml", `openapi: 3.0.0
info: {title: Shop, version: '1'}
x-yc-apigateway:
  validator: {validateRequestBody: true, validateRequestParameters: true}
paths:
  /items/{id}:
    put:
      operationId: putItem
      parameters:
        - {name: id, in: path, required: true, schema: {type: integer, minimum: 1}}
        - {name: dry, in: query, required: true, schema: {type: boolean}}
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [name]
              properties: {name: {type: string}, qty: {type: integer}}
            example: {name: tea, qty: 2}
      responses:
        '200': {description: ok}
      x-yc-apigateway-integration: {type: http, url: '`+backend.URL+`/items/{id}', query: {'*': '*'}}
`)
	g := start(t, "--spec", spec)
	devtools := startChromium(t)
	p := openPage(t, devtools, g.Admin+"/console/routes")
	p.viewport(1280, 800, false)
	out := p.eval(waitScript + `const b = await wait("the Try button", () => document.querySelector('button.try[data-operation="putItem"]'));
b.click();
await wait("the composed request", () => document.getElementById("try-case").textContent);
return {method: document.getElementById("try-method").value, path: document.getElementById("try-path").value,
  body: document.getElementById("try-body").value, headers: document.getElementById("try-headers").value, name: document.getElementById("try-case").textContent};`)
	var composed struct{ Method, Path, Body, Headers, Name string }
	json.Unmarshal([]byte(out), &composed)
	if composed.Method != "PUT" || !regexp.MustCompile(`^/items/[1-9][0-9]*\?dry=(true|false)$`).MatchString(composed.Path) ||
		composed.Body != `{"name":"tea","qty":2}` || !strings.Contains(composed.Headers, "Content-Type: application/json") || composed.Name != "example" {
		t.Errorf("composed: %+v", composed)
	}
	p.screenshot(t.ArtifactDir(), "console-try.png")
	out = p.eval(waitScript + `document.getElementById("try-send").click();
return (await wait("the answer", () => { const t = document.getElementById("try-result").textContent; return t.startsWith("Sent") && t; }));`)
	if !strings.HasPrefix(out, `"Sent: 200 open #`) {
		t.Errorf("sent: %s", out)
	}
	if s, _ := got.Load().(string); !strings.HasPrefix(s, "PUT /items/") || !strings.HasSuffix(s, ` {"name":"tea","qty":2}`) {
		t.Errorf("the backend got %q", s)
	}
	// Edited into an invalid request, the validator refuses it: the
	// console sends what it is given.
	out = p.eval(waitScript + `document.getElementById("try-body").value = '{"qty":"many"}';
document.getElementById("try-result").textContent = "";
document.getElementById("try-send").click();
return (await wait("the answer", () => { const t = document.getElementById("try-result").textContent; return t.startsWith("Sent") && t; }));`)
	if !strings.HasPrefix(out, `"Sent: 400`) {
		t.Errorf("an invalid edit: %s", out)
	}
	// Another example, then the exchange opens from its link.
	out = p.eval(waitScript + `document.getElementById("try-another").click();
await wait("the next case", () => document.getElementById("try-case").textContent === "minimal");
document.getElementById("try-send").click();
const a = await wait("the link", () => document.getElementById("try-open"));
a.click();
await wait("the exchange", () => document.getElementById("request"));
return document.querySelector("h2").textContent;`)
	if !strings.Contains(out, "PUT /items/") || !strings.Contains(out, "200") {
		t.Errorf("the opened exchange: %s", out)
	}
}
