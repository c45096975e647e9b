package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// testServerModule returns the absolute path of an npm package that
// scripts/test-servers installs into .cache/test-servers. Missing, it skips
// the test locally and fails it in CI, where the script always runs first.
func testServerModule(t *testing.T, name string) string {
	t.Helper()
	mod, _ := filepath.Abs("../.cache/test-servers/node_modules/" + name)
	if _, err := os.Stat(mod); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed (scripts/test-servers installs it)", name)
		}
		t.Skipf("%s is not installed: run scripts/test-servers", name)
	}
	return mod
}

// startTestServer starts cmd, which listens on 127.0.0.1:port, stops it when
// the test ends, and returns its endpoint once it accepts connections.
func startTestServer(t *testing.T, name string, cmd *exec.Cmd, port int) string {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not start on %s", name, addr)
		}
	}
	return "http://" + addr
}
