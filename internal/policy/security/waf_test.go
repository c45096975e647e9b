package security

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/apigw/apigw/internal/policy/ratelimit"
)

const wafProfile = `waf_profiles:
  crs:
    rule_sets:
      - core_rule_set: {inbound_anomaly_score: %THRESHOLD%, paranoia_level: 1}
        is_enabled: true
        priority: "1"
    analyze_request_body: {is_enabled: true, size_limit: 8, size_limit_action: %BODY%}
    rules:
      - {rule_id: owasp-crs-v4.x.0-id942100-sqli, is_enabled: true, is_blocking: %BLOCKING%}
      - {rule_id: owasp-crs-v4.x.0-id941100-xss, is_enabled: false}
    exclusion_rules:
      - name: uploads
        condition: {request_uri: {path: {prefix_match: /upload}}}
        exclude_rules: {exclude_all: true}
security_profiles:
  p:
    default_action: ALLOW
    security_rules:
      - name: waf
        priority: 10
        waf: {mode: FULL, waf_profile_id: crs}
      - name: after-waf
        priority: 20
        rule_condition: {action: DENY, condition: {request_uri: {path: {prefix_match: /after}}}}
`

func wafTestProfile(t *testing.T, threshold, body, blocking string) *Profile {
	src := strings.NewReplacer("%THRESHOLD%", threshold, "%BODY%", body, "%BLOCKING%", blocking).Replace(wafProfile)
	return profileFrom(t, src)
}

func checkReq(p *Profile, r *http.Request) Verdict {
	return p.Check(context.Background(), r, ratelimit.NewLocal())
}

