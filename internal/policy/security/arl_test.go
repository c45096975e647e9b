package security

import (
	"context"
	"net/http/httptest"
	"testing"

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
