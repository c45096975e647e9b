// Package redistest starts real Redis processes (Debian's redis-server) for
// tests that need to freeze, kill or fail over Redis: never the machine's
// own service, always a server of the test's, on a free port, in a temporary
// directory, stopped when the test ends.
package redistest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Server is one redis-server process.
type Server struct {
	Addr string
	Port int
	Dir  string
	t    testing.TB
	cmd  *exec.Cmd
	args []string
}

// Binary finds redis-server, or skips the test (fails it under CI, which
// installs it).
func Binary(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"redis-server", "/usr/bin/redis-server", "/usr/sbin/redis-server"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("redis-server is not installed (scripts/test installs it)")
	}
	t.Skip("redis-server is not installed")
	return ""
}

// FreePort returns a port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start starts a redis-server on a free port with extra config lines
// (such as "cluster-enabled yes"), and waits until it answers.
func Start(t testing.TB, extra ...string) *Server {
	t.Helper()
	bin := Binary(t)
	port := FreePort(t)
	dir := t.TempDir()
	conf := []string{
		fmt.Sprintf("port %d", port), "bind 127.0.0.1", "save \"\"", "appendonly no",
		"dir " + dir, "logfile " + filepath.Join(dir, "redis.log"), "protected-mode no",
	}
	conf = append(conf, extra...)
	path := filepath.Join(dir, "redis.conf")
	if err := os.WriteFile(path, []byte(strings.Join(conf, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: fmt.Sprintf("127.0.0.1:%d", port), Port: port, Dir: dir, t: t, args: []string{bin, path}}
	s.start()
	t.Cleanup(s.Kill)
	return s
}

// StartSentinel starts a redis-sentinel watching master (under name) with
// the given timeouts, and waits until it answers.
func StartSentinel(t testing.TB, name, master string, downAfter time.Duration) *Server {
	t.Helper()
	bin := Binary(t)
	port := FreePort(t)
	dir := t.TempDir()
	host, mport, _ := net.SplitHostPort(master)
	conf := []string{
		fmt.Sprintf("port %d", port), "bind 127.0.0.1", "protected-mode no", "dir " + dir,
		"logfile " + filepath.Join(dir, "sentinel.log"),
		fmt.Sprintf("sentinel monitor %s %s %s 1", name, host, mport),
		fmt.Sprintf("sentinel down-after-milliseconds %s %d", name, downAfter.Milliseconds()),
		fmt.Sprintf("sentinel failover-timeout %s 5000", name),
		fmt.Sprintf("sentinel parallel-syncs %s 1", name),
	}
	path := filepath.Join(dir, "sentinel.conf")
	if err := os.WriteFile(path, []byte(strings.Join(conf, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: fmt.Sprintf("127.0.0.1:%d", port), Port: port, Dir: dir, t: t, args: []string{bin, path, "--sentinel"}}
	s.start()
	t.Cleanup(s.Kill)
	return s
}

func (s *Server) start() {
	s.t.Helper()
	s.cmd = exec.Command(s.args[0], s.args[1:]...)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := s.Do("PING"); err == nil {
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(s.Dir, "redis.log"))
			s.t.Fatalf("redis-server on %s did not start:\n%s", s.Addr, log)
		}
	}
}

// Restart starts the server again after Kill, on the same port, empty.
func (s *Server) Restart() { s.start() }

// Stop freezes the process (SIGSTOP): it keeps its connections and
// answers nothing.
func (s *Server) Stop() { s.cmd.Process.Signal(syscall.SIGSTOP) }

// Cont thaws it (SIGCONT).
func (s *Server) Cont() { s.cmd.Process.Signal(syscall.SIGCONT) }

// Kill ends the process (safe to call twice).
func (s *Server) Kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGCONT)
	s.cmd.Process.Kill()
	s.cmd.Wait()
	s.cmd = nil
}

// Do sends one command (RESP, inline arguments) and returns the first line
// of the answer: enough for PING, FLUSHALL, INFO fields and cluster setup.
func (s *Server) Do(args ...string) (string, error) {
	c, err := net.DialTimeout("tcp", s.Addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write([]byte(b.String())); err != nil {
		return "", err
	}
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	switch {
	case strings.HasPrefix(line, "-"):
		return "", fmt.Errorf("redis %s: %s", s.Addr, line[1:])
	case strings.HasPrefix(line, "$") && line != "$-1":
		var n int
		fmt.Sscanf(line[1:], "%d", &n)
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(br, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
	return line, nil
}

// Cluster starts n masters with cluster mode on, splits the slots between
// them and joins them, and waits until the cluster is ok.
func Cluster(t testing.TB, n int) []*Server {
	t.Helper()
	var nodes []*Server
	for i := 0; i < n; i++ {
		nodes = append(nodes, Start(t, "cluster-enabled yes", "cluster-config-file nodes.conf", "cluster-node-timeout 2000"))
	}
	per := 16384 / n
	for i, node := range nodes {
		from, to := i*per, (i+1)*per-1
		if i == n-1 {
			to = 16383
		}
		if _, err := node.Do("CLUSTER", "ADDSLOTSRANGE", fmt.Sprint(from), fmt.Sprint(to)); err != nil {
			t.Fatal(err)
		}
	}
	for _, node := range nodes[1:] {
		if _, err := nodes[0].Do("CLUSTER", "MEET", "127.0.0.1", fmt.Sprint(node.Port)); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		ok := true
		for _, node := range nodes {
			info, err := node.Do("CLUSTER", "INFO")
			if err != nil || !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, fmt.Sprintf("cluster_known_nodes:%d", n)) {
				ok = false
			}
		}
		if ok {
			return nodes
		}
		if time.Now().After(deadline) {
			t.Fatal("the cluster did not come up")
		}
	}
}
