package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/apigw/apigw/internal/auth/jwks"
)

// token is a decoded, not yet verified, JWT.
type token struct {
	alg, kid string
	claims   map[string]any
	signing  string // header.payload, what the signature covers
	sig      []byte
}

var errMalformed = errors.New("malformed token")

func parseToken(s string) (*token, error) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return nil, errMalformed
	}
	enc := base64.RawURLEncoding
	hb, err1 := enc.DecodeString(parts[0])
	cb, err2 := enc.DecodeString(parts[1])
	sig, err3 := enc.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return nil, errMalformed
	}
	var header struct {
		Alg  string   `json:"alg"`
		Kid  string   `json:"kid"`
		Crit []string `json:"crit"`
	}
	if json.Unmarshal(hb, &header) != nil {
		return nil, errMalformed
	}
	if len(header.Crit) > 0 {
		return nil, errors.New("token has critical header extensions")
	}
	t := &token{alg: header.Alg, kid: header.Kid, signing: parts[0] + "." + parts[1], sig: sig}
	dec := json.NewDecoder(strings.NewReader(string(cb)))
	dec.UseNumber()
	if dec.Decode(&t.claims) != nil || t.claims == nil {
		return nil, errMalformed
	}
	return t, nil
}

// verify checks the signature with the key, the token's alg pinned to the
// key's type: "none", HMAC algorithms, and an RSA alg on an EC key (or the
// reverse) never pass, whatever the token says.
func (t *token) verify(k *jwks.Key) error {
	if k.Alg != "" && k.Alg != t.alg {
		return fmt.Errorf("token alg %q differs from the key's %q", t.alg, k.Alg)
	}
	hashed := func(h crypto.Hash) []byte {
		switch h {
		case crypto.SHA256:
			s := sha256.Sum256([]byte(t.signing))
			return s[:]
		case crypto.SHA384:
			s := sha512.Sum384([]byte(t.signing))
			return s[:]
		default:
			s := sha512.Sum512([]byte(t.signing))
			return s[:]
		}
	}
	hashOf := map[string]crypto.Hash{
		"RS256": crypto.SHA256, "RS384": crypto.SHA384, "RS512": crypto.SHA512,
		"PS256": crypto.SHA256, "PS384": crypto.SHA384, "PS512": crypto.SHA512,
		"ES256": crypto.SHA256, "ES384": crypto.SHA384, "ES512": crypto.SHA512,
	}
	switch pub := k.Public.(type) {
	case *rsa.PublicKey:
		h, ok := hashOf[t.alg]
		switch {
		case ok && strings.HasPrefix(t.alg, "RS"):
			return rsa.VerifyPKCS1v15(pub, h, hashed(h), t.sig)
		case ok && strings.HasPrefix(t.alg, "PS"):
			return rsa.VerifyPSS(pub, h, hashed(h), t.sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		}
	case *ecdsa.PublicKey:
		want := map[string]string{"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}[pub.Curve.Params().Name]
		if t.alg != want {
			break
		}
		size := (pub.Curve.Params().BitSize + 7) / 8
		if len(t.sig) != 2*size {
			return errors.New("bad ECDSA signature length")
		}
		r := new(big.Int).SetBytes(t.sig[:size])
		s := new(big.Int).SetBytes(t.sig[size:])
		h := hashOf[t.alg]
		if !ecdsa.Verify(pub, hashed(h), r, s) {
			return errors.New("bad signature")
		}
		return nil
	case ed25519.PublicKey:
		if t.alg != "EdDSA" {
			break
		}
		if !ed25519.Verify(pub, []byte(t.signing), t.sig) {
			return errors.New("bad signature")
		}
		return nil
	}
	return fmt.Errorf("alg %q is not allowed for this key", t.alg)
}

// numericDate reads exp/nbf/iat.
func numericDate(v any) (time.Time, bool) {
	switch n := v.(type) {
	case json.Number:
		f, err := n.Float64()
		if err != nil {
			return time.Time{}, false
		}
		return time.Unix(int64(f), 0), true
	}
	return time.Time{}, false
}

// scopesOf reads `scope` or `scp`: a space-separated string or an array.
func scopesOf(claims map[string]any) []string {
	for _, name := range []string{"scope", "scp"} {
		switch v := claims[name].(type) {
		case string:
			return strings.Fields(v)
		case []any:
			out := make([]string, 0, len(v))
			for _, s := range v {
				if str, ok := s.(string); ok {
					out = append(out, str)
				}
			}
			return out
		}
	}
	return []string{}
}

// audiences reads `aud`: a string or an array.
func audiences(claims map[string]any) []string {
	switch v := claims["aud"].(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, s := range v {
			if str, ok := s.(string); ok {
				out = append(out, str)
			}
		}
		return out
	}
	return nil
}