func TestWAF(t *testing.T) {
	p := wafTestProfile(t, "5", "DENY", "false")
	sqli := httptest.NewRequest("GET", "http://api.test/items?id=1%27%20OR%20%271%27%3D%271", nil)
	if v := checkReq(p, sqli); v.Status != 403 || v.Decision.Rule != "waf" || len(v.Decision.WafRules) == 0 {
		t.Fatalf("a SQL injection in the query: %+v %+v", v, v.Decision)
	}
	clean := httptest.NewRequest("GET", "http://api.test/items?id=42", nil)
	if v := checkReq(p, clean); v.Status != 0 || v.Decision.Action != "ALLOW" {
		t.Fatalf("a clean request: %+v %+v", v, v.Decision)
	}
	// A clean request goes on to the next rules.
	if v := checkReq(p, httptest.NewRequest("GET", "http://api.test/after", nil)); v.Status != 403 || v.Decision.Rule != "after-waf" {
		t.Fatalf("after the WAF: %+v", v.Decision)
	}
	// A JSON body is inspected, and reaches the backend whole.
	body := `{"q": "1' UNION SELECT password FROM users--"}`
	r := httptest.NewRequest("POST", "http://api.test/search", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if v := checkReq(p, r); v.Status != 403 {
		t.Fatalf("a SQL injection in a JSON body: %+v", v.Decision)
	}
	r = httptest.NewRequest("POST", "http://api.test/search", strings.NewReader(`{"q": "shoes"}`))
	r.Header.Set("Content-Type", "application/json")
	if v := checkReq(p, r); v.Status != 0 {
		t.Fatalf("a clean JSON body: %+v", v.Decision)
	}
	if got, _ := io.ReadAll(r.Body); string(got) != `{"q": "shoes"}` {
		t.Fatalf("the backend would get %q", got)
	}
	// An octet-stream body is never read by the WAF (CRS itself refuses
	// the content type, 920420, from the headers).
	blob := strings.Repeat("' OR 1=1 -- ", 1000)
	r = httptest.NewRequest("POST", "http://api.test/blob", &countingReader{r: strings.NewReader(blob)})
	r.Header.Set("Content-Type", "application/octet-stream")
	r.ContentLength = int64(len(blob))
	v := checkReq(p, r)
	if n := r.Body.(*countingReader).n; n != 0 {
		t.Fatalf("the WAF read %d bytes of a body it does not parse", n)
	}
	if slices.Contains(v.Decision.WafRules, 942100) {
		t.Fatalf("the WAF inspected an octet-stream body: %v", v.Decision.WafRules)
	}
	// Over the profile's body limit (8 KB) with DENY.
	r = httptest.NewRequest("POST", "http://api.test/form", strings.NewReader("a="+strings.Repeat("x", 9000)))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if v := checkReq(p, r); v.Status != 403 {
		t.Fatalf("a body over the limit: %+v", v.Decision)
	}
	// An exclusion: uploads are not inspected.
	if v := checkReq(p, httptest.NewRequest("GET", "http://api.test/upload?id=1%27%20OR%20%271%27%3D%271", nil)); v.Status != 0 {
		t.Fatalf("an excluded path: %+v", v.Decision)
	}
}

// TestWAFBlockingAndDisabledRules: with a threshold no request reaches,
// a blocking rule blocks alone; a disabled rule never fires.
func TestWAFBlockingAndDisabledRules(t *testing.T) {
	blocking := wafTestProfile(t, "10000", "IGNORE", "true")
	scoring := wafTestProfile(t, "10000", "IGNORE", "false")
	sqli := func() *http.Request {
		return httptest.NewRequest("POST", "http://api.test/post", strings.NewReader("var=1234 OR 1=1"))
	}
	r := sqli()
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	v := checkReq(blocking, r)
	if v.Status != 403 || !slices.Contains(v.Decision.WafRules, 942100) {
		t.Fatalf("942100 is blocking: %+v", v.Decision)
	}
	r = sqli()
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if v := checkReq(scoring, r); v.Status != 0 || !slices.Contains(v.Decision.WafRules, 942100) {
		t.Fatalf("under the threshold, not blocking: %+v", v.Decision)
	}
	xss := httptest.NewRequest("GET", "http://api.test/?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E", nil)
	if v := checkReq(scoring, xss); slices.Contains(v.Decision.WafRules, 941100) {
		t.Fatalf("the disabled 941100 fired: %v", v.Decision.WafRules)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func (c *countingReader) Close() error { return nil }

// TestWAFOverload: with every inspection slot taken, a request waits
// wafQueueTimeout at most and is then decided by sws.fallback.
func TestWAFOverload(t *testing.T) {
	for _, fallback := range []string{"deny", "allow"} {
		p := profileFrom(t, strings.Replace(strings.NewReplacer("%THRESHOLD%", "5", "%BODY%", "IGNORE", "%BLOCKING%", "false").Replace(wafProfile),
			"security_profiles:", "sws: {fallback: "+fallback+"}\nsecurity_profiles:", 1))
		e := p.cloud.rules[0].waf
		for range cap(e.slots) {
			e.slots <- struct{}{}
		}
		v := checkReq(p, httptest.NewRequest("GET", "http://api.test/items?id=42", nil))
		for range cap(e.slots) {
			<-e.slots
		}
		if !v.Decision.WafOverloaded || (fallback == "deny") != (v.Status == 403) {
			t.Errorf("fallback %s: %d %+v", fallback, v.Status, v.Decision)
		}
	}
}

// TestWAFExclusionOfRules: an exclusion's rule_ids are removed for the
// requests its condition matches, and only for them.
func TestWAFExclusionOfRules(t *testing.T) {
	p := profileFrom(t, strings.Replace(strings.NewReplacer("%THRESHOLD%", "10000", "%BODY%", "IGNORE", "%BLOCKING%", "true").Replace(wafProfile),
		"    exclusion_rules:\n", "    exclusion_rules:\n      - name: raw-sql\n        condition: {request_uri: {path: {prefix_match: /raw}}}\n        exclude_rules: {rule_ids: [owasp-crs-v4.x.0-id942100-sqli]}\n", 1))
	post := func(path string) Verdict {
		r := httptest.NewRequest("POST", "http://api.test"+path, strings.NewReader("var=1234 OR 1=1"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return checkReq(p, r)
	}
	if v := post("/raw/query"); v.Status != 0 || slices.Contains(v.Decision.WafRules, 942100) {
		t.Fatalf("942100 excluded under /raw: %d %v", v.Status, v.Decision.WafRules)
	}
	if v := post("/other"); v.Status != 403 {
		t.Fatalf("942100 still blocks elsewhere: %d %v", v.Status, v.Decision.WafRules)
	}
}
