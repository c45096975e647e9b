package config

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/apigw/apigw/internal/yamlx"
	"go.yaml.in/yaml/v3"
)

// The Smart Web Security profile in the cloud's own shape: the fields of
// `yc smartwebsecurity security-profile get --format yaml` (the proto's
// snake_case names, yandex/cloud/smartwebsecurity/v1/), so that a profile
// is pasted, not translated. Terraform's block form (singular block
// names, one-element lists for nested blocks) is read too: swsRenames and
// yamlx.Normalize turn it into this shape before decoding. Read-only
// fields (ids, timestamps, logging) are accepted and ignored.
type (
	// Ignored accepts any value (a read-only field of a pasted profile).
	Ignored = yaml.Node

	// SWSRule is one security_rules entry.
	SWSRule struct {
		Name        string  `yaml:"name"`
		Description string  `yaml:"description"`
		Priority    Int64   `yaml:"priority"`
		DryRun      bool    `yaml:"dry_run"`
		CustomPage  string  `yaml:"custom_page_id"`
		ID          Ignored `yaml:"id"`
		// Exactly one of these.
		RuleCondition   *SWSRuleCondition   `yaml:"rule_condition"`
		SmartProtection *SWSSmartProtection `yaml:"smart_protection"`
		Waf             *SWSWafRule         `yaml:"waf"`

		Node *yaml.Node `yaml:"-"`
	}
	SWSRuleCondition struct {
		Action    string        `yaml:"action"` // ALLOW or DENY
		Condition *SWSCondition `yaml:"condition"`
	}
	SWSSmartProtection struct {
		Mode      string        `yaml:"mode"` // FULL or API
		Condition *SWSCondition `yaml:"condition"`
	}
	SWSWafRule struct {
		Mode         string        `yaml:"mode"`
		Condition    *SWSCondition `yaml:"condition"`
		WafProfileID string        `yaml:"waf_profile_id"`
	}

	// SWSCondition is what a rule matches: every part given must match
	// (AND); an absent part matches everything.
	SWSCondition struct {
		Authority   *SWSAuthority  `yaml:"authority"`
		HTTPMethod  *SWSHTTPMethod `yaml:"http_method"`
		RequestURI  *SWSRequestURI `yaml:"request_uri"`
		Headers     []*SWSNamed    `yaml:"headers"`
		Cookies     []*SWSNamed    `yaml:"cookies"`
		SourceIP    *SWSIPMatcher  `yaml:"source_ip"`
		BotCategory *Ignored       `yaml:"bot_category"`
		BotName     *Ignored       `yaml:"bot_name"`
		BotScore    *Ignored       `yaml:"bot_score"`
		VerifiedBot *Ignored       `yaml:"verified_bot"`
		FingerPrint *Ignored       `yaml:"finger_print"`
	}
	SWSAuthority struct {
		Authorities []*SWSString `yaml:"authorities"` // deprecated: any of them
		Matcher     *SWSString   `yaml:"authority_matcher"`
	}
	SWSHTTPMethod struct {
		Methods []*SWSString `yaml:"http_methods"` // deprecated: any of them
		Matcher *SWSString   `yaml:"http_method_matcher"`
	}
	SWSRequestURI struct {
		Path    *SWSString  `yaml:"path"`
		Queries []*SWSQuery `yaml:"queries"`
	}
	SWSQuery struct {
		Key   string     `yaml:"key"`
		Value *SWSString `yaml:"value"`
	}
	// SWSNamed is a header or a cookie matcher.
	SWSNamed struct {
		Name  string     `yaml:"name"`
		Value *SWSString `yaml:"value"`
	}
	// SWSString is a StringMatcher: exactly one of its fields.
	SWSString struct {
		ExactMatch        *string          `yaml:"exact_match"`
		ExactNotMatch     *string          `yaml:"exact_not_match"`
		PrefixMatch       *string          `yaml:"prefix_match"`
		PrefixNotMatch    *string          `yaml:"prefix_not_match"`
		PireRegexMatch    *string          `yaml:"pire_regex_match"`
		PireRegexNotMatch *string          `yaml:"pire_regex_not_match"`
		Defined           *bool            `yaml:"defined"`
		ListsMatchers     *SWSListsMatcher `yaml:"lists_matchers"`
	}
	SWSListsMatcher struct {
		StrListsMatch       *SWSLists `yaml:"str_lists_match"`
		StrListsNotMatch    *SWSLists `yaml:"str_lists_not_match"`
		RegExpListsMatch    *SWSLists `yaml:"reg_exp_lists_match"`
		RegExpListsNotMatch *SWSLists `yaml:"reg_exp_lists_not_match"`
	}
	SWSLists struct {
		ListIDs []string `yaml:"list_ids"`
	}
	SWSIPMatcher struct {
		IPRangesMatch     *SWSIPRanges `yaml:"ip_ranges_match"`
		IPRangesNotMatch  *SWSIPRanges `yaml:"ip_ranges_not_match"`
		GeoIPMatch        *SWSGeo      `yaml:"geo_ip_match"`
		GeoIPNotMatch     *SWSGeo      `yaml:"geo_ip_not_match"`
		IPListsMatch      *SWSLists    `yaml:"ip_lists_match"`
		IPListsNotMatch   *SWSLists    `yaml:"ip_lists_not_match"`
		ASNRangesMatch    *SWSASNs     `yaml:"asn_ranges_match"`
		ASNRangesNotMatch *SWSASNs     `yaml:"asn_ranges_not_match"`
		ASNListsMatch     *SWSLists    `yaml:"asn_lists_match"`
		ASNListsNotMatch  *SWSLists    `yaml:"asn_lists_not_match"`
	}
	SWSIPRanges struct {
		IPRanges []string `yaml:"ip_ranges"`
	}
	SWSGeo struct {
		Locations []string `yaml:"locations"`
	}
	SWSASNs struct {
		ASNRanges []Int64 `yaml:"asn_ranges"`
	}
	SWSAnalyzeBody struct {
		SizeLimit       Int64  `yaml:"size_limit"` // KB: 0, 8, 16, ... 512
		SizeLimitAction string `yaml:"size_limit_action"`
	}

	// MatchList is a custom match list (match_lists.<id>), as the
	// cloud's MatchList: its item_type and items.
	MatchList struct {
		ItemType    string          `yaml:"item_type"` // IP, STR, REG_EXP (ASN, BOT_*: not decided locally)
		ListType    string          `yaml:"list_type"`
		Items       []MatchListItem `yaml:"items"`
		SWSResource `yaml:",inline"`
	}
	MatchListItem struct {
		Value       string `yaml:"value"`
		Description string `yaml:"description"`
	}

	// CustomPage is what a DENY answers instead of the block page
	// (custom_pages.<id>, by a rule's or profile's custom_page_id).
	CustomPage struct {
		// HTTPCode is the status (default 403).
		HTTPCode    int               `yaml:"http_code"`
		ContentType string            `yaml:"content_type"`
		Content     string            `yaml:"content"`
		Headers     map[string]string `yaml:"headers"`
	}
)

