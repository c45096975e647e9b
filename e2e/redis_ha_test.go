package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cws "github.com/coder/websocket"

	"github.com/apigw/apigw/internal/redisx/redistest"
)

const haSpec = `openapi: 3.0.0
paths:
  /limited:
    get:
      x-yc-apigateway-rate-limit: {allRequests: {rps: 5}}
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': ok}}
  /ws:
    x-yc-apigateway-websocket-message:
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': ''}}
`

// twoReplicas starts two gateways on the same bindings.
func twoReplicas(t *testing.T, redis string) (*gateway, *gateway) {
	t.Helper()
	dir := t.TempDir()
	spec := writeFile(t, dir, "api.yaml", haSpec)
	cfg := writeFile(t, dir, "apigw.yaml", fmt.Sprintf("redis: {%s, prefix: 'ha-%d:', timeout: 300ms}\nlog: {access: false}\n", redis, time.Now().UnixNano()))
	return start(t, "--spec", spec, "--config", cfg), start(t, "--spec", spec, "--config", cfg)
}

// sendVia sends text to connection id through a gateway's management API.
func sendVia(g *gateway, id, text string) (int, error) {
	body := fmt.Sprintf(`{"data":%q,"type":"TEXT"}`, base64.StdEncoding.EncodeToString([]byte(text)))
	res, err := http.Post(g.Admin+"/apigateways/websocket/v1/connections/"+id+":send", "application/json", strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, nil
}

// sharedBudget sends 20 rapid requests alternating between the replicas
// and returns how many the 5 rps limit admitted: about 5 when the replicas
// share one bucket, 10 when they do not, 20 when Redis is not answering.
func sharedBudget(t *testing.T, a, b *gateway) int {
	admitted := 0
	for i := 0; i < 20; i++ {
		g := a
		if i%2 == 1 {
			g = b
		}
		if code, _, _ := get(t, g.URL+"/limited"); code == 200 {
			admitted++
		}
	}
	return admitted
}

// wsOn connects a WebSocket to g and returns it with its ID.
func wsOn(t *testing.T, g *gateway) (*cws.Conn, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, res, err := cws.Dial(ctx, "ws"+strings.TrimPrefix(g.URL, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c, res.Header.Get("X-Yc-Apigateway-Websocket-Connection-Id")
}

// TestSentinelFailover: two replicas reach Redis through Sentinel; the
// master is killed under load. The data path serves throughout (rate
// limits fail open, no 5xx, no request waits long), and after the failover
// the shared rate limit and cross-replica Sends work again.
func TestSentinelFailover(t *testing.T) {
	master := redistest.Start(t)
	replica := redistest.Start(t, fmt.Sprintf("replicaof 127.0.0.1 %d", master.Port))
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if info, _ := replica.Do("INFO", "replication"); strings.Contains(info, "master_link_status:up") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the replica did not sync")
		}
	}
	sentinel := redistest.StartSentinel(t, "apigw", master.Addr, time.Second)
	a, b := twoReplicas(t, fmt.Sprintf("addrs: ['%s'], master_name: apigw", sentinel.Addr))
	if n := sharedBudget(t, a, b); n < 4 || n > 7 {
		t.Fatalf("before the failover the replicas admitted %d of 20 at 5 rps, want a shared budget of about 5", n)
	}
	c, id := wsOn(t, a)
	if code, err := sendVia(b, id, "before"); err != nil || code != 200 {
		t.Fatalf("cross-replica Send before the failover: %d %v", code, err)
	}

	// Load on both replicas while the master dies.
	var stop atomic.Bool
	var bad atomic.Int64
	var worst atomic.Int64
	var wg sync.WaitGroup
	for _, g := range []*gateway{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				start := time.Now()
				res, err := http.Get(g.URL + "/limited")
				if d := int64(time.Since(start)); d > worst.Load() {
					worst.Store(d)
				}
				if err != nil {
					bad.Add(1)
					continue
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 && res.StatusCode != 429 {
					bad.Add(1)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	killed := time.Now()
	master.Kill()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if info, _ := replica.Do("INFO", "replication"); strings.Contains(info, "role:master") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Sentinel did not promote the replica")
		}
	}
	promoted := time.Since(killed)
	// Both features resume within a few seconds of the promotion.
	var resumed time.Duration
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if code, _ := sendVia(b, id, "after"); code == 200 {
			if n := sharedBudget(t, a, b); n <= 10 {
				resumed = time.Since(killed)
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the WebSocket registry and the shared rate limit did not resume after the failover")
		}
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("master killed: promoted after %v, features back after %v; %d failed requests, slowest %v",
		promoted, resumed, bad.Load(), time.Duration(worst.Load()))
	if bad.Load() != 0 {
		t.Errorf("%d requests failed during the failover: the data path must serve throughout", bad.Load())
	}
	if w := time.Duration(worst.Load()); w > time.Second {
		t.Errorf("a request waited %v during the failover", w)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, want := range []string{"before", "after"} {
		if _, got, err := c.Read(ctx); err != nil || string(got) != want {
			t.Fatalf("the client read %q (%v), want %q", got, err, want)
		}
	}
}

// TestRedisCluster: two replicas share a three-master Redis cluster: one
// rate-limit budget, and a Send through one replica reaches a WebSocket on
// the other (pub/sub across the cluster).
func TestRedisCluster(t *testing.T) {
	nodes := redistest.Cluster(t, 3)
	a, b := twoReplicas(t, fmt.Sprintf("addrs: ['%s', '%s', '%s']", nodes[0].Addr, nodes[1].Addr, nodes[2].Addr))
	if n := sharedBudget(t, a, b); n < 4 || n > 7 {
		t.Errorf("the replicas admitted %d of 20 at 5 rps, want a shared budget of about 5", n)
	}
	for i := 0; i < 5; i++ { // IDs hash to different slots: several connections
		c, id := wsOn(t, a)
		if code, err := sendVia(b, id, fmt.Sprint("hello ", i)); err != nil || code != 200 {
			t.Fatalf("cross-replica Send %d on the cluster: %d %v", i, code, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, got, err := c.Read(ctx)
		cancel()
		if err != nil || string(got) != fmt.Sprint("hello ", i) {
			t.Fatalf("the client read %q (%v)", got, err)
		}
	}
}
