package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	cws "github.com/coder/websocket"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	apigateway "github.com/yandex-cloud/go-genproto/yandex/cloud/serverless/apigateway/v1"
	ycsdk "github.com/yandex-cloud/go-sdk/v2"
	"github.com/yandex-cloud/go-sdk/v2/credentials"
	sdkop "github.com/yandex-cloud/go-sdk/v2/pkg/operation"
	"github.com/yandex-cloud/go-sdk/v2/pkg/options"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// helloSpec answers GET /hello with the greeting variable.
const helloSpec = `openapi: 3.0.0
info: {title: hello, version: '1.0'}
x-yc-apigateway:
  variables:
    greeting: {default: hi}
paths:
  /hello:
    get:
      x-yc-apigateway-integration:
        type: dummy
        http_code: 200
        http_headers: {Content-Type: text/plain}
        content: {text/plain: "${var.greeting} from the gateway"}
`

// controlPlane is an apigw started with only control_plane set (and
// tls.listen, for attached domains), its state in dir.
type controlPlane struct {
	*gateway
	Addr   string // host:port of the control plane
	CA     string // state_dir/ca.pem
	HTTPS  string // host:port of the HTTPS listener
	Dir    string
	Config string
}

// startControlPlane starts apigw with a bindings file of control_plane
// only, plus, when extra is given, an HTTPS listener and extra.
func startControlPlane(t *testing.T, dir, extra string) *controlPlane {
	t.Helper()
	cp := &controlPlane{Addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), Dir: dir}
	cp.CA = filepath.Join(dir, "state", "ca.pem")
	cfg := fmt.Sprintf("control_plane:\n  listen: %s\n  state_dir: state\n", cp.Addr)
	if extra != "" {
		cp.HTTPS = fmt.Sprintf("127.0.0.1:%d", freePort(t))
		cfg += fmt.Sprintf("tls:\n  listen: %s\n%s", cp.HTTPS, extra)
	}
	cp.Config = writeFile(t, dir, "apigw.yaml", cfg)
	cp.gateway = start(t, "--config", cp.Config)
	return cp
}

