package e2e

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	cws "github.com/coder/websocket"
)

// firefox is a headless Firefox driven over WebDriver BiDi (Firefox has
// no DevTools protocol): one browsing context.
type firefox struct {
	t       *testing.T
	c       *cws.Conn
	ctx     context.Context
	seq     int
	context string
}

// startFirefox starts Debian's Firefox ESR headless with a fresh profile
// and opens a BiDi session on it.
func startFirefox(t *testing.T) *firefox {
	t.Helper()
	bin, err := exec.LookPath("firefox-esr")
	if err != nil {
		bin = "firefox"
	}
	profile := t.TempDir()
	// No updates, telemetry or remote settings: the machine may be offline.
	os.WriteFile(filepath.Join(profile, "user.js"), []byte(`user_pref("app.update.enabled", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("toolkit.telemetry.enabled", false);
user_pref("services.settings.server", "http://127.0.0.1:9/");
user_pref("network.captive-portal-service.enabled", false);
user_pref("browser.shell.checkDefaultBrowser", false);
`), 0o644)
	cmd := exec.Command(bin, "--headless", "--no-remote", "--profile", profile, "--remote-debugging-port=0", "about:blank")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		re := regexp.MustCompile(`WebDriver BiDi listening on (ws://\S+)`)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	var addr string
	select {
	case addr = <-found:
	case <-time.After(30 * time.Second):
		t.Fatal("Firefox did not start WebDriver BiDi")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	c, _, err := cws.Dial(ctx, addr+"/session", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(64 << 20)
	t.Cleanup(func() { c.CloseNow() })
	f := &firefox{t: t, c: c, ctx: ctx}
	if _, err := f.call("session.new", map[string]any{"capabilities": map[string]any{}}); err != nil {
		t.Fatal(err)
	}
	raw, err := f.call("browsingContext.getTree", map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	var tree struct{ Contexts []struct{ Context string } }
	json.Unmarshal(raw, &tree)
	if len(tree.Contexts) == 0 {
		t.Fatal("Firefox has no browsing context")
	}
	f.context = tree.Contexts[0].Context
	return f
}

func (f *firefox) call(method string, params map[string]any) (json.RawMessage, error) {
	f.seq++
	id := f.seq
	msg, _ := json.Marshal(map[string]any{"id": id, "method": method, "params": params})
	if err := f.c.Write(f.ctx, cws.MessageText, msg); err != nil {
		return nil, err
	}
	for {
		_, data, err := f.c.Read(f.ctx)
		if err != nil {
			return nil, err
		}
		var reply struct {
			ID      int
			Type    string
			Error   string
			Message string
			Result  json.RawMessage
		}
		json.Unmarshal(data, &reply)
		if reply.ID != id {
			continue // an event
		}
		if reply.Type == "error" {
			return nil, fmt.Errorf("%s: %s %s", method, reply.Error, reply.Message)
		}
		return reply.Result, nil
	}
}

// navigate loads url and waits for it.
func (f *firefox) navigate(url string) {
	f.t.Helper()
	if _, err := f.call("browsingContext.navigate", map[string]any{"context": f.context, "url": url, "wait": "complete"}); err != nil {
		f.t.Fatal(err)
	}
}

// eval runs an async function body in the page and returns its result as
// JSON text (as page.eval does in Chromium).
func (f *firefox) eval(script string) string {
	f.t.Helper()
	expr := "(async () => {" + script + "})().then(v => JSON.stringify(v === undefined ? null : v))"
	raw, err := f.call("script.evaluate", map[string]any{"expression": expr, "target": map[string]any{"context": f.context}, "awaitPromise": true})
	if err != nil {
		f.t.Fatal(err)
	}
	var r struct {
		Type             string
		Result           struct{ Value string }
		Details          struct{ Text string }
		ExceptionDetails struct {
			Text string
		}
	}
	json.Unmarshal(raw, &r)
	if r.Type == "exception" {
		f.t.Fatalf("in Firefox's page: %s", r.ExceptionDetails.Text)
	}
	return r.Result.Value
}

// screenshot writes the viewport as a PNG file into dir.
func (f *firefox) screenshot(dir, name string) {
	f.t.Helper()
	raw, err := f.call("browsingContext.captureScreenshot", map[string]any{"context": f.context})
	if err != nil {
		f.t.Fatal(err)
	}
	var r struct{ Data string }
	json.Unmarshal(raw, &r)
	png, err := base64.StdEncoding.DecodeString(r.Data)
	if err != nil || len(png) < 1000 {
		f.t.Fatalf("screenshot %s: %d bytes (%v)", name, len(png), err)
	}
	os.WriteFile(filepath.Join(dir, name), png, 0o644)
}
