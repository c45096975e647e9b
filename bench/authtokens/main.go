// Command authtokens writes what bench/auth needs into a directory: a JWKS
// with one RSA and one EC key, and a long-lived token signed by each.
package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"log"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

func main() {
	dir := os.Args[1]
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	enc := base64.RawURLEncoding
	pad := func(b []byte) []byte { return append(make([]byte, 32-len(b)), b...) }
	jwks, _ := json.Marshal(map[string]any{"keys": []map[string]string{
		{"kty": "RSA", "kid": "r1", "n": enc.EncodeToString(rk.N.Bytes()), "e": enc.EncodeToString(big.NewInt(int64(rk.E)).Bytes())},
		{"kty": "EC", "kid": "e1", "crv": "P-256", "x": enc.EncodeToString(pad(ek.X.Bytes())), "y": enc.EncodeToString(pad(ek.Y.Bytes()))},
	}})
	claims, _ := json.Marshal(map[string]any{"iss": "bench", "aud": "bench", "sub": "u", "scope": "read", "exp": time.Now().Add(24 * time.Hour).Unix()})
	tok := func(alg, kid string, sign func([]byte) []byte) string {
		h, _ := json.Marshal(map[string]string{"alg": alg, "kid": kid})
		s := enc.EncodeToString(h) + "." + enc.EncodeToString(claims)
		sum := sha256.Sum256([]byte(s))
		return s + "." + enc.EncodeToString(sign(sum[:]))
	}
	rs := tok("RS256", "r1", func(d []byte) []byte { s, _ := rsa.SignPKCS1v15(rand.Reader, rk, crypto.SHA256, d); return s })
	es := tok("ES256", "e1", func(d []byte) []byte {
		r, s, _ := ecdsa.Sign(rand.Reader, ek, d)
		return append(pad(r.Bytes()), pad(s.Bytes())...)
	})
	for name, v := range map[string]string{"jwks.json": string(jwks), "rs256.token": rs, "es256.token": es} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
