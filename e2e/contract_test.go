package e2e

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	cws "github.com/coder/websocket"
)

const petstore = "../examples/petstore/api.yaml"

// TestMockServesASpecWithoutBindings: `apigw serve --mock` with no bindings
// file answers every operation from the spec, content-negotiated and
// validated, with the gateway's policies in front.
func TestMockServesASpecWithoutBindings(t *testing.T) {
	g := start(t, "--spec", petstore, "--mock")
	for _, tc := range []struct {
		name, method, path string
		header             map[string]string
		body               string
		status             int
		want               string // in the body
		ctype              string
	}{
		{"the first example of the lowest 2xx", "GET", "/pets", nil, "", 200, `"name":"Tom"`, "application/json"},
		{"a named example", "GET", "/pets", map[string]string{"Prefer": "example=none"}, "", 200, `[]`, "application/json"},
		{"generated from the schema", "GET", "/pets/7", nil, "", 200, `"species":"cat"`, "application/json"},
		{"Accept: text/plain", "GET", "/pets/7", map[string]string{"Accept": "text/plain"}, "", 200, "Tom the cat", "text/plain"},
		{"nothing acceptable", "GET", "/pets/7", map[string]string{"Accept": "image/png"}, "", 406, "text/plain", "application/json"},
		{"Prefer: code", "GET", "/pets/7", map[string]string{"Prefer": "code=404"}, "", 404, "no pet with this id", "application/json"},
		{"request validation", "GET", "/pets/seven", nil, "", 400, "petId", "application/json"},
		{"a mocked authorizer wants its credential", "POST", "/pets", map[string]string{"Content-Type": "application/json"}, `{"name":"Tom","species":"cat"}`, 401, "Unauthorized", ""},
		{"a mocked authorizer denies on request", "POST", "/pets", map[string]string{"Content-Type": "application/json", "X-Api-Key": "k", "Prefer": "auth=deny"}, `{"name":"Tom","species":"cat"}`, 403, "Forbidden", ""},
		{"created", "POST", "/pets", map[string]string{"Content-Type": "application/json", "X-Api-Key": "k"}, `{"name":"Tom","species":"cat"}`, 201, `"id":`, "application/json"},
		{"a body the validator refuses", "POST", "/pets", map[string]string{"Content-Type": "application/json", "X-Api-Key": "k"}, `{"name":"Tom","species":"cow"}`, 400, "species", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, g.URL+tc.path, strings.NewReader(tc.body))
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tc.status || !strings.Contains(string(b), tc.want) {
				t.Fatalf("%d %s, want %d with %q", res.StatusCode, b, tc.status, tc.want)
			}
			if tc.ctype != "" && !strings.HasPrefix(res.Header.Get("Content-Type"), tc.ctype) {
				t.Errorf("Content-Type %q, want %q", res.Header.Get("Content-Type"), tc.ctype)
			}
			if res.StatusCode < 300 && res.Header.Get("X-Apigw-Mock") != "true" {
				t.Error("no X-Apigw-Mock: true")
			}
		})
	}
	// The CORS rule applies to mocks as to anything.
	req, _ := http.NewRequest("GET", g.URL+"/pets", nil)
	req.Header.Set("Origin", "https://app.example")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Header.Get("Access-Control-Allow-Origin") != "*" || res.Header.Get("X-Total-Count") == "" {
		t.Errorf("CORS and declared headers: %v", res.Header)
	}
	// The WebSocket operation echoes.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := cws.Dial(ctx, "ws"+strings.TrimPrefix(g.URL, "http")+"/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if err := c.Write(ctx, cws.MessageText, []byte(`{"news":"a new cat"}`)); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := c.Read(ctx); err != nil || string(msg) != `{"news":"a new cat"}` {
		t.Fatalf("echo: %q %v", msg, err)
	}
}

// TestMockReportsAnExampleThatBreaksItsSchema: the warning names the
// example's line at start, and the response validator refuses the mock
// that answers it.
func TestMockReportsAnExampleThatBreaksItsSchema(t *testing.T) {
	src, _ := os.ReadFile(petstore)
	bad := strings.Replace(string(src), "- {id: 2, name: Rex, species: dog, tag: good boy}", "- {id: 2, name: Rex, species: wolf}", 1)
	spec := writeFile(t, t.TempDir(), "api.yaml", bad)
	line := strings.Count(bad[:strings.Index(bad, "species: wolf")], "\n") + 1 // the offending value itself
	g := start(t, "--spec", spec, "--mock")
	if !g.waitLog(fmt.Sprintf("api.yaml:%d:", line), 5*time.Second) || !strings.Contains(g.Logs(), "/1/species") {
		t.Fatalf("no warning at line %d naming /1/species:\n%s", line, g.Logs())
	}
	status, _, body := get(t, g.URL+"/pets")
	if status != 502 || !strings.Contains(body, "/1/species") {
		t.Fatalf("the mock of a bad example: %d %s", status, body)
	}
}