// TestControlPlaneWithTheGoSDK runs the Go SDK v2 the way Terraform's
// provider does (TLS endpoint discovery against the control plane, the CA
// trusted through SSL_CERT_FILE, an IAM token, the SDK's own operation
// type checks) through a gateway's whole life, in a child process: the
// system roots are read once per process, so SSL_CERT_FILE must be set
// before the process starts.
func TestControlPlaneWithTheGoSDK(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t)
	ca.issue(t, dir, "api.example.test", 2, "api.example.test")
	os.WriteFile(filepath.Join(dir, "test-ca.pem"), pemCert(ca.cert.Raw), 0o644)
	cp := startControlPlane(t, dir, `certificates:
  fpqtestcert000000001:
    cert: api.example.test.pem
    key: api.example.test-key.pem
`)
	cmd := exec.Command(os.Args[0], "-test.run=^TestGoSDKClient$", "-test.v")
	cmd.Env = append(os.Environ(), "APIGW_E2E_CHILD=1", "SSL_CERT_FILE="+cp.CA,
		"APIGW_CP="+cp.Addr, "APIGW_API="+cp.URL, "APIGW_HTTPS="+cp.HTTPS, "APIGW_TEST_CA="+filepath.Join(dir, "test-ca.pem"))
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestGoSDKClient") {
		t.Fatalf("the SDK client failed: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

// TestGoSDKClient is the child of TestControlPlaneWithTheGoSDK.
func TestGoSDKClient(t *testing.T) {
	if os.Getenv("APIGW_E2E_CHILD") == "" {
		t.Skip("run by TestControlPlaneWithTheGoSDK")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sdk, err := ycsdk.Build(ctx,
		options.WithCredentials(credentials.IAMToken("t1.x.y")),
		options.WithDiscoveryEndpoint(os.Getenv("APIGW_CP")))
	if err != nil {
		t.Fatal(err)
	}
	defer sdk.Shutdown(context.Background())
	conn, err := sdk.GetConnection(ctx, "yandex.cloud.serverless.apigateway.v1.ApiGatewayService.Create")
	if err != nil {
		t.Fatal(err)
	}
	gws := apigateway.NewApiGatewayServiceClient(conn)
	poll := func(ctx context.Context, id string, opts ...grpc.CallOption) (sdkop.YCOperation, error) {
		conn, err := sdk.GetConnection(ctx, "yandex.cloud.operation.OperationService.Get")
		if err != nil {
			return nil, err
		}
		return operation.NewOperationServiceClient(conn).Get(ctx, &operation.GetOperationRequest{OperationId: id}, opts...)
	}
	// wait is the SDK's own wrapping: it refuses metadata or a response of
	// another type than the method declares.
	wait := func(md, resp proto.Message) func(*operation.Operation, error) (proto.Message, proto.Message) {
		return func(pb *operation.Operation, err error) (proto.Message, proto.Message) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			op, err := sdkop.NewOperation(pb, &sdkop.Concretization{Poll: poll, MetadataType: md, ResponseType: resp})
			if err != nil {
				t.Fatal(err)
			}
			r, err := op.Wait(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return op.Metadata(), r
		}
	}
	api, https := os.Getenv("APIGW_API"), os.Getenv("APIGW_HTTPS")
	hello := func(host string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", api+"/hello", nil)
		req.Host = host
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res.StatusCode, mustReadAll(res)
	}

	// Create → the ID from the metadata → wait.
	md, resp := wait((*apigateway.CreateApiGatewayMetadata)(nil), (*apigateway.ApiGateway)(nil))(gws.Create(ctx, &apigateway.CreateApiGatewayRequest{
		FolderId: "b1gtestfolder0000000", Name: "hello", Description: "made by the Go SDK",
		Labels: map[string]string{"env": "test"},
		Spec:   &apigateway.CreateApiGatewayRequest_OpenapiSpec{OpenapiSpec: helloSpec},
		Variables: map[string]*apigateway.VariableInput{
			"greeting": {VariableValue: &apigateway.VariableInput_StringValue{StringValue: "hello"}}},
		ExecutionTimeout: durationpb.New(30 * time.Second),
		LogOptions:       &apigateway.LogOptions{Disabled: true},
	}))
	id := md.(*apigateway.CreateApiGatewayMetadata).ApiGatewayId
	created := resp.(*apigateway.ApiGateway)
	if len(id) != 20 || !strings.HasPrefix(id, "d5d") || created.Id != id || created.Domain != id+".apigw.localhost" || created.Status != apigateway.ApiGateway_ACTIVE {
		t.Fatalf("created: %v", created)
	}
	if created.ExecutionTimeout.AsDuration() != 30*time.Second || created.Labels["env"] != "test" || !created.LogOptions.Disabled ||
		created.Variables["greeting"].GetStringValue() != "hello" || created.LogGroupId == "" || created.CreatedAt == nil {
		t.Fatalf("the gateway does not round-trip what was sent: %v", created)
	}
	if st, body := hello(created.Domain); st != 200 || body != "hello from the gateway" {
		t.Fatalf("at its domain: %d %q", st, body)
	}

	// AddDomain with a certificate from the bindings; served by SNI.
	md, _ = wait((*apigateway.AddDomainMetadata)(nil), (*emptypb.Empty)(nil))(gws.AddDomain(ctx,
		&apigateway.AddDomainRequest{ApiGatewayId: id, DomainName: "api.example.test", CertificateId: "fpqtestcert000000001"}))
	domainID := md.(*apigateway.AddDomainMetadata).DomainId
	got, err := gws.Get(ctx, &apigateway.GetApiGatewayRequest{ApiGatewayId: id})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.AttachedDomains) != 1 || got.AttachedDomains[0].DomainId != domainID || got.AttachedDomains[0].Domain != "api.example.test" || !got.AttachedDomains[0].Enabled {
		t.Fatalf("attached domains: %v", got.AttachedDomains)
	}
	if st, body := hello("api.example.test"); st != 200 || body != "hello from the gateway" {
		t.Fatalf("at the attached domain: %d %q", st, body)
	}
	pool := certPoolFromFile(t, os.Getenv("APIGW_TEST_CA"))
	tc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "api.example.test"}}}
	req, _ := http.NewRequest("GET", "https://"+https+"/hello", nil)
	req.Host = "api.example.test"
	res, err := tc.Do(req)
	if err != nil {
		t.Fatalf("HTTPS at the attached domain: %v", err)
	}
	if body := mustReadAll(res); res.StatusCode != 200 || body != "hello from the gateway" || res.TLS.PeerCertificates[0].Subject.CommonName != "api.example.test" {
		t.Fatalf("HTTPS at the attached domain: %d %q", res.StatusCode, body)
	}

	// Update with a mask: the variable changes, the labels the mask does
	// not name stay.
	_, resp = wait((*apigateway.UpdateApiGatewayMetadata)(nil), (*apigateway.ApiGateway)(nil))(gws.Update(ctx, &apigateway.UpdateApiGatewayRequest{
		ApiGatewayId: id, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"variables", "description"}},
		Description: "updated", Labels: map[string]string{"ignored": "x"},
		Variables: map[string]*apigateway.VariableInput{"greeting": {VariableValue: &apigateway.VariableInput_StringValue{StringValue: "bonjour"}}},
	}))
	if u := resp.(*apigateway.ApiGateway); u.Description != "updated" || u.Labels["env"] != "test" || u.Labels["ignored"] != "" {
		t.Fatalf("update ignored its mask: %v", u)
	}
	if st, body := hello(created.Domain); st != 200 || body != "bonjour from the gateway" {
		t.Fatalf("after the update: %d %q", st, body)
	}

	// GetOpenapiSpec: the text as sent, and as JSON.
	sp, err := gws.GetOpenapiSpec(ctx, &apigateway.GetOpenapiSpecRequest{ApiGatewayId: id})
	if err != nil || sp.OpenapiSpec != helloSpec {
		t.Fatalf("spec: %v %q", err, sp.GetOpenapiSpec())
	}
	sp, err = gws.GetOpenapiSpec(ctx, &apigateway.GetOpenapiSpecRequest{ApiGatewayId: id, Format: apigateway.GetOpenapiSpecRequest_JSON})
	var asJSON map[string]any
	if err != nil || json.Unmarshal([]byte(sp.OpenapiSpec), &asJSON) != nil || asJSON["openapi"] != "3.0.0" {
		t.Fatalf("spec as JSON: %v %q", err, sp.GetOpenapiSpec())
	}

	// RemoveDomain: the domain is no longer served.
	wait((*apigateway.RemoveDomainMetadata)(nil), (*emptypb.Empty)(nil))(gws.RemoveDomain(ctx, &apigateway.RemoveDomainRequest{ApiGatewayId: id, DomainId: domainID}))
	if st, _ := hello("api.example.test"); st != 404 {
		t.Fatalf("a removed domain answers %d", st)
	}

	// Stop: 503; Resume: served again.
	wait((*apigateway.StopApiGatewayMetadata)(nil), (*emptypb.Empty)(nil))(gws.Stop(ctx, &apigateway.StopApiGatewayRequest{ApiGatewayId: id}))
	if st, body := hello(created.Domain); st != 503 || !strings.Contains(body, "stopped") {
		t.Fatalf("a stopped gateway answers %d %q", st, body)
	}
	if g, _ := gws.Get(ctx, &apigateway.GetApiGatewayRequest{ApiGatewayId: id}); g.GetStatus() != apigateway.ApiGateway_STOPPED {
		t.Fatalf("status after Stop: %v", g.GetStatus())
	}
	_, resp = wait((*apigateway.ResumeApiGatewayMetadata)(nil), (*apigateway.ApiGateway)(nil))(gws.Resume(ctx, &apigateway.ResumeApiGatewayRequest{ApiGatewayId: id}))
	if resp.(*apigateway.ApiGateway).Status != apigateway.ApiGateway_ACTIVE {
		t.Fatalf("resumed: %v", resp)
	}
	if st, body := hello(created.Domain); st != 200 || body != "bonjour from the gateway" {
		t.Fatalf("after Resume: %d %q", st, body)
	}
	ops, err := gws.ListOperations(ctx, &apigateway.ListOperationsRequest{ApiGatewayId: id})
	if err != nil || len(ops.Operations) != 6 || ops.Operations[0].Description != "Resume API gateway" {
		t.Fatalf("operations: %v %v", err, ops)
	}

	// Delete → Get is NOT_FOUND (Terraform's refresh depends on it).
	wait((*apigateway.DeleteApiGatewayMetadata)(nil), (*emptypb.Empty)(nil))(gws.Delete(ctx, &apigateway.DeleteApiGatewayRequest{ApiGatewayId: id}))
	if _, err := gws.Get(ctx, &apigateway.GetApiGatewayRequest{ApiGatewayId: id}); status.Code(err) != codes.NotFound {
		t.Fatalf("Get after Delete: %v", err)
	}
	if _, err := gws.Delete(ctx, &apigateway.DeleteApiGatewayRequest{ApiGatewayId: id}); status.Code(err) != codes.NotFound {
		t.Fatalf("Delete after Delete: %v", err)
	}
	if st, _ := hello(created.Domain); st != 404 {
		t.Fatalf("a deleted gateway answers %d", st)
	}
}

