package functions

import (
	"encoding/json"
	"strings"

	"context"
	"github.com/apigw/apigw/internal/yc"
	"github.com/apigw/apigw/internal/yc/yctest"
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
	pool := NewPool(http.DefaultTransport, nil)
	defer pool.Close()
	a := &config.Function{Runtime: "python", Handler: "h.handler", Dir: dir}
	b := &config.Function{Runtime: "python", Handler: "h.handler", Dir: dir, Env: map[string]string{"X": "1"}}

	pool.NextGeneration()
	inv, err := pool.Invoker("fa", a, 1<<20, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	pa := inv.(*Process)
	pool.Settle()
	waitFor(t, "the process to be started by Settle", func() bool { return pa.running() })

	pool.NextGeneration()
	if again, _ := pool.Invoker("fa", a, 1<<20, nil, false); again != inv {
		t.Fatal("the same binding got a new process across builds")
	}
	pool.Settle()
	if pa.Starts() != 1 {
		t.Errorf("started %d times, want 1", pa.Starts())
	}

	pool.NextGeneration()
	invB, _ := pool.Invoker("fa", b, 1<<20, nil, false)
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
	p := &Process{FunctionID: "hang", Command: []string{"sleep", "60"}, Dir: t.TempDir(), Log: NewPool(http.DefaultTransport, nil).Log, StartTimeout: 300 * time.Millisecond}
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

// TestCommandBinding runs a `command:` binding (here the shipped Python
// adapter started as a user's own command) and checks the context a handler
// gets from the bindings.
func TestCommandBinding(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed (scripts/test installs it)")
	}
	adapter, err := AdapterCommand("python")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "ctx.py"), []byte(`import json
def handler(event, context):
    return {"body": json.dumps({"name": context.function_name, "version": context.function_version,
        "memory": context.memory_limit_in_mb, "token": context.token["access_token"],
        "left": context.get_remaining_time_in_millis(), "rid": context.request_id})}
`), 0o644)
	pool := NewPool(http.DefaultTransport, nil)
	defer pool.Close()
	f := &config.Function{Command: adapter, Dir: dir, Version: "v7", MemoryMB: 512, Token: "tok",
		Env: map[string]string{"APIGW_HANDLER": "ctx.handler", "APIGW_DIR": dir}}
	inv, err := pool.Invoker("fn-cmd", f, 1<<20, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	out, err := inv.Invoke(context.Background(), &Invocation{FunctionID: "fn-cmd", RequestID: "rid-1", Deadline: time.Now().Add(5 * time.Second), Event: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	res, err := ParseResponse(out)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Name, Version, Token, Rid string
		Memory, Left              int
	}
	json.Unmarshal(res.Body, &got)
	if got.Name != "fn-cmd" || got.Version != "v7" || got.Memory != 512 || got.Token != "tok" || got.Rid != "rid-1" || got.Left <= 0 || got.Left > 5000 {
		t.Errorf("context = %+v", got)
	}
}

// TestYandexKeyFromEnv binds a function to the cloud stand-in with the key
// in an environment variable.
func TestYandexKeyFromEnv(t *testing.T) {
	cloud := yctest.New()
	defer cloud.Close()
	keyJSON, err := cloud.AddKey("ajek1", "ajesa1")
	if err != nil {
		t.Fatal(err)
	}
	cloud.Function = func(id, tag string, event []byte) (int, string) { return 200, `{"body":"` + id + `@` + tag + `"}` }
	t.Setenv("TEST_YC_KEY", string(keyJSON))
	pool := NewPool(http.DefaultTransport, nil)
	inv, err := pool.Invoker("d4e1", &config.Function{Yandex: &config.Yandex{
		ServiceAccountKey: config.ServiceAccountKey{ServiceAccountKeyEnv: "TEST_YC_KEY", IAMEndpoint: cloud.IAMEndpoint()},
		FunctionsEndpoint: cloud.FunctionsEndpoint()}}, 1<<20, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	out, err := inv.Invoke(context.Background(), &Invocation{FunctionID: "d4e1", Tag: "beta", Event: []byte(`{}`)})
	if err != nil || string(out) != `{"body":"d4e1@beta"}` {
		t.Fatalf("%s %v", out, err)
	}
	// A binding without a key of its own invokes as the spec's service
	// account; without that either, it is refused.
	accountKey, _ := cloud.AddKey("ajek9", "ajesa9")
	acct, err := yc.NewTokens(http.DefaultClient).Source("", "", cloud.IAMEndpoint())
	if err == nil {
		t.Fatal("a token source without a key")
	}
	t.Setenv("TEST_YC_ACCOUNT_KEY", string(accountKey))
	acct, err = yc.NewTokens(http.DefaultClient).Source("", "TEST_YC_ACCOUNT_KEY", cloud.IAMEndpoint())
	if err != nil {
		t.Fatal(err)
	}
	keyless := &config.Function{Yandex: &config.Yandex{FunctionsEndpoint: cloud.FunctionsEndpoint()}}
	inv, err = pool.Invoker("d4e2", keyless, 1<<20, acct, false)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := inv.Invoke(context.Background(), &Invocation{FunctionID: "d4e2", Tag: "$latest", Event: []byte(`{}`)}); err != nil || string(out) != `{"body":"d4e2@$latest"}` {
		t.Fatalf("as the spec's account: %s %v", out, err)
	}
	if _, err := pool.Invoker("d4e2", keyless, 1<<20, nil, false); err == nil || !strings.Contains(err.Error(), "names no service account bound") {
		t.Errorf("no key at all: %v", err)
	}
	t.Setenv("TEST_YC_KEY", "")
	if _, err := pool.Invoker("d4e1", &config.Function{Yandex: &config.Yandex{ServiceAccountKey: config.ServiceAccountKey{ServiceAccountKeyEnv: "TEST_YC_KEY"}}}, 1<<20, nil, false); err == nil || !strings.Contains(err.Error(), "TEST_YC_KEY") {
		t.Errorf("empty key variable: %v", err)
	}
}

// fakeCloudAPI marks the environment it is asked for.
type fakeCloudAPI struct{ calls int }

func (f *fakeCloudAPI) Env(id string, env map[string]string) map[string]string {
	f.calls++
	out := map[string]string{"HTTPS_PROXY": "http://apigw:secret@127.0.0.1:1"}
	for k, v := range env {
		out[k] = v
	}
	return out
}

func (f *fakeCloudAPI) Token() string { return "apigw-local-token" }

// TestInterceptChoice: a local process gets the intercept's environment and
// context token when its bindings want it (the default), and nothing of it
// with websocket.intercept_cloud_api: false; a binding's own token wins.
func TestInterceptChoice(t *testing.T) {
	api := &fakeCloudAPI{}
	pool := NewPool(http.DefaultTransport, nil)
	pool.CloudAPI = func() (CloudAPI, error) { return api, nil }
	f := &config.Function{Command: []string{"true"}, Env: map[string]string{"APP": "1"}}
	for _, tt := range []struct {
		intercept bool
		token     string
		env       []string
		header    string
	}{
		{true, "", []string{"APP=1", "HTTPS_PROXY=http://apigw:secret@127.0.0.1:1"}, "apigw-local-token"},
		{true, "mine", []string{"APP=1", "HTTPS_PROXY=http://apigw:secret@127.0.0.1:1"}, "mine"},
		{false, "", []string{"APP=1"}, ""},
	} {
		f.Token = tt.token
		inv, err := pool.Invoker("fn", f, 1<<20, nil, tt.intercept)
		if err != nil {
			t.Fatal(err)
		}
		p := inv.(*Process)
		if strings.Join(p.Env, " ") != strings.Join(tt.env, " ") || p.Header[HeaderToken] != tt.header {
			t.Errorf("intercept %v, token %q: env %q, context token %q; want %q, %q", tt.intercept, tt.token, p.Env, p.Header[HeaderToken], tt.env, tt.header)
		}
	}
	// URL bindings are not processes of apigw's: never intercepted.
	if _, err := pool.Invoker("u", &config.Function{URL: "http://127.0.0.1:1"}, 1<<20, nil, true); err != nil || api.calls != 2 {
		t.Errorf("a url binding asked for the intercept (%d calls, %v)", api.calls, err)
	}
}
