package security

import (
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/apigw/apigw/internal/policy/ratelimit"
)

const hostileProfile = `waf_profiles:
  crs:
    rule_sets: [{core_rule_set: {inbound_anomaly_score: 5, paranoia_level: 1}, is_enabled: true, priority: 1}]
security_profiles:
  p:
    default_action: ALLOW
    security_rules:
      - name: agent
        priority: 1
        rule_condition: {action: DENY, condition: {headers: [{name: x-big, value: {pire_regex_match: "(a|aa)*b"}}]}}
      - name: waf
        priority: 2
        waf: {mode: FULL, waf_profile_id: crs}
`

// TestWAFRefusesABodyItCannotParse: JSON that does not parse is denied
// (Coraza's recommended rule 200002: an unparsed body would hide its
// arguments from every rule).
func TestWAFRefusesABodyItCannotParse(t *testing.T) {
	p := profileFrom(t, hostileProfile)
	r := httptest.NewRequest("POST", "http://api.test/x", strings.NewReader(`{"a": [1, 2,`))
	r.Header.Set("Content-Type", "application/json")
	if v := p.Check(context.Background(), r, ratelimit.NewLocal()); v.Status != 403 {
		t.Fatalf("a broken JSON body: %+v", v.Decision)
	}
}

// TestWAFMemoryIsBounded: 2.5 MB bodies from 32 clients at once: an
// octet-stream body is never read by the WAF, a JSON one only up to the
// profile's limit (128 KB by default); what each request allocates stays
// far below its body.
func TestWAFMemoryIsBounded(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts under -race are not the program's")
	}
	p := profileFrom(t, hostileProfile)
	big := bytes.Repeat([]byte("A"), 2_500_000)
	for _, ct := range []string{"application/octet-stream", "application/json"} {
		body := big
		if ct == "application/json" {
			body = append(append([]byte(`{"a": "`), big[:len(big)-20]...), `"}`...)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		const clients, each = 32, 4
		var wg sync.WaitGroup
		for range clients {
			wg.Go(func() {
				for range each {
					r := httptest.NewRequest("POST", "http://api.test/x", bytes.NewReader(body))
					r.Header.Set("Content-Type", ct)
					p.Check(context.Background(), r, ratelimit.NewLocal())
					io.Copy(io.Discard, r.Body) // the backend reads the rest
				}
			})
		}
		wg.Wait()
		runtime.ReadMemStats(&after)
		per := (after.TotalAlloc - before.TotalAlloc) / (clients * each)
		t.Logf("%s, 2.5 MB: %d KB allocated per request", ct, per/1024)
		if per > 1<<20 {
			t.Errorf("%s: %d KB allocated per request of 2.5 MB: the WAF buffers what it should not", ct, per/1024)
		}
	}
}

// TestRegexConditionOnAHugeHeader: RE2 runs in time linear in the input;
// a 1 MB header against a pattern that backtracking engines take
// exponential time on is decided (net/http's server caps headers at 64 KB
// before apigw sees them; the matcher does not rely on it).
func TestRegexConditionOnAHugeHeader(t *testing.T) {
	p := profileFrom(t, strings.Replace(hostileProfile, "      - name: waf\n        priority: 2\n        waf: {mode: FULL, waf_profile_id: crs}\n", "", 1))
	r := httptest.NewRequest("GET", "http://api.test/x", nil)
	r.Header.Set("X-Big", strings.Repeat("a", 1<<20))
	if v := p.Check(context.Background(), r, ratelimit.NewLocal()); v.Status != 0 {
		t.Fatalf("no b at the end: %+v", v.Decision)
	}
	r.Header.Set("X-Big", strings.Repeat("a", 1<<20)+"b")
	if v := p.Check(context.Background(), r, ratelimit.NewLocal()); v.Status != 403 {
		t.Fatalf("a b at the end: %+v", v.Decision)
	}
}
