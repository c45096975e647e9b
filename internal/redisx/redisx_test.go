package redisx

import (
	"testing"
	"time"
)

// TestOptions: each topology becomes the client go-redis's universal
// client picks for it, with TLS from rediss://, credentials from the URL,
// and one timeout on everything.
func TestOptions(t *testing.T) {
	for _, tt := range []struct {
		name    string
		c       Config
		addrs   int
		cluster bool
		master  string
		tls     bool
		pass    string
	}{
		{"one node", Config{URL: "redis://u:p@10.0.0.1:6379/2"}, 1, false, "", false, "p"},
		{"one node over TLS", Config{URL: "rediss://10.0.0.1:6380"}, 1, false, "", true, ""},
		{"a cluster from one seed", Config{URL: "rediss://:secret@ignored:1", Addrs: []string{"10.0.0.1:6379"}}, 1, true, "", true, "secret"},
		{"Sentinel", Config{Addrs: []string{"10.0.0.1:26379", "10.0.0.2:26379"}, MasterName: "mymaster"}, 2, false, "mymaster", false, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o, err := universalOptions(tt.c)
			if err != nil {
				t.Fatal(err)
			}
			if len(o.Addrs) != tt.addrs || o.IsClusterMode != tt.cluster || o.MasterName != tt.master || (o.TLSConfig != nil) != tt.tls || o.Password != tt.pass {
				t.Errorf("options %+v", o)
			}
			if o.MaxActiveConns == 0 || o.MaxActiveConns != o.PoolSize {
				t.Errorf("connections unbounded: pool %d, active %d", o.PoolSize, o.MaxActiveConns)
			}
			if !o.ContextTimeoutEnabled || o.ReadTimeout != DefaultTimeout || o.DialTimeout != DefaultTimeout || o.MaxRetries != -1 {
				t.Errorf("timeouts: context %v, read %v, dial %v, retries %d", o.ContextTimeoutEnabled, o.ReadTimeout, o.DialTimeout, o.MaxRetries)
			}
		})
	}
	if _, err := universalOptions(Config{}); err == nil {
		t.Error("no address accepted")
	}
	if o, _ := universalOptions(Config{URL: "redis://x:1", Timeout: 2 * time.Second}); o.WriteTimeout != 2*time.Second || o.PoolTimeout != 2*time.Second {
		t.Errorf("redis.timeout not applied: %+v", o)
	}
}
