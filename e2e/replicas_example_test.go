package e2e

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// prometheusBinary finds Prometheus (scripts/test fetches Debian's build
// into .cache/tools with scripts/fetch-prometheus).
func prometheusBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("prometheus"); err == nil {
		return p
	}
	if p, _ := filepath.Abs("../.cache/tools/prometheus/usr/bin/prometheus"); fileExists(p) {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatal("prometheus is missing (scripts/test runs scripts/fetch-prometheus)")
	}
	t.Skip("prometheus is missing: run scripts/fetch-prometheus")
	return ""
}

// TestReplicasExample runs examples/replicas/run as docs/getting-started.md
// says, and checks what the page promises: three replicas behind nginx
// answer, share one rate limit through Redis, are scraped by Prometheus
// (every request counted once, across the replicas), and export traces.
func TestReplicasExample(t *testing.T) {
	nginxBinary(t)
	prometheusBinary(t)
	state := t.TempDir()
	front, trace, prom := freePort(t), freePort(t), freePort(t)
	api := []int{freePort(t), freePort(t), freePort(t)}
	admin := []int{freePort(t), freePort(t), freePort(t)}
	join := func(ps []int) string { return strings.Trim(fmt.Sprint(ps), "[]") }
	cmd := exec.Command("../examples/replicas/run")
	cmd.Env = append(os.Environ(),
		"STATE="+state, "APIGW="+binary,
		fmt.Sprintf("FRONT_PORT=%d", front), fmt.Sprintf("TRACE_PORT=%d", trace), fmt.Sprintf("PROM_PORT=%d", prom),
		"API_PORTS="+join(api), "ADMIN_PORTS="+join(admin),
		"OTEL_BSP_SCHEDULE_DELAY=100") // export spans every 100 ms, not every 5 s
	out, _ := os.Create(filepath.Join(state, "run.out"))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Error("run did not stop within 20 s of SIGTERM")
		}
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(state, "run.out"))
			t.Logf("run printed:\n%s", b)
		}
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", front)
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		b, _ := os.ReadFile(filepath.Join(state, "run.out"))
		if strings.Contains(string(b), "== running") {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("run exited (%v):\n%s", err, b)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("run did not come up in 90 s:\n%s", b)
		}
	}

	const hellos = 30
	for i := range hellos {
		if code, _, body := get(t, fmt.Sprintf("%s/hello/n%d", base, i)); code != 200 || body != fmt.Sprintf("hello, n%d\n", i) {
			t.Fatalf("hello through nginx: %d %q", code, body)
		}
	}
	// 5 rps shared by three replicas: a burst of 5, then 5 a second. Three
	// separate budgets would admit 15 of these 20 at once.
	admitted, began := 0, time.Now()
	for range 20 {
		if code, _, _ := get(t, base+"/limited"); code == 200 {
			admitted++
		}
	}
	if most := 5 + int(5*time.Since(began).Seconds()) + 1; admitted < 5 || admitted > most {
		t.Errorf("three replicas admitted %d of 20 requests at 5 rps in %v (one shared budget admits 5 to %d)", admitted, time.Since(began), most)
	}

	// Prometheus scrapes all three and counts each request once.
	query := func(q string) []struct {
		Metric map[string]string
		Value  [2]any
	} {
		t.Helper()
		var r struct {
			Data struct {
				Result []struct {
					Metric map[string]string
					Value  [2]any
				}
			}
		}
		_, _, body := get(t, fmt.Sprintf("http://127.0.0.1:%d/api/v1/query?query=%s", prom, url.QueryEscape(q)))
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatalf("prometheus answered %s", body)
		}
		return r.Data.Result
	}
	var last string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		up := query(`sum(up{job="apigw"})`)
		total := query(`sum(apigw_requests_total{route="/hello/{name}"})`)
		spread := query(`count(apigw_requests_total{route="/hello/{name}"} > 0)`)
		last = fmt.Sprint(up, total, spread)
		if len(up) == 1 && up[0].Value[1] == "3" && len(total) == 1 && total[0].Value[1] == fmt.Sprint(hellos) &&
			len(spread) == 1 && spread[0].Value[1] == "3" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus did not see 3 targets up and %d hellos spread over them: %s", hellos, last)
		}
	}

	// Traces: a server span per request with the integration's child.
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		b, _ := os.ReadFile(filepath.Join(state, "spans.log"))
		server := strings.Count(string(b), `"GET /hello/{name}"`)
		child := strings.Count(string(b), `"integration dummy"`)
		if server == hellos && child >= hellos && strings.Contains(string(b), "url.path=/hello/n7 ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("spans.log has %d server and %d integration spans, want %d each:\n%.2000s", server, child, hellos, b)
		}
	}
}
