// Package jwks fetches and caches JSON Web Key Sets (and OpenID Connect
// discovery documents) for the JWT authorizer. It outlives snapshots, so a
// reload keeps the keys, and it refuses to refetch a set more often than
// MinRefresh however many tokens with unknown key IDs arrive: forged tokens
// must not turn the gateway into a flood against the identity provider.
package jwks

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Key is a public key from a JWKS.
type Key struct {
	ID     string
	Alg    string // the JWK's "alg", "" when it names none
	Public crypto.PublicKey
}

// ErrUnavailable wraps failures to fetch or read a key set or discovery
// document (the authorizer answers 500).
var ErrUnavailable = errors.New("key set unavailable")

// ErrUnknownKey is a kid that the (fresh enough) key set does not hold.
var ErrUnknownKey = errors.New("no key with that kid")

// Cache holds key sets by URL. No lock is held while a set is fetched:
// tokens whose key is cached verify however slow the key server is. A set
// is fetched by one request at a time (others that need it wait for that
// same fetch), within FetchTimeout; a set past its TTL keeps serving while
// it is refreshed in the background, and while refreshes fail.
type Cache struct {
	Client *http.Client
	Now    func() time.Time

	minRefresh   atomic.Int64 // the shortest time between two fetches of one set
	fetchTimeout atomic.Int64 // the longest one fetch may take

	mu   sync.Mutex
	sets map[string]*entry[map[string]*Key]
	docs map[string]*entry[string] // discovery documents' jwks_uri
}

// DefaultFetchTimeout bounds one fetch of a key set or discovery document.
const DefaultFetchTimeout = 5 * time.Second

// entry is one cached document (a key set, or a discovery document's
// jwks_uri) and the fetch that refreshes it.
type entry[T any] struct {
	mu       sync.Mutex // never held across a fetch
	value    T
	fetched  time.Time // when value was fetched
	started  time.Time // when the last fetch started
	fetches  int
	failedAt time.Time // the last failed fetch, rate-limited like the others
	failErr  error
	flight   *flight // the fetch under way, nil when none
}

// staleLocked says whether a held value is due a background refresh: older
// than ttl, none under way, and none started within minRefresh. e.mu is
// held.
func (e *entry[T]) staleLocked(now time.Time, ttl, minRefresh time.Duration) bool {
	return now.Sub(e.fetched) >= ttl && e.flight == nil && now.Sub(e.started) >= minRefresh
}

// startLocked runs fetch in the background, within the cache's fetch
// timeout, and keeps its value or its error. e.mu is held.
func startLocked[T any](c *Cache, e *entry[T], now time.Time, fetch func(context.Context) (T, error)) *flight {
	f := &flight{done: make(chan struct{})}
	e.flight, e.started = f, now
	e.fetches++
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(c.fetchTimeout.Load()))
		defer cancel()
		v, err := fetch(ctx)
		e.mu.Lock()
		if err != nil {
			e.failedAt, e.failErr = c.now(), err
		} else {
			e.value, e.fetched, e.failErr = v, c.now(), nil
		}
		e.flight = nil
		e.mu.Unlock()
		close(f.done)
	}()
	return f
}

// refreshKeysLocked fetches the key set at url in the background. (The
// closure is made only here: Key's cached path allocates nothing.)
func (c *Cache) refreshKeysLocked(s *entry[map[string]*Key], url string, now time.Time) *flight {
	return startLocked(c, s, now, func(ctx context.Context) (map[string]*Key, error) { return c.fetch(ctx, url) })
}

// rediscoverLocked fetches the discovery document at configURL in the
// background.
func (c *Cache) rediscoverLocked(d *entry[string], configURL string, now time.Time) *flight {
	return startLocked(c, d, now, func(ctx context.Context) (string, error) { return c.discover(ctx, configURL) })
}

// entryFor returns the entry for url in m, made on first use.
func entryFor[T any](c *Cache, m map[string]*entry[T], url string) *entry[T] {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := m[url]
	if e == nil {
		e = &entry[T]{}
		m[url] = e
	}
	return e
}

// flight is one fetch that several requests may wait for.
type flight struct{ done chan struct{} }

// wait waits for the fetch, or for ctx.
func (f *flight) wait(ctx context.Context) error {
	select {
	case <-f.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: waiting for the key set: %v", ErrUnavailable, ctx.Err())
	}
}

// New returns an empty cache.
func New(client *http.Client) *Cache {
	c := &Cache{Client: client, sets: map[string]*entry[map[string]*Key]{}, docs: map[string]*entry[string]{}}
	c.SetMinRefresh(10 * time.Second)
	c.SetFetchTimeout(DefaultFetchTimeout)
	return c
}

// SetMinRefresh sets the shortest time between two fetches of one set.
func (c *Cache) SetMinRefresh(d time.Duration) { c.minRefresh.Store(int64(d)) }

// SetFetchTimeout sets the longest one fetch may take (0: the default).
func (c *Cache) SetFetchTimeout(d time.Duration) {
	if d <= 0 {
		d = DefaultFetchTimeout
	}
	c.fetchTimeout.Store(int64(d))
}

func (c *Cache) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Fetches reports how many times the set at url was fetched.
func (c *Cache) Fetches(url string) int {
	c.mu.Lock()
	s := c.sets[url]
	c.mu.Unlock()
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetches
}