// SWSResource are the read-only fields every pasted SWS resource carries
// (`yc ... get` prints them): accepted and ignored.
type SWSResource struct {
	ID          Ignored `yaml:"id"`
	FolderID    Ignored `yaml:"folder_id"`
	CloudID     Ignored `yaml:"cloud_id"`
	Name        Ignored `yaml:"name"`
	Description Ignored `yaml:"description"`
	Labels      Ignored `yaml:"labels"`
	CreatedAt   Ignored `yaml:"created_at"`
	UpdatedAt   Ignored `yaml:"updated_at"`
}

// Int64 is an integer written as a number or as a string ("1000"): yc
// prints int64 fields as strings.
type Int64 int64

func (i *Int64) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: must be an integer", n.Line)
	}
	v, err := strconv.ParseInt(strings.TrimSpace(n.Value), 10, 64)
	if err != nil {
		return fmt.Errorf("line %d: %q is not an integer", n.Line, n.Value)
	}
	*i = Int64(v)
	return nil
}

// swsRenames are Terraform's block names (cloudapi's
// smartwebsecurity/v1/terraform.yaml) and the proto's field names.
var swsRenames = map[string]string{
	"security_rule":              "security_rules",
	"advanced_rate_limiter_rule": "advanced_rate_limiter_rules",
	"characteristic":             "characteristics",
	"exclusion_rule":             "exclusion_rules",
	"rule_set":                   "rule_sets",
	"rule":                       "rules",
	"rule_group":                 "rule_groups",
	"param_name":                 "param_names",
	"header_name":                "header_names",
	"cookie_name":                "cookie_names",
	"header":                     "headers",
	"cookie":                     "cookies",
	"query":                      "queries",
}

// IsCloudForm says whether a profile is written in the cloud's shape.
func (p *SecurityProfile) IsCloudForm() bool {
	return p.DefaultAction != "" || len(p.SecurityRules) > 0 || p.AnalyzeRequestBody != nil ||
		p.CustomPageID != "" || p.AdvancedRateLimiterProfileID != ""
}

