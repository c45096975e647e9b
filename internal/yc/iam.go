// Package yc reaches real Yandex Cloud: it turns a service account's
// authorized key into IAM tokens the documented way (a PS256-signed JWT
// exchanged at the IAM endpoint), cached and refreshed before they expire.
package yc

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// DefaultIAMEndpoint is where JWTs are exchanged for IAM tokens.
const DefaultIAMEndpoint = "https://iam.api.cloud.yandex.net/iam/v1/tokens"

// Key is a service account's authorized key, as `yc iam key create` writes
// it.
type Key struct {
	ID               string `json:"id"`
	ServiceAccountID string `json:"service_account_id"`
	PrivateKey       string `json:"private_key"`
	rsa              *rsa.PrivateKey
}

// LogValue keeps the private key out of every log line.
func (k *Key) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", k.ID), slog.String("service_account_id", k.ServiceAccountID), slog.String("private_key", "REDACTED"))
}

// LoadKey reads an authorized key file.
func LoadKey(path string) (*Key, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseKey(data)
}

// ParseKey parses an authorized key (JSON).
func ParseKey(data []byte) (*Key, error) {
	var k Key
	if err := json.Unmarshal(data, &k); err != nil {
		return nil, fmt.Errorf("not an authorized key JSON: %v", err)
	}
	if k.ID == "" || k.ServiceAccountID == "" || k.PrivateKey == "" {
		return nil, errors.New("an authorized key needs id, service_account_id and private_key")
	}
	// The key may carry a warning line before the PEM block.
	pemText := k.PrivateKey
	if i := strings.Index(pemText, "-----BEGIN"); i > 0 {
		pemText = pemText[i:]
	}
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return nil, errors.New("private_key holds no PEM block")
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		if pk, err2 := x509.ParsePKCS1PrivateKey(block.Bytes); err2 == nil {
			parsed = pk
		} else {
			return nil, fmt.Errorf("private_key: %v", err)
		}
	}
	rk, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("private_key is not an RSA key")
	}
	k.rsa = rk
	return &k, nil
}

// JWT returns the signed JWT that the IAM endpoint (aud) exchanges for a
// token: PS256, kid = the key ID, iss = the service account, valid 1 hour.
func (k *Key) JWT(aud string, now time.Time) (string, error) {
	header, _ := json.Marshal(map[string]string{"typ": "JWT", "alg": "PS256", "kid": k.ID})
	claims, _ := json.Marshal(map[string]any{"aud": aud, "iss": k.ServiceAccountID, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString(header) + "." + enc.EncodeToString(claims)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPSS(rand.Reader, k.rsa, crypto.SHA256, sum[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	if err != nil {
		return "", err
	}
	return signing + "." + enc.EncodeToString(sig), nil
}

// TokenSource hands out IAM tokens for a key, exchanging a new JWT when the
// cached token is close to expiry (concurrent callers share one exchange).
type TokenSource struct {
	Key      *Key
	Endpoint string // DefaultIAMEndpoint when empty
	Client   *http.Client
	// Margin: refresh when less than this is left (default 5 minutes).
	Margin time.Duration
	Now    func() time.Time

	mu        sync.Mutex
	token     string
	expiresAt time.Time
	exchanges int
}

// Token returns a valid IAM token.
func (s *TokenSource) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	margin := s.Margin
	if margin == 0 {
		margin = 5 * time.Minute
	}
	if s.token != "" && now.Add(margin).Before(s.expiresAt) {
		return s.token, nil
	}
	token, exp, err := s.exchange(ctx, now)
	if err != nil {
		return "", err
	}
	s.token, s.expiresAt = token, exp
	s.exchanges++
	return token, nil
}

// Exchanges reports how many JWT exchanges happened (tests, metrics).
func (s *TokenSource) Exchanges() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.exchanges
}

func (s *TokenSource) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *TokenSource) exchange(ctx context.Context, now time.Time) (string, time.Time, error) {
	endpoint := s.Endpoint
	if endpoint == "" {
		endpoint = DefaultIAMEndpoint
	}
	jwt, err := s.Key.JWT(endpoint, now)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("signing the IAM JWT: %w", err)
	}
	body, _ := json.Marshal(map[string]string{"jwt": jwt})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return "", time.Time{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	client := s.Client
	if client == nil {
		client = http.DefaultClient
	}
	res, err := client.Do(req)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("IAM token exchange: %w", err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode != http.StatusOK {
		return "", time.Time{}, fmt.Errorf("IAM token exchange: %s: %.300s", res.Status, raw)
	}
	var out struct {
		IAMToken  string    `json:"iamToken"`
		ExpiresAt time.Time `json:"expiresAt"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || out.IAMToken == "" {
		return "", time.Time{}, fmt.Errorf("IAM token exchange: unexpected answer (%v)", err)
	}
	if out.ExpiresAt.IsZero() {
		out.ExpiresAt = now.Add(time.Hour)
	}
	return out.IAMToken, out.ExpiresAt, nil
}