func mustReadAll(res *http.Response) string {
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func certPoolFromFile(t *testing.T, file string) *x509.CertPool {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(mustRead(t, file))) {
		t.Fatalf("no certificate in %s", file)
	}
	return pool
}

// TestControlPlaneWithTheNodeSDK: the official Node.js SDK creates a
// gateway (session.client(ApiGatewayServiceClient, address), the CA as
// ssl.rootCerts), waits on its operation, and calls it.
func TestControlPlaneWithTheNodeSDK(t *testing.T) {
	needInterpreter(t, "node")
	modules, _ := filepath.Abs("../examples/websocket/functions/node_modules")
	if _, err := os.Stat(filepath.Join(modules, "@yandex-cloud/nodejs-sdk")); err != nil {
		t.Fatal("the Node.js SDK is not installed: run scripts/test-servers")
	}
	dir := t.TempDir()
	cp := startControlPlane(t, dir, "")
	specFile := writeFile(t, dir, "api.yaml", helloSpec)
	cmd := exec.Command("node", "testdata/controlplane/node-create.js", cp.Addr, cp.CA, cp.URL, specFile)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s\n%s", err, out, exitStderr(err))
	}
	var got struct {
		ID, Domain, Body string
		Status           int
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got.Status != 200 || got.Body != "hello from node from the gateway" || got.Domain != got.ID+".apigw.localhost" {
		t.Fatalf("the created gateway: %+v", got)
	}
}

