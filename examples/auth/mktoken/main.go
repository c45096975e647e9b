// Command mktoken mints a JWT for the examples/auth spec, signed with the
// example key (examples/auth/example-key.pem: an example, never use it for
// anything real). The gateway verifies it against the JWKS the spec itself
// serves at /.well-known/jwks.json.
//
//	go run ./examples/auth/mktoken -scope profile:read
//	go run ./examples/auth/mktoken -jwks     # prints the JWKS of the key
package main

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"log"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

func main() {
	sub := flag.String("sub", "alice", "the subject")
	scope := flag.String("scope", "profile:read", "space-separated scopes")
	ttl := flag.Duration("ttl", time.Hour, "lifetime")
	jwks := flag.Bool("jwks", false, "print the JWKS of the example key instead")
	flag.Parse()

	_, here, _, _ := runtime.Caller(0)
	raw, err := os.ReadFile(filepath.Join(filepath.Dir(here), "..", "example-key.pem"))
	if err != nil {
		log.Fatal(err)
	}
	block, _ := pem.Decode(raw)
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		log.Fatal(err)
	}
	key := k.(*rsa.PrivateKey)
	enc := base64.RawURLEncoding
	if *jwks {
		out, _ := json.Marshal(map[string]any{"keys": []map[string]string{{
			"kty": "RSA", "kid": "example-1", "use": "sig", "alg": "RS256",
			"n": enc.EncodeToString(key.N.Bytes()), "e": enc.EncodeToString(big.NewInt(int64(key.E)).Bytes()),
		}}})
		fmt.Println(string(out))
		return
	}
	now := time.Now()
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "kid": "example-1", "typ": "JWT"})
	claims, _ := json.Marshal(map[string]any{
		"iss": "https://example.apigw.local", "aud": "example-api", "sub": *sub, "email": *sub + "@example.test",
		"scope": strings.TrimSpace(*scope), "iat": now.Unix(), "exp": now.Add(*ttl).Unix(),
	})
	signing := enc.EncodeToString(header) + "." + enc.EncodeToString(claims)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(signing + "." + enc.EncodeToString(sig))
}
