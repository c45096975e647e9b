package awsconf

import (
	"context"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
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
			cfg := Config("ru-central1", tt.ak, tt.sk, http.DefaultTransport)
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