func exitStderr(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// TestControlPlaneStateSurvivesARestart: gateways created before a
// restart are served after it, from state_dir, with the same CA (clients
// keep trusting the file they have); a control plane alone, no --spec,
// answers other hosts 404.
func TestControlPlaneStateSurvivesARestart(t *testing.T) {
	dir := t.TempDir()
	cp := startControlPlane(t, dir, "")
	pool := certPoolFromFile(t, cp.CA)
	id, st, out := restCreateTLS(t, cp, "kept", helloSpec)
	if st != 200 || out["done"] != true || id == "" {
		t.Fatalf("create: %d %v", st, out)
	}
	if st, _ := hostGet(cp.URL, "nobody"); st != 404 {
		t.Fatalf("an unknown host: %d", st)
	}
	if code, err := cp.stop(syscall.SIGINT, 30*time.Second); code != 0 || err != nil {
		t.Fatalf("stop: %d %v", code, err)
	}
	again := start(t, "--config", cp.Config)
	if st, got := hostGet(again.URL, id); st != 200 || got != "hi from the gateway" {
		t.Fatalf("after a restart: %d %q\n%s", st, got, again.Logs())
	}
	if !strings.Contains(again.Logs(), `"gateways":1`) {
		t.Fatalf("the start did not say it serves the stored gateway:\n%s", again.Logs())
	}
	if certPoolFromFile(t, cp.CA).Equal(pool) == false {
		t.Fatal("the CA changed across a restart")
	}
}

// TestConsoleGatewaysView: the console lists the created gateways with
// their domains and status, and a gateway's operations on a click.
func TestConsoleGatewaysView(t *testing.T) {
	needInterpreter(t, "chromium")
	dir := t.TempDir()
	cp := startControlPlane(t, dir, "")
	a, st, out := restCreateTLS(t, cp, "shown", helloSpec)
	if a == "" {
		t.Fatalf("create: %d %v", st, out)
	}
	devtools := startChromium(t)
	p := openPage(t, devtools, cp.Admin+"/console/gateways")
	p.viewport(1280, 800, false)
	got := p.eval(waitScript + `const row = await wait("the gateway", () => document.querySelector('#gateways-body tr[data-id="` + a + `"]'));
row.click();
await wait("its operations", () => document.getElementById("gateway-operations")?.textContent.includes("Create API gateway"));
return {row: row.textContent, ops: document.getElementById("gateway-operations").textContent};`)
	if !strings.Contains(got, a+".apigw.localhost") || !strings.Contains(got, "ACTIVE") || !strings.Contains(got, "shown") {
		t.Errorf("gateways view: %s", got)
	}
	p.screenshot(t.ArtifactDir(), "console-gateways.png")
}

// restCreateTLS creates a gateway through a control plane's REST form over
// TLS, trusting its CA.
func restCreateTLS(t *testing.T, cp *controlPlane, name, spec string) (string, int, map[string]any) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: certPoolFromFile(t, cp.CA)}}}
	body, _ := json.Marshal(map[string]any{"folderId": "f", "name": name, "openapiSpec": spec})
	req, _ := http.NewRequest("POST", "https://localhost:"+strings.Split(cp.Addr, ":")[1]+"/apigateways/v1/apigateways", strings.NewReader(string(body)))
	req.Header.Set("Authorization", "Bearer t1.x.y")
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	json.Unmarshal([]byte(mustReadAll(res)), &out)
	md, _ := out["metadata"].(map[string]any)
	id, _ := md["apiGatewayId"].(string)
	return id, res.StatusCode, out
}

