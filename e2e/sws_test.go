package e2e

import (
	"encoding/json"
	"strconv"
	"strings"
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
