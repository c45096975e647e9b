package yc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
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

	ts := &TokenSource{Key: key, Endpoint: srv.IAMEndpoint()}
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
	// Within Margin of expiry the token is refreshed in the background: the
	// current one serves until the new one is there.
	ts.Margin = 2 * time.Hour
	if tok, _ := ts.Token(t.Context()); tok != first {
		t.Errorf("a still valid token was not served while refreshing: %q", tok)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		tok, err := ts.Token(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if tok != first {
			if !strings.HasPrefix(tok, "t1.iam-") || !srv.ValidToken(tok) {
				t.Errorf("refreshed to %q, not a token the IAM endpoint issued", tok)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the token was not refreshed before expiry")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// A key the IAM endpoint does not know: a clear error, no token.
	other, _, _ := yctest.NewKey("ajek2", "ajesa1")
	otherKey, _ := ParseKey(other)
	bad := &TokenSource{Key: otherKey, Endpoint: srv.IAMEndpoint()}
	if _, err := bad.Token(t.Context()); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "unknown key id") {
		t.Errorf("unknown key: %v", err)
	}
}

// gate holds every IAM exchange until it is opened.
type gate struct {
	open  chan struct{}
	calls atomic.Int64
	next  http.RoundTripper
}

func (g *gate) RoundTrip(r *http.Request) (*http.Response, error) {
	g.calls.Add(1)
	select {
	case <-g.open:
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	return g.next.RoundTrip(r)
}

// TestTokenSourceNeverWaitsOnASlowIAM: with a valid token nobody waits for
// a stalled exchange; without one, every caller waits for the same single
// exchange, no longer than its own context or the exchange's timeout.
func TestTokenSourceNeverWaitsOnASlowIAM(t *testing.T) {
	srv := yctest.New()
	defer srv.Close()
	keyJSON, _ := srv.AddKey("ajek1", "ajesa1")
	key, _ := ParseKey(keyJSON)
	g := &gate{open: make(chan struct{}), next: http.DefaultTransport}
	ts := &TokenSource{Key: key, Endpoint: srv.IAMEndpoint(), Client: &http.Client{Transport: g}, Timeout: 300 * time.Millisecond, RetryAfter: time.Hour}

	// No token yet, IAM stalled: 50 callers, one exchange; each gives up at
	// its own deadline.
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
			defer cancel()
			start := time.Now()
			if _, err := ts.Token(ctx); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
				t.Errorf("a caller waited %v: %v", time.Since(start), err)
			}
		}()
	}
	wg.Wait()
	// The exchange itself ends at Timeout, and its failure is kept for
	// RetryAfter instead of starting another exchange per request.
	time.Sleep(400 * time.Millisecond)
	if _, err := ts.Token(t.Context()); err == nil || g.calls.Load() != 1 {
		t.Errorf("after a timed-out exchange: %v, %d exchanges (want 1)", err, g.calls.Load())
	}
	close(g.open)
	ts.RetryAfter = 0
	ts.mu.Lock()
	ts.retryAt = time.Time{}
	ts.mu.Unlock()
	first, err := ts.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// A valid token near expiry with IAM stalled again: served at once.
	g.open = make(chan struct{})
	ts.Margin = 24 * time.Hour
	start := time.Now()
	for i := 0; i < 100; i++ {
		if tok, err := ts.Token(t.Context()); err != nil || tok != first {
			t.Fatalf("%q, %v", tok, err)
		}
	}
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Errorf("100 cached tokens took %v while the refresh stalled", d)
	}
	close(g.open)
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