// TestControlPlaneExample runs the README's control-plane tour on a copy
// of examples/control-plane: create.json through the REST form over TLS,
// the gateway at its domain and at its path form; the same Create again
// is ALREADY_EXISTS.
func TestControlPlaneExample(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"apigw.yaml", "create.json"} {
		writeFile(t, dir, f, mustRead(t, filepath.Join("../examples/control-plane", f)))
	}
	cfg := strings.Replace(mustRead(t, filepath.Join(dir, "apigw.yaml")), "127.0.0.1:8443", fmt.Sprintf("127.0.0.1:%d", freePort(t)), 1)
	writeFile(t, dir, "apigw.yaml", cfg)
	g := start(t, "--config", filepath.Join(dir, "apigw.yaml"))
	addr := strings.Fields(cfg[strings.Index(cfg, "listen:")+len("listen:"):])[0]
	cp := &controlPlane{gateway: g, Addr: addr, CA: filepath.Join(dir, "apigw-state", "ca.pem")}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: certPoolFromFile(t, cp.CA)}}}
	post := func() (int, string) {
		req, _ := http.NewRequest("POST", "https://localhost:"+strings.Split(addr, ":")[1]+"/apigateways/v1/apigateways",
			strings.NewReader(mustRead(t, filepath.Join(dir, "create.json"))))
		req.Header.Set("Authorization", "Bearer t1.x.y")
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res.StatusCode, mustReadAll(res)
	}
	st, body := post()
	var op struct{ Metadata struct{ APIGatewayID string } }
	json.Unmarshal([]byte(body), &op)
	id := op.Metadata.APIGatewayID
	if st != 200 || id == "" {
		t.Fatalf("create.json: %d %s", st, body)
	}
	if st, got := hostGet(g.URL, id); st != 200 || got != "Hi from a gateway made through the API\n" {
		t.Fatalf("at its domain: %d %q", st, got)
	}
	if st, _, got := get(t, g.URL+"/_apigw/gateways/"+id+"/hello"); st != 200 || got != "Hi from a gateway made through the API\n" {
		t.Fatalf("at its path: %d %q", st, got)
	}
	if st, body := post(); st != 409 || !strings.Contains(body, `"code":6`) {
		t.Fatalf("the same Create again: %d %s", st, body)
	}
}

