package security

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/apigw/apigw/internal/config"
	"github.com/apigw/apigw/internal/policy/ratelimit"
)

// profileFrom loads a bindings file and compiles its profile "p".
func profileFrom(t *testing.T, src string) *Profile {
	t.Helper()
	b, errs := config.Parse([]byte(src))
	if errs.Err() != nil {
		t.Fatalf("%v", errs.Err())
	}
	p, err := Compile("p", b.SecurityProfiles["p"], b)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type req struct {
	method, target, ip string
	header             map[string]string
}

func (q req) build() *http.Request {
	m := q.method
	if m == "" {
		m = "GET"
	}
	r := httptest.NewRequest(m, "http://api.example.com"+q.target, nil)
	r.RemoteAddr = net.JoinHostPort(q.ip, "5000")
	if q.ip == "" {
		r.RemoteAddr = "192.0.2.1:5000"
	}
	for k, v := range q.header {
		if k == "Host" {
			r.Host = v
			continue
		}
		r.Header.Set(k, v)
	}
	return r
}

func verdict(p *Profile, q req) Verdict {
	return p.Check(context.Background(), q.build(), ratelimit.NewLocal())
}

// denyIf is a profile that allows by default and denies what the
// condition matches.
func denyIf(cond string) string {
	return `match_lists:
  strs: {item_type: STR, items: [{value: alpha}, {value: beta}]}
  res: {item_type: REG_EXP, items: [{value: "/ad+min"}]}
  ips: {item_type: IP, items: [{value: 198.51.100.0/24}, {value: 2001:db8::1}]}
security_profiles:
  p:
    default_action: ALLOW
    security_rules:
      - name: r
        priority: 1
        rule_condition:
          action: DENY
          condition:
` + indent(cond, "            ") + "\n"
}

func indent(s, pre string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, l := range lines {
		lines[i] = pre + l
	}
	return strings.Join(lines, "\n")
}

func TestCloudConditions(t *testing.T) {
	for _, c := range []struct {
		name, cond string
		deny       []req
		allow      []req
	}{
		{"exact header", `headers: [{name: x-role, value: {exact_match: admin}}]`,
			[]req{{target: "/", header: map[string]string{"X-Role": "admin"}}},
			[]req{{target: "/", header: map[string]string{"X-Role": "Admin"}}, {target: "/"}}},
		{"exact_not_match on an absent header", `headers: [{name: x-role, value: {exact_not_match: admin}}]`,
			[]req{{target: "/"}, {target: "/", header: map[string]string{"X-Role": "user"}}},
			[]req{{target: "/", header: map[string]string{"X-Role": "admin"}}}},
		{"prefix path, normalised", `request_uri: {path: {prefix_match: /admin}}`,
			[]req{{target: "/admin/x"}, {target: "//admin"}, {target: "/%61dmin"}, {target: "/x/../admin"}},
			[]req{{target: "/public/admin"}, {target: "/"}}},
		{"prefix_not_match", `request_uri: {path: {prefix_not_match: /api/}}`,
			[]req{{target: "/other"}},
			[]req{{target: "/api/v1"}}},
		{"regex is anchored", `request_uri: {path: {pire_regex_match: "/v[0-9]+/users"}}`,
			[]req{{target: "/v12/users"}},
			[]req{{target: "/v12/users/7"}, {target: "/x/v1/users"}}},
		{"regex not match", `headers: [{name: user-agent, value: {pire_regex_not_match: "Mozilla/.*"}}]`,
			[]req{{target: "/", header: map[string]string{"User-Agent": "curl/8"}}, {target: "/"}},
			[]req{{target: "/", header: map[string]string{"User-Agent": "Mozilla/5.0"}}}},
		{"defined", `headers: [{name: x-debug, value: {defined: true}}]`,
			[]req{{target: "/", header: map[string]string{"X-Debug": ""}}},
			[]req{{target: "/"}}},
		{"not defined", `headers: [{name: authorization, value: {defined: false}}]`,
			[]req{{target: "/"}},
			[]req{{target: "/", header: map[string]string{"Authorization": "Bearer x"}}}},
		{"query", `request_uri: {queries: [{key: debug, value: {exact_match: "1"}}]}`,
			[]req{{target: "/?debug=1"}, {target: "/?debug=0&debug=1"}},
			[]req{{target: "/?debug=0"}, {target: "/"}}},
		{"cookie", `cookies: [{name: session, value: {prefix_match: test-}}]`,
			[]req{{target: "/", header: map[string]string{"Cookie": "a=1; session=test-9"}}},
			[]req{{target: "/", header: map[string]string{"Cookie": "session=prod"}}, {target: "/"}}},
		{"authority, any case", `authority: {authority_matcher: {exact_match: Admin.Example.com}}`,
			[]req{{target: "/", header: map[string]string{"Host": "ADMIN.example.com"}}},
			[]req{{target: "/", header: map[string]string{"Host": "api.example.com"}}}},
		{"deprecated authorities: any", `authority: {authorities: [{exact_match: a.test}, {exact_match: b.test}]}`,
			[]req{{target: "/", header: map[string]string{"Host": "b.test"}}},
			[]req{{target: "/", header: map[string]string{"Host": "c.test"}}}},
		{"method", `http_method: {http_method_matcher: {exact_match: DELETE}}`,
			[]req{{method: "DELETE", target: "/"}},
			[]req{{method: "GET", target: "/"}}},
		{"deprecated methods", `http_method: {http_methods: [{exact_match: PUT}, {exact_match: PATCH}]}`,
			[]req{{method: "PATCH", target: "/"}},
			[]req{{method: "POST", target: "/"}}},
		{"ip ranges: CIDR, address, a-b", `source_ip: {ip_ranges_match: {ip_ranges: [10.0.0.0/8, 203.0.113.9, 192.168.1.10-192.168.1.20, "2001:db8::/32"]}}`,
			[]req{{target: "/", ip: "10.1.2.3"}, {target: "/", ip: "203.0.113.9"}, {target: "/", ip: "192.168.1.15"}, {target: "/", ip: "2001:db8::5"}},
			[]req{{target: "/", ip: "192.168.1.21"}, {target: "/", ip: "203.0.113.10"}, {target: "/", ip: "11.0.0.1"}}},
		{"ip ranges not match", `source_ip: {ip_ranges_not_match: {ip_ranges: [10.0.0.0/8]}}`,
			[]req{{target: "/", ip: "8.8.8.8"}},
			[]req{{target: "/", ip: "10.9.9.9"}}},
		{"ip lists", `source_ip: {ip_lists_match: {list_ids: [ips]}}`,
			[]req{{target: "/", ip: "198.51.100.77"}, {target: "/", ip: "2001:db8::1"}},
			[]req{{target: "/", ip: "198.51.101.1"}}},
		{"string lists", `headers: [{name: x-team, value: {lists_matchers: {str_lists_match: {list_ids: [strs]}}}}]`,
			[]req{{target: "/", header: map[string]string{"X-Team": "beta"}}},
			[]req{{target: "/", header: map[string]string{"X-Team": "gamma"}}}},
		{"regexp lists", `request_uri: {path: {lists_matchers: {reg_exp_lists_match: {list_ids: [res]}}}}`,
			[]req{{target: "/addddmin"}},
			[]req{{target: "/addmin/x"}}},
		{"every part must match", "http_method: {http_method_matcher: {exact_match: POST}}\nrequest_uri: {path: {prefix_match: /upload}}",
			[]req{{method: "POST", target: "/upload/1"}},
			[]req{{method: "GET", target: "/upload/1"}, {method: "POST", target: "/other"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := profileFrom(t, denyIf(c.cond))
			for _, q := range c.deny {
				if v := verdict(p, q); v.Status != http.StatusForbidden {
					t.Errorf("%+v: not denied (%+v)", q, v.Decision)
				}
			}
			for _, q := range c.allow {
				if v := verdict(p, q); v.Status != 0 {
					t.Errorf("%+v: denied by %+v", q, v.Decision)
				}
			}
		})
	}
}

func TestCloudRulesOrderDryRunAndPages(t *testing.T) {
	p := profileFrom(t, `custom_pages:
  teapot: {http_code: 418, content_type: text/plain, content: "no tea", headers: {X-Why: rule}}
security_profiles:
  p:
    default_action: DENY
    security_rules:
      - name: later-allow
        priority: "200"
        rule_condition: {action: ALLOW, condition: {request_uri: {path: {prefix_match: /}}}}
      - name: first-deny
        priority: "100"
        custom_page_id: teapot
        rule_condition: {action: DENY, condition: {request_uri: {path: {prefix_match: /tea}}}}
      - name: watch
        priority: "50"
        dry_run: true
        rule_condition: {action: DENY, condition: {request_uri: {path: {prefix_match: /}}}}
`)
	v := verdict(p, req{target: "/tea"})
	if v.Status != 418 || v.Page.Body != "no tea" || v.Page.Headers["X-Why"] != "rule" || v.Decision.Rule != "first-deny" {
		t.Fatalf("the lower priority first, with its custom page: %+v %+v", v, v.Decision)
	}
	v = verdict(p, req{target: "/x"})
	if v.Status != 0 || v.Decision.Rule != "later-allow" || len(v.Decision.DryRuns) != 1 || v.Decision.DryRuns[0] != "watch:DENY" {
		t.Fatalf("a dry run never blocks, and is noted: %+v %+v", v, v.Decision)
	}
	d := profileFrom(t, "security_profiles:\n  p: {default_action: DENY}\n")
	v = verdict(d, req{target: "/", header: map[string]string{"X-Request-Id": "<rid>"}})
	if v.Status != 403 || !strings.Contains(v.Page.Body, "403 Forbidden") || !strings.Contains(v.Page.Body, "&lt;rid&gt;") || v.Decision.Rule != "" {
		t.Fatalf("the default DENY answers the block page: %+v", v)
	}
}

// TestManagedListsFallBack: a list the bindings do not have (one of the
// cloud's managed lists) loads with a warning and resolves toward the
// fallback.
func TestManagedListsFallBack(t *testing.T) {
	src := "security_profiles:\n  p:\n    default_action: ALLOW\n    security_rules:\n      - {name: a, priority: 5, rule_condition: {action: DENY, condition: {source_ip: {ip_lists_match: {list_ids: [yandex-managed-bad-ips]}}}}}\n"
	_, errs := config.Parse([]byte(src))
	if errs.Err() != nil || len(errs.Warnings()) == 0 || !strings.Contains(errs.Warnings()[0].Msg, "managed lists") {
		t.Fatalf("%v %v", errs.Err(), errs.Warnings())
	}
	if v := verdict(profileFrom(t, src), req{target: "/"}); v.Status != 403 {
		t.Fatalf("a DENY rule on a managed list under the deny fallback: %+v", v.Decision)
	}
	if v := verdict(profileFrom(t, src+"sws: {fallback: allow}\n"), req{target: "/"}); v.Status != 0 {
		t.Fatalf("under the allow fallback: %+v", v.Decision)
	}
}

func TestCloudFallback(t *testing.T) {
	smart := `security_profiles:
  p:
    default_action: ALLOW
    security_rules:
      - name: smart
        priority: 1
        smart_protection: {mode: FULL, condition: {request_uri: {path: {prefix_match: /login}}}}
      - name: geo
        priority: 2
        rule_condition: {action: DENY, condition: {verified_bot: {verified: {match: false}}, request_uri: {path: {prefix_match: /geo}}}}
`
	deny := profileFrom(t, smart)
	allow := profileFrom(t, smart+"sws: {fallback: allow}\n")
	for _, c := range []struct {
		p      *Profile
		target string
		status int
	}{
		{deny, "/login", 403}, {deny, "/geo", 403}, {deny, "/other", 0},
		{allow, "/login", 0}, {allow, "/geo", 0},
	} {
		if v := verdict(c.p, req{target: c.target}); v.Status != c.status {
			t.Errorf("%s: %d, want %d (%+v)", c.target, v.Status, c.status, v.Decision)
		}
	}
}

func TestAnalyzeRequestBody(t *testing.T) {
	p := profileFrom(t, "security_profiles:\n  p: {default_action: ALLOW, analyze_request_body: {size_limit: 8, size_limit_action: DENY}}\n")
	r := req{method: "POST", target: "/"}.build()
	r.ContentLength = 8*1024 + 1
	if v := p.Check(context.Background(), r, ratelimit.NewLocal()); v.Status != 403 {
		t.Fatalf("a body over the limit: %+v", v)
	}
	r.ContentLength = 8 * 1024
	if v := p.Check(context.Background(), r, ratelimit.NewLocal()); v.Status != 0 {
		t.Fatalf("a body at the limit: %+v", v)
	}
}

// TestTerraformShape: the same profile written as Terraform's blocks
// (singular names, one-element lists) decides the same.
func TestTerraformShape(t *testing.T) {
	p := profileFrom(t, `security_profiles:
  p:
    default_action: ALLOW
    security_rule:
      - name: tf
        priority: 10
        rule_condition:
          - action: DENY
            condition:
              - request_uri:
                  - path:
                      - prefix_match: /admin
                header:
                  - name: x-a
                    value: [{exact_match: "1"}]
`)
	if v := verdict(p, req{target: "/admin", header: map[string]string{"X-A": "1"}}); v.Status != 403 {
		t.Fatalf("Terraform's shape: %+v", v.Decision)
	}
	if v := verdict(p, req{target: "/admin"}); v.Status != 0 {
		t.Fatalf("Terraform's shape, header absent: %+v", v.Decision)
	}
}

func TestCloudProfileErrors(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"security_profiles:\n  p:\n    default_action: ALLOW\n    security_rules:\n      - name: r\n        priority: 1\n        rule_condition: {action: DENY, condition: {request_uri: {pth: {exact_match: /}}}}\n", `7:66: security_profiles.p.security_rules[0].rule_condition.condition.request_uri: unknown key "pth"`},
		{"security_profiles:\n  p:\n    default_action: ALLOW\n    security_rules:\n      - name: r\n        priority: 1\n        rule_condition: {action: DENY, condition: {request_uri: {pth: {exact_match: /}}}}\n", `did you mean "path"`},
		{"security_profiles:\n  p: {default_action: ALLOW, allow: [10.0.0.0/8]}\n", "mixes the short form"},
		{"security_profiles:\n  p: {default_action: MAYBE}\n", "must be ALLOW or DENY"},
		{"security_profiles:\n  p:\n    default_action: ALLOW\n    security_rules:\n      - {name: a, priority: 5, rule_condition: {action: DENY}}\n      - {name: b, priority: '5', rule_condition: {action: DENY}}\n", "priorities are unique"},
		{"security_profiles:\n  p:\n    default_action: ALLOW\n    security_rules:\n      - {name: a, priority: 5, rule_condition: {action: DENY, condition: {headers: [{name: x, value: {pire_regex_match: '(a'}}]}}}\n", "RE2"},
		{"security_profiles:\n  p:\n    default_action: ALLOW\n    security_rules:\n      - {name: a, priority: 5, rule_condition: {action: DENY, condition: {source_ip: {ip_ranges_match: {ip_ranges: [10.0.0.5-10.0.0.1]}}}}}\n", "a first"},
		{"security_profiles:\n  p: {default_action: DENY, custom_page_id: nope}\n", "not in custom_pages"},
		{"security_profiles:\n  p:\n    default_action: ALLOW\n    security_rules:\n      - {name: a, priority: 5}\n", "exactly one of rule_condition"},
	} {
		_, errs := config.Parse([]byte(c.src))
		if errs.Err() == nil || !strings.Contains(errs.Err().Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.src, errs.Err(), c.want)
		}
	}
	// A pasted profile's read-only fields load.
	_, errs := config.Parse([]byte("security_profiles:\n  p:\n    id: fev0000\n    folder_id: b1g\n    cloud_id: b1g\n    name: prod\n    created_at: \"2024-01-01T00:00:00Z\"\n    log_options: {enable: false}\n    default_action: ALLOW\n"))
	if errs.Err() != nil {
		t.Fatal(errs.Err())
	}
}

