package security

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/apigw/apigw/internal/config"
	"github.com/apigw/apigw/internal/policy/ratelimit"
)

// TestARLTutorial is the API Gateway + SWS tutorial's scenario: a quota of
// one request per 60 s per token: a repeat is 429, another token is
// served, no token is a group of its own.
func TestARLTutorial(t *testing.T) {
	p := profileFrom(t, `advanced_rate_limiter_profiles:
  arl:
    advanced_rate_limiter_rules:
      - name: per-token
        priority: "1"
        dynamic_quota:
          action: DENY
          limit: "1"
          period: "60"
          characteristics:
            - key_characteristic: {type: QUERY_KEY, value: token}
      - name: static-admin
        priority: "2"
        static_quota:
          action: DENY
          limit: 2
          period: 60
          condition: {request_uri: {path: {prefix_match: /admin}}}
security_profiles:
  p:
    default_action: ALLOW
    advanced_rate_limiter_profile_id: arl
    security_rules:
      - name: deny-bad
        priority: 1
        rule_condition: {action: DENY, condition: {request_uri: {path: {exact_match: /bad}}}}
`)
	store := ratelimit.NewLocal()
	try := func(target string) int {
		return p.Check(context.Background(), httptest.NewRequest("GET", "http://api.test"+target, nil), store).Status
	}
	for _, c := range []struct {
		target string
		want   int
	}{
		{"/x?token=a", 0}, {"/x?token=a", 429}, {"/y?token=a", 429},
		{"/x?token=b", 0},
		{"/x", 0}, {"/x", 429}, // no token: its own group
		{"/bad?token=c", 403}, {"/x?token=c", 0}, // a denied request is not counted
	} {
		if got := try(c.target); got != c.want {
			t.Errorf("%s: %d, want %d", c.target, got, c.want)
		}
	}
}

func TestARLDryRunNeverDenies(t *testing.T) {
	p := profileFrom(t, `advanced_rate_limiter_profiles:
  arl:
    advanced_rate_limiter_rule:
      - name: watch
        priority: 1
        dry_run: true
        static_quota: {action: DENY, limit: 1, period: 60}
security_profiles:
  p: {default_action: ALLOW, advanced_rate_limiter_profile_id: arl}
`)
	store := ratelimit.NewLocal()
	for i := range 3 {
		v := p.Check(context.Background(), httptest.NewRequest("GET", "http://api.test/", nil), store)
		if v.Status != 0 {
			t.Fatalf("request %d: a dry-run quota denied", i)
		}
		if i > 0 && (len(v.Decision.ARLDryRuns) != 1 || v.Decision.ARLDryRuns[0] != "watch:DENY") {
			t.Fatalf("request %d: the dry run's verdict is not noted: %+v", i, v.Decision)
		}
	}
}

// TestTutorialProfileFromTerraform is the API Gateway + SWS tutorial's
// Terraform (yandex-cloud/docs), its blocks written as YAML as they are
// (security_rule, advanced_rate_limiter_rule, characteristic): an IP
// filter that allows, a Smart Protection rule (the fallback), and an ARL
// profile of one request per minute per token.
func TestTutorialProfileFromTerraform(t *testing.T) {
	src := `advanced_rate_limiter_profiles:
  my-arl-profile:
    description: ARL profile which sets requests limit and groups requests by query param
    name: arl
    folder_id: b1gfolder
    advanced_rate_limiter_rule:
      - description: Rule that sets requests limit and groups requests by query param
        name: my-arl-rule
        priority: 999900
        dynamic_quota:
          action: DENY
          limit: 1
          period: 60
          characteristic:
            key_characteristic:
              type: QUERY_KEY
              value: token
security_profiles:
  my-sws-profile:
    description: Smart Web Security profile which includes ARL profile and sets IP filter
    name: sws
    default_action: ALLOW
    advanced_rate_limiter_profile_id: my-arl-profile
    security_rule:
      - name: smart-protection-rule
        priority: 999900
        smart_protection:
          mode: API
      - name: ip-filter-rule
        priority: 999700
        rule_condition:
          action: ALLOW
          condition:
            source_ip:
              ip_ranges_match:
                ip_ranges: [203.0.113.10, 198.51.100.0/24]
`
	for _, fallback := range []string{"deny", "allow"} {
		b, errs := config.Parse([]byte(src + "sws: {fallback: " + fallback + "}\n"))
		if errs.Err() != nil {
			t.Fatal(errs.Err())
		}
		p, err := Compile("my-sws-profile", b.SecurityProfiles["my-sws-profile"], b)
		if err != nil {
			t.Fatal(err)
		}
		store := ratelimit.NewLocal()
		try := func(target, ip string) int {
			r := httptest.NewRequest("GET", "http://api.test"+target, nil)
			r.RemoteAddr = ip + ":1"
			return p.Check(context.Background(), r, store).Status
		}
		allowed := []struct {
			target string
			want   int
		}{{"/?token=a", 0}, {"/?token=a", 429}, {"/?token=b", 0}, {"/", 0}, {"/", 429}}
		for _, c := range allowed {
			if got := try(c.target, "203.0.113.10"); got != c.want {
				t.Errorf("fallback %s, an allowed address, %s: %d, want %d", fallback, c.target, got, c.want)
			}
		}
		// Another address reaches the Smart Protection rule.
		want := 403
		if fallback == "allow" {
			want = 0
		}
		if got := try("/?token=z", "192.0.2.50"); got != want {
			t.Errorf("fallback %s, another address: %d, want %d", fallback, got, want)
		}
	}
}

// TestARLDenialUsesTheProfilesTemplate: the profile's response template
// answers the rate limiter's denials too.
func TestARLDenialUsesTheProfilesTemplate(t *testing.T) {
	p := profileFrom(t, `custom_pages:
  slow: {http_code: 429, content_type: application/json, content: '{"error": "slow down", "id": "%unique_key%"}', headers: {Retry-After: "60"}}
advanced_rate_limiter_profiles:
  arl:
    advanced_rate_limiter_rules:
      - {name: one, priority: 1, static_quota: {action: DENY, limit: 1, period: 60}}
security_profiles:
  p: {default_action: ALLOW, custom_page_id: slow, advanced_rate_limiter_profile_id: arl}
`)
	store := ratelimit.NewLocal()
	try := func() Verdict {
		r := httptest.NewRequest("GET", "http://api.test/", nil)
		r.Header.Set("X-Request-Id", "rid-1")
		return p.Check(context.Background(), r, store)
	}
	if v := try(); v.Status != 0 {
		t.Fatalf("the first request: %+v", v.Decision)
	}
	v := try()
	if v.Status != 429 || v.Page == nil || v.Page.Body != `{"error": "slow down", "id": "rid-1"}` || v.Decision.ARLRule != "one" {
		t.Fatalf("the second: %d %+v %+v", v.Status, v.Page, v.Decision)
	}
}
