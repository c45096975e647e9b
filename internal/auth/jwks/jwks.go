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

// Cache holds key sets by URL.
type Cache struct {
	Client *http.Client
	Now    func() time.Time

	minRefresh atomic.Int64 // the shortest time between two fetches of one set

	mu   sync.Mutex
	sets map[string]*set
	docs map[string]*discovery
}

type set struct {
	mu       sync.Mutex
	keys     map[string]*Key
	fetched  time.Time
	fetches  int
	failedAt time.Time // the last failed fetch, rate-limited like the others
	failErr  error
}

type discovery struct {
	mu      sync.Mutex
	jwksURI string
	fetched time.Time
}

// New returns an empty cache.
func New(client *http.Client) *Cache {
	c := &Cache{Client: client, sets: map[string]*set{}, docs: map[string]*discovery{}}
	c.SetMinRefresh(10 * time.Second)
	return c
}

// SetMinRefresh sets the shortest time between two fetches of one set.
func (c *Cache) SetMinRefresh(d time.Duration) { c.minRefresh.Store(int64(d)) }

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

// Key returns the key kid of the set at url. A set older than ttl is
// refetched; a kid the set lacks triggers one refetch, at most once per
// MinRefresh.
func (c *Cache) Key(ctx context.Context, url, kid string, ttl time.Duration) (*Key, error) {
	c.mu.Lock()
	s := c.sets[url]
	if s == nil {
		s = &set{}
		c.sets[url] = s
	}
	c.mu.Unlock()

	s.mu.Lock()
	defer s.mu.Unlock()
	now := c.now()
	stale := s.keys == nil || now.Sub(s.fetched) >= ttl
	if !stale {
		if k := s.keys[kid]; k != nil {
			return k, nil
		}
		// An unknown kid may be a key the provider just rotated in; but
		// refetch at most once per MinRefresh, whatever is asked.
		if now.Sub(s.fetched) < time.Duration(c.minRefresh.Load()) {
			return nil, ErrUnknownKey
		}
	}
	if s.failErr != nil && now.Sub(s.failedAt) < time.Duration(c.minRefresh.Load()) {
		if k := s.keys[kid]; k != nil {
			return k, nil // keep serving the last good set
		}
		return nil, s.failErr
	}
	s.fetches++
	keys, err := c.fetch(ctx, url)
	if err != nil {
		s.failedAt, s.failErr = now, err
		if k := s.keys[kid]; k != nil {
			return k, nil // keep serving the last good set
		}
		return nil, err
	}
	s.failErr = nil
	s.keys, s.fetched = keys, now
	if k := keys[kid]; k != nil {
		return k, nil
	}
	return nil, ErrUnknownKey
}

// JWKSURI resolves an OpenID Connect discovery document to its jwks_uri,
// cached for ttl.
func (c *Cache) JWKSURI(ctx context.Context, configURL string, ttl time.Duration) (string, error) {
	c.mu.Lock()
	d := c.docs[configURL]
	if d == nil {
		d = &discovery{}
		c.docs[configURL] = d
	}
	c.mu.Unlock()
	d.mu.Lock()
	defer d.mu.Unlock()
	now := c.now()
	if d.jwksURI != "" && now.Sub(d.fetched) < ttl {
		return d.jwksURI, nil
	}
	body, err := c.get(ctx, configURL)
	if err != nil {
		if d.jwksURI != "" {
			return d.jwksURI, nil
		}
		return "", err
	}
	var doc struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || doc.JWKSURI == "" {
		return "", fmt.Errorf("%w: OpenID configuration %s has no jwks_uri", ErrUnavailable, configURL)
	}
	d.jwksURI, d.fetched = doc.JWKSURI, now
	return d.jwksURI, nil
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
