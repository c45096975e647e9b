package security

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/apigw/apigw/internal/config"
	"github.com/apigw/apigw/internal/policy/ratelimit"
)

// arlProfile is the cloud's advanced rate limiter, on apigw's limiter:
// its counters are the rate-limit store's buckets (bounded in memory,
// shared through Redis between replicas). A quota of limit requests per
// period is a bucket of limit tokens refilled over the period.
type arlProfile struct {
	id    string
	rules []arlRule
}

type arlRule struct {
	name     string
	priority int64
	dryRun   bool
	checks   []check
	limit    *ratelimit.Limit
	keys     []func(r *http.Request, ip netip.Addr) string // nil: a static quota
}

func compileARL(id string, a *config.ARLProfile, env condEnv) (*arlProfile, error) {
	out := &arlProfile{id: id}
	for _, r := range a.Rules {
		q := r.StaticQuota
		if q == nil {
			q = r.DynamicQuota
		}
		checks, err := compileCondition(q.Condition, env)
		if err != nil {
			return nil, fmt.Errorf("rule %s: %w", r.Name, err)
		}
		ar := arlRule{name: r.Name, priority: int64(r.Priority), dryRun: r.DryRun, checks: checks,
			limit: &ratelimit.Limit{Rate: float64(q.Limit) / float64(q.Period), Burst: int(q.Limit),
				Text: fmt.Sprintf("%d requests per %d s (%s)", q.Limit, q.Period, r.Name)}}
		for _, c := range q.Characteristics {
			ar.keys = append(ar.keys, characteristic(c, env.geo))
		}
		out.rules = append(out.rules, ar)
	}
	slices.SortStableFunc(out.rules, func(a, b arlRule) int { return int(a.priority - b.priority) })
	return out, nil
}

// characteristic is what a dynamic quota counts by; a value the request
// lacks is the empty string, one group of its own.
func characteristic(c *config.ARLCharacteristic, geo *geoDBs) func(r *http.Request, ip netip.Addr) string {
	var get func(r *http.Request, ip netip.Addr) string
	switch {
	case c.Simple != nil:
		switch c.Simple.Type {
		case "REQUEST_PATH":
			get = func(r *http.Request, _ netip.Addr) string { return requestPath(r) }
		case "HTTP_METHOD":
			get = func(r *http.Request, _ netip.Addr) string { return r.Method }
		case "IP":
			get = func(_ *http.Request, ip netip.Addr) string { return ip.String() }
		case "HOST":
			get = func(r *http.Request, _ netip.Addr) string { return strings.ToLower(r.Host) }
		default: // GEO: the country
			get = func(_ *http.Request, ip netip.Addr) string { return geo.countryOf(ip) }
		}
	default:
		name := c.Key.Value
		switch c.Key.Type {
		case "HEADER_KEY":
			get = func(r *http.Request, _ netip.Addr) string { return r.Header.Get(name) }
		case "QUERY_KEY":
			get = func(r *http.Request, _ netip.Addr) string {
				if vs := queryValues(r.URL.RawQuery, name); len(vs) > 0 {
					return vs[0]
				}
				return ""
			}
		default: // COOKIE_KEY
			get = func(r *http.Request, _ netip.Addr) string {
				if ck, err := r.Cookie(name); err == nil {
					return ck.Value
				}
				return ""
			}
		}
	}
	if c.CaseInsensitive {
		inner := get
		get = func(r *http.Request, ip netip.Addr) string { return strings.ToLower(inner(r, ip)) }
	}
	return get
}

// arlVerdict is the limiter's answer.
type arlVerdict struct {
	deny       bool
	rule       string
	retryAfter time.Duration
	dryRuns    []string
	err        error
}

// take counts a request against the first rule whose condition it
// matches (a dry-run rule counts and logs, and the next rules go on).
func (a *arlProfile) take(ctx context.Context, r *http.Request, ip netip.Addr, store ratelimit.Store) arlVerdict {
	var v arlVerdict
	for i := range a.rules {
		ru := &a.rules[i]
		matched := true
		for _, c := range ru.checks {
			if !c(r, ip) {
				matched = false
				break
			}
		}
		if !matched {
			continue
		}
		var key strings.Builder
		key.WriteString("arl ")
		key.WriteString(a.id)
		key.WriteByte('|')
		key.WriteString(ru.name)
		if len(ru.keys) > 0 {
			var vals strings.Builder
			for _, k := range ru.keys {
				vals.WriteString(k(r, ip))
				vals.WriteByte(0)
			}
			key.WriteByte('|')
			key.WriteString(ratelimit.Key(vals.String()))
		}
		ok, wait, err := store.Take(ctx, key.String(), ru.limit)
		if err != nil {
			v.err = err
		}
		if ru.dryRun {
			if !ok {
				v.dryRuns = append(v.dryRuns, ru.name+":DENY")
			}
			continue
		}
		if !ok {
			v.deny, v.rule, v.retryAfter = true, ru.name, wait
		}
		return v
	}
	return v
}