var swsName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9-_.]*$`)

// checkCloudProfile checks a profile in the cloud's shape; warnings say
// what cannot be decided locally.
func checkCloudProfile(n *yaml.Node, path string, p *SecurityProfile, b *Bindings, errs *yamlx.List) {
	pages := b.CustomPages
	if len(p.Allow)+len(p.Deny) > 0 || p.RateLimit != nil {
		errs.Errorf(n, path, "mixes the short form (allow, deny, rate_limit) with the cloud's (default_action, security_rules): write one")
	}
	switch p.DefaultAction {
	case "ALLOW", "DENY":
	case "":
		errs.Errorf(n, path, "needs default_action: ALLOW or DENY")
	default:
		errs.Errorf(yamlx.Get(n, "default_action"), yamlx.Join(path, "default_action"), "must be ALLOW or DENY, not %q", p.DefaultAction)
	}
	if p.CustomPageID != "" && pages[p.CustomPageID] == nil {
		errs.Errorf(yamlx.Get(n, "custom_page_id"), yamlx.Join(path, "custom_page_id"), "custom page %q is not in custom_pages", p.CustomPageID)
	}
	if b := p.AnalyzeRequestBody; b != nil {
		bn := yamlx.Get(n, "analyze_request_body")
		switch b.SizeLimit {
		case 0, 8, 16, 32, 64, 128, 256, 512:
		default:
			errs.Errorf(yamlx.Get(bn, "size_limit"), yamlx.Join(path, "analyze_request_body.size_limit"), "must be 0, 8, 16, 32, 64, 128, 256 or 512 (KB), not %d", b.SizeLimit)
		}
		if b.SizeLimitAction != "IGNORE" && b.SizeLimitAction != "DENY" {
			errs.Errorf(yamlx.Get(bn, "size_limit_action"), yamlx.Join(path, "analyze_request_body.size_limit_action"), "must be IGNORE or DENY, not %q", b.SizeLimitAction)
		}
	}
	rn := yamlx.Get(n, "security_rules")
	priorities := map[Int64]string{}
	for i, r := range p.SecurityRules {
		var node *yaml.Node
		if rn != nil && i < len(rn.Content) {
			node = rn.Content[i]
		}
		rp := fmt.Sprintf("%s.security_rules[%d]", path, i)
		if r == nil {
			errs.Errorf(node, rp, "is empty")
			continue
		}
		r.Node = node
		if !swsName.MatchString(r.Name) || len(r.Name) > 50 {
			errs.Errorf(node, rp, "name %q must be 1-50 characters of letters, digits, '-', '_' and '.', starting with a letter or digit", r.Name)
		}
		if r.Priority < 1 || r.Priority > 999999 {
			errs.Errorf(yamlx.Get(node, "priority"), yamlx.Join(rp, "priority"), "must be 1 to 999999, not %d", r.Priority)
		} else if other, dup := priorities[r.Priority]; dup {
			errs.Errorf(yamlx.Get(node, "priority"), yamlx.Join(rp, "priority"), "priority %d is also rule %q's: priorities are unique", r.Priority, other)
		}
		priorities[r.Priority] = r.Name
		if r.CustomPage != "" && pages[r.CustomPage] == nil {
			errs.Errorf(yamlx.Get(node, "custom_page_id"), yamlx.Join(rp, "custom_page_id"), "custom page %q is not in custom_pages", r.CustomPage)
		}
		count := 0
		var cond *SWSCondition
		var condPath string
		if c := r.RuleCondition; c != nil {
			count++
			if c.Action != "ALLOW" && c.Action != "DENY" {
				errs.Errorf(yamlx.Get(yamlx.Get(node, "rule_condition"), "action"), yamlx.Join(rp, "rule_condition.action"), "must be ALLOW or DENY, not %q", c.Action)
			}
			cond, condPath = c.Condition, "rule_condition.condition"
		}
		if s := r.SmartProtection; s != nil {
			count++
			cond, condPath = s.Condition, "smart_protection.condition"
			errs.Warnf(yamlx.Get(node, "smart_protection"), yamlx.Join(rp, "smart_protection"),
				"Smart Protection (Yandex's behavioural analysis and CAPTCHA) cannot run outside the cloud: the rule's requests get sws.fallback (docs/sws.md)")
		}
		if w := r.Waf; w != nil {
			count++
			cond, condPath = w.Condition, "waf.condition"
		}
		if count != 1 {
			errs.Errorf(node, rp, "needs exactly one of rule_condition, smart_protection and waf")
		}
		if cond != nil {
			checkCondition(yamlx.Get(yamlx.Get(node, strings.Split(condPath, ".")[0]), "condition"), yamlx.Join(rp, condPath), cond, b, errs)
		}
	}
}

func checkCondition(n *yaml.Node, path string, c *SWSCondition, b *Bindings, errs *yamlx.List) {
	lists := b.MatchLists
	str := func(sn *yaml.Node, sp string, m *SWSString) {
		if m == nil {
			errs.Errorf(sn, sp, "needs a matcher (exact_match, prefix_match, pire_regex_match, defined, ...)")
			return
		}
		set := 0
		for _, s := range []*string{m.ExactMatch, m.ExactNotMatch, m.PrefixMatch, m.PrefixNotMatch, m.PireRegexMatch, m.PireRegexNotMatch} {
			if s != nil {
				set++
				if len(*s) > 255 {
					errs.Errorf(sn, sp, "a matcher's value is at most 255 characters")
				}
			}
		}
		if m.Defined != nil {
			set++
		}
		if m.ListsMatchers != nil {
			set++
			l := m.ListsMatchers
			for _, ls := range []*SWSLists{l.StrListsMatch, l.StrListsNotMatch, l.RegExpListsMatch, l.RegExpListsNotMatch} {
				if ls != nil {
					for _, id := range ls.ListIDs {
						if lists[id] == nil {
							errs.Warnf(sn, sp, "match list %q is not in match_lists (one of the cloud's managed lists, or a typo): the condition gets sws.fallback", id)
						}
					}
				}
			}
		}
		if set != 1 {
			errs.Errorf(sn, sp, "needs exactly one of exact_match, exact_not_match, prefix_match, prefix_not_match, pire_regex_match, pire_regex_not_match, defined and lists_matchers")
		}
		for _, re := range []*string{m.PireRegexMatch, m.PireRegexNotMatch} {
			if re != nil {
				if _, err := regexp.Compile(*re); err != nil {
					errs.Errorf(sn, sp, "%q is not a regular expression apigw can run (RE2): %v", *re, err)
				}
			}
		}
	}
	if a := c.Authority; a != nil {
		an := yamlx.Get(n, "authority")
		for i, m := range a.Authorities {
			str(an, fmt.Sprintf("%s.authority.authorities[%d]", path, i), m)
		}
		if a.Matcher != nil {
			str(yamlx.Get(an, "authority_matcher"), path+".authority.authority_matcher", a.Matcher)
		}
	}
	if h := c.HTTPMethod; h != nil {
		hn := yamlx.Get(n, "http_method")
		for i, m := range h.Methods {
			str(hn, fmt.Sprintf("%s.http_method.http_methods[%d]", path, i), m)
		}
		if h.Matcher != nil {
			str(yamlx.Get(hn, "http_method_matcher"), path+".http_method.http_method_matcher", h.Matcher)
		}
	}
	if u := c.RequestURI; u != nil {
		un := yamlx.Get(n, "request_uri")
		if u.Path != nil {
			str(yamlx.Get(un, "path"), path+".request_uri.path", u.Path)
		}
		for i, q := range u.Queries {
			qp := fmt.Sprintf("%s.request_uri.queries[%d]", path, i)
			if q == nil || q.Key == "" {
				errs.Errorf(un, qp, "needs key")
				continue
			}
			str(yamlx.Get(un, "queries"), qp+".value", q.Value)
		}
	}
	for _, part := range []struct {
		name string
		list []*SWSNamed
	}{{"headers", c.Headers}, {"cookies", c.Cookies}} {
		for i, h := range part.list {
			hp := fmt.Sprintf("%s.%s[%d]", path, part.name, i)
			if h == nil || h.Name == "" {
				errs.Errorf(yamlx.Get(n, part.name), hp, "needs name")
				continue
			}
			str(yamlx.Get(n, part.name), hp+".value", h.Value)
		}
	}
	if ip := c.SourceIP; ip != nil {
		in := yamlx.Get(n, "source_ip")
		for _, r := range []*SWSIPRanges{ip.IPRangesMatch, ip.IPRangesNotMatch} {
			if r == nil {
				continue
			}
			for _, s := range r.IPRanges {
				if _, err := ParseIPRange(s); err != nil {
					errs.Errorf(in, path+".source_ip", "%v", err)
				}
			}
		}
		for _, l := range []*SWSLists{ip.IPListsMatch, ip.IPListsNotMatch} {
			if l == nil {
				continue
			}
			for _, id := range l.ListIDs {
				switch ml := lists[id]; {
				case ml == nil:
					errs.Warnf(in, path+".source_ip", "match list %q is not in match_lists (one of the cloud's managed lists, or a typo): the condition gets sws.fallback", id)
				case ml.ItemType != "IP":
					errs.Errorf(in, path+".source_ip", "match list %q holds %s items, not IP", id, ml.ItemType)
				}
			}
		}
		if (ip.GeoIPMatch != nil || ip.GeoIPNotMatch != nil) && b.GeoIP.MMDB == "" {
			errs.Errorf(in, path+".source_ip", "geo_ip conditions need a country database: set geoip.mmdb (a MaxMind-format file such as GeoLite2-Country.mmdb)")
		}
		if (ip.ASNRangesMatch != nil || ip.ASNRangesNotMatch != nil || ip.ASNListsMatch != nil || ip.ASNListsNotMatch != nil) && b.GeoIP.ASNMMDB == "" {
			errs.Errorf(in, path+".source_ip", "ASN conditions need an ASN database: set geoip.asn_mmdb (a MaxMind-format file such as GeoLite2-ASN.mmdb)")
		}
	}
	for name, set := range map[string]bool{"bot_category": c.BotCategory != nil, "bot_name": c.BotName != nil, "bot_score": c.BotScore != nil,
		"verified_bot": c.VerifiedBot != nil, "finger_print": c.FingerPrint != nil} {
		if set {
			errs.Warnf(yamlx.Get(n, name), yamlx.Join(path, name), "%s is decided by Yandex's bot detection, which cannot run outside the cloud: the rule's requests get sws.fallback (docs/sws.md)", name)
		}
	}
}

// IPRange is an inclusive range of addresses of one family.
type IPRange struct{ From, To netip.Addr }

// Contains says whether a is in the range.
func (r IPRange) Contains(a netip.Addr) bool {
	return a.BitLen() == r.From.BitLen() && r.From.Compare(a) <= 0 && a.Compare(r.To) <= 0
}

// ParseIPRange reads what the cloud's ip_ranges take: a CIDR, a single
// address, or a range "a-b".
func ParseIPRange(s string) (IPRange, error) {
	s = strings.TrimSpace(s)
	if from, to, ok := strings.Cut(s, "-"); ok {
		a, err1 := netip.ParseAddr(strings.TrimSpace(from))
		b, err2 := netip.ParseAddr(strings.TrimSpace(to))
		a, b = a.Unmap(), b.Unmap()
		if err1 != nil || err2 != nil || a.BitLen() != b.BitLen() || b.Less(a) {
			return IPRange{}, fmt.Errorf("%q is not an address range a-b of one family, a first", s)
		}
		return IPRange{a, b}, nil
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return IPRange{}, fmt.Errorf("%q is not a CIDR, an address or a range a-b", s)
		}
		p = p.Masked()
		return IPRange{p.Addr().Unmap(), lastAddr(p)}, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return IPRange{}, fmt.Errorf("%q is not a CIDR, an address or a range a-b", s)
	}
	return IPRange{a.Unmap(), a.Unmap()}, nil
}

// lastAddr is the last address of a prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().Unmap().AsSlice()
	bits := p.Bits()
	if p.Addr().Is4In6() {
		bits -= 96
	}
	for i := range b {
		for j := 0; j < 8; j++ {
			if i*8+j >= bits {
				b[i] |= 0x80 >> j
			}
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// swsSubtrees are the bindings keys under which the keys are the cloud's
// own schema (the proto's fields), documented once in docs/sws.md with a
// link to the proto, not key by key in configuration.md.
var swsSubtrees = []string{
	"security_profiles.*.security_rules.", "security_profiles.*.analyze_request_body.", "match_lists.*.", "waf_profiles.*.", "advanced_rate_limiter_profiles.*.",
}

// swsReadOnly are a pasted profile's read-only fields, accepted and ignored.
var swsReadOnly = map[string]bool{}

func init() {
	for _, k := range []string{"id", "folder_id", "cloud_id", "name", "description", "labels", "created_at", "updated_at",
		"captcha_id", "log_group_id", "log_options", "disallow_data_processing"} {
		swsReadOnly["security_profiles.*."+k] = true
	}
}

// DocumentedInSWS says whether a bindings key is documented in docs/sws.md
// (the cloud's shape) rather than in configuration.md's reference.
func DocumentedInSWS(key string) bool {
	if swsReadOnly[key] {
		return true
	}
	for _, p := range swsSubtrees {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// WafProfile is the cloud's WAF profile (waf_profiles.<id>, named by a
// security rule's waf.waf_profile_id), the fields of `yc smartwebsecurity
// waf-profile get --format yaml`; docs/sws.md.
type WafProfile struct {
	Rules          []*WafRule          `yaml:"rules"`
	ExclusionRules []*WafExclusionRule `yaml:"exclusion_rules"`
	RuleSets       []*WafRuleSet       `yaml:"rule_sets"`
	// CoreRuleSet is the deprecated single rule set.
	CoreRuleSet        *WafCoreRuleSet `yaml:"core_rule_set"`
	AnalyzeRequestBody *WafAnalyzeBody `yaml:"analyze_request_body"`
	MatchAllRuleSets   bool            `yaml:"match_all_rule_sets"`

	SWSResource `yaml:",inline"`
}

