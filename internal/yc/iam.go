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

// TokenSource hands out IAM tokens for a key. A token is exchanged once and
// cached; from Margin before it expires a new one is exchanged in the
// background while the current one keeps serving, so a slow IAM endpoint
// never delays a request that has a valid token. Without one, callers wait
// for a single exchange (however many they are), bounded by Timeout and by
// their own context; no lock is held while it runs. A failed exchange is
// not retried for RetryAfter, so an IAM outage does not turn every request
// into an exchange.
type TokenSource struct {
	Key      *Key
	Endpoint string // DefaultIAMEndpoint when empty
	Client   *http.Client
	// Margin: refresh when less than this is left (default 5 minutes).
	Margin time.Duration
	// Timeout bounds one exchange (default 10 s).
	Timeout time.Duration
	// RetryAfter: how long a failed exchange's error is returned before
	// another is tried (default 1 s).
	RetryAfter time.Duration
	Now        func() time.Time

	mu        sync.Mutex
	token     string
	expiresAt time.Time
	exchanges int
	flight    *exchangeCall // the exchange under way, nil when none
	failed    error         // the last exchange's error, until retryAt
	retryAt   time.Time
}

// exchangeCall is one exchange that several callers may wait for.
type exchangeCall struct {
	done  chan struct{}
	token string
	err   error
}

// ErrRefused wraps the error of an exchange that the IAM endpoint
// answered with an error status (the key is unknown, revoked, or not the
// account's), as opposed to one that could not reach it.
var ErrRefused = errors.New("the IAM endpoint refused the key")

// Token returns a valid IAM token.
func (s *TokenSource) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	now := s.now()
	if s.token != "" && now.Before(s.expiresAt) {
		tok := s.token
		if !now.Add(s.margin()).Before(s.expiresAt) && s.flight == nil && now.After(s.retryAt) {
			s.startLocked() // refresh early; the current token serves meanwhile
		}
		s.mu.Unlock()
		return tok, nil
	}
	if s.failed != nil && now.Before(s.retryAt) {
		err := s.failed
		s.mu.Unlock()
		return "", err
	}
	call := s.flight
	if call == nil {
		call = s.startLocked()
	}
	s.mu.Unlock()
	select {
	case <-call.done:
		return call.token, call.err
	case <-ctx.Done():
		return "", fmt.Errorf("waiting for an IAM token: %w", ctx.Err())
	}
}

// Cached returns the current token when it is valid and not due for a
// refresh: the path that waits for nothing.
func (s *TokenSource) Cached() (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token != "" && s.now().Add(s.margin()).Before(s.expiresAt) {
		return s.token, true
	}
	return "", false
}

// startLocked starts an exchange in the background. s.mu is held.
func (s *TokenSource) startLocked() *exchangeCall {
	call := &exchangeCall{done: make(chan struct{})}
	s.flight = call
	go func() {
		timeout := s.Timeout
		if timeout <= 0 {
			timeout = 10 * time.Second
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		token, exp, err := s.exchange(ctx, s.now())
		s.mu.Lock()
		s.flight = nil
		if err != nil {
			retry := s.RetryAfter
			if retry <= 0 {
				retry = time.Second
			}
			s.failed, s.retryAt = err, s.now().Add(retry)
		} else {
			s.token, s.expiresAt, s.failed = token, exp, nil
			s.exchanges++
		}
		s.mu.Unlock()
		call.token, call.err = token, err
		close(call.done)
	}()
	return call
}

func (s *TokenSource) margin() time.Duration {
	if s.Margin == 0 {
		return 5 * time.Minute
	}
	return s.Margin
}

// Exchanges reports how many JWT exchanges succeeded (tests, metrics).
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
		return "", time.Time{}, fmt.Errorf("%w: IAM token exchange: %s: %.300s", ErrRefused, res.Status, raw)
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
