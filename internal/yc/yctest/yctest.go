// Package yctest is a local stand-in for the parts of Yandex Cloud that
// apigw calls, for offline tests: an IAM endpoint that verifies the signed
// JWT exactly (PS256 with the key's public half, kid, iss, aud, lifetime)
// before it issues a token, and a functions invoke endpoint that demands
// that token.
package yctest

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// NewKey makes an authorized key JSON as `yc iam key create` writes it,
// warning line included, and returns its public half.
func NewKey(keyID, serviceAccountID string) ([]byte, *rsa.PublicKey, error) {
	pk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	der, _ := x509.MarshalPKCS8PrivateKey(pk)
	pemText := "PLEASE DO NOT REMOVE THIS LINE! Yandex.Cloud SA Key ID <" + keyID + ">\n" +
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	raw, _ := json.Marshal(map[string]string{
		"id": keyID, "service_account_id": serviceAccountID, "created_at": "2026-01-01T00:00:00Z",
		"key_algorithm": "RSA_2048", "public_key": "", "private_key": pemText,
	})
	return raw, &pk.PublicKey, nil
}

// Server is the stand-in. IAM is at /iam/v1/tokens, functions at
// /functions/<id>?integration=raw&tag=<tag>.
type Server struct {
	*httptest.Server
	Keys     map[string]*rsa.PublicKey // key ID → public key
	Accounts map[string]string         // key ID → service account ID
	Lifetime time.Duration             // token lifetime (default 12h)
	// Function answers an invocation (the event as the body).
	Function func(id, tag string, event []byte) (status int, answer string)

	mu        sync.Mutex
	tokens    map[string]bool
	Exchanges int
	Invokes   int
	base      string // the URL it is reached at, when it runs on no listener of its own
}

// New starts a stand-in.
func New() *Server {
	s := &Server{Keys: map[string]*rsa.PublicKey{}, Accounts: map[string]string{}, tokens: map[string]bool{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Standalone returns a stand-in that runs on no listener of its own: the
// caller serves it (it is an http.Handler) at base, the URL clients reach,
// which is also the audience its IAM endpoint checks.
func Standalone(base string) *Server {
	return &Server{Keys: map[string]*rsa.PublicKey{}, Accounts: map[string]string{}, tokens: map[string]bool{}, base: strings.TrimSuffix(base, "/")}
}

// ServeHTTP serves the IAM and functions endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.serve(w, r) }

// TrustKey makes the IAM endpoint accept JWTs signed with an authorized key
// (the JSON `yc iam key create` writes), for its service account.
func (s *Server) TrustKey(keyJSON []byte) error {
	var k struct {
		ID               string `json:"id"`
		ServiceAccountID string `json:"service_account_id"`
		PrivateKey       string `json:"private_key"`
	}
	if err := json.Unmarshal(keyJSON, &k); err != nil {
		return err
	}
	pemText := k.PrivateKey
	if i := strings.Index(pemText, "-----BEGIN"); i > 0 {
		pemText = pemText[i:]
	}
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return fmt.Errorf("key %s: private_key holds no PEM block", k.ID)
	}
	pk, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return fmt.Errorf("key %s: %v", k.ID, err)
	}
	rk, ok := pk.(*rsa.PrivateKey)
	if !ok {
		return fmt.Errorf("key %s is not an RSA key", k.ID)
	}
	s.mu.Lock()
	s.Keys[k.ID], s.Accounts[k.ID] = &rk.PublicKey, k.ServiceAccountID
	s.mu.Unlock()
	return nil
}

// baseURL is where the stand-in is reached.
func (s *Server) baseURL() string {
	if s.base != "" {
		return s.base
	}
	return s.URL
}

// AddKey makes an authorized key for a service account that the stand-in
// knows, and returns its JSON.
func (s *Server) AddKey(keyID, serviceAccountID string) ([]byte, error) {
	raw, pub, err := NewKey(keyID, serviceAccountID)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.Keys[keyID], s.Accounts[keyID] = pub, serviceAccountID
	s.mu.Unlock()
	return raw, nil
}

// IAMEndpoint is the stand-in's token URL (also the JWT's aud).
func (s *Server) IAMEndpoint() string { return s.baseURL() + "/iam/v1/tokens" }

// FunctionsEndpoint is the stand-in's invoke base URL.
func (s *Server) FunctionsEndpoint() string { return s.baseURL() + "/functions" }

// Counts returns the exchanges and invocations so far.
func (s *Server) Counts() (exchanges, invokes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Exchanges, s.Invokes
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/iam/v1/tokens":
		var body struct{ JWT string }
		json.NewDecoder(r.Body).Decode(&body)
		if err := s.verify(body.JWT); err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]any{"code": 16, "message": err.Error()})
			return
		}
		s.mu.Lock()
		s.Exchanges++
		token := fmt.Sprintf("t1.iam-%d", s.Exchanges)
		s.tokens[token] = true
		s.mu.Unlock()
		life := s.Lifetime
		if life == 0 {
			life = 12 * time.Hour
		}
		json.NewEncoder(w).Encode(map[string]any{"iamToken": token, "expiresAt": time.Now().Add(life).UTC().Format(time.RFC3339Nano)})
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/functions/"):
		token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		s.mu.Lock()
		ok := s.tokens[token]
		s.Invokes++
		s.mu.Unlock()
		if !ok {
			http.Error(w, `{"message":"the IAM token is invalid"}`, http.StatusUnauthorized)
			return
		}
		if r.URL.Query().Get("integration") != "raw" {
			http.Error(w, `{"message":"apigw must invoke with integration=raw"}`, http.StatusBadRequest)
			return
		}
		event, _ := io.ReadAll(r.Body)
		status, answer := 200, `{"statusCode":200,"body":"ok"}`
		if s.Function != nil {
			status, answer = s.Function(strings.TrimPrefix(r.URL.Path, "/functions/"), r.URL.Query().Get("tag"), event)
		}
		if status == http.StatusBadGateway {
			w.Header().Set("X-Function-Error", "true")
		}
		w.WriteHeader(status)
		io.WriteString(w, answer)
	default:
		http.NotFound(w, r)
	}
}