// Key returns the key kid of the set at url.
//
//   - A kid the cached set holds is returned at once; a set older than ttl
//     is refreshed in the background meanwhile.
//   - A kid it lacks may be a key the provider just rotated in: the caller
//     waits for one refetch, but refetches start at most once per
//     MinRefresh, so forged kids get ErrUnknownKey at once in between.
//   - Without a set yet, the caller waits for the first fetch.
//
// A failed fetch is not retried within MinRefresh either; the last good
// set keeps serving.
func (c *Cache) Key(ctx context.Context, url, kid string, ttl time.Duration) (*Key, error) {
	s := entryFor(c, c.sets, url)
	minRefresh := time.Duration(c.minRefresh.Load())
	s.mu.Lock()
	now := c.now()
	if k := s.value[kid]; k != nil {
		if s.staleLocked(now, ttl, minRefresh) {
			c.refreshKeysLocked(s, url, now) // refresh, and serve meanwhile
		}
		s.mu.Unlock()
		return k, nil
	}
	f := s.flight
	if f == nil {
		switch {
		case s.value != nil && now.Sub(s.fetched) < ttl && now.Sub(s.started) < minRefresh:
			s.mu.Unlock()
			return nil, ErrUnknownKey
		case s.failErr != nil && now.Sub(s.failedAt) < minRefresh:
			err := s.failErr
			s.mu.Unlock()
			return nil, err
		}
		f = c.refreshKeysLocked(s, url, now)
	}
	s.mu.Unlock()
	if err := f.wait(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := s.value[kid]; k != nil {
		return k, nil
	}
	if s.failErr != nil && s.failedAt.After(s.fetched) {
		return nil, s.failErr
	}
	return nil, ErrUnknownKey
}

// JWKSURI resolves an OpenID Connect discovery document to its jwks_uri,
// cached for ttl, the same way: a known one is returned at once (and
// refreshed in the background when old), the first waits for one fetch.
func (c *Cache) JWKSURI(ctx context.Context, configURL string, ttl time.Duration) (string, error) {
	d := entryFor(c, c.docs, configURL)
	minRefresh := time.Duration(c.minRefresh.Load())
	d.mu.Lock()
	now := c.now()
	if d.value != "" {
		if d.staleLocked(now, ttl, minRefresh) {
			c.rediscoverLocked(d, configURL, now)
		}
		uri := d.value
		d.mu.Unlock()
		return uri, nil
	}
	f := d.flight
	if f == nil {
		if d.failErr != nil && now.Sub(d.failedAt) < minRefresh {
			err := d.failErr
			d.mu.Unlock()
			return "", err
		}
		f = c.rediscoverLocked(d, configURL, now)
	}
	d.mu.Unlock()
	if err := f.wait(ctx); err != nil {
		return "", err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.value == "" {
		return "", d.failErr
	}
	return d.value, nil
}

func (c *Cache) discover(ctx context.Context, configURL string) (string, error) {
	body, err := c.get(ctx, configURL)
	if err != nil {
		return "", err
	}
	var doc struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || doc.JWKSURI == "" {
		return "", fmt.Errorf("%w: OpenID configuration %s has no jwks_uri", ErrUnavailable, configURL)
	}
	return doc.JWKSURI, nil
}

func (c *Cache) get(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	req.Header.Set("Accept", "application/json")
	res, err := c.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: %s answered %s", ErrUnavailable, url, res.Status)
	}
	return body, nil
}

func (c *Cache) fetch(ctx context.Context, url string) (map[string]*Key, error) {
	body, err := c.get(ctx, url)
	if err != nil {
		return nil, err
	}
	return Parse(body)
}

type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// Parse reads a JWKS document. Keys it cannot use (other types, use "enc",
// broken values) are skipped; a document with no usable key is an error.
func Parse(body []byte) (map[string]*Key, error) {
	var doc struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("%w: not a JWKS document: %v", ErrUnavailable, err)
	}
	out := map[string]*Key{}
	for _, k := range doc.Keys {
		if k.Use == "enc" {
			continue
		}
		pub, err := k.public()
		if err != nil {
			continue
		}
		out[k.Kid] = &Key{ID: k.Kid, Alg: k.Alg, Public: pub}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: the JWKS holds no usable signing key", ErrUnavailable)
	}
	return out, nil
}

func b64(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

func (k *jwk) public() (crypto.PublicKey, error) {
	switch k.Kty {
	case "RSA":
		n, err1 := b64(k.N)
		e, err2 := b64(k.E)
		if err1 != nil || err2 != nil || len(n) < 256 || len(e) == 0 || len(e) > 4 {
			return nil, errors.New("bad RSA key (at least 2048 bits)")
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}, nil
	case "EC":
		var curve elliptic.Curve
		switch k.Crv {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		case "P-521":
			curve = elliptic.P521()
		default:
			return nil, errors.New("unsupported curve")
		}
		x, err1 := b64(k.X)
		y, err2 := b64(k.Y)
		if err1 != nil || err2 != nil {
			return nil, errors.New("bad EC key")
		}
		pub := &ecdsa.PublicKey{Curve: curve, X: new(big.Int).SetBytes(x), Y: new(big.Int).SetBytes(y)}
		if !curve.IsOnCurve(pub.X, pub.Y) {
			return nil, errors.New("EC point not on the curve")
		}
		return pub, nil
	case "OKP":
		x, err := b64(k.X)
		if k.Crv != "Ed25519" || err != nil || len(x) != ed25519.PublicKeySize {
			return nil, errors.New("bad OKP key")
		}
		return ed25519.PublicKey(x), nil
	}
	return nil, errors.New("unsupported key type")
}
