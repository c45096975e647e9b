package functions

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/apigw/apigw/internal/config"
)

// TestPoolGenerations: a build's processes start in the background once it
// serves (Settle), keep running across a build that binds them the same
// way, and stop when a build no longer binds them.
func TestPoolGenerations(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed (scripts/test installs it)")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "h.py"), []byte("import os\ndef handler(event, context):\n    return {'body': str(os.getpid())}\n"), 0o644)
	pool := NewPool(http.DefaultTransport)
	defer pool.Close()
	a := &config.Function{Runtime: "python", Handler: "h.handler", Dir: dir}
	b := &config.Function{Runtime: "python", Handler: "h.handler", Dir: dir, Env: map[string]string{"X": "1"}}

	pool.NextGeneration()
	inv, err := pool.Invoker("fa", a, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	pa := inv.(*Process)
	pool.Settle()
	waitFor(t, "the process to be started by Settle", func() bool { return pa.running() })

	pool.NextGeneration()
	if again, _ := pool.Invoker("fa", a, 1<<20); again != inv {
		t.Fatal("the same binding got a new process across builds")
	}
	pool.Settle()
	if pa.Starts() != 1 {
		t.Errorf("started %d times, want 1", pa.Starts())
	}

	pool.NextGeneration()
	invB, _ := pool.Invoker("fa", b, 1<<20)
	pool.Settle()
	waitFor(t, "the unbound process to stop", func() bool { return !pa.running() })
	out, err := invB.Invoke(context.Background(), &Invocation{FunctionID: "fa", Event: []byte(`{}`)})
	if err != nil || len(out) == 0 {
		t.Fatalf("the new binding: %s %v", out, err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestProcessThatNeverGetsReady: a command that never answers /healthz is
// reported within the start timeout and stopped, not waited on forever.
func TestProcessThatNeverGetsReady(t *testing.T) {
	if _, err := exec.LookPath("sleep"); err != nil {
		t.Skip("no sleep command")
	}
	p := &Process{FunctionID: "hang", Command: []string{"sleep", "60"}, Dir: t.TempDir(), Log: NewPool(http.DefaultTransport).Log, StartTimeout: 300 * time.Millisecond}
	defer p.Close()
	_, err := p.Invoke(context.Background(), &Invocation{Event: []byte(`{}`)})
	if err == nil {
		t.Fatal("an adapter that never got ready was invoked")
	}
	waitFor(t, "the hung process to be stopped", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		select {
		case <-p.run.exited:
			return true
		default:
			return false
		}
	})
}
