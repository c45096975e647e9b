package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/apigw/apigw/internal/connectionapi/connectionpb"
	"github.com/apigw/apigw/internal/intercept"
	cws "github.com/coder/websocket"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// wsConnect opens a WebSocket client on the gateway's path and returns it
// with its connection ID; it is closed when the test ends.
func (g *gateway) wsConnect(ctx context.Context, path string) (*cws.Conn, string) {
	g.t.Helper()
	c, res, err := cws.Dial(ctx, "ws"+strings.TrimPrefix(g.URL, "http")+path, nil)
	if err != nil {
		g.t.Fatal(err)
	}
	g.t.Cleanup(func() { c.CloseNow() })
	return c, res.Header.Get("X-Yc-Apigateway-Websocket-Connection-Id")
}

// connectionClient is a gRPC client of the connection service on a
// gateway's admin listener (h2c).
func connectionClient(t *testing.T, adminURL string) connectionpb.ConnectionServiceClient {
	t.Helper()
	cc, err := grpc.NewClient(strings.TrimPrefix(adminURL, "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return connectionpb.NewConnectionServiceClient(cc)
}

// TestConnectionServiceWithTheNodeSDK: the official Node.js SDK, pointed at
// apigw with the one-line endpoint override, calls the gRPC connection
// service on an admin listener with admin_tls: {local_ca: true}, trusting
// the local CA through NODE_EXTRA_CA_CERTS.
func TestConnectionServiceWithTheNodeSDK(t *testing.T) {
	needInterpreter(t, "node")
	modules, _ := filepath.Abs("../examples/websocket/functions/node_modules")
	if _, err := os.Stat(filepath.Join(modules, "@yandex-cloud/nodejs-sdk")); err != nil {
		t.Fatal("the Node.js SDK is not installed: run scripts/test-servers")
	}
	cache := t.TempDir()
	t.Setenv("APIGW_CACHE_DIR", cache)
	dir := t.TempDir()
	spec := writeFile(t, dir, "api.yaml", `openapi: 3.0.0
paths:
  /ws:
    x-yc-apigateway-websocket-message:
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': ''}}
`)
	cfg := writeFile(t, dir, "apigw.yaml", "admin_tls: {local_ca: true}\n")
	g := start(t, "--spec", spec, "--config", cfg)
	if !strings.HasPrefix(g.Admin, "https://") {
		t.Fatalf("admin_tls: the admin listener answers plain HTTP at %s", g.Admin)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ws, id := g.wsConnect(ctx, "/ws")
	endpoint := "localhost:" + strings.TrimPrefix(g.Admin, "https://127.0.0.1:")
	script := `
const { Session } = require('@yandex-cloud/nodejs-sdk');
const { connectionService } = require('@yandex-cloud/nodejs-sdk/serverless-apigateway-websocket-v1');
const [endpoint, id] = process.argv.slice(1);
const session = new Session({ iamToken: 'any' });
// The one-line override: the client's endpoint.
const client = session.client(connectionService.ConnectionServiceClient, endpoint);
(async () => {
  const out = {};
  await client.send(connectionService.SendToConnectionRequest.fromPartial({
    connectionId: id, data: Buffer.from('from the SDK'), type: connectionService.SendToConnectionRequest_DataType.TEXT }));
  const c = await client.get({ connectionId: id });
  out.id = c.id; out.sourceIp = c.identity.sourceIp; out.connectedAt = c.connectedAt.toISOString();
  for (const [name, call] of [
    ['missing', () => client.get({ connectionId: 'nope' })],
    ['tooBig', () => client.send({ connectionId: id, data: Buffer.alloc(131073), type: 0 })],
  ]) {
    try { await call(); out[name] = 'OK'; } catch (e) { out[name] = (e.message.match(/ ([A-Z_]+): /) || [])[1] || e.message; } // the SDK's ApiError keeps the status in its message
  }
  await client.disconnect({ connectionId: id });
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
`
	cmd := exec.Command("node", "-e", script, endpoint, id)
	// As docs/functions.md says: NODE_EXTRA_CA_CERTS names the CA, and a
	// GRPC_DEFAULT_SSL_ROOTS_FILE_PATH, which grpc-js reads instead of
	// Node's roots, must not leave it out (this machine sets one).
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH=") && !strings.HasPrefix(kv, "NODE_EXTRA_CA_CERTS=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "NODE_PATH="+modules, "NODE_EXTRA_CA_CERTS="+filepath.Join(cache, "ca", "ca-cert.pem"))
	done := make(chan []byte, 1)
	go func() {
		out, err := cmd.CombinedOutput()
		if err != nil {
			out = append(out, []byte("\n"+err.Error())...)
		}
		done <- out
	}()
	if _, got, err := ws.Read(ctx); err != nil || string(got) != "from the SDK" {
		t.Errorf("the socket got %q (%v)", got, err)
	}
	var out []byte
	select {
	case out = <-done:
	case <-ctx.Done():
		t.Fatal("the SDK script did not finish")
	}
	var seen struct {
		ID, SourceIP, ConnectedAt string
		Missing, TooBig           string
	}
	if err := json.Unmarshal(out, &seen); err != nil {
		t.Fatalf("the SDK script printed %s", out)
	}
	if seen.ID != id || seen.SourceIP != "127.0.0.1" || seen.ConnectedAt == "" {
		t.Errorf("Get through the SDK: %+v", seen)
	}
	if seen.Missing != "NOT_FOUND" || seen.TooBig != "INVALID_ARGUMENT" {
		t.Errorf("errors through the SDK: missing %q (want NOT_FOUND), too big %q (want INVALID_ARGUMENT)", seen.Missing, seen.TooBig)
	}
	if _, _, err := ws.Read(ctx); cws.CloseStatus(err) != 1000 {
		t.Errorf("after the SDK's Disconnect the socket saw %v", err)
	}
}

// TestInterceptRefusesStrangers: the proxy apigw gives its function
// processes, found through the binary's start log, is not an open proxy
// and shrugs off bad input; the chat keeps working through it. Every
// target asked for is on 127.0.0.1.
func TestInterceptRefusesStrangers(t *testing.T) {
	g := chatExample(t)
	m := regexp.MustCompile(`"proxy":"(127\.0\.0\.1:\d+)"`).FindStringSubmatch(g.Logs())
	if m == nil {
		t.Fatalf("no intercept proxy in the start log:\n%s", g.Logs())
	}
	proxy := m[1]
	target := strings.TrimPrefix(g.URL, "http://")
	ask := func(raw string) (int, string) {
		c, err := net.Dial("tcp", proxy)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, raw)
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return 0, err.Error()
		}
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header.Get("Proxy-Authenticate") + " " + string(b)
	}
	for _, tt := range []struct {
		name, raw string
		want      int
	}{
		{"CONNECT without the secret", "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n", 407},
		{"CONNECT with a guessed secret", "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\nProxy-Authorization: Basic YXBpZ3c6Z3Vlc3M=\r\n\r\n", 407},
		{"CONNECT to the connections host without the secret", "CONNECT apigateway-connections.api.cloud.yandex.net:443 HTTP/1.1\r\nHost: x\r\n\r\n", 407},
		{"a plain proxy request", "GET http://" + target + "/ HTTP/1.1\r\nHost: " + target + "\r\n\r\n", 405},
		{"garbage", "\x01\x02\x03 nonsense\r\n\r\n", 400},
	} {
		if got, why := ask(tt.raw); got != tt.want {
			t.Errorf("%s: %d %q, want %d", tt.name, got, why, tt.want)
		}
	}
	// TLS straight to the port: a client that does not trust apigw's CA,
	// and one that asks for another name, fail their handshakes.
	for _, cfg := range []*tls.Config{{ServerName: "apigateway-connections.api.cloud.yandex.net"}, {ServerName: "127.0.0.1", InsecureSkipVerify: true}} {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", proxy, cfg)
		if err == nil {
			c.Close()
			t.Errorf("a TLS client asking for %q completed a handshake", cfg.ServerName)
		}
	}
	// A client that trusts the CA reaches the API only with a token apigw
	// gave its functions: none, or another, is 401 as in the cloud.
	dir, err := intercept.DefaultDir()
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca-cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	direct := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, proxy)
		},
	}}
	for _, auth := range []string{"", "Bearer t1.someone-elses-token"} {
		req, _ := http.NewRequest("GET", "https://apigateway-connections.api.cloud.yandex.net/apigateways/websocket/v1/connections/x", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := direct.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 401 || !strings.Contains(string(b), `"code":16`) {
			t.Errorf("intercepted API with %q: %d %s, want 401 UNAUTHENTICATED", auth, res.StatusCode, b)
		}
	}
	// Still serving: the chat's handlers go through the same proxy.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a, _ := g.wsConnect(ctx, "/chat?name=a")
	a.Read(ctx) // the welcome
	a.Write(ctx, cws.MessageText, []byte("still here"))
	if _, got, err := a.Read(ctx); err != nil || string(got) != "a: still here" {
		t.Errorf("after the bad input the chat answered %q (%v)", got, err)
	}
}
