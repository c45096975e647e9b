package auth

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestCacheLookupsCounted(t *testing.T) {
	hits, misses := testutil.ToFloat64(CacheLookups.WithLabelValues("jwt", "hit")), testutil.ToFloat64(CacheLookups.WithLabelValues("jwt", "miss"))
	c := newResultCache[int]("jwt", time.Minute)
	now := time.Now()
	c.get("k", now)
	c.put("k", 1, now, time.Time{})
	c.get("k", now)
	c.get("k", now.Add(2*time.Minute)) // expired
	if d := testutil.ToFloat64(CacheLookups.WithLabelValues("jwt", "hit")) - hits; d != 1 {
		t.Errorf("hits +%v, want +1", d)
	}
	if d := testutil.ToFloat64(CacheLookups.WithLabelValues("jwt", "miss")) - misses; d != 2 {
		t.Errorf("misses +%v, want +2", d)
	}
	var off *resultCache[int] = newResultCache[int]("jwt", 0)
	off.get("k", now)
	if d := testutil.ToFloat64(CacheLookups.WithLabelValues("jwt", "miss")) - misses; d != 2 {
		t.Error("a cache that is off counted a lookup")
	}
}
