package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// TestCloudSecurityProfile: a profile pasted in the cloud's shape, named
// by the spec, protects the gateway: a DENY rule answers the block page
// (or its custom page), a dry run only logs, the access log carries the
// verdict.
func TestCloudSecurityProfile(t *testing.T) {
	dir := t.TempDir()
	spec := writeFile(t, dir, "api.yaml", `openapi: 3.0.0
info: {title: sws, version: '1'}
x-yc-apigateway:
  smartWebSecurity:
    securityProfileId: fevprofile0000000001
paths:
  /{p+}:
    get:
      parameters: [{name: p, in: path, required: true, schema: {type: string}}]
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': ok}}
`)
	cfg := writeFile(t, dir, "apigw.yaml", `custom_pages:
  teapot: {http_code: 418, content_type: text/plain, content: "short and stout"}
security_profiles:
  fevprofile0000000001:
    id: fevprofile0000000001
    folder_id: b1gfolder
    name: pasted
    default_action: ALLOW
    security_rules:
      - name: block-admin
        priority: "1000"
        rule_condition:
          action: DENY
          condition:
            request_uri: {path: {prefix_match: /admin}}
      - name: tea
        priority: "2000"
        custom_page_id: teapot
        rule_condition:
          action: DENY
          condition:
            headers: [{name: x-want, value: {exact_match: tea}}]
      - name: watch-bots
        priority: "500"
        dry_run: true
        rule_condition:
          action: DENY
          condition:
            headers: [{name: user-agent, value: {pire_regex_match: ".*bot.*"}}]
`)
	g := start(t, "--spec", spec, "--config", cfg)
	st, h, body := get(t, g.URL+"/admin/users")
	if st != 403 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !strings.Contains(body, "blocked by the security profile") {
		t.Fatalf("a DENY rule: %d %s %q", st, h.Get("Content-Type"), body)
	}
	if st, _, body := get(t, g.URL+"//admin"); st != 403 {
		t.Fatalf("//admin got past the rule: %d %q", st, body)
	}
	if st, _, body := get(t, g.URL+"/x", "X-Want", "tea"); st != 418 || body != "short and stout" {
		t.Fatalf("a custom page: %d %q", st, body)
	}
	if st, _, body := get(t, g.URL+"/x", "User-Agent", "a-bot/1"); st != 200 || body != "ok" {
		t.Fatalf("a dry run blocked: %d %q", st, body)
	}
	if !g.waitLog(`"sws_action":"ALLOW","sws_rule":"","sws_dry_run":"watch-bots:DENY"`, 5e9) {
		t.Fatalf("the access log lacks the dry run's verdict:\n%s", g.Logs())
	}
	if !g.waitLog(`"sws_action":"DENY","sws_rule":"block-admin"`, 5e9) {
		t.Fatalf("the access log lacks the rule:\n%s", g.Logs())
	}
	// The console's exchange shows the verdict.
	_, _, list := get(t, g.Admin+"/console/api/exchanges")
	var rows []struct {
		ID   int64
		Path string
	}
	json.Unmarshal([]byte(list), &rows)
	found := false
	for _, row := range rows {
		if row.Path == "/admin/users" {
			_, _, one := get(t, g.Admin+"/console/api/exchanges/"+strconv.FormatInt(row.ID, 10))
			found = strings.Contains(one, `"sws":{"action":"DENY","rule":"block-admin"}`)
			if !found {
				t.Errorf("the console's exchange: %s", one)
			}
		}
	}
	if !found {
		t.Errorf("the console kept no /admin/users exchange: %s", list)
	}
	_, _, metrics := get(t, g.Admin+"/metrics")
	for _, line := range []string{
		`apigw_sws_verdicts_total{action="DENY",dry_run="false",profile="fevprofile0000000001",rule="block-admin"} 2`,
		`apigw_sws_verdicts_total{action="DENY",dry_run="true",profile="fevprofile0000000001",rule="watch-bots"} 1`,
		`apigw_sws_verdicts_total{action="DENY",dry_run="false",profile="fevprofile0000000001",rule="tea"} 1`,
	} {
		if !strings.Contains(metrics, line) {
			t.Errorf("/metrics lacks %s", line)
		}
	}
}

// TestCloudWAF: a WAF profile in front of a gateway, over real sockets:
// an injection is refused with the block page, a clean request and a
// clean JSON body reach the backend whole, and 2.5 MB octet-stream
// uploads from 16 clients at once do not grow the process by their size
// (the WAF never reads a body it does not parse).
func TestCloudWAF(t *testing.T) {
	dir := t.TempDir()
	spec := writeFile(t, dir, "api.yaml", `openapi: 3.0.0
info: {title: waf, version: '1'}
x-yc-apigateway:
  smartWebSecurity: {securityProfileId: p}
paths:
  /items:
    get:
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': items}}
    post:
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': '{body}'}}
  /upload:
    put:
      x-yc-apigateway-integration: {type: dummy, http_code: 201, content: {'*': stored}}
`)
	cfg := writeFile(t, dir, "apigw.yaml", `waf_profiles:
  crs:
    rule_sets: [{core_rule_set: {inbound_anomaly_score: 5, paranoia_level: 1}, is_enabled: true, priority: 1}]
security_profiles:
  p:
    default_action: ALLOW
    security_rules:
      - {name: waf, priority: 1, waf: {mode: API, waf_profile_id: crs}}
`)
	g := start(t, "--spec", spec, "--config", cfg)
	if st, h, body := get(t, g.URL+"/items?id=1%27%20OR%20%271%27%3D%271"); st != 403 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Fatalf("a SQL injection: %d %q", st, body)
	}
	if st, _, body := get(t, g.URL+"/items?id=42&sort=name"); st != 200 || body != "items" {
		t.Fatalf("a clean request: %d %q", st, body)
	}
	if st, _, body := send(t, "POST", g.URL+"/items", `{"name": "scarf", "colour": "blue"}`, "Content-Type", "application/json"); st != 200 {
		t.Fatalf("a clean JSON body: %d %q", st, body)
	}
	if st, _, _ := send(t, "POST", g.URL+"/items", `{"q": "1' UNION SELECT password FROM users--"}`, "Content-Type", "application/json"); st != 403 {
		t.Fatalf("an injection in a JSON body: %d", st)
	}
	if !g.waitLog(`"sws_waf_reason":"the inbound anomaly score reached the threshold`, 5e9) {
		t.Fatalf("the access log lacks the WAF's rules:\n%s", g.Logs())
	}
	// Uploads the WAF does not parse.
	before := rssKB(g.cmd.Process.Pid)
	peak := watchRSS(g.cmd.Process.Pid)
	blob := strings.Repeat("x", 2_500_000)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range 16 {
		wg.Go(func() {
			for range 4 {
				req, _ := http.NewRequest("PUT", g.URL+"/upload", strings.NewReader(blob))
				req.Header.Set("Content-Type", "application/octet-stream")
				res, err := http.DefaultClient.Do(req)
				if err != nil || res.StatusCode != 201 {
					failed.Add(1)
				}
				if res != nil {
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
			}
		})
	}
	wg.Wait()
	top := peak()
	t.Logf("RSS %d MB before, peak %d MB during 64 uploads of 2.5 MB from 16 clients", before/1024, top/1024)
	if n := failed.Load(); n > 0 {
		t.Fatalf("%d uploads failed", n)
	}
	if grow := top - before; grow > 100*1024 {
		t.Fatalf("RSS grew by %d MB for 40 MB in flight", grow/1024)
	}
}
