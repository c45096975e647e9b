// Package pgtest starts private PostgreSQL servers for tests (initdb and
// pg_ctl from the machine's PostgreSQL), so that a test may stop, kill and
// restart its own server without touching anyone else's.
package pgtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Server is one private PostgreSQL cluster on a loopback port, trust auth.
type Server struct {
	Dir  string
	Port int
	bin  string
}

// binDir finds initdb, pg_ctl and createdb: Debian's versioned folder
// (its PATH holds wrappers of some of them only), else PATH.
func binDir() (string, error) {
	if found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb"); len(found) > 0 {
		return filepath.Dir(found[len(found)-1]), nil
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", fmt.Errorf("PostgreSQL's initdb was not found (Debian: apt-get install postgresql)")
}

// Start makes and starts a cluster; it is removed when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := binDir()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err, " (scripts/test installs it)")
		}
		t.Skip(err, " (scripts/test installs it)")
	}
	// Not t.TempDir: the server may run as another user (initdb refuses
	// root), who must reach the folder.
	dir, err := os.MkdirTemp("", "apigw-pgtest")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	s := &Server{Dir: dir, bin: bin}
	data := filepath.Join(dir, "data")
	os.Mkdir(data, 0o700)
	if os.Getuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatal("running as root, the test server needs the postgres user: ", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		os.Chown(data, uid, gid)
		os.Chown(dir, uid, gid) // the log and the socket go here
	}
	if out, err := s.run("initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"); err != nil {
		os.RemoveAll(dir)
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	t.Cleanup(func() {
		s.run("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
		os.RemoveAll(dir)
	})
	s.StartAgain(t)
	return s
}

// run runs a PostgreSQL program, as the postgres user when root.
func (s *Server) run(prog string, args ...string) ([]byte, error) {
	path := filepath.Join(s.bin, prog)
	var cmd *exec.Cmd
	if os.Getuid() == 0 {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = s.Dir
	return cmd.CombinedOutput()
}

// StartAgain starts the (stopped) server and waits until it accepts.
func (s *Server) StartAgain(t testing.TB) {
	t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=100", s.Port, s.Dir)
	out, err := s.run("pg_ctl", "-D", filepath.Join(s.Dir, "data"), "-o", opts, "-l", filepath.Join(s.Dir, "log"), "-w", "-t", "60", "start")
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(s.Dir, "log"))
		t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
}

// Stop stops the server; immediate is a crash (no checkpoint), as a
// killed server stops.
func (s *Server) Stop(t testing.TB, immediate bool) {
	t.Helper()
	mode := "fast"
	if immediate {
		mode = "immediate"
	}
	if out, err := s.run("pg_ctl", "-D", filepath.Join(s.Dir, "data"), "-m", mode, "-w", "stop"); err != nil {
		t.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
}

// URL is the address of a database on the server (made by CreateDB).
func (s *Server) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.Port, db)
}

// CreateDB makes a database and returns its URL.
func (s *Server) CreateDB(t testing.TB, name string) string {
	t.Helper()
	if out, err := s.run("createdb", "-h", "127.0.0.1", "-p", strconv.Itoa(s.Port), "-U", "postgres", name); err != nil && !strings.Contains(string(out), "already exists") {
		t.Fatalf("createdb: %v\n%s", err, out)
	}
	return s.URL(name)
}

// Wait waits until the server accepts connections (after StartAgain in
// another goroutine, say).
func (s *Server) Wait(within time.Duration) bool {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", s.Port)); err == nil {
			c.Close()
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}
