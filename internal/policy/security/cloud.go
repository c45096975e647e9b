package security

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apigw/apigw/internal/config"
)

// The cloud's Smart Web Security profile, compiled once per snapshot:
// rules sorted by priority, each condition a list of checks built from
// the proto's matchers. docs/sws.md says what matches the cloud and what
// is a fallback.

// Page is an answer the profile writes itself (a DENY).
type Page struct {
	Status      int
	ContentType string
	Headers     map[string]string
	Body        string
}

// Decision names what decided a request, for the access log.
type Decision struct {
	Rule    string // "" : the default action
	Action  string // ALLOW or DENY
	DryRuns []string
	// WafRules are the CRS rules that matched in a WAF rule's inspection.
	WafRules []int
	// WafOverloaded: a WAF rule's inspection waited too long for a CPU
	// and sws.fallback decided.
	WafOverloaded bool
	// WafReason says why the WAF denied (the threshold, a blocking rule,
	// the body's size) or did not inspect.
	WafReason string
	// ARLRule is the advanced rate limiter's rule that denied (429);
	// ARLDryRuns its dry-run rules whose quota was exceeded.
	ARLRule    string
	ARLDryRuns []string
}

type rule struct {
	name     string
	priority int64
	dryRun   bool
	// deny is the rule's verdict when it matches.
	deny bool
	// checks must all match; cloud checks are those apigw cannot decide
	// (they resolve toward the fallback).
	checks []check
	page   *Page
	// waf, for a WAF rule, inspects what its condition matches: an attack
	// is a DENY, a clean request goes on to the next rule.
	waf *wafEngine
	// overloadDeny: a request the WAF had no time for is denied
	// (sws.fallback deny), else it goes on uninspected.
	overloadDeny bool
}

// check is one part of a condition.
type check func(r *http.Request, ip netip.Addr) bool

type cloudProfile struct {
	defaultDeny bool
	rules       []rule
	page        *Page
	// bodyLimit, when positive, is analyze_request_body's size (bytes):
	// a larger body is denied when bodyDeny.
	bodyLimit int64
	bodyDeny  bool
	// arl is the advanced rate limiter (nil: none), on what the rules
	// allowed.
	arl *arlProfile
}

// compileCloud compiles a profile in the cloud's shape.
func compileCloud(p *config.SecurityProfile, b *config.Bindings) (*cloudProfile, error) {
	fallbackDeny := b.SWS.Fallback != "allow"
	geo, err := loadGeo(b.GeoIP)
	if err != nil {
		return nil, err
	}
	out := &cloudProfile{defaultDeny: p.DefaultAction == "DENY", page: pageOf(b.CustomPages[p.CustomPageID])}
	if a := p.AnalyzeRequestBody; a != nil && a.SizeLimit > 0 {
		out.bodyLimit, out.bodyDeny = int64(a.SizeLimit)*1024, a.SizeLimitAction == "DENY"
	}
	if id := p.AdvancedRateLimiterProfileID; id != "" {
		a, err := compileARL(id, b.ARLProfiles[id], condEnv{lists: b.MatchLists, geo: geo})
		if err != nil {
			return nil, fmt.Errorf("advanced rate limiter profile %s: %w", id, err)
		}
		out.arl = a
	}
	for _, sr := range p.SecurityRules {
		r := rule{name: sr.Name, priority: int64(sr.Priority), dryRun: sr.DryRun, page: pageOf(b.CustomPages[sr.CustomPage])}
		var cond *config.SWSCondition
		switch {
		case sr.RuleCondition != nil:
			r.deny, cond = sr.RuleCondition.Action == "DENY", sr.RuleCondition.Condition
		case sr.SmartProtection != nil:
			// Decided by the cloud alone: the fallback's verdict.
			r.deny, cond = fallbackDeny, sr.SmartProtection.Condition
		case sr.Waf != nil:
			r.deny, cond = true, sr.Waf.Condition
			wp := b.WafProfiles[sr.Waf.WafProfileID]
			if wp == nil {
				return nil, fmt.Errorf("rule %s: WAF profile %q is not in waf_profiles", sr.Name, sr.Waf.WafProfileID)
			}
			e, err := newWAFEngine(wp, condEnv{lists: b.MatchLists, geo: geo})
			if err != nil {
				return nil, fmt.Errorf("rule %s: %w", sr.Name, err)
			}
			r.waf, r.overloadDeny = e, fallbackDeny
		}
		// A part apigw cannot decide is taken as whatever leads to the
		// fallback: a DENY rule matches under a deny fallback, an ALLOW
		// rule under an allow fallback; otherwise the rule does not.
		undecided := r.deny == fallbackDeny
		checks, err := compileCondition(cond, condEnv{lists: b.MatchLists, geo: geo, undecided: undecided})
		if err != nil {
			return nil, fmt.Errorf("rule %s: %w", sr.Name, err)
		}
		r.checks = checks
		out.rules = append(out.rules, r)
	}
	slices.SortStableFunc(out.rules, func(a, b rule) int {
		switch {
		case a.priority < b.priority:
			return -1
		case a.priority > b.priority:
			return 1
		}
		return 0
	})
	return out, nil
}

