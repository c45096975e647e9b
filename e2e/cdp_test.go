package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	cws "github.com/coder/websocket"
)

// page is one Chromium tab driven over the DevTools protocol.
type page struct {
	t   *testing.T
	c   *cws.Conn
	ctx context.Context
	seq int
}

// openPage opens url in a new tab of the Chromium at devtools (see
// startChromium) and connects to it.
func openPage(t *testing.T, devtools, url string) *page {
	t.Helper()
	debugger := newTarget(t, devtools, url)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	c, _, err := cws.Dial(ctx, debugger, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(64 << 20)
	t.Cleanup(func() { c.CloseNow() })
	return &page{t: t, c: c, ctx: ctx}
}

// newTarget opens a tab on url (DevTools' HTTP endpoint /json/new) and
// returns its DevTools WebSocket URL.
func newTarget(t *testing.T, devtools, url string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, "http://"+devtools+"/json/new?"+neturl.QueryEscape(url), nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var target struct{ WebSocketDebuggerURL string }
	if err := json.NewDecoder(res.Body).Decode(&target); err != nil || res.StatusCode != 200 || target.WebSocketDebuggerURL == "" {
		t.Fatalf("DevTools /json/new: %d %v", res.StatusCode, err)
	}
	return target.WebSocketDebuggerURL
}

// call sends a DevTools command and returns its result.
func (p *page) call(method string, params map[string]any) (json.RawMessage, error) {
	p.seq++
	id := p.seq
	msg, _ := json.Marshal(map[string]any{"id": id, "method": method, "params": params})
	if err := p.c.Write(p.ctx, cws.MessageText, msg); err != nil {
		return nil, err
	}
	for {
		_, data, err := p.c.Read(p.ctx)
		if err != nil {
			return nil, err
		}
		var reply struct {
			ID     int
			Error  *struct{ Message string }
			Result json.RawMessage
		}
		json.Unmarshal(data, &reply)
		if reply.ID != id {
			continue // an event
		}
		if reply.Error != nil {
			return nil, fmt.Errorf("%s: %s", method, reply.Error.Message)
		}
		return reply.Result, nil
	}
}

// eval runs a script (an async function body) in the page and returns
// what it returns, as JSON text. A navigation under way is waited out.
func (p *page) eval(script string) string {
	p.t.Helper()
	expr := "(async () => {" + script + "})().then(v => JSON.stringify(v === undefined ? null : v))"
	var last error
	for attempt := 0; attempt < 10; attempt++ {
		raw, err := p.call("Runtime.evaluate", map[string]any{"expression": expr, "awaitPromise": true, "returnByValue": true})
		if err != nil {
			last = err
			time.Sleep(300 * time.Millisecond)
			continue
		}
		var r struct {
			Result           struct{ Value string }
			ExceptionDetails *struct {
				Text      string
				Exception struct{ Description string }
			}
		}
		json.Unmarshal(raw, &r)
		if r.ExceptionDetails != nil {
			last = fmt.Errorf("in the page: %s %s", r.ExceptionDetails.Text, r.ExceptionDetails.Exception.Description)
			time.Sleep(300 * time.Millisecond)
			continue
		}
		return r.Result.Value
	}
	p.t.Fatalf("DevTools: %v", last)
	return ""
}

// waitScript is a page-side helper: wait(fn, ms) polls fn until it returns
// something truthy, or throws with what it waited for.
const waitScript = `const wait = async (what, fn, ms = 5000) => {
  const end = Date.now() + ms;
  for (;;) { const v = fn(); if (v) return v; if (Date.now() > end) throw new Error("waited " + ms + " ms for " + what); await new Promise(r => setTimeout(r, 20)); }
};
`

// viewport sets the window size (mobile: a phone's).
func (p *page) viewport(width, height int, mobile bool) {
	p.t.Helper()
	if _, err := p.call("Emulation.setDeviceMetricsOverride", map[string]any{"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}); err != nil {
		p.t.Fatal(err)
	}
}

// screenshot writes the page as a PNG file into dir.
func (p *page) screenshot(dir, name string) {
	p.t.Helper()
	raw, err := p.call("Page.captureScreenshot", map[string]any{"format": "png"})
	if err != nil {
		p.t.Fatal(err)
	}
	var r struct{ Data string }
	json.Unmarshal(raw, &r)
	png, err := base64.StdEncoding.DecodeString(r.Data)
	if err != nil || len(png) < 1000 {
		p.t.Fatalf("screenshot %s: %d bytes (%v)", name, len(png), err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// navigate loads url in the tab.
func (p *page) navigate(url string) {
	p.t.Helper()
	if _, err := p.call("Page.navigate", map[string]any{"url": url}); err != nil {
		p.t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
}