// verify checks a JWT as the IAM endpoint does.
func (s *Server) verify(jwt string) error {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return fmt.Errorf("not a JWT")
	}
	enc := base64.RawURLEncoding
	var header map[string]string
	hb, _ := enc.DecodeString(parts[0])
	if json.Unmarshal(hb, &header) != nil || header["alg"] != "PS256" || header["typ"] != "JWT" {
		return fmt.Errorf("header %s: want typ JWT, alg PS256", hb)
	}
	s.mu.Lock()
	pub, account := s.Keys[header["kid"]], s.Accounts[header["kid"]]
	s.mu.Unlock()
	if pub == nil {
		return fmt.Errorf("unknown key id %q", header["kid"])
	}
	sig, _ := enc.DecodeString(parts[2])
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPSS(pub, crypto.SHA256, sum[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}); err != nil {
		return fmt.Errorf("bad signature: %v", err)
	}
	var claims struct {
		Aud, Iss string
		Iat, Exp int64
	}
	cb, _ := enc.DecodeString(parts[1])
	if err := json.Unmarshal(cb, &claims); err != nil {
		return err
	}
	now := time.Now().Unix()
	switch {
	case claims.Aud != s.IAMEndpoint():
		return fmt.Errorf("aud %q, want %q", claims.Aud, s.IAMEndpoint())
	case claims.Iss != account:
		return fmt.Errorf("iss %q is not the key's service account", claims.Iss)
	case claims.Exp-claims.Iat > 3600 || claims.Exp <= now || claims.Iat > now+60:
		return fmt.Errorf("bad lifetime iat=%d exp=%d", claims.Iat, claims.Exp)
	}
	return nil
}

// ValidToken reports whether the stand-in issued token.
func (s *Server) ValidToken(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokens[token]
}

// SubjectTokenFront stands in for the authentication layer of Yandex
// Cloud's AWS-compatible services (Object Storage, Message Queue, Data
// Streams, Document API) in front of a real S3/SQS/Kinesis/DynamoDB-
// compatible server at target: a request must carry an IAM token this
// stand-in issued in X-YaCloud-SubjectToken and no signature of its own
// (403 otherwise); the front then signs it for the server with static keys
// (SigV4, service as in "s3" or "sqs") and forwards it.
func (s *Server) SubjectTokenFront(target, service, accessKeyID, secretAccessKey string) *httptest.Server {
	u, err := url.Parse(target)
	if err != nil {
		panic(err)
	}
	creds := aws.Credentials{AccessKeyID: accessKeyID, SecretAccessKey: secretAccessKey}
	proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(u)
		pr.Out.Host = u.Host
		pr.Out.Header.Del("X-YaCloud-SubjectToken")
		var body []byte
		if pr.Out.Body != nil {
			body, _ = io.ReadAll(pr.Out.Body)
			pr.Out.Body = io.NopCloser(bytes.NewReader(body))
		}
		sum := sha256.Sum256(body)
		hash := hex.EncodeToString(sum[:])
		pr.Out.Header.Set("X-Amz-Content-Sha256", hash)
		if err := v4.NewSigner().SignHTTP(pr.Out.Context(), creds, pr.Out, hash, service, "ru-central1", time.Now()); err != nil {
			panic(err)
		}
	}}
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Header.Get("Authorization") != "" || r.URL.Query().Get("X-Amz-Signature") != "":
			http.Error(w, "the stand-in wants an IAM token, not a signature", http.StatusForbidden)
		case !s.ValidToken(r.Header.Get("X-YaCloud-SubjectToken")):
			http.Error(w, "X-YaCloud-SubjectToken is missing or not an IAM token", http.StatusForbidden)
		default:
			proxy.ServeHTTP(w, r)
		}
	}))
}
