package e2e

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestRateLimitSharedByReplicas: three gateway processes sharing a real
// Redis, with a limit of 10 rps, together admit about 10 rps, not 30.
func TestRateLimitSharedByReplicas(t *testing.T) {
	dir := t.TempDir()
	spec := writeFile(t, dir, "api.yaml", `openapi: 3.0.0
paths:
  /limited:
    get:
      x-yc-apigateway-rate-limit: {allRequests: {rps: 10}}
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': ok}}
`)
	cfg := writeFile(t, dir, "apigw.yaml", fmt.Sprintf("redis: {url: 'redis://127.0.0.1:6379/0', prefix: 'apigw-test-%d:'}\n", time.Now().UnixNano()))
	var gws []*gateway
	for i := 0; i < 3; i++ {
		g := start(t, "--spec", spec, "--config", cfg)
		if !g.waitLog("rate limits are shared through Redis", 5*time.Second) {
			t.Fatalf("replica %d does not share its limits:\n%s", i, g.Logs())
		}
		gws = append(gws, g)
	}
	const window = 3 * time.Second
	var admitted, refused, noRetryAfter atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(window)
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				res, err := http.Get(gws[(w+i)%3].URL + "/limited")
				if err != nil {
					t.Error(err)
					return
				}
				res.Body.Close()
				switch res.StatusCode {
				case 200:
					admitted.Add(1)
				case 429:
					refused.Add(1)
					if res.Header.Get("Retry-After") == "" {
						noRetryAfter.Add(1)
					}
				default:
					t.Errorf("status %d", res.StatusCode)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	// The budget: a burst of 10, then 10 per second.
	want := 10 + 10*window.Seconds()
	got := float64(admitted.Load())
	t.Logf("admitted %v, refused %d over %s on 3 replicas (budget %v)", got, refused.Load(), window, want)
	if got < want*0.8 || got > want*1.15 {
		t.Errorf("admitted %v requests, want about %v (three separate limits would admit about %v)", got, want, 3*want)
	}
	if refused.Load() == 0 || noRetryAfter.Load() != 0 {
		t.Errorf("refused %d, of which %d without Retry-After", refused.Load(), noRetryAfter.Load())
	}
}
