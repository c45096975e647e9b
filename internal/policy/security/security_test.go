package security

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/apigw/apigw/internal/config"
	"github.com/apigw/apigw/internal/policy/ratelimit"
)

// keys records the bucket keys a profile asks for.
type keys struct {
	ratelimit.Store
	seen []string
}

func (k *keys) Take(ctx context.Context, key string, l *ratelimit.Limit) (bool, time.Duration, error) {
	k.seen = append(k.seen, key)
	return k.Store.Take(ctx, key, l)
}

func request(remote string, header http.Header) *http.Request {
	if header == nil {
		header = http.Header{}
	}
	return &http.Request{RemoteAddr: remote, Header: header}
}

// TestClientKeys: a client's bucket key is fixed-size whatever it sends,
// and IPv6 clients are one client per /64 (or the configured prefix).
func TestClientKeys(t *testing.T) {
	store := &keys{Store: ratelimit.NewLocal()}
	byIP, err := Compile("ip", &config.SecurityProfile{RateLimit: &config.ClientRateLimit{RPS: 1}}, config.Default())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if v := byIP.Check(ctx, request("[2001:db8:1:2::1]:5000", nil), store); v.Status != 0 {
		t.Fatalf("first request: %+v", v)
	}
	if v := byIP.Check(ctx, request("[2001:db8:1:2:ffff::7]:5001", nil), store); v.Status != 429 {
		t.Errorf("another address of the same /64: %d, want 429 (one client)", v.Status)
	}
	if v := byIP.Check(ctx, request("[2001:db8:1:3::1]:5000", nil), store); v.Status != 0 {
		t.Errorf("another /64: %d, want its own budget", v.Status)
	}
	if v := byIP.Check(ctx, request("192.0.2.1:1", nil), store); v.Status != 0 {
		t.Errorf("an IPv4 client: %d", v.Status)
	}
	if v := byIP.Check(ctx, request("192.0.2.2:1", nil), store); v.Status != 0 {
		t.Errorf("the next IPv4 address is another client: %d", v.Status)
	}
	wide, _ := Compile("wide", &config.SecurityProfile{RateLimit: &config.ClientRateLimit{RPS: 1, IPv6Prefix: 48}}, config.Default())
	wide.Check(ctx, request("[2001:db8:1:2::1]:5000", nil), store)
	if v := wide.Check(ctx, request("[2001:db8:1:3::1]:5000", nil), store); v.Status != 429 {
		t.Errorf("ipv6_prefix 48: another /64 of the /48 got %d, want 429", v.Status)
	}

	byKey, _ := Compile("key", &config.SecurityProfile{RateLimit: &config.ClientRateLimit{RPS: 1, Key: "header:X-Api-Key"}}, config.Default())
	store.seen = nil
	for _, v := range []string{strings.Repeat("k", 8<<10), "short", ""} {
		byKey.Check(ctx, request("192.0.2.9:1", http.Header{"X-Api-Key": {v}}), store)
	}
	for _, k := range store.seen {
		if len(k) != len(store.seen[0]) || strings.Contains(k, "kkkk") || strings.Contains(k, "short") {
			t.Errorf("bucket key %q (%d bytes) carries the client's value", k[:min(len(k), 60)], len(k))
		}
	}
}