func pageOf(c *config.CustomPage) *Page {
	if c == nil {
		return nil
	}
	p := &Page{Status: c.HTTPCode, ContentType: c.ContentType, Headers: c.Headers, Body: c.Content}
	if p.Status == 0 {
		p.Status = http.StatusForbidden
	}
	if p.ContentType == "" {
		p.ContentType = "text/html; charset=utf-8"
	}
	return p
}

// render fills the cloud's placeholders of a response template:
// %unique_key% (the request's ID), %request_time% and %client_ip%,
// escaped for the page's type.
func (p *Page) render(requestID string, ip netip.Addr, now time.Time) *Page {
	if !strings.Contains(p.Body, "%") {
		return p
	}
	esc := func(s string) string { return s }
	switch mt := strings.ToLower(p.ContentType); {
	case strings.Contains(mt, "html"), strings.Contains(mt, "xml"):
		esc = html.EscapeString
	case strings.Contains(mt, "json"):
		esc = func(s string) string { b, _ := json.Marshal(s); return string(b[1 : len(b)-1]) }
	}
	client := ""
	if ip.IsValid() {
		client = ip.String()
	}
	out := *p
	out.Body = strings.NewReplacer("%unique_key%", esc(requestID), "%request_time%", esc(now.UTC().Format(time.RFC3339)),
		"%client_ip%", esc(client)).Replace(p.Body)
	return &out
}

// blockPage is the cloud's kind of answer to a DENY without a custom
// page: a small HTML page with the request's ID.
func blockPage(requestID string) *Page {
	return &Page{Status: http.StatusForbidden, ContentType: "text/html; charset=utf-8", Body: "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>403 Forbidden</title></head>" +
		"<body><h1>403 Forbidden</h1><p>The request was blocked by the security profile.</p><p>Request ID: " + html.EscapeString(requestID) + "</p></body></html>\n"}
}

// decide runs the rules on a request: the first matching rule that is not
// a dry run decides; dry runs are noted and evaluation goes on.
func (c *cloudProfile) decide(r *http.Request, ip netip.Addr) (deny bool, d Decision, page *Page) {
	for i := range c.rules {
		ru := &c.rules[i]
		if !ru.matches(r, ip) {
			continue
		}
		if ru.waf != nil {
			v := ru.waf.inspect(r, ip)
			d.WafRules = append(d.WafRules, v.rules...)
			if v.attack || v.overloaded {
				d.WafReason = v.reason
			}
			if v.overloaded {
				d.WafOverloaded = true
				if !ru.overloadDeny {
					continue
				}
			} else if !v.attack {
				continue // clean: the next rules decide
			}
		}
		if ru.dryRun {
			d.DryRuns = append(d.DryRuns, ru.name+":"+action(ru.deny))
			continue
		}
		d.Rule, d.Action = ru.name, action(ru.deny)
		if ru.page != nil {
			page = ru.page
		}
		return ru.deny, d, page
	}
	d.Action = action(c.defaultDeny)
	return c.defaultDeny, d, nil
}

func action(deny bool) string {
	if deny {
		return "DENY"
	}
	return "ALLOW"
}

func (ru *rule) matches(r *http.Request, ip netip.Addr) bool {
	for _, c := range ru.checks {
		if !c(r, ip) {
			return false
		}
	}
	return true
}

// strMatcher is a compiled StringMatcher: match reports whether a value
// (present or not) matches.
type strMatcher func(v string, present bool) bool

