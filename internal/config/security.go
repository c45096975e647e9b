package config

import (
	"net/netip"
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

func checkSecurityProfiles(root *yaml.Node, ps map[string]*SecurityProfile, errs *yamlx.List) {
	section := yamlx.Get(root, "security_profiles")
	for id, p := range ps {
		n := yamlx.Get(section, id)
		path := yamlx.Join("security_profiles", id)
		if p == nil {
			errs.Errorf(n, path, "needs allow, deny or rate_limit")
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
