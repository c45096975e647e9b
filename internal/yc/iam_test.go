package yc

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apigw/apigw/internal/yc/yctest"
)

func TestTokenSource(t *testing.T) {
	srv := yctest.New()
	defer srv.Close()
	keyJSON, err := srv.AddKey("ajek1", "ajesa1")
	if err != nil {
		t.Fatal(err)
	}
	key, err := ParseKey(keyJSON)
	if err != nil {
		t.Fatal(err)
	}
	srv.Lifetime = time.Hour

	now := time.Now()
	ts := &TokenSource{Key: key, Endpoint: srv.IAMEndpoint(), Now: func() time.Time { return now }}
	var first string
	for i := 0; i < 3; i++ {
		tok, err := ts.Token(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if first == "" {
			first = tok
		} else if tok != first {
			t.Errorf("token changed from %q to %q within its lifetime", first, tok)
		}
	}
	if n, _ := srv.Counts(); n != 1 {
		t.Errorf("%d exchanges for 3 tokens, want 1 (cached)", n)
	}
	// Within 5 minutes of expiry the token is refreshed.
	now = now.Add(time.Hour - 4*time.Minute)
	if tok, _ := ts.Token(t.Context()); tok == first {
		t.Error("near expiry the cached token was handed out again")
	}
	// A key the IAM endpoint does not know: a clear error, no token.
	other, _, _ := yctest.NewKey("ajek2", "ajesa1")
	otherKey, _ := ParseKey(other)
	bad := &TokenSource{Key: otherKey, Endpoint: srv.IAMEndpoint()}
	if _, err := bad.Token(t.Context()); err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "unknown key id") {
		t.Errorf("unknown key: %v", err)
	}
}

func TestParseKeyErrors(t *testing.T) {
	for _, raw := range []string{`not json`, `{}`, `{"id":"a","service_account_id":"b","private_key":"garbage"}`} {
		if _, err := ParseKey([]byte(raw)); err == nil {
			t.Errorf("ParseKey(%s) succeeded", raw)
		}
	}
	keyJSON, _, _ := yctest.NewKey("ajek1", "ajesa1")
	k, _ := ParseKey(keyJSON)
	if s := fmt.Sprint(k.LogValue()); strings.Contains(s, "BEGIN") || !strings.Contains(s, "REDACTED") {
		t.Errorf("LogValue leaks the key: %s", s)
	}
}