// anchor makes a PIRE expression match the whole value, as PIRE does.
func anchor(re string) (*regexp.Regexp, error) { return regexp.Compile(`^(?:` + re + `)$`) }

func compileString(m *config.SWSString, lists map[string]*config.MatchList, undecided bool) (strMatcher, error) {
	if m == nil {
		return func(string, bool) bool { return true }, nil
	}
	switch {
	case m.ExactMatch != nil:
		s := *m.ExactMatch
		return func(v string, ok bool) bool { return ok && v == s }, nil
	case m.ExactNotMatch != nil:
		s := *m.ExactNotMatch
		return func(v string, ok bool) bool { return !ok || v != s }, nil
	case m.PrefixMatch != nil:
		s := *m.PrefixMatch
		return func(v string, ok bool) bool { return ok && strings.HasPrefix(v, s) }, nil
	case m.PrefixNotMatch != nil:
		s := *m.PrefixNotMatch
		return func(v string, ok bool) bool { return !ok || !strings.HasPrefix(v, s) }, nil
	case m.PireRegexMatch != nil:
		re, err := anchor(*m.PireRegexMatch)
		if err != nil {
			return nil, err
		}
		return func(v string, ok bool) bool { return ok && re.MatchString(v) }, nil
	case m.PireRegexNotMatch != nil:
		re, err := anchor(*m.PireRegexNotMatch)
		if err != nil {
			return nil, err
		}
		return func(v string, ok bool) bool { return !ok || !re.MatchString(v) }, nil
	case m.Defined != nil:
		want := *m.Defined
		return func(_ string, ok bool) bool { return ok == want }, nil
	case m.ListsMatchers != nil:
		return compileLists(m.ListsMatchers, lists, undecided)
	}
	return func(string, bool) bool { return true }, nil
}

func compileLists(l *config.SWSListsMatcher, lists map[string]*config.MatchList, undecided bool) (strMatcher, error) {
	var parts []strMatcher
	// A list apigw does not have (one of the cloud's managed lists)
	// cannot be decided: the matcher resolves toward the fallback.
	for _, ls := range []*config.SWSLists{l.StrListsMatch, l.StrListsNotMatch, l.RegExpListsMatch, l.RegExpListsNotMatch} {
		if ls != nil && slices.ContainsFunc(ls.ListIDs, func(id string) bool { return lists[id] == nil }) {
			return func(string, bool) bool { return undecided }, nil
		}
	}
	strs := func(ls *config.SWSLists) map[string]bool {
		set := map[string]bool{}
		for _, id := range ls.ListIDs {
			if ml := lists[id]; ml != nil {
				for _, it := range ml.Items {
					set[it.Value] = true
				}
			}
		}
		return set
	}
	res := func(ls *config.SWSLists) ([]*regexp.Regexp, error) {
		var out []*regexp.Regexp
		for _, id := range ls.ListIDs {
			if ml := lists[id]; ml != nil {
				for _, it := range ml.Items {
					re, err := anchor(it.Value)
					if err != nil {
						return nil, err
					}
					out = append(out, re)
				}
			}
		}
		return out, nil
	}
	anyRE := func(rs []*regexp.Regexp, v string) bool {
		for _, re := range rs {
			if re.MatchString(v) {
				return true
			}
		}
		return false
	}
	if ls := l.StrListsMatch; ls != nil {
		set := strs(ls)
		parts = append(parts, func(v string, ok bool) bool { return ok && set[v] })
	}
	if ls := l.StrListsNotMatch; ls != nil {
		set := strs(ls)
		parts = append(parts, func(v string, ok bool) bool { return !ok || !set[v] })
	}
	if ls := l.RegExpListsMatch; ls != nil {
		rs, err := res(ls)
		if err != nil {
			return nil, err
		}
		parts = append(parts, func(v string, ok bool) bool { return ok && anyRE(rs, v) })
	}
	if ls := l.RegExpListsNotMatch; ls != nil {
		rs, err := res(ls)
		if err != nil {
			return nil, err
		}
		parts = append(parts, func(v string, ok bool) bool { return !ok || !anyRE(rs, v) })
	}
	return func(v string, ok bool) bool {
		for _, p := range parts {
			if !p(v, ok) {
				return false
			}
		}
		return true
	}, nil
}

