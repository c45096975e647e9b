package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/apigw/apigw/internal/controlplane/pgtest"
)

// restCall calls a control plane's REST form (plaintext) and returns the
// status and the decoded body.
func restCall(t *testing.T, cpAddr, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+cpAddr+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer t1.x.y")
	req.Header.Set("Content-Type", "application/json")
	c := &http.Client{Timeout: 20 * time.Second}
	res, err := c.Do(req)
	if err != nil {
		return 0, map[string]any{"error": err.Error()}
	}
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	res.Body.Close()
	return res.StatusCode, out
}

// restCreate creates a gateway answering GET /hello with greeting and
// returns its ID ("" and the answer when refused).
func restCreate(t *testing.T, cpAddr, name, greeting string) (string, int, map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"folderId": "b1greplicas000000000", "name": name, "openapiSpec": helloSpec,
		"variables": map[string]any{"greeting": map[string]any{"stringValue": greeting}}})
	st, out := restCall(t, cpAddr, "POST", "/apigateways/v1/apigateways", string(body))
	if st != 200 {
		return "", st, out
	}
	md, _ := out["metadata"].(map[string]any)
	id, _ := md["apiGatewayId"].(string)
	return id, st, out
}

// hostGet asks a replica's API listener for /hello at a gateway's domain.
func hostGet(apiURL, id string) (int, string) {
	req, _ := http.NewRequest("GET", apiURL+"/hello", nil)
	req.Host = id + ".apigw.localhost"
	c := &http.Client{Timeout: 10 * time.Second}
	res, err := c.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	return res.StatusCode, mustReadAll(res)
}

// waitServed waits until every replica serves the gateway and says how
// long that took.
func waitServed(t *testing.T, apis []string, id, body string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for _, api := range apis {
		for {
			st, got := hostGet(api, id)
			if st == 200 && got == body {
				break
			}
			if time.Since(start) > within {
				t.Fatalf("%s is not served at %s after %s: %d %q", id, api, within, st, got)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return time.Since(start)
}

// TestControlPlaneReplicasOnPostgres: three replicas on one PostgreSQL. A
// gateway created through one is served by all; a replica killed under
// load leaves the others serving; PostgreSQL restarted under load: the
// data plane keeps answering, control calls answer UNAVAILABLE while it
// is down and recover after, and no acknowledged change is lost.
func TestControlPlaneReplicasOnPostgres(t *testing.T) {
	pg := pgtest.Start(t)
	url := pg.CreateDB(t, "apigw")
	type replica struct {
		*gateway
		cp string
	}
	var reps []replica
	for i := range 3 {
		cp := fmt.Sprintf("127.0.0.1:%d", freePort(t))
		dir := t.TempDir()
		cfg := writeFile(t, dir, "apigw.yaml", fmt.Sprintf(`control_plane:
  listen: %s
  plaintext: true
  database: %s
  resync: 1s
`, cp, url))
		reps = append(reps, replica{start(t, "--config", cfg), cp})
		_ = i
	}
	apis := []string{reps[0].URL, reps[1].URL, reps[2].URL}

	// Create on one, served by all.
	id, st, out := restCreate(t, reps[0].cp, "first", "one")
	if id == "" {
		t.Fatalf("create: %d %v", st, out)
	}
	took := waitServed(t, apis, id, "one from the gateway", 5*time.Second)
	t.Logf("created through replica 1, served by all three after %s", took)
	acked := []string{id}

	// Load on replicas 2 and 3 from here on: every answer must be 200.
	var stop atomic.Bool
	var failures atomic.Int64
	var served atomic.Int64
	var firstFailure atomic.Value
	var wg sync.WaitGroup
	for _, api := range apis[1:] {
		for range 4 {
			wg.Go(func() {
				for !stop.Load() {
					st, body := hostGet(api, id)
					if st != 200 {
						failures.Add(1)
						firstFailure.CompareAndSwap(nil, fmt.Sprintf("%s: %d %q", api, st, body))
					} else {
						served.Add(1)
					}
				}
			})
		}
	}
	defer func() { stop.Store(true); wg.Wait() }()

	// Kill replica 1 under load; a change through replica 2 reaches 3.
	reps[0].cmd.Process.Signal(syscall.SIGKILL)
	<-reps[0].done
	id2, st, out := restCreate(t, reps[1].cp, "second", "two")
	if id2 == "" {
		t.Fatalf("create on replica 2 after replica 1 died: %d %v", st, out)
	}
	acked = append(acked, id2)
	waitServed(t, apis[1:], id2, "two from the gateway", 5*time.Second)

	// PostgreSQL down (a crash, no checkpoint): control calls answer
	// UNAVAILABLE promptly, the data plane keeps serving.
	pg.Stop(t, true)
	began := time.Now()
	if _, st, out := restCreate(t, reps[1].cp, "during-outage", "x"); st != 503 || out["code"] != float64(14) {
		t.Fatalf("a control call with PostgreSQL down: %d %v", st, out)
	}
	if st, out := restCall(t, reps[2].cp, "GET", "/apigateways/v1/apigateways/"+id, ""); st != 503 {
		t.Fatalf("a read with PostgreSQL down: %d %v", st, out)
	}
	t.Logf("control calls with PostgreSQL down answered UNAVAILABLE within %s", time.Since(began))
	time.Sleep(2 * time.Second) // a few resyncs fail meanwhile
	before := served.Load()
	time.Sleep(500 * time.Millisecond)
	if served.Load() == before {
		t.Fatal("the data plane stopped answering while PostgreSQL was down")
	}
	pg.StartAgain(t)

	// Control calls recover; what was acknowledged is all there.
	var id3 string
	deadline := time.Now().Add(30 * time.Second)
	for id3 == "" {
		if time.Now().After(deadline) {
			t.Fatalf("control calls did not recover after PostgreSQL came back: %d %v", st, out)
		}
		id3, st, out = restCreate(t, reps[2].cp, "third", "three")
		if id3 == "" {
			time.Sleep(200 * time.Millisecond)
		}
	}
	acked = append(acked, id3)
	waitServed(t, apis[1:], id3, "three from the gateway", 10*time.Second)
	st, out = restCall(t, reps[1].cp, "GET", "/apigateways/v1/apigateways?folderId=b1greplicas000000000", "")
	listed := map[string]bool{}
	for _, g := range out["apiGateways"].([]any) {
		listed[g.(map[string]any)["id"].(string)] = true
	}
	for _, a := range acked {
		if !listed[a] {
			t.Errorf("acknowledged gateway %s is gone after the restart: %v", a, out)
		}
	}
	if len(listed) != len(acked) {
		t.Errorf("%d gateways listed, %d acknowledged: %v", len(listed), len(acked), out)
	}
	stop.Store(true)
	wg.Wait()
	if n := failures.Load(); n > 0 {
		t.Fatalf("%d of %d requests under load failed; first: %v", n, n+served.Load(), firstFailure.Load())
	}
	t.Logf("%d requests served on replicas 2 and 3 through a replica's death and a PostgreSQL restart, none failed", served.Load())
}
