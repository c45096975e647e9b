package security

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/apigw/apigw/internal/config"
	"github.com/oschwald/maxminddb-golang/v2"
)

// geoDBs are the databases geo and ASN conditions look addresses up in.
type geoDBs struct {
	country, asn *maxminddb.Reader
}

// country is an address's ISO country code, lower case ("" unknown).
func (g *geoDBs) countryOf(a netip.Addr) string {
	if g == nil || g.country == nil || !a.IsValid() {
		return ""
	}
	var rec struct {
		Country struct {
			ISOCode string `maxminddb:"iso_code"`
		} `maxminddb:"country"`
	}
	if err := g.country.Lookup(a).Decode(&rec); err != nil {
		return ""
	}
	return strings.ToLower(rec.Country.ISOCode)
}

// asnOf is an address's autonomous system number (0 unknown).
func (g *geoDBs) asnOf(a netip.Addr) int64 {
	if g == nil || g.asn == nil || !a.IsValid() {
		return 0
	}
	var rec struct {
		ASN uint `maxminddb:"autonomous_system_number"`
	}
	if err := g.asn.Lookup(a).Decode(&rec); err != nil {
		return 0
	}
	return int64(rec.ASN)
}

// geoReaders keeps each database file open once per version of it (its
// size and modification time): snapshots share the reader, and a changed
// file is read anew at the next build.
var geoReaders = struct {
	sync.Mutex
	m map[string]geoReader
}{m: map[string]geoReader{}}

type geoReader struct {
	size int64
	mod  time.Time
	r    *maxminddb.Reader
}

func openGeo(path string) (*maxminddb.Reader, error) {
	if path == "" {
		return nil, nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("geoip: %w", err)
	}
	geoReaders.Lock()
	defer geoReaders.Unlock()
	if g, ok := geoReaders.m[path]; ok && g.size == fi.Size() && g.mod.Equal(fi.ModTime()) {
		return g.r, nil
	}
	r, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("geoip: %s: %w", path, err)
	}
	// The reader of the file's previous version stays open: snapshots
	// still serving may use it (one per change of the file).
	geoReaders.m[path] = geoReader{size: fi.Size(), mod: fi.ModTime(), r: r}
	return r, nil
}

func loadGeo(g config.GeoIP) (*geoDBs, error) {
	c, err := openGeo(g.MMDB)
	if err != nil {
		return nil, err
	}
	a, err := openGeo(g.ASNMMDB)
	if err != nil {
		return nil, err
	}
	if c == nil && a == nil {
		return nil, nil
	}
	return &geoDBs{country: c, asn: a}, nil
}