type (
	WafRule struct {
		RuleID     string `yaml:"rule_id"`
		IsEnabled  bool   `yaml:"is_enabled"`
		IsBlocking bool   `yaml:"is_blocking"`
	}
	WafExclusionRule struct {
		Name             string        `yaml:"name"`
		Description      string        `yaml:"description"`
		Condition        *SWSCondition `yaml:"condition"`
		ExcludeRules     *WafExclude   `yaml:"exclude_rules"`
		LogExcluded      bool          `yaml:"log_excluded"`
		RequestCondition *Ignored      `yaml:"request_condition"`
	}
	WafExclude struct {
		ExcludeAll bool     `yaml:"exclude_all"`
		RuleIDs    []string `yaml:"rule_ids"`
	}
	WafRuleSet struct {
		CoreRuleSet *WafCoreRuleSet `yaml:"core_rule_set"`
		YaRuleSet   *Ignored        `yaml:"ya_rule_set"`
		MlRuleSet   *Ignored        `yaml:"ml_rule_set"`
		Priority    Int64           `yaml:"priority"`
		IsEnabled   bool            `yaml:"is_enabled"`
		Action      string          `yaml:"action"`
	}
	WafCoreRuleSet struct {
		InboundAnomalyScore Int64    `yaml:"inbound_anomaly_score"`
		ParanoiaLevel       Int64    `yaml:"paranoia_level"`
		RuleSet             *Ignored `yaml:"rule_set"`
	}
	WafAnalyzeBody struct {
		IsEnabled       bool   `yaml:"is_enabled"`
		SizeLimit       Int64  `yaml:"size_limit"`
		SizeLimitAction string `yaml:"size_limit_action"`
	}
)

