package config

import (
	"net/netip"
	"regexp"
	"strings"

	"github.com/apigw/apigw/internal/yamlx"
	"go.yaml.in/yaml/v3"
)

// SecurityProfile is the self-hosted stand-in for a Smart Web Security
// profile, keyed by the spec's smartWebSecurity.securityProfileId (or
// "default"): it runs before routing.
type SecurityProfile struct {
	// Allow, when set, admits only these addresses (CIDRs or single IPs);
	// Deny refuses these, and wins over Allow.
	Allow []string `yaml:"allow"`
	Deny  []string `yaml:"deny"`
	// RateLimit limits each client (by IP, or by a header's value).
	RateLimit *ClientRateLimit `yaml:"rate_limit"`
	// ClientIP is where the client's address comes from: "remote" (the
	// connection, the default) or "x-forwarded-for" (the address the
	// nearest proxy appended: only behind a proxy that sets it).
	ClientIP string `yaml:"client_ip"`

	// The cloud's form (docs/sws.md): a profile pasted from `yc
	// smartwebsecurity security-profile get --format yaml` or Terraform.
	DefaultAction                string          `yaml:"default_action"`
	SecurityRules                []*SWSRule      `yaml:"security_rules"`
	AnalyzeRequestBody           *SWSAnalyzeBody `yaml:"analyze_request_body"`
	CustomPageID                 string          `yaml:"custom_page_id"`
	AdvancedRateLimiterProfileID string          `yaml:"advanced_rate_limiter_profile_id"`
	// Read-only or cloud-only fields of a pasted profile: accepted, ignored.
	SWSResource            `yaml:",inline"`
	CaptchaID              Ignored `yaml:"captcha_id"`
	LogGroupID             Ignored `yaml:"log_group_id"`
	LogOptions             Ignored `yaml:"log_options"`
	DisallowDataProcessing Ignored `yaml:"disallow_data_processing"`
}

// GeoIP is where geo and ASN conditions look addresses up: MaxMind-format
// databases (GeoLite2-Country, GeoLite2-ASN, or DB-IP's), read at each
// build.
type GeoIP struct {
	// MMDB is the country database (geo_ip_match, GEO characteristics).
	MMDB string `yaml:"mmdb"`
	// ASNMMDB is the ASN database (asn_ranges_match, ASN match lists).
	ASNMMDB string `yaml:"asn_mmdb"`
}

// SWS sets how apigw applies the cloud's profiles where it cannot decide
// as the cloud does.
type SWS struct {
	// Fallback is what a rule gets whose verdict needs the cloud
	// (Smart Protection, CAPTCHA, bot and fingerprint conditions, geo
	// and ASN without a database, the WAF in this build): "deny" (the
	// default: a profile that meant to protect never silently allows) or
	// "allow".
	Fallback string `yaml:"fallback"`
}

// ClientRateLimit is a per-client budget: exactly one of RPS and RPM.
type ClientRateLimit struct {
	RPS int `yaml:"rps"`
	RPM int `yaml:"rpm"`
	// Key is "ip" (the default) or "header:<Name>", such as header:X-Api-Key.
	Key string `yaml:"key"`
	// IPv6Prefix groups IPv6 clients by this prefix length (default 64):
	// one host is handed a whole /64.
	IPv6Prefix int `yaml:"ipv6_prefix"`
}

