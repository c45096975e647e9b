package awsconf

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/apigw/apigw/internal/config"
	"github.com/apigw/apigw/internal/yc"
	"github.com/apigw/apigw/internal/yc/yctest"
)

func TestConfigCredentials(t *testing.T) {
	tests := []struct {
		name           string
		ak, sk         string
		envAK, envSK   string
		wantAnon       bool
		wantAK, wantSK string
	}{
		{name: "bindings keys win over env", ak: "bk", sk: "bs", envAK: "ek", envSK: "es", wantAK: "bk", wantSK: "bs"},
		{name: "env fallback", envAK: "ek", envSK: "es", wantAK: "ek", wantSK: "es"},
		{name: "anonymous without keys", wantAnon: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("AWS_ACCESS_KEY_ID", tt.envAK)
			t.Setenv("AWS_SECRET_ACCESS_KEY", tt.envSK)
			cfg, _, err := Config("ru-central1", "", config.Credentials{AccessKeyID: tt.ak, SecretAccessKey: tt.sk}, nil, nil, http.DefaultTransport)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Region != "ru-central1" {
				t.Errorf("region = %q", cfg.Region)
			}
			if tt.wantAnon {
				if _, ok := cfg.Credentials.(aws.AnonymousCredentials); !ok {
					t.Fatalf("credentials = %T, want anonymous", cfg.Credentials)
				}
				return
			}
			c, err := cfg.Credentials.Retrieve(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if c.AccessKeyID != tt.wantAK || c.SecretAccessKey != tt.wantSK {
				t.Errorf("keys = %q/%q, want %q/%q", c.AccessKeyID, c.SecretAccessKey, tt.wantAK, tt.wantSK)
			}
		})
	}
}

// TestServiceAccountKey: with a service account key, each of the four
// clients sends the IAM token the (stand-in) IAM endpoint issued in
// X-YaCloud-SubjectToken and no SigV4 signature, even with AWS_* keys in the
// environment; all share one token exchange.
func TestServiceAccountKey(t *testing.T) {
	cloud := yctest.New()
	defer cloud.Close()
	keyJSON, err := cloud.AddKey("ajekey", "ajesa")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "key.json")
	if err := os.WriteFile(keyFile, keyJSON, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "envkey")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "envsecret")

	var mu sync.Mutex
	var seen []http.Header
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Clone())
		mu.Unlock()
		w.WriteHeader(http.StatusTeapot) // any answer: the request is what is checked
	}))
	defer backend.Close()

	tokens := yc.NewTokens(http.DefaultClient)
	creds := config.Credentials{ServiceAccountKey: config.ServiceAccountKey{ServiceAccountKeyFile: keyFile, IAMEndpoint: cloud.IAMEndpoint()}}
	cfg, _, err := Config("ru-central1", "", creds, tokens, nil, http.DefaultTransport)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RetryMaxAttempts = 1
	ctx := context.Background()
	ep := aws.String(backend.URL)
	s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint, o.UsePathStyle = ep, true }).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("b"), Key: aws.String("k")})
	sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = ep }).SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(backend.URL + "/q"), MessageBody: aws.String("m")})
	kinesis.NewFromConfig(cfg, func(o *kinesis.Options) { o.BaseEndpoint = ep }).PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("s"), PartitionKey: aws.String("p"), Data: []byte("d")})
	dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = ep }).Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("t")})

	if len(seen) != 4 {
		t.Fatalf("backend saw %d requests, want 4", len(seen))
	}
	for i, h := range seen {
		if tok := h.Get(SubjectTokenHeader); !cloud.ValidToken(tok) {
			t.Errorf("request %d: %s = %q, not an issued IAM token", i, SubjectTokenHeader, tok)
		}
		if a := h.Get("Authorization"); a != "" {
			t.Errorf("request %d is signed too: %q", i, a)
		}
	}
	if ex, _ := cloud.Counts(); ex != 1 {
		t.Errorf("%d token exchanges, want 1 shared", ex)
	}
}