// CRS returns the profile's OWASP Core Rule Set settings (a rule set's,
// else the deprecated core_rule_set's), and whether it has one enabled.
func (w *WafProfile) CRS() (*WafCoreRuleSet, bool) {
	for _, rs := range w.RuleSets {
		if rs != nil && rs.CoreRuleSet != nil && (rs.IsEnabled || len(w.RuleSets) == 1) {
			return rs.CoreRuleSet, true
		}
	}
	if w.CoreRuleSet != nil {
		return w.CoreRuleSet, true
	}
	return nil, false
}

var crsRuleID = regexp.MustCompile(`(?:^|id)([0-9]{6})(?:$|[^0-9])`)

// CRSRuleID reads a CRS rule number from the cloud's rule id
// (owasp-crs-v4.x.0-id942100-sqli, or 942100).
func CRSRuleID(s string) (int, bool) {
	m := crsRuleID.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	n, _ := strconv.Atoi(m[1])
	return n, true
}

func checkWafProfiles(root *yaml.Node, b *Bindings, errs *yamlx.List) {
	section := yamlx.Get(root, "waf_profiles")
	for id, w := range b.WafProfiles {
		n := yamlx.Get(section, id)
		path := yamlx.Join("waf_profiles", id)
		if w == nil {
			errs.Errorf(n, path, "needs rule_sets (a core_rule_set)")
			continue
		}
		crs, ok := w.CRS()
		if !ok {
			errs.Errorf(n, path, "needs an enabled core_rule_set in rule_sets: apigw's WAF is the OWASP Core Rule Set")
		} else {
			if crs.ParanoiaLevel == 0 {
				crs.ParanoiaLevel = 1
			}
			if crs.ParanoiaLevel < 1 || crs.ParanoiaLevel > 4 {
				errs.Errorf(n, path, "core_rule_set.paranoia_level must be 1 to 4, not %d", crs.ParanoiaLevel)
			}
			if crs.InboundAnomalyScore == 0 {
				crs.InboundAnomalyScore = 5
			}
			if crs.InboundAnomalyScore < 2 || crs.InboundAnomalyScore > 10000 {
				errs.Errorf(n, path, "core_rule_set.inbound_anomaly_score must be 2 to 10000, not %d", crs.InboundAnomalyScore)
			}
		}
		for i, rs := range w.RuleSets {
			if rs != nil && (rs.YaRuleSet != nil || rs.MlRuleSet != nil) {
				errs.Warnf(yamlx.Get(n, "rule_sets"), fmt.Sprintf("%s.rule_sets[%d]", path, i), "Yandex's own and ML rule sets run only in the cloud: apigw applies the OWASP Core Rule Set alone")
			}
		}
		for i, r := range w.Rules {
			if r == nil {
				continue
			}
			if _, ok := CRSRuleID(r.RuleID); !ok {
				errs.Warnf(yamlx.Get(n, "rules"), fmt.Sprintf("%s.rules[%d]", path, i), "rule %q names no CRS rule number: ignored", r.RuleID)
			}
		}
		for i, e := range w.ExclusionRules {
			ep := fmt.Sprintf("%s.exclusion_rules[%d]", path, i)
			if e == nil || e.ExcludeRules == nil {
				errs.Errorf(yamlx.Get(n, "exclusion_rules"), ep, "needs exclude_rules (exclude_all or rule_ids)")
				continue
			}
			if e.Condition != nil {
				checkCondition(yamlx.Get(n, "exclusion_rules"), ep+".condition", e.Condition, b, errs)
			}
			if e.RequestCondition != nil {
				errs.Warnf(yamlx.Get(n, "exclusion_rules"), ep+".request_condition", "request_condition (excluding parameters, headers or cookies from inspection) is not applied in this build: the exclusion applies to the whole request")
			}
		}
		if a := w.AnalyzeRequestBody; a != nil {
			switch a.SizeLimit {
			case 0, 8, 16, 32, 64, 128, 256, 512:
			default:
				errs.Errorf(yamlx.Get(n, "analyze_request_body"), path+".analyze_request_body.size_limit", "must be 0, 8, 16, 32, 64, 128, 256 or 512 (KB), not %d", a.SizeLimit)
			}
		}
	}
	// Every WAF rule of a security profile names a profile of this file.
	sp := yamlx.Get(root, "security_profiles")
	for pid, p := range b.SecurityProfiles {
		if p == nil {
			continue
		}
		for i, r := range p.SecurityRules {
			if r != nil && r.Waf != nil && b.WafProfiles[r.Waf.WafProfileID] == nil {
				errs.Errorf(yamlx.Get(sp, pid), fmt.Sprintf("security_profiles.%s.security_rules[%d].waf.waf_profile_id", pid, i), "WAF profile %q is not in waf_profiles", r.Waf.WafProfileID)
			}
		}
	}
}