// TestCustomPagePlaceholders: the cloud's presets, escaped for the page.
func TestCustomPagePlaceholders(t *testing.T) {
	p := profileFrom(t, `custom_pages:
  json: {http_code: 403, content_type: application/json, content: '{"id": "%unique_key%", "ip": "%client_ip%", "at": "%request_time%"}'}
  html: {content: '<p>%unique_key%</p>'}
security_profiles:
  p:
    default_action: ALLOW
    security_rules:
      - {name: j, priority: 1, custom_page_id: json, rule_condition: {action: DENY, condition: {request_uri: {path: {exact_match: /j}}}}}
      - {name: h, priority: 2, custom_page_id: html, rule_condition: {action: DENY, condition: {request_uri: {path: {exact_match: /h}}}}}
`)
	v := verdict(p, req{target: "/j", ip: "203.0.113.7", header: map[string]string{"X-Request-Id": `a"b`}})
	if !strings.Contains(v.Page.Body, `"id": "a\"b"`) || !strings.Contains(v.Page.Body, `"ip": "203.0.113.7"`) || strings.Contains(v.Page.Body, "%request_time%") {
		t.Fatalf("JSON page: %s", v.Page.Body)
	}
	v = verdict(p, req{target: "/h", header: map[string]string{"X-Request-Id": "<x>"}})
	if v.Page.Body != "<p>&lt;x&gt;</p>" || v.Status != 403 {
		t.Fatalf("HTML page: %d %s", v.Status, v.Page.Body)
	}
	_, errs := config.Parse([]byte("custom_pages:\n  x: {content: a, headers: {Content-Type: text/plain}}\n"))
	if errs.Err() == nil {
		t.Fatal("a template setting Content-Type in headers loaded")
	}
}

func TestQueryValuesAgreesWithParseQuery(t *testing.T) {
	for _, raw := range []string{"", "a=1", "a=1&a=2&b=3", "a", "a=", "a=%zz&a=ok", "x;y=1&a=1", "%61=enc&a=%20sp+ace", "&&a=1&", "b=1"} {
		want := map[string][]string(mustParseQuery(raw))
		for _, key := range []string{"a", "b", "x"} {
			got := queryValues(raw, key)
			if strings.Join(got, "\x00") != strings.Join(want[key], "\x00") || len(got) != len(want[key]) {
				t.Errorf("%q key %s: %q, url.ParseQuery %q", raw, key, got, want[key])
			}
		}
	}
}

func mustParseQuery(raw string) map[string][]string {
	v, _ := url.ParseQuery(raw)
	return v
}
