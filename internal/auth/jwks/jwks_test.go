package jwks

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	enc := base64.RawURLEncoding
	big2048, _ := rsa.GenerateKey(rand.Reader, 2048)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	rsaJWK := func(kid string, k *rsa.PrivateKey, use string) map[string]string {
		return map[string]string{"kty": "RSA", "kid": kid, "use": use, "n": enc.EncodeToString(k.N.Bytes()), "e": enc.EncodeToString(big.NewInt(int64(k.E)).Bytes())}
	}
	doc, _ := json.Marshal(map[string]any{"keys": []map[string]string{
		rsaJWK("good", big2048, "sig"),
		rsaJWK("small", small, "sig"),
		rsaJWK("enc", big2048, "enc"),
		{"kty": "EC", "kid": "offcurve", "crv": "P-256", "x": enc.EncodeToString([]byte{1}), "y": enc.EncodeToString([]byte{2})},
		{"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
	}})
	keys, err := Parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys["good"] == nil {
		t.Errorf("usable keys = %v, want only the 2048-bit signing key", keys)
	}
	for _, bad := range []string{`not json`, `{"keys": []}`, `{"keys": [{"kty": "oct", "k": "eA"}]}`} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%s) succeeded", bad)
		}
	}
}

// TestCachedKeyAllocatesNothing: the path every verification takes, a kid
// the cached set holds, costs no allocation.
func TestCachedKeyAllocatesNothing(t *testing.T) {
	k, _ := rsa.GenerateKey(rand.Reader, 2048)
	enc := base64.RawURLEncoding
	doc, _ := json.Marshal(map[string]any{"keys": []map[string]string{
		{"kty": "RSA", "kid": "k1", "n": enc.EncodeToString(k.N.Bytes()), "e": enc.EncodeToString(big.NewInt(int64(k.E)).Bytes())},
	}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(doc) }))
	defer srv.Close()
	c := New(srv.Client())
	ctx := context.Background()
	if _, err := c.Key(ctx, srv.URL, "k1", time.Hour); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { c.Key(ctx, srv.URL, "k1", time.Hour) }); n != 0 {
		t.Errorf("a cached key costs %v allocations, want 0", n)
	}
}