// ARLProfile is the cloud's advanced rate limiter profile
// (advanced_rate_limiter_profiles.<id>, named by a security profile's
// advanced_rate_limiter_profile_id): the fields of `yc smartwebsecurity
// advanced-rate-limiter-profile get --format yaml`.
type ARLProfile struct {
	Rules       []*ARLRule `yaml:"advanced_rate_limiter_rules"`
	SWSResource `yaml:",inline"`
}

type (
	ARLRule struct {
		Name         string    `yaml:"name"`
		Priority     Int64     `yaml:"priority"`
		Description  string    `yaml:"description"`
		DryRun       bool      `yaml:"dry_run"`
		StaticQuota  *ARLQuota `yaml:"static_quota"`
		DynamicQuota *ARLQuota `yaml:"dynamic_quota"`
	}
	// ARLQuota is a static quota (one counter) or a dynamic one (a
	// counter per value of its characteristics).
	ARLQuota struct {
		Action          string               `yaml:"action"` // DENY
		Condition       *SWSCondition        `yaml:"condition"`
		Limit           Int64                `yaml:"limit"`
		Period          Int64                `yaml:"period"` // seconds
		Characteristics []*ARLCharacteristic `yaml:"characteristics"`
	}
	ARLCharacteristic struct {
		Simple          *ARLSimple `yaml:"simple_characteristic"`
		Key             *ARLKey    `yaml:"key_characteristic"`
		CaseInsensitive bool       `yaml:"case_insensitive"`
	}
	ARLSimple struct {
		Type string `yaml:"type"` // REQUEST_PATH, HTTP_METHOD, IP, GEO, HOST
	}
	ARLKey struct {
		Type  string `yaml:"type"` // COOKIE_KEY, HEADER_KEY, QUERY_KEY
		Value string `yaml:"value"`
	}
)