// petBackend serves the pet store's functions (as a url binding: the
// event in, the response JSON out) and its container. broken breaks the
// contract: a pet's id is a string and the list lacks X-Total-Count.
func petBackend(t *testing.T, broken bool) *httptest.Server {
	pet := map[string]any{"id": 7, "name": "Tom", "species": "cat"}
	if broken {
		pet["id"] = "seven"
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fn, ok := strings.CutPrefix(r.URL.Path, "/fn/"); ok {
			var ev struct {
				Body string `json:"body"`
			}
			json.NewDecoder(r.Body).Decode(&ev)
			out := map[string]any{"statusCode": 200, "headers": map[string]string{"Content-Type": "application/json"}}
			switch fn {
			case "d4e-pets-auth":
				out = map[string]any{"isAuthorized": true}
			case "d4e-pets-list":
				b, _ := json.Marshal([]any{pet})
				out["body"] = string(b)
				if !broken {
					out["headers"] = map[string]string{"Content-Type": "application/json", "X-Total-Count": "1"}
				}
			case "d4e-pets-create":
				var p map[string]any
				json.Unmarshal([]byte(ev.Body), &p)
				p["id"] = 8
				b, _ := json.Marshal(p)
				out["statusCode"], out["body"] = 201, string(b)
				out["headers"] = map[string]string{"Content-Type": "application/json", "Location": "/pets/8"}
			}
			json.NewEncoder(w).Encode(out)
			return
		}
		switch r.Method {
		case http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		default:
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(pet)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func petBindings(t *testing.T, dir, backend string) string {
	var b strings.Builder
	b.WriteString("functions:\n")
	for _, fn := range []string{"d4e-pets-list", "d4e-pets-create", "d4e-pets-auth", "d4e-pets-events"} {
		fmt.Fprintf(&b, "  %s: {url: '%s/fn/%s'}\n", fn, backend, fn)
	}
	fmt.Fprintf(&b, "containers:\n  bba-pets: {url: '%s'}\n", backend)
	return writeFile(t, dir, "apigw.yaml", b.String())
}

// TestContractTestPassesAConformingBackend and fails a broken one, naming
// the operation and the JSON path, with a curl command and a valid JUnit
// report.
func TestContractTest(t *testing.T) {
	dir := t.TempDir()
	// Without the gateway's own response validation, so that the contract
	// test's checks are what finds the break.
	src, _ := os.ReadFile(petstore)
	spec := writeFile(t, dir, "api.yaml", strings.Replace(string(src), "validateResponseBody: true", "validateResponseBody: false", 1))

	good := petBindings(t, t.TempDir(), petBackend(t, false).URL)
	code, out, errOut := runCLI(t, "test", "--spec", spec, "--config", good)
	if code != 0 || !strings.Contains(out, "ok: 4 operations") || strings.Contains(out, "FAIL") {
		t.Fatalf("a conforming backend: exit %d\n%s%s", code, out, errOut)
	}

	report := filepath.Join(dir, "report.xml")
	bad := petBindings(t, t.TempDir(), petBackend(t, true).URL)
	code, out, errOut = runCLI(t, "test", "--spec", spec, "--config", bad, "--junit", report, "-q")
	if code != 1 {
		t.Fatalf("a broken backend: exit %d, want 1\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		"FAIL getPet GET /pets/{petId} [example] body (200)",
		"body /id: ",
		"FAIL listPets GET /pets [example] headers (200)",
		"header X-Total-Count: the response lacks this header",
		"curl -i 'http://127.0.0.1:",
		"PASS deletePet DELETE /pets/{petId}",
		"FAILED: 4 operations",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q:\n%s", want, out)
		}
	}
	// The curl line of a failure reproduces it against a gateway serving
	// the same files.
	var curl string
	for _, line := range strings.Split(out, "\n") {
		if l := strings.TrimSpace(line); strings.HasPrefix(l, "curl -i") && strings.Contains(l, "/pets/") {
			curl = l
			break
		}
	}
	if curl == "" {
		t.Fatalf("no curl line for getPet:\n%s", out)
	}
	// Its URL and headers, sent to `apigw serve` on the same files, get
	// the same broken answer.
	parts := strings.Split(strings.TrimPrefix(curl, "curl -i "), " -H ")
	target, err := url.Parse(strings.Trim(parts[0], "'"))
	if err != nil {
		t.Fatalf("curl line %q: %v", curl, err)
	}
	g := start(t, "--spec", spec, "--config", bad)
	req, _ := http.NewRequest("GET", g.URL+target.RequestURI(), nil)
	for _, h := range parts[1:] {
		k, v, _ := strings.Cut(strings.Trim(h, "'"), ": ")
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(b), `"id":"seven"`) {
		t.Errorf("the curl line against apigw serve: %d %s", res.StatusCode, b)
	}
	checkJUnit(t, report)
}

type junit struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Time     string `xml:"time,attr"`
		Cases    []struct {
			Name      string `xml:"name,attr"`
			Classname string `xml:"classname,attr"`
			Time      string `xml:"time,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// checkJUnit reads the report strictly and checks that its counts add up
// and its failures carry the place and the curl command.
func checkJUnit(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "<?xml") {
		t.Errorf("no XML declaration: %.60s", b)
	}
	var r junit
	d := xml.NewDecoder(strings.NewReader(string(b)))
	d.Strict = true
	if err := d.Decode(&r); err != nil {
		t.Fatalf("the JUnit report does not parse: %v", err)
	}
	tests, failures, found := 0, 0, false
	for _, s := range r.Suites {
		if s.Tests != len(s.Cases) {
			t.Errorf("suite %s says %d tests and has %d", s.Name, s.Tests, len(s.Cases))
		}
		if _, err := strconv.ParseFloat(s.Time, 64); err != nil {
			t.Errorf("suite %s time %q", s.Name, s.Time)
		}
		f := 0
		for _, c := range s.Cases {
			if c.Name == "" || c.Classname == "" {
				t.Errorf("a testcase without name or classname in %s", s.Name)
			}
			if c.Failure != nil {
				f++
				if c.Classname == "getPet" && strings.Contains(c.Failure.Message, "/id") && strings.Contains(c.Failure.Text, "curl -i") {
					found = true
				}
			}
		}
		if f != s.Failures {
			t.Errorf("suite %s says %d failures and has %d", s.Name, s.Failures, f)
		}
		tests += len(s.Cases)
		failures += f
	}
	if tests != r.Tests || failures != r.Failures || failures == 0 {
		t.Errorf("testsuites says %d tests, %d failures; the suites hold %d, %d", r.Tests, r.Failures, tests, failures)
	}
	if !found {
		t.Errorf("no getPet failure naming /id with its curl command:\n%s", b)
	}
}

// TestContractTestOfARunningGateway: --base-url tests a gateway that is
// already up; --operation picks operations; the same seed makes the same
// requests, and the spec tested against its own mocks passes.
func TestContractTestOfARunningGateway(t *testing.T) {
	g := start(t, "--spec", petstore, "--mock")
	run := func(args ...string) string {
		code, out, errOut := runCLI(t, append([]string{"test", "--spec", petstore, "--base-url", g.URL}, args...)...)
		if code != 0 {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
		return out
	}
	a := run("--seed", "7", "--operation", "createPet", "--operation", "GET /pets/{petId}")
	if !strings.Contains(a, "createPet POST /pets [random 1]") || !strings.Contains(a, "getPet GET /pets/{petId}") || strings.Contains(a, "listPets") {
		t.Fatalf("--operation: %s", a)
	}
	if !strings.Contains(a, "rejects-invalid (400)") {
		t.Errorf("no invalid request was refused: %s", a)
	}
	b := run("--seed", "7", "--operation", "createPet", "--operation", "GET /pets/{petId}")
	strip := func(s string) string { // timings differ
		return s[:strings.LastIndex(strings.TrimSpace(s), "\n")]
	}
	if strip(a) != strip(b) {
		t.Errorf("the same seed gave different runs:\n%s\n---\n%s", a, b)
	}
	code, out, _ := runCLI(t, "test", "--spec", petstore)
	if code != 0 || !strings.Contains(out, "ok: 4 operations") {
		t.Errorf("the spec against its own mocks: %d\n%s", code, out)
	}
	code, _, errOut := runCLI(t, "test", "--spec", petstore, "--operation", "nope")
	if code != 2 || !strings.Contains(errOut, "no operation matches nope") {
		t.Errorf("an unknown operation: %d %s", code, errOut)
	}
}

// TestSchemaCommand: the schemas print as JSON, the same as docs/schemas/.
func TestSchemaCommand(t *testing.T) {
	for _, c := range []struct {
		args []string
		file string
	}{
		{[]string{"schema", "spec"}, "spec.json"},
		{[]string{"schema", "bindings"}, "bindings.json"},
		{[]string{"schema", "event", "--version", "1.0"}, "event-1.0.json"},
		{[]string{"schema", "event"}, "event-0.1.json"},
		{[]string{"schema", "response"}, "response.json"},
	} {
		code, out, errOut := runCLI(t, c.args...)
		want, _ := os.ReadFile(filepath.Join("../docs/schemas", c.file))
		if code != 0 || out != string(want) || !json.Valid([]byte(out)) {
			t.Errorf("%v: exit %d, %d bytes (docs copy %d) %s", c.args, code, len(out), len(want), errOut)
		}
	}
	if code, _, errOut := runCLI(t, "schema", "openapi"); code != 2 || !strings.Contains(errOut, "one of spec, bindings, event, response") {
		t.Errorf("an unknown schema: %d %s", code, errOut)
	}
	// The help names every one (it left out response).
	if _, out, _ := runCLI(t, "--help"); !strings.Contains(out, "apigw schema   spec|bindings|event|response") {
		t.Errorf("apigw --help: %s", out)
	}
}