// multi applies a matcher to every value of a repeated field (headers,
// queries, cookies): a positive matcher matches when any value does, a
// negative one when none fails it; an absent field is one absent value.
func multi(m strMatcher, values []string) bool {
	if len(values) == 0 {
		return m("", false)
	}
	for _, v := range values {
		if m(v, true) {
			return true
		}
	}
	return false
}

// condEnv is what conditions are compiled with: the match lists, the geo
// databases, and what an undecidable part resolves to.
type condEnv struct {
	lists     map[string]*config.MatchList
	geo       *geoDBs
	undecided bool
}

func compileCondition(c *config.SWSCondition, env condEnv) ([]check, error) {
	if c == nil {
		return nil, nil
	}
	lists, undecided := env.lists, env.undecided
	var out []check
	add := func(m *config.SWSString, get func(r *http.Request) []string) error {
		sm, err := compileString(m, lists, undecided)
		if err != nil {
			return err
		}
		out = append(out, func(r *http.Request, _ netip.Addr) bool { return multi(sm, get(r)) })
		return nil
	}
	host := func(r *http.Request) []string { return []string{strings.ToLower(r.Host)} }
	if a := c.Authority; a != nil {
		if len(a.Authorities) > 0 {
			var ms []strMatcher
			for _, m := range a.Authorities {
				sm, err := compileString(lower(m), lists, undecided)
				if err != nil {
					return nil, err
				}
				ms = append(ms, sm)
			}
			out = append(out, func(r *http.Request, _ netip.Addr) bool { return anyOf(ms, strings.ToLower(r.Host)) })
		}
		if a.Matcher != nil {
			if err := add(lower(a.Matcher), host); err != nil {
				return nil, err
			}
		}
	}
	if h := c.HTTPMethod; h != nil {
		if len(h.Methods) > 0 {
			var ms []strMatcher
			for _, m := range h.Methods {
				sm, err := compileString(m, lists, undecided)
				if err != nil {
					return nil, err
				}
				ms = append(ms, sm)
			}
			out = append(out, func(r *http.Request, _ netip.Addr) bool { return anyOf(ms, r.Method) })
		}
		if h.Matcher != nil {
			if err := add(h.Matcher, func(r *http.Request) []string { return []string{r.Method} }); err != nil {
				return nil, err
			}
		}
	}
	if u := c.RequestURI; u != nil {
		if u.Path != nil {
			if err := add(u.Path, func(r *http.Request) []string { return []string{requestPath(r)} }); err != nil {
				return nil, err
			}
		}
		for _, q := range u.Queries {
			key := q.Key
			if err := add(q.Value, func(r *http.Request) []string { return queryValues(r.URL.RawQuery, key) }); err != nil {
				return nil, err
			}
		}
	}
	for _, h := range c.Headers {
		name := http.CanonicalHeaderKey(h.Name)
		if err := add(h.Value, func(r *http.Request) []string { return r.Header[name] }); err != nil {
			return nil, err
		}
	}
	for _, ck := range c.Cookies {
		name := ck.Name
		if err := add(ck.Value, func(r *http.Request) []string {
			var vs []string
			for _, c := range r.CookiesNamed(name) {
				vs = append(vs, c.Value)
			}
			return vs
		}); err != nil {
			return nil, err
		}
	}
	if ip := c.SourceIP; ip != nil {
		for _, rs := range []struct {
			ranges *config.SWSIPRanges
			match  bool
		}{{ip.IPRangesMatch, true}, {ip.IPRangesNotMatch, false}} {
			if rs.ranges == nil {
				continue
			}
			var ranges []config.IPRange
			for _, s := range rs.ranges.IPRanges {
				r, err := config.ParseIPRange(s)
				if err != nil {
					return nil, err
				}
				ranges = append(ranges, r)
			}
			want := rs.match
			out = append(out, func(_ *http.Request, a netip.Addr) bool { return inRanges(ranges, a) == want })
		}
		for _, ls := range []struct {
			lists *config.SWSLists
			match bool
		}{{ip.IPListsMatch, true}, {ip.IPListsNotMatch, false}} {
			if ls.lists == nil {
				continue
			}
			if slices.ContainsFunc(ls.lists.ListIDs, func(id string) bool { return lists[id] == nil }) {
				out = append(out, func(*http.Request, netip.Addr) bool { return undecided })
				continue
			}
			var ranges []config.IPRange
			for _, id := range ls.lists.ListIDs {
				if ml := lists[id]; ml != nil {
					for _, it := range ml.Items {
						if r, err := config.ParseIPRange(it.Value); err == nil {
							ranges = append(ranges, r)
						}
					}
				}
			}
			want := ls.match
			out = append(out, func(_ *http.Request, a netip.Addr) bool { return inRanges(ranges, a) == want })
		}
		for _, g := range []struct {
			m     *config.SWSGeo
			match bool
		}{{ip.GeoIPMatch, true}, {ip.GeoIPNotMatch, false}} {
			if g.m == nil {
				continue
			}
			if env.geo == nil || env.geo.country == nil {
				return nil, fmt.Errorf("geo_ip conditions need geoip.mmdb")
			}
			set := map[string]bool{}
			for _, l := range g.m.Locations {
				set[strings.ToLower(l)] = true
			}
			want, db := g.match, env.geo
			out = append(out, func(_ *http.Request, a netip.Addr) bool { return set[db.countryOf(a)] == want })
		}
		for _, g := range []struct {
			ranges *config.SWSASNs
			lists  *config.SWSLists
			match  bool
		}{{ip.ASNRangesMatch, nil, true}, {ip.ASNRangesNotMatch, nil, false}, {nil, ip.ASNListsMatch, true}, {nil, ip.ASNListsNotMatch, false}} {
			if g.ranges == nil && g.lists == nil {
				continue
			}
			if env.geo == nil || env.geo.asn == nil {
				return nil, fmt.Errorf("ASN conditions need geoip.asn_mmdb")
			}
			set := map[int64]bool{}
			if g.ranges != nil {
				for _, n := range g.ranges.ASNRanges {
					set[int64(n)] = true
				}
			}
			if g.lists != nil && slices.ContainsFunc(g.lists.ListIDs, func(id string) bool { return lists[id] == nil }) {
				out = append(out, func(*http.Request, netip.Addr) bool { return undecided })
				continue
			}
			if g.lists != nil {
				for _, id := range g.lists.ListIDs {
					if ml := lists[id]; ml != nil {
						for _, it := range ml.Items {
							if n, err := strconv.ParseInt(strings.TrimPrefix(strings.ToUpper(it.Value), "AS"), 10, 64); err == nil {
								set[n] = true
							}
						}
					}
				}
			}
			want, db := g.match, env.geo
			out = append(out, func(_ *http.Request, a netip.Addr) bool { return set[db.asnOf(a)] == want })
		}
	}
	if c.BotCategory != nil || c.BotName != nil || c.BotScore != nil || c.VerifiedBot != nil || c.FingerPrint != nil {
		out = append(out, func(*http.Request, netip.Addr) bool { return undecided })
	}
	return out, nil
}