var arlPeriods = map[Int64]bool{1: true, 5: true, 10: true, 30: true, 60: true, 120: true, 180: true, 240: true, 300: true,
	600: true, 900: true, 1200: true, 1800: true, 2700: true, 3600: true}

func checkARLProfiles(root *yaml.Node, b *Bindings, errs *yamlx.List) {
	section := yamlx.Get(root, "advanced_rate_limiter_profiles")
	for id, a := range b.ARLProfiles {
		n := yamlx.Get(section, id)
		path := yamlx.Join("advanced_rate_limiter_profiles", id)
		if a == nil {
			errs.Errorf(n, path, "needs advanced_rate_limiter_rules")
			continue
		}
		prio := map[Int64]bool{}
		for i, r := range a.Rules {
			rp := fmt.Sprintf("%s.advanced_rate_limiter_rules[%d]", path, i)
			if r == nil {
				errs.Errorf(n, rp, "is empty")
				continue
			}
			if r.Priority < 1 || r.Priority > 999999 || prio[r.Priority] {
				errs.Errorf(n, rp, "priority must be 1 to 999999 and unique, not %d", r.Priority)
			}
			prio[r.Priority] = true
			q := r.StaticQuota
			if (r.StaticQuota == nil) == (r.DynamicQuota == nil) {
				errs.Errorf(n, rp, "needs exactly one of static_quota and dynamic_quota")
				continue
			}
			if q == nil {
				q = r.DynamicQuota
			}
			if q.Action != "DENY" {
				errs.Errorf(n, rp, "action must be DENY, not %q", q.Action)
			}
			if q.Limit < 1 {
				errs.Errorf(n, rp, "limit must be at least 1")
			}
			if !arlPeriods[q.Period] {
				errs.Errorf(n, rp, "period must be one of 1, 5, 10, 30, 60, 120, 180, 240, 300, 600, 900, 1200, 1800, 2700, 3600 (seconds), not %d", q.Period)
			}
			if len(q.Characteristics) > 3 {
				errs.Errorf(n, rp, "at most 3 characteristics")
			}
			if r.StaticQuota != nil && len(q.Characteristics) > 0 {
				errs.Errorf(n, rp, "a static quota has no characteristics (a dynamic one counts per characteristic)")
			}
			for j, c := range q.Characteristics {
				cp := fmt.Sprintf("%s.characteristics[%d]", rp, j)
				switch {
				case c == nil || (c.Simple == nil) == (c.Key == nil):
					errs.Errorf(n, cp, "needs exactly one of simple_characteristic and key_characteristic")
				case c.Simple != nil:
					switch c.Simple.Type {
					case "REQUEST_PATH", "HTTP_METHOD", "IP", "HOST":
					case "GEO":
						if b.GeoIP.MMDB == "" {
							errs.Errorf(n, cp, "GEO needs a country database: set geoip.mmdb")
						}
					default:
						errs.Errorf(n, cp, "simple_characteristic.type must be REQUEST_PATH, HTTP_METHOD, IP, GEO or HOST, not %q", c.Simple.Type)
					}
				default:
					switch c.Key.Type {
					case "COOKIE_KEY", "HEADER_KEY", "QUERY_KEY":
					default:
						errs.Errorf(n, cp, "key_characteristic.type must be COOKIE_KEY, HEADER_KEY or QUERY_KEY, not %q", c.Key.Type)
					}
					if c.Key.Value == "" {
						errs.Errorf(n, cp, "key_characteristic needs value: the cookie's, header's or query parameter's name")
					}
				}
			}
			if q.Condition != nil {
				checkCondition(n, rp+".condition", q.Condition, b, errs)
			}
		}
	}
	sp := yamlx.Get(root, "security_profiles")
	for pid, p := range b.SecurityProfiles {
		if p != nil && p.AdvancedRateLimiterProfileID != "" && b.ARLProfiles[p.AdvancedRateLimiterProfileID] == nil {
			errs.Errorf(yamlx.Get(yamlx.Get(sp, pid), "advanced_rate_limiter_profile_id"), "security_profiles."+pid+".advanced_rate_limiter_profile_id",
				"advanced rate limiter profile %q is not in advanced_rate_limiter_profiles", p.AdvancedRateLimiterProfileID)
		}
	}
}
