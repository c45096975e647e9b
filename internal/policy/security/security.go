// Package security is the self-hosted stand-in for Smart Web Security
// (digest §5.7): a profile from the bindings file, named by the spec's
// smartWebSecurity.securityProfileId, that runs before routing with an IP
// allow list, an IP deny list and a rate limit per client key.
package security

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/apigw/apigw/internal/config"
	"github.com/apigw/apigw/internal/policy/ratelimit"
)

// Profile is a compiled security profile: the short form (IP lists and
// a per-client limit) or the cloud's (cloud != nil).
type Profile struct {
	ID     string
	cloud  *cloudProfile
	allow  []netip.Prefix // empty: every address not denied
	deny   []netip.Prefix
	limit  *ratelimit.Limit
	header string // the rate limit's key: this header, else the client IP
	xff    bool   // the client IP is the last X-Forwarded-For address
	v6bits int    // IPv6 clients are one client per this prefix
}

// Compile turns a bindings profile (checked by config) into a Profile;
// b holds the match lists, custom pages and fallback a cloud profile uses.
func Compile(id string, p *config.SecurityProfile, b *config.Bindings) (*Profile, error) {
	out := &Profile{ID: id, xff: p.ClientIP == "x-forwarded-for", v6bits: 64}
	if p.IsCloudForm() {
		c, err := compileCloud(p, b)
		if err != nil {
			return nil, err
		}
		out.cloud = c
		return out, nil
	}
	for _, list := range []struct {
		src []string
		dst *[]netip.Prefix
	}{{p.Allow, &out.allow}, {p.Deny, &out.deny}} {
		for _, s := range list.src {
			pfx, err := parsePrefix(s)
			if err != nil {
				return nil, err
			}
			*list.dst = append(*list.dst, pfx)
		}
	}
	if rl := p.RateLimit; rl != nil {
		switch {
		case rl.RPS > 0:
			out.limit = &ratelimit.Limit{Rate: float64(rl.RPS), Burst: rl.RPS, Text: fmt.Sprintf("%d rps per client", rl.RPS)}
		case rl.RPM > 0:
			out.limit = &ratelimit.Limit{Rate: float64(rl.RPM) / 60, Burst: rl.RPM, Text: fmt.Sprintf("%d rpm per client", rl.RPM)}
		}
		out.header, _ = strings.CutPrefix(rl.Key, "header:")
		if rl.IPv6Prefix > 0 {
			out.v6bits = rl.IPv6Prefix
		}
	}
	return out, nil
}

// parsePrefix reads a CIDR or a single address.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// Verdict is what a profile decided for a request.
type Verdict struct {
	Status     int // 0: let through; 403 or 429
	Message    string
	RetryAfter time.Duration
	Err        error // the rate-limit store failed (the request goes on)
	// Page, with a cloud profile's DENY, is the answer to write (the
	// block page or a custom page).
	Page *Page
	// Decision is a cloud profile's: the rule and action, and the dry
	// runs that matched on the way (for the access log).
	Decision *Decision
}

// Check runs the profile on a request.
func (p *Profile) Check(ctx context.Context, r *http.Request, store ratelimit.Store) Verdict {
	ip := p.clientIP(r)
	if c := p.cloud; c != nil {
		deny, d, page := c.decide(r, ip)
		if !deny && c.bodyDeny && c.bodyLimit > 0 && r.ContentLength > c.bodyLimit {
			deny, d.Rule, d.Action = true, "analyze_request_body", "DENY"
		}
		if !deny {
			if c.arl == nil {
				return Verdict{Decision: &d}
			}
			a := c.arl.take(ctx, r, ip, store)
			d.ARLDryRuns = a.dryRuns
			if !a.deny {
				return Verdict{Decision: &d, Err: a.err}
			}
			d.ARLRule, d.Action = a.rule, "DENY"
			v := Verdict{Status: http.StatusTooManyRequests, Message: "the advanced rate limiter's quota is exceeded (" + a.rule + ")",
				RetryAfter: a.retryAfter, Err: a.err, Decision: &d}
			if c.page != nil { // the profile's template covers the rate limiter's denials too
				v.Page = c.page.render(r.Header.Get("X-Request-Id"), ip, time.Now())
				v.Status = v.Page.Status
			}
			return v
		}
		if page == nil {
			page = c.page
		}
		if page == nil {
			page = blockPage(r.Header.Get("X-Request-Id"))
		} else {
			page = page.render(r.Header.Get("X-Request-Id"), ip, time.Now())
		}
		return Verdict{Status: page.Status, Message: "the request is denied by the security profile", Page: page, Decision: &d}
	}
	if ip.IsValid() {
		for _, d := range p.deny {
			if d.Contains(ip) {
				return Verdict{Status: http.StatusForbidden, Message: "the client address is denied by the security profile"}
			}
		}
	}
	if len(p.allow) > 0 {
		allowed := false
		for _, a := range p.allow {
			if ip.IsValid() && a.Contains(ip) {
				allowed = true
				break
			}
		}
		if !allowed {
			return Verdict{Status: http.StatusForbidden, Message: "the client address is not allowed by the security profile"}
		}
	}
	if p.limit != nil {
		var client string
		switch {
		case p.header != "":
			client = "h:" + r.Header.Get(p.header)
		case ip.Is6():
			// One client per /64 (by default): a host is handed a whole
			// prefix, and would otherwise get a fresh budget per address.
			pfx, _ := ip.Prefix(p.v6bits)
			client = pfx.String()
		default:
			client = ip.String()
		}
		ok, wait, err := store.Take(ctx, "sws "+p.ID+"|"+p.limit.Text+"|"+ratelimit.Key(client), p.limit)
		if !ok {
			return Verdict{Status: http.StatusTooManyRequests, Message: "rate limit exceeded: " + p.limit.Text, RetryAfter: wait, Err: err}
		}
		return Verdict{Err: err}
	}
	return Verdict{}
}

// clientIP is the connection's peer, or the address the nearest proxy
// appended to X-Forwarded-For when the profile trusts it.
func (p *Profile) clientIP(r *http.Request) netip.Addr {
	if p.xff {
		if v := r.Header.Values("X-Forwarded-For"); len(v) > 0 {
			last := v[len(v)-1]
			if i := strings.LastIndexByte(last, ','); i >= 0 {
				last = last[i+1:]
			}
			if a, err := netip.ParseAddr(strings.TrimSpace(last)); err == nil {
				return a.Unmap()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}
