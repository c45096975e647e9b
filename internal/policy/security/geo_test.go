package security

import (
	"context"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apigw/apigw/internal/config"
	"github.com/apigw/apigw/internal/policy/ratelimit"
	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// writeMMDB builds a tiny MaxMind database: networks to records.
func writeMMDB(t *testing.T, path, kind string, records map[string]mmdbtype.Map) {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: kind, IncludeReservedNetworks: true, RecordSize: 24})
	if err != nil {
		t.Fatal(err)
	}
	for cidr, rec := range records {
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			t.Fatal(err)
		}
		if err := tree.Insert(n, rec); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := tree.WriteTo(f); err != nil {
		t.Fatal(err)
	}
}

func country(code string) mmdbtype.Map {
	return mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String(code)}}
}

func asn(n uint32) mmdbtype.Map {
	return mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(n)}
}

func TestGeoAndASNConditions(t *testing.T) {
	dir := t.TempDir()
	writeMMDB(t, filepath.Join(dir, "c.mmdb"), "GeoLite2-Country", map[string]mmdbtype.Map{
		"203.0.113.0/24": country("RU"), "198.51.100.0/24": country("DE"), "2001:db8::/32": country("KZ")})
	writeMMDB(t, filepath.Join(dir, "a.mmdb"), "GeoLite2-ASN", map[string]mmdbtype.Map{
		"203.0.113.0/24": asn(13238), "198.51.100.0/24": asn(3320)})
	src := `geoip: {mmdb: ` + filepath.Join(dir, "c.mmdb") + `, asn_mmdb: ` + filepath.Join(dir, "a.mmdb") + `}
match_lists:
  asns: {item_type: ASN, items: [{value: AS3320}]}
advanced_rate_limiter_profiles:
  arl:
    advanced_rate_limiter_rules:
      - name: per-country
        priority: 1
        dynamic_quota: {action: DENY, limit: 1, period: 60, condition: {request_uri: {path: {prefix_match: /x}}}, characteristics: [{simple_characteristic: {type: GEO}}]}
security_profiles:
  p:
    default_action: ALLOW
    advanced_rate_limiter_profile_id: arl
    security_rules:
      - name: only-ru-kz-on-geo
        priority: 1
        rule_condition: {action: DENY, condition: {request_uri: {path: {prefix_match: /geo}}, source_ip: {geo_ip_not_match: {locations: [ru, kz]}}}}
      - name: asn
        priority: 2
        rule_condition: {action: DENY, condition: {request_uri: {path: {prefix_match: /asn}}, source_ip: {asn_ranges_match: {asn_ranges: ["13238"]}}}}
      - name: asn-list
        priority: 3
        rule_condition: {action: DENY, condition: {request_uri: {path: {prefix_match: /list}}, source_ip: {asn_lists_match: {list_ids: [asns]}}}}
`
	p := profileFrom(t, src)
	store := ratelimit.NewLocal()
	try := func(target, ip string) int {
		r := httptest.NewRequest("GET", "http://api.test"+target, nil)
		r.RemoteAddr = net.JoinHostPort(ip, "1")
		return p.Check(context.Background(), r, store).Status
	}
	for _, c := range []struct {
		target, ip string
		want       int
	}{
		{"/geo", "203.0.113.5", 0}, {"/geo", "2001:db8::7", 0}, {"/geo", "198.51.100.5", 403}, {"/geo", "192.0.2.1", 403},
		{"/asn", "203.0.113.9", 403}, {"/asn", "198.51.100.9", 0},
		{"/list", "198.51.100.9", 403}, {"/list", "203.0.113.9", 0},
		// The quota per country: one request each.
		{"/x", "203.0.113.1", 0}, {"/x", "203.0.113.2", 429}, {"/x", "198.51.100.1", 0},
	} {
		if got := try(c.target, c.ip); got != c.want {
			t.Errorf("%s from %s: %d, want %d", c.target, c.ip, got, c.want)
		}
	}
	// Without the database, a geo condition does not load.
	_, errs := configParse(strings.Replace(src, "geoip: {mmdb: "+filepath.Join(dir, "c.mmdb")+",", "geoip: {", 1))
	if errs == nil || !strings.Contains(errs.Error(), "need a country database") {
		t.Fatalf("a geo condition without geoip.mmdb: %v", errs)
	}
}

func configParse(src string) (any, error) {
	_, errs := config.Parse([]byte(src))
	return nil, errs.Err()
}