// queryValues are a query parameter's values, as url.ParseQuery reads
// them (pairs with a ';' or a bad escape skipped), without building the
// whole map for each matcher of each request.
func queryValues(raw, key string) []string {
	var out []string
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" || strings.Contains(pair, ";") {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		if k, err := url.QueryUnescape(k); err != nil || k != key {
			continue
		}
		if v, err := url.QueryUnescape(v); err == nil {
			out = append(out, v)
		}
	}
	return out
}

func anyOf(ms []strMatcher, v string) bool {
	for _, m := range ms {
		if m(v, true) {
			return true
		}
	}
	return false
}

// lower makes an authority matcher's values lower case: host names are
// compared without case.
func lower(m *config.SWSString) *config.SWSString {
	if m == nil {
		return nil
	}
	c := *m
	for _, p := range []**string{&c.ExactMatch, &c.ExactNotMatch, &c.PrefixMatch, &c.PrefixNotMatch} {
		if *p != nil {
			v := strings.ToLower(**p)
			*p = &v
		}
	}
	return &c
}

func inRanges(rs []config.IPRange, a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	for _, r := range rs {
		if r.Contains(a) {
			return true
		}
	}
	return false
}

// requestPath is the path a rule sees: decoded, with dot segments and
// repeated slashes resolved, so that /%61dmin, //admin and /x/../admin
// are all /admin (CVE-2025-29914 was a WAF reading //admin as a host).
func requestPath(r *http.Request) string {
	p := r.URL.Path
	if p == "" {
		return "/"
	}
	c := path.Clean("/" + p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}