// TestControlPlaneBesideASpec: --spec keeps serving every other host; a
// created gateway's canary and WebSocket paths work at its addresses, and
// the connection API is reachable on the control plane too.
func TestControlPlaneBesideASpec(t *testing.T) {
	dir := t.TempDir()
	cp := &controlPlane{Addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), Dir: dir}
	cfg := writeFile(t, dir, "apigw.yaml", fmt.Sprintf("control_plane: {listen: %s, plaintext: true}\n", cp.Addr))
	root := writeFile(t, dir, "root.yaml", "openapi: 3.0.0\ninfo: {title: root, version: '1'}\npaths:\n  /hello:\n    get:\n      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': root}}\n")
	cp.gateway = start(t, "--spec", root, "--config", cfg)
	spec := helloSpec + `  /ws:
    x-yc-apigateway-websocket-message:
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': 'echo'}}
`
	body, _ := json.Marshal(map[string]any{"folderId": "f", "name": "canaried", "openapiSpec": spec,
		"canary": map[string]any{"weight": "99", "variables": map[string]any{"greeting": map[string]any{"stringValue": "canary"}}}})
	st, out := restCall(t, cp.Addr, "POST", "/apigateways/v1/apigateways", string(body))
	id, _ := out["metadata"].(map[string]any)["apiGatewayId"].(string)
	if st != 200 || id == "" {
		t.Fatalf("create: %d %v", st, out)
	}
	if st, _, got := get(t, cp.URL+"/hello"); st != 200 || got != "root" {
		t.Fatalf("--spec at another host: %d %q", st, got)
	}
	seen := map[string]int{}
	for range 40 {
		_, got := hostGet(cp.URL, id)
		seen[got]++
	}
	if seen["canary from the gateway"] == 0 || seen["canary from the gateway"]+seen["hi from the gateway"] != 40 {
		t.Fatalf("a 99%% canary over 40 requests: %v", seen)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, connID := cp.wsConnect(ctx, "/_apigw/gateways/"+id+"/ws")
	if connID == "" {
		t.Fatal("no connection ID")
	}
	c.Write(ctx, cws.MessageText, []byte("hi"))
	if _, msg, err := c.Read(ctx); err != nil || string(msg) != "echo" {
		t.Fatalf("WebSocket at the created gateway: %q %v", msg, err)
	}
	// The connection API on the control plane's address, as the cloud's.
	if st, out := restCall(t, cp.Addr, "GET", "/apigateways/websocket/v1/connections/"+connID, ""); st != 200 || out["id"] != connID {
		t.Fatalf("the connection API on the control plane: %d %v", st, out)
	}
}
