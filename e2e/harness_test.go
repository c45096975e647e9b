// Package e2e holds black-box tests: they build the apigw binary, start it
// on free ports with real spec files and talk to it over real sockets, as a
// client would.
package e2e

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

var binary string

func TestMain(m *testing.M) {
	if os.Getenv("APIGW_E2E_CHILD") != "" {
		os.Exit(m.Run()) // a client a test runs as its own process: no binary to build
	}
	dir, err := os.MkdirTemp("", "apigw-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "apigw")
	build := exec.Command("go", "build", "-race", "-o", binary, "../cmd/apigw")
	if os.Getenv("APIGW_E2E_NORACE") != "" {
		build = exec.Command("go", "build", "-o", binary, "../cmd/apigw")
	}
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building apigw:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// gateway is one running apigw process.
type gateway struct {
	t     *testing.T
	cmd   *exec.Cmd
	URL   string // http://127.0.0.1:port of the API listener
	Admin string // http://127.0.0.1:port of the admin listener
	mu    sync.Mutex
	logs  bytes.Buffer
	done  chan error
}

// freePort returns a port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// start runs `apigw serve` with args plus free --listen/--admin ports and
// waits until /readyz answers 200.
func start(t *testing.T, args ...string) *gateway {
	t.Helper()
	api, admin := freePort(t), freePort(t)
	return startOn(t, api, admin, args...)
}

func startOn(t *testing.T, api, admin int, args ...string) *gateway {
	t.Helper()
	return launch(t, api, admin, nil, args...)
}

// startWithFileLimit is start with the process's open-file limit (soft and
// hard) set to files.
func startWithFileLimit(t *testing.T, files int, args ...string) *gateway {
	t.Helper()
	return launch(t, freePort(t), freePort(t), []string{"bash", "-c", fmt.Sprintf(`ulimit -n %d && exec "$0" "$@"`, files)}, args...)
}

// launch runs apigw serve, through the command prefix when one is given.
func launch(t *testing.T, api, admin int, prefix []string, args ...string) *gateway {
	t.Helper()
	g := &gateway{t: t, URL: fmt.Sprintf("http://127.0.0.1:%d", api), Admin: fmt.Sprintf("http://127.0.0.1:%d", admin), done: make(chan error, 1)}
	all := append([]string{binary, "serve", "--listen", fmt.Sprintf("127.0.0.1:%d", api), "--admin", fmt.Sprintf("127.0.0.1:%d", admin)}, args...)
	all = append(prefix, all...)
	g.cmd = exec.Command(all[0], all[1:]...)
	stderr, err := g.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			g.mu.Lock()
			g.logs.WriteString(sc.Text() + "\n")
			g.mu.Unlock()
		}
		g.done <- g.cmd.Wait()
	}()
	t.Cleanup(func() {
		if g.cmd.ProcessState == nil {
			g.cmd.Process.Signal(syscall.SIGINT) // no drain delay: the test is over
			select {
			case <-g.done:
			case <-time.After(10 * time.Second):
				g.cmd.Process.Kill()
			}
		}
		if t.Failed() {
			t.Logf("apigw log:\n%s", g.Logs())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		res, err := http.Get(g.Admin + "/readyz")
		if err == nil && res.StatusCode == http.StatusBadRequest && strings.HasPrefix(g.Admin, "http://") {
			// "Client sent an HTTP request to an HTTPS server": admin_tls.
			res.Body.Close()
			g.Admin = "https://" + strings.TrimPrefix(g.Admin, "http://")
			res, err = insecureClient.Get(g.Admin + "/readyz")
		}
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return g
			}
		}
		select {
		case err := <-g.done:
			t.Fatalf("apigw exited before ready: %v\n%s", err, g.Logs())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("apigw not ready after 30s\n%s", g.Logs())
	return nil
}

// insecureClient reads an HTTPS admin listener's probes without checking
// its certificate (the tests that care check it themselves).
var insecureClient = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}

// Logs returns what the process wrote to stderr so far.
func (g *gateway) Logs() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.logs.String()
}

// waitLog waits until the log contains s.
func (g *gateway) waitLog(s string, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if strings.Contains(g.Logs(), s) {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// stop sends sig and waits for the exit.
func (g *gateway) stop(sig os.Signal, within time.Duration) (exitCode int, err error) {
	g.cmd.Process.Signal(sig)
	select {
	case <-g.done:
		return g.cmd.ProcessState.ExitCode(), nil
	case <-time.After(within):
		g.cmd.Process.Kill()
		return -1, fmt.Errorf("apigw did not exit within %s", within)
	}
}

// get GETs url with header (name, value, ...) set.
func get(t *testing.T, url string, header ...string) (int, http.Header, string) {
	t.Helper()
	return send(t, "GET", url, "", header...)
}

// send makes one request with body and header (name, value, ...) set and
// returns the status, headers and body of the answer.
func send(t *testing.T, method, url, body string, header ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

// runCLI runs apigw with args and returns its exit code and output.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// rssKB reads a process's resident memory from /proc.
func rssKB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			var kb int
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(line, "VmRSS:")), "%d", &kb)
			return kb
		}
	}
	return 0
}

// watchRSS samples the resident memory of pid every 20 ms until the returned
// function is called, which returns the peak in KB.
func watchRSS(pid int) func() int {
	var peak atomic.Int64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
				if r := int64(rssKB(pid)); r > peak.Load() {
					peak.Store(r)
				}
			}
		}
	}()
	return func() int {
		close(done)
		<-stopped
		return int(peak.Load())
	}
}
