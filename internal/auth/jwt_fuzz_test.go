package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"testing"

	"github.com/apigw/apigw/internal/auth/jwks"
)

// FuzzToken feeds hostile tokens to the parser and the verifier: they must
// never panic, and nothing unsigned may verify.
func FuzzToken(f *testing.F) {
	f.Add("eyJhbGciOiJub25lIn0.eyJleHAiOjF9.")
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJSUzI1NiIsImtpZCI6InIxIn0.eyJzY29wZSI6WyJhIiwxXX0.AAAA")
	f.Add("..")
	pk, _ := rsa.GenerateKey(rand.Reader, 2048)
	key := &jwks.Key{ID: "r1", Public: &pk.PublicKey}
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := parseToken(s)
		if err != nil {
			return
		}
		scopesOf(tok.claims)
		audiences(tok.claims)
		numericDate(tok.claims["exp"])
		if tok.verify(key) == nil {
			t.Fatalf("an unsigned token verified: %q", s)
		}
	})
}