func checkSecurityProfiles(root *yaml.Node, b *Bindings, errs *yamlx.List) {
	section := yamlx.Get(root, "security_profiles")
	switch b.SWS.Fallback {
	case "", "deny", "allow":
	default:
		errs.Errorf(yamlx.Get(yamlx.Get(root, "sws"), "fallback"), "sws.fallback", "must be deny or allow, not %q", b.SWS.Fallback)
	}
	ln := yamlx.Get(root, "match_lists")
	for id, l := range b.MatchLists {
		if l == nil {
			errs.Errorf(yamlx.Get(ln, id), yamlx.Join("match_lists", id), "needs item_type and items")
			continue
		}
		switch l.ItemType {
		case "IP", "STR", "REG_EXP", "ASN":
		case "BOT_NAME", "BOT_CATEGORY":
			errs.Warnf(yamlx.Get(yamlx.Get(ln, id), "item_type"), yamlx.Join(yamlx.Join("match_lists", id), "item_type"), "%s lists are decided by the cloud's bot detection: conditions on them get sws.fallback", l.ItemType)
		default:
			errs.Errorf(yamlx.Get(yamlx.Get(ln, id), "item_type"), yamlx.Join(yamlx.Join("match_lists", id), "item_type"), "must be IP, STR, REG_EXP, ASN, BOT_NAME or BOT_CATEGORY, not %q", l.ItemType)
		}
		for _, it := range l.Items {
			switch l.ItemType {
			case "IP":
				if _, err := ParseIPRange(it.Value); err != nil {
					errs.Errorf(yamlx.Get(ln, id), yamlx.Join(yamlx.Join("match_lists", id), "items"), "%v", err)
				}
			case "REG_EXP":
				if _, err := regexp.Compile(it.Value); err != nil {
					errs.Errorf(yamlx.Get(ln, id), yamlx.Join(yamlx.Join("match_lists", id), "items"), "%q is not a regular expression apigw can run (RE2): %v", it.Value, err)
				}
			}
		}
	}
	pn := yamlx.Get(root, "custom_pages")
	for id, cp := range b.CustomPages {
		if cp == nil || cp.Content == "" {
			errs.Errorf(yamlx.Get(pn, id), yamlx.Join("custom_pages", id), "needs content")
			continue
		}
		if len(cp.Content) > 2048 {
			errs.Errorf(yamlx.Get(yamlx.Get(pn, id), "content"), yamlx.Join(yamlx.Join("custom_pages", id), "content"), "is %d bytes; a response template's body is at most 2 KB", len(cp.Content))
		}
		if len(cp.Headers) > 10 {
			errs.Errorf(yamlx.Get(yamlx.Get(pn, id), "headers"), yamlx.Join(yamlx.Join("custom_pages", id), "headers"), "at most 10 headers")
		}
		for h := range cp.Headers {
			if strings.EqualFold(h, "Content-Type") || strings.EqualFold(h, "Content-Length") {
				errs.Errorf(yamlx.Get(yamlx.Get(pn, id), "headers"), yamlx.Join(yamlx.Join("custom_pages", id), "headers"), "%s is not a header a template sets (content_type is)", h)
			}
		}
		if cp.HTTPCode != 0 && (cp.HTTPCode < 200 || cp.HTTPCode > 599) {
			errs.Errorf(yamlx.Get(yamlx.Get(pn, id), "http_code"), yamlx.Join(yamlx.Join("custom_pages", id), "http_code"), "must be an HTTP status, not %d", cp.HTTPCode)
		}
	}
	for id, p := range b.SecurityProfiles {
		n := yamlx.Get(section, id)
		path := yamlx.Join("security_profiles", id)
		if p == nil {
			errs.Errorf(n, path, "needs allow, deny or rate_limit, or the cloud's default_action and security_rules")
			continue
		}
		if p.IsCloudForm() {
			checkCloudProfile(n, path, p, b, errs)
			continue
		}
		for _, l := range []struct {
			name string
			list []string
		}{{"allow", p.Allow}, {"deny", p.Deny}} {
			for _, s := range l.list {
				var err error
				if strings.Contains(s, "/") {
					_, err = netip.ParsePrefix(s)
				} else {
					_, err = netip.ParseAddr(s)
				}
				if err != nil {
					errs.Errorf(yamlx.Get(n, l.name), yamlx.Join(path, l.name), "%q is not an IP address or a CIDR such as 10.0.0.0/8", s)
				}
			}
		}
		switch p.ClientIP {
		case "", "remote", "x-forwarded-for":
		default:
			errs.Errorf(yamlx.Get(n, "client_ip"), yamlx.Join(path, "client_ip"), "must be remote or x-forwarded-for, not %q", p.ClientIP)
		}
		if rl := p.RateLimit; rl != nil {
			rn := yamlx.Get(n, "rate_limit")
			if (rl.RPS > 0) == (rl.RPM > 0) || rl.RPS < 0 || rl.RPM < 0 {
				errs.Errorf(rn, yamlx.Join(path, "rate_limit"), "needs exactly one of rps and rpm, a positive number")
			}
			if rl.IPv6Prefix < 0 || rl.IPv6Prefix > 128 {
				errs.Errorf(yamlx.Get(rn, "ipv6_prefix"), yamlx.Join(path, "rate_limit.ipv6_prefix"), "must be a prefix length, 1 to 128, not %d", rl.IPv6Prefix)
			}
			if k := rl.Key; k != "" && k != "ip" && (!strings.HasPrefix(k, "header:") || len(k) == len("header:")) {
				errs.Errorf(yamlx.Get(rn, "key"), yamlx.Join(path, "rate_limit.key"), "must be ip or header:<Name>, not %q", k)
			}
		}
	}
}
