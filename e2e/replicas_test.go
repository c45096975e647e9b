package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
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

	"github.com/apigw/apigw/internal/connectionapi/connectionpb"
	cws "github.com/coder/websocket"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// nginxBinary finds nginx (scripts/test installs Debian's nginx-light).
func nginxBinary(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"nginx", "/usr/sbin/nginx"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("nginx is not installed (scripts/test installs it)")
	}
	t.Skip("nginx is not installed")
	return ""
}

// startNginx balances port across the backends, retrying a request on
// another backend when one refuses or drops the connection, and passes
// WebSocket upgrades through.
func startNginx(t *testing.T, port int, backends []string) {
	t.Helper()
	bin := nginxBinary(t)
	dir := t.TempDir()
	var servers strings.Builder
	for _, b := range backends {
		fmt.Fprintf(&servers, "    server %s max_fails=0;\n", strings.TrimPrefix(b, "http://"))
	}
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;" // workers write temp files into the test's private directory
	}
	conf := fmt.Sprintf(`%s
worker_processes 1;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path %[2]s/body; proxy_temp_path %[2]s/proxy; fastcgi_temp_path %[2]s/fcgi;
  uwsgi_temp_path %[2]s/uwsgi; scgi_temp_path %[2]s/scgi;
  upstream apigw {
%[3]s    keepalive 32;
  }
  map $http_upgrade $connection_upgrade { default upgrade; '' ''; }
  server {
    listen 127.0.0.1:%[4]d;
    location / {
      proxy_pass http://apigw;
      proxy_http_version 1.1;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Host $host;
      proxy_next_upstream error timeout non_idempotent;
      proxy_next_upstream_tries 3;
      proxy_read_timeout 60s;
    }
  }
}
`, user, dir, servers.String(), port)
	cfg := filepath.Join(dir, "nginx.conf")
	os.WriteFile(cfg, []byte(conf), 0o644)
	cmd := exec.Command(bin, "-p", dir, "-c", cfg, "-g", "daemon off;")
	out, _ := os.Create(filepath.Join(dir, "stderr"))
	cmd.Stdout, cmd.Stderr = out, out
	// Killing the master alone would leave its worker running. SIGTERM lets
	// the master stop and reap the worker (it removes its pid file last);
	// the process group is killed in case it does not. Cleanups run
	// last-in first-out, so this comes before startTestServer's kill.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	startTestServer(t, "nginx", cmd, port)
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		for i := 0; i < 100 && fileExists(filepath.Join(dir, "nginx.pid")); i++ {
			time.Sleep(20 * time.Millisecond)
		}
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	})
}

// TestReplicasBehindNginx: three gateway processes behind nginx share
// the real Redis: the rate limit holds across them, a WebSocket on one is
// reached through another's management API, and a rolling restart of all
// three under steady load loses no request.
func TestReplicasBehindNginx(t *testing.T) {
	dir := t.TempDir()
	spec := writeFile(t, dir, "api.yaml", `openapi: 3.0.0
paths:
  /hello:
    get:
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': hello}}
  /limited:
    get:
      x-yc-apigateway-rate-limit: {allRequests: {rps: 10}}
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': ok}}
  /ws:
    x-yc-apigateway-websocket-message:
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': ''}}
`)
	cfg := writeFile(t, dir, "apigw.yaml", fmt.Sprintf("redis: {url: 'redis://127.0.0.1:6379/0', prefix: 'apigw-test-%d:'}\nlimits: {shutdown_timeout: 5s, drain_delay: 1s}\n", time.Now().UnixNano()))
	type replica struct {
		api, admin int
		g          *gateway
	}
	replicas := make([]*replica, 3)
	var backends []string
	for i := range replicas {
		r := &replica{api: freePort(t), admin: freePort(t)}
		r.g = startOn(t, r.api, r.admin, "--spec", spec, "--config", cfg)
		replicas[i] = r
		backends = append(backends, r.g.URL)
	}
	lb := freePort(t)
	startNginx(t, lb, backends)
	front := fmt.Sprintf("http://127.0.0.1:%d", lb)

	// Shared rate limit through the balancer.
	var admitted atomic.Int64
	deadline := time.Now().Add(2 * time.Second)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				if res, err := http.Get(front + "/limited"); err == nil {
					if res.StatusCode == 200 {
						admitted.Add(1)
					}
					res.Body.Close()
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	if n := admitted.Load(); n < 24 || n > 36 {
		t.Errorf("three replicas behind nginx admitted %d requests in 2 s at 10 rps (budget about 30)", n)
	}

	// A WebSocket through the balancer, reached through every replica's
	// management API.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, res, err := cws.Dial(ctx, "ws://127.0.0.1:"+fmt.Sprint(lb)+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	id := res.Header.Get("X-Yc-Apigateway-Websocket-Connection-Id")
	for i, r := range replicas {
		msg := fmt.Sprintf("via replica %d", i)
		body := fmt.Sprintf(`{"data":%q,"type":"TEXT"}`, base64.StdEncoding.EncodeToString([]byte(msg)))
		resp, err := http.Post(r.g.Admin+"/apigateways/websocket/v1/connections/"+id+":send", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("send through replica %d: %d", i, resp.StatusCode)
		}
		if _, got, err := c.Read(ctx); err != nil || string(got) != msg {
			t.Fatalf("through replica %d the socket got %q (%v)", i, got, err)
		}
		// The same over gRPC, on the same port.
		msg += " over gRPC"
		if _, err := connectionClient(t, r.g.Admin).Send(ctx, &connectionpb.SendToConnectionRequest{
			ConnectionId: id, Data: []byte(msg), Type: connectionpb.SendToConnectionRequest_TEXT,
		}); err != nil {
			t.Fatalf("gRPC Send through replica %d: %v", i, err)
		}
		if _, got, err := c.Read(ctx); err != nil || string(got) != msg {
			t.Fatalf("through replica %d (gRPC) the socket got %q (%v)", i, got, err)
		}
	}
	c.Close(cws.StatusNormalClosure, "")
	// Gone from every replica: NOT_FOUND in both forms.
	for i, r := range replicas {
		var err error
		for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
			if _, err = connectionClient(t, r.g.Admin).Get(ctx, &connectionpb.GetConnectionRequest{ConnectionId: id}); status.Code(err) == codes.NotFound {
				break
			}
		}
		if status.Code(err) != codes.NotFound {
			t.Errorf("gRPC Get of a closed connection through replica %d: %v", i, err)
		}
	}

	// A rolling restart under steady load.
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	client := &http.Client{Timeout: 10 * time.Second}
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				res, err := client.Get(front + "/hello")
				if err == nil {
					b, _ := io.ReadAll(res.Body)
					res.Body.Close()
					if res.StatusCode == 200 && string(b) == "hello" {
						ok.Add(1)
						continue
					}
					err = fmt.Errorf("%d %q", res.StatusCode, b)
				}
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	for i, r := range replicas {
		if code, err := r.g.stop(syscall.SIGTERM, 10*time.Second); err != nil || code != 0 {
			t.Fatalf("replica %d stopped with %d (%v)", i, code, err)
		}
		time.Sleep(200 * time.Millisecond) // nginx meets the closed port meanwhile
		r.g = startOn(t, r.api, r.admin, "--spec", spec, "--config", cfg)
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	t.Logf("rolling restart: %d requests answered, %d failed", ok.Load(), failed.Load())
	if failed.Load() != 0 || ok.Load() < 100 {
		t.Errorf("a rolling restart lost %d of %d requests (first: %v)", failed.Load(), ok.Load()+failed.Load(), firstErr.Load())
	}
}