// TestServiceAccountKeyErrors: a key that cannot be used is a build error
// naming the cause; a failing IAM endpoint fails the call with a clear error.
func TestServiceAccountKeyErrors(t *testing.T) {
	tokens := yc.NewTokens(http.DefaultClient)
	missing := config.Credentials{ServiceAccountKey: config.ServiceAccountKey{ServiceAccountKeyFile: filepath.Join(t.TempDir(), "nope.json")}}
	if _, _, err := Config("ru-central1", "", missing, tokens, nil, http.DefaultTransport); err == nil || !strings.Contains(err.Error(), "nope.json") {
		t.Errorf("missing key file: %v", err)
	}
	t.Setenv("EMPTY_KEY", "")
	if _, _, err := Config("ru-central1", "", config.Credentials{ServiceAccountKey: config.ServiceAccountKey{ServiceAccountKeyEnv: "EMPTY_KEY"}}, tokens, nil, http.DefaultTransport); err == nil || !strings.Contains(err.Error(), "EMPTY_KEY") {
		t.Errorf("empty key env: %v", err)
	}

	cloud := yctest.New() // knows no key: every exchange is refused
	defer cloud.Close()
	keyJSON, _, err := yctest.NewKey("stranger", "sa")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("STRANGER_KEY", string(keyJSON))
	cfg, _, err := Config("ru-central1", "", config.Credentials{ServiceAccountKey: config.ServiceAccountKey{ServiceAccountKeyEnv: "STRANGER_KEY", IAMEndpoint: cloud.IAMEndpoint()}}, tokens, nil, http.DefaultTransport)
	if err != nil {
		t.Fatal(err)
	}
	_, err = sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(cloud.URL) }).SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(cloud.URL + "/q"), MessageBody: aws.String("m")})
	if err == nil || !strings.Contains(err.Error(), "IAM token") || !strings.Contains(err.Error(), "401") {
		t.Errorf("refused exchange: %v", err)
	}
}

// TestSpecAccount: the service account the spec names (bound under
// service_accounts:) signs in a binding that names no credentials, ahead
// of the environment's keys; a binding's own static keys still win.
func TestSpecAccount(t *testing.T) {
	cloud := yctest.New()
	defer cloud.Close()
	keyJSON, _ := cloud.AddKey("ajespec", "ajesa-spec")
	t.Setenv("SPEC_SA_KEY", string(keyJSON))
	t.Setenv("AWS_ACCESS_KEY_ID", "envkey")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "envsecret")
	tokens := yc.NewTokens(http.DefaultClient)
	account, err := tokens.Source("", "SPEC_SA_KEY", cloud.IAMEndpoint())
	if err != nil {
		t.Fatal(err)
	}
	var seen atomic.Value
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.Header.Clone())
		w.WriteHeader(http.StatusTeapot)
	}))
	defer backend.Close()
	send := func(c config.Credentials) http.Header {
		cfg, _, err := Config("ru-central1", "", c, tokens, account, http.DefaultTransport)
		if err != nil {
			t.Fatal(err)
		}
		cfg.RetryMaxAttempts = 1
		sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(backend.URL) }).SendMessage(context.Background(),
			&sqs.SendMessageInput{QueueUrl: aws.String(backend.URL + "/q"), MessageBody: aws.String("m")})
		return seen.Load().(http.Header)
	}
	if h := send(config.Credentials{}); !cloud.ValidToken(h.Get(SubjectTokenHeader)) || h.Get("Authorization") != "" {
		t.Errorf("no credentials of the binding's own: token %q, Authorization %q", h.Get(SubjectTokenHeader), h.Get("Authorization"))
	}
	if h := send(config.Credentials{AccessKeyID: "bk", SecretAccessKey: "bs"}); h.Get(SubjectTokenHeader) != "" || !strings.Contains(h.Get("Authorization"), "Credential=bk/") {
		t.Errorf("static keys: token %q, Authorization %q", h.Get(SubjectTokenHeader), h.Get("Authorization"))
	}
}
