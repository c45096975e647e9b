package controlplane

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/apigw/apigw/internal/config"
	"github.com/apigw/apigw/internal/gateway"
	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/spec"
	"github.com/apigw/apigw/internal/yamlx"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	ycaccess "github.com/yandex-cloud/go-genproto/yandex/cloud/access"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/endpoint"
	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	apigateway "github.com/yandex-cloud/go-genproto/yandex/cloud/serverless/apigateway/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

const okSpec = `openapi: 3.0.0
info: {title: t, version: '1'}
paths:
  /x:
    get:
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {text/plain: x}}
`

// testPlane is a plane on the embedded store whose builds use bindings b
// (default bindings when nil), as the server's do.
func testPlane(t *testing.T, b *config.Bindings) (*Plane, *gateway.Handler) {
	return testPlaneWith(t, b)
}

func testPlaneB(b *testing.B) (*Plane, *gateway.Handler) { return testPlaneWith(b, nil) }

func testPlaneWith(t testing.TB, b *config.Bindings) (*Plane, *gateway.Handler) {
	t.Helper()
	if b == nil {
		b = config.Default()
	}
	store, err := OpenBolt(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	deps := integration.NewDeps()
	h := gateway.NewHandler(slog.New(slog.DiscardHandler), gateway.NewMetrics(prometheus.NewRegistry()))
	p := New(Options{Store: store, BaseDomain: "apigw.localhost", Log: slog.New(slog.DiscardHandler), Publish: h.SetFleet,
		Bindings: func() *config.Bindings { return b },
		Build: func(g *apigateway.ApiGateway, text string) (*gateway.Snapshot, yamlx.List) {
			doc, errs := spec.Load(SpecFile, []byte(text), nil)
			if doc == nil {
				return nil, errs
			}
			bb := *b
			bb.GatewayID = g.Id
			snap, e := gateway.Build(doc, &bb, deps)
			errs = append(errs, e...)
			if errs.Err() != nil {
				return nil, errs
			}
			return snap, errs
		}})
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, h
}

func create(t *testing.T, s gateways, name, text string) (*apigateway.ApiGateway, error) {
	t.Helper()
	op, err := s.Create(context.Background(), &apigateway.CreateApiGatewayRequest{FolderId: "f", Name: name,
		Spec: &apigateway.CreateApiGatewayRequest_OpenapiSpec{OpenapiSpec: text}})
	if err != nil {
		return nil, err
	}
	g := &apigateway.ApiGateway{}
	if err := op.GetResponse().UnmarshalTo(g); err != nil {
		t.Fatal(err)
	}
	return g, nil
}

func TestCreateRefusesWhatDoesNotBuild(t *testing.T) {
	p, _ := testPlane(t, nil)
	s := gateways{p: p}
	for _, c := range []struct {
		name, spec, gwName string
		code               codes.Code
		want               string
	}{
		{"a broken spec", "openapi: 3.0.0\ninfo: {title: t, version: '1'}\npaths:\n  /x:\n    get:\n      x-yc-apigateway-integration: {type: nope}\n", "a", codes.InvalidArgument, "openapi_spec:6:"},
		{"not YAML", "openapi: [", "b", codes.InvalidArgument, "openapi_spec:"},
		{"an empty spec", " ", "c", codes.InvalidArgument, "openapi_spec is required"},
		{"over 3.5 MB", okSpec + "# " + strings.Repeat("x", MaxSpec), "d", codes.InvalidArgument, "3.5 MB"},
		{"an unbound function", strings.Replace(okSpec, "{type: dummy, http_code: 200, content: {text/plain: x}}", "{type: cloud_functions, function_id: d4eunbound0000000000}", 1), "e", codes.InvalidArgument, "d4eunbound0000000000"},
		{"a bad name", okSpec, "Bad_Name", codes.InvalidArgument, "name"},
	} {
		_, err := create(t, s, c.gwName, c.spec)
		if status.Code(err) != c.code || !strings.Contains(status.Convert(err).Message(), c.want) {
			t.Errorf("%s: %v, want %s with %q", c.name, err, c.code, c.want)
		}
	}
	recs, _ := p.opts.Store.List(context.Background())
	if len(recs) != 0 || p.Len() != 0 {
		t.Fatalf("a refused Create left %d records, %d served", len(recs), p.Len())
	}
}

func TestMockedFunctionsCreate(t *testing.T) {
	b, errs := config.Parse([]byte("functions:\n  d4emocked00000000000: {mock: true}\n"))
	if errs.Err() != nil {
		t.Fatal(errs)
	}
	p, _ := testPlane(t, b)
	text := strings.Replace(okSpec, "{type: dummy, http_code: 200, content: {text/plain: x}}", "{type: cloud_functions, function_id: d4emocked00000000000}", 1)
	if _, err := create(t, gateways{p: p}, "m", text); err != nil {
		t.Fatal(err)
	}
}

func TestCallsAnswerTheCloudsCodes(t *testing.T) {
	p, _ := testPlane(t, nil)
	s := gateways{p: p}
	ctx := context.Background()
	g, err := create(t, s, "one", okSpec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := create(t, s, "one", okSpec); status.Code(err) != codes.AlreadyExists {
		t.Errorf("a taken name: %v", err)
	}
	p.opts.MaxGateways = 1
	if _, err := create(t, s, "two", okSpec); status.Code(err) != codes.ResourceExhausted {
		t.Errorf("over max_gateways: %v", err)
	}
	p.opts.MaxGateways = 0
	unknown := "d5dunknown0000000000"
	checks := []struct {
		name string
		err  error
		code codes.Code
	}{}
	add := func(name string, code codes.Code, err error) {
		checks = append(checks, struct {
			name string
			err  error
			code codes.Code
		}{name, err, code})
	}
	_, err = s.Get(ctx, &apigateway.GetApiGatewayRequest{ApiGatewayId: unknown})
	add("Get unknown", codes.NotFound, err)
	_, err = s.Delete(ctx, &apigateway.DeleteApiGatewayRequest{ApiGatewayId: unknown})
	add("Delete unknown", codes.NotFound, err)
	_, err = s.Stop(ctx, &apigateway.StopApiGatewayRequest{ApiGatewayId: unknown})
	add("Stop unknown", codes.NotFound, err)
	_, err = s.Update(ctx, &apigateway.UpdateApiGatewayRequest{ApiGatewayId: unknown, Description: "x"})
	add("Update unknown", codes.NotFound, err)
	_, err = s.GetOpenapiSpec(ctx, &apigateway.GetOpenapiSpecRequest{ApiGatewayId: unknown})
	add("GetOpenapiSpec unknown", codes.NotFound, err)
	_, err = s.ListOperations(ctx, &apigateway.ListOperationsRequest{ApiGatewayId: unknown})
	add("ListOperations unknown", codes.NotFound, err)
	_, err = s.Update(ctx, &apigateway.UpdateApiGatewayRequest{ApiGatewayId: g.Id, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"domain"}}})
	add("Update of a field that cannot be updated", codes.InvalidArgument, err)
	_, err = s.Update(ctx, &apigateway.UpdateApiGatewayRequest{ApiGatewayId: g.Id, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"openapi_spec"}},
		Spec: &apigateway.UpdateApiGatewayRequest_OpenapiSpec{OpenapiSpec: "openapi: 3.0.0\npaths: {/x: {get: {x-yc-apigateway-integration: {type: nope}}}}\n"}})
	add("Update with a spec that does not build", codes.InvalidArgument, err)
	_, err = s.AddDomain(ctx, &apigateway.AddDomainRequest{ApiGatewayId: g.Id, DomainName: "api.example.com", CertificateId: "fpqnope"})
	add("AddDomain with an unknown certificate", codes.NotFound, err)
	_, err = s.AddDomain(ctx, &apigateway.AddDomainRequest{ApiGatewayId: g.Id, DomainName: "not a domain", CertificateId: "fpqnope"})
	add("AddDomain with a bad name", codes.InvalidArgument, err)
	_, err = s.RemoveDomain(ctx, &apigateway.RemoveDomainRequest{ApiGatewayId: g.Id, DomainId: "nope"})
	add("RemoveDomain of a domain not attached", codes.NotFound, err)
	_, err = s.List(ctx, &apigateway.ListApiGatewayRequest{})
	add("List without a folder", codes.InvalidArgument, err)
	_, err = s.List(ctx, &apigateway.ListApiGatewayRequest{FolderId: "f", Filter: "labels.x = 1"})
	add("List with a filter other than name", codes.InvalidArgument, err)
	_, err = s.Create(ctx, &apigateway.CreateApiGatewayRequest{FolderId: "f", Name: "c", Canary: &apigateway.Canary{Weight: 120},
		Spec: &apigateway.CreateApiGatewayRequest_OpenapiSpec{OpenapiSpec: okSpec}})
	add("a canary weight over 99", codes.InvalidArgument, err)
	_, err = s.Create(ctx, &apigateway.CreateApiGatewayRequest{FolderId: "f", Name: "c", Canary: &apigateway.Canary{Weight: 10},
		Spec: &apigateway.CreateApiGatewayRequest_OpenapiSpec{OpenapiSpec: okSpec}})
	add("a canary without variables", codes.InvalidArgument, err)
	_, err = s.Create(ctx, &apigateway.CreateApiGatewayRequest{FolderId: "f", Name: "c", ExecutionTimeout: durationpb.New(601 * time.Second),
		Spec: &apigateway.CreateApiGatewayRequest_OpenapiSpec{OpenapiSpec: okSpec}})
	add("an execution timeout over 600s", codes.InvalidArgument, err)
	o := operations{p: p}
	_, err = o.Get(ctx, &operation.GetOperationRequest{OperationId: "nope"})
	add("an unknown operation", codes.NotFound, err)
	ops, _ := s.ListOperations(ctx, &apigateway.ListOperationsRequest{ApiGatewayId: g.Id})
	_, err = o.Cancel(ctx, &operation.CancelOperationRequest{OperationId: ops.Operations[0].Id})
	add("Cancel of a done operation", codes.FailedPrecondition, err)
	for _, c := range checks {
		if status.Code(c.err) != c.code {
			t.Errorf("%s: %v, want %s", c.name, c.err, c.code)
		}
	}
	// Nothing that failed changed the gateway.
	after, _ := s.Get(ctx, &apigateway.GetApiGatewayRequest{ApiGatewayId: g.Id})
	sp, _ := s.GetOpenapiSpec(ctx, &apigateway.GetOpenapiSpecRequest{ApiGatewayId: g.Id})
	if len(after.AttachedDomains) != 0 || sp.OpenapiSpec != okSpec {
		t.Fatalf("a failed call changed the gateway: %v", after)
	}
}

func TestListFiltersAndPages(t *testing.T) {
	p, _ := testPlane(t, nil)
	s := gateways{p: p}
	for i := range 5 {
		if _, err := create(t, s, fmt.Sprintf("gw-%d", i), okSpec); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	r, err := s.List(ctx, &apigateway.ListApiGatewayRequest{FolderId: "f", Filter: `name="gw-3"`})
	if err != nil || len(r.ApiGateways) != 1 || r.ApiGateways[0].Name != "gw-3" {
		t.Fatalf("filter: %v %v", err, r)
	}
	seen := map[string]bool{}
	token := ""
	for pages := 0; ; pages++ {
		r, err := s.List(ctx, &apigateway.ListApiGatewayRequest{FolderId: "f", PageSize: 2, PageToken: token})
		if err != nil || pages > 3 {
			t.Fatalf("paging: %v after %d pages", err, pages)
		}
		for _, g := range r.ApiGateways {
			seen[g.Name] = true
		}
		if token = r.NextPageToken; token == "" {
			break
		}
	}
	if len(seen) != 5 {
		t.Fatalf("pages gave %v", seen)
	}
	if r, _ := s.List(ctx, &apigateway.ListApiGatewayRequest{FolderId: "other"}); len(r.ApiGateways) != 0 {
		t.Fatalf("another folder's list: %v", r)
	}
}

// TestUpdateKeepsWhatTheMaskDoesNotName, and round-trips what it names.
func TestUpdateKeepsWhatTheMaskDoesNotName(t *testing.T) {
	p, _ := testPlane(t, nil)
	s := gateways{p: p}
	ctx := context.Background()
	op, err := s.Create(ctx, &apigateway.CreateApiGatewayRequest{FolderId: "f", Name: "u", Description: "d", Labels: map[string]string{"a": "1"},
		Spec:         &apigateway.CreateApiGatewayRequest_OpenapiSpec{OpenapiSpec: okSpec},
		Connectivity: &apigateway.Connectivity{NetworkId: "enp1", SubnetId: []string{"e9b1", "e2l2"}},
		Canary:       &apigateway.Canary{Weight: 10, Variables: map[string]*apigateway.VariableInput{"v": {VariableValue: &apigateway.VariableInput_IntValue{IntValue: 3}}}}})
	if err != nil {
		t.Fatal(err)
	}
	md := &apigateway.CreateApiGatewayMetadata{}
	op.Metadata.UnmarshalTo(md)
	if _, err := s.Update(ctx, &apigateway.UpdateApiGatewayRequest{ApiGatewayId: md.ApiGatewayId,
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"labels"}}, Labels: map[string]string{"b": "2"}, Description: "not this"}); err != nil {
		t.Fatal(err)
	}
	g, _ := s.Get(ctx, &apigateway.GetApiGatewayRequest{ApiGatewayId: md.ApiGatewayId})
	if g.Description != "d" || !maps.Equal(g.Labels, map[string]string{"b": "2"}) || g.Connectivity.SubnetId[1] != "e2l2" ||
		g.Canary.Weight != 10 || g.Canary.Variables["v"].GetIntValue() != 3 {
		t.Fatalf("after a labels-only update: %v", g)
	}
}

// TestListenerRules: the REST form's errors, and the token rule of both
// forms (a non-loopback listener with tokens).
func TestListenerRules(t *testing.T) {
	p, _ := testPlane(t, nil)
	ln, err := Listen(p, config.ControlPlane{Listen: "127.0.0.1:0", Plaintext: true, Tokens: []string{"sixteen-chars-token"}}, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	go ln.Serve()
	defer ln.Close(context.Background())
	base := "http://" + ln.Address
	call := func(method, path, token, body string) (int, map[string]any) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		var out map[string]any
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s %s: not JSON: %s", method, path, b)
		}
		return res.StatusCode, out
	}
	const tok = "sixteen-chars-token"
	for _, c := range []struct {
		method, path, token, body string
		status                    int
		code                      float64
	}{
		{"GET", "/apigateways/v1/apigateways?folderId=f", "", "", 401, 16},
		{"GET", "/apigateways/v1/apigateways?folderId=f", "wrong-token-value", "", 401, 16},
		{"GET", "/apigateways/v1/apigateways?folderId=f", tok, "", 200, -1},
		{"POST", "/apigateways/v1/apigateways", tok, `{"folderId": 5}`, 400, 3},
		{"POST", "/apigateways/v1/apigateways", tok, `{"folderId": "f", "unknownField": 1}`, 400, 3},
		{"POST", "/apigateways/v1/apigateways", tok, `{"folderId": "f", "executionTimeout": "ten"}`, 400, 3},
		{"GET", "/apigateways/v1/apigateways?folderId=f&pageSize=x", tok, "", 400, 3},
		{"GET", "/apigateways/v1/apigateways/d5dnope:spec", tok, "", 404, 5},
		{"PUT", "/apigateways/v1/apigateways", tok, "", 405, 12},
		{"GET", "/nowhere", tok, "", 404, 5},
		{"GET", "/endpoints", "", "", 200, -1},
		{"POST", "/iam/v1/tokens", "", `{"yandexPassportOauthToken": "` + tok + `"}`, 200, -1},
		{"POST", "/iam/v1/tokens", "", `{"yandexPassportOauthToken": "another-token-value"}`, 401, 16},
	} {
		st, out := call(c.method, c.path, c.token, c.body)
		if st != c.status || (c.code >= 0 && out["code"] != c.code) {
			t.Errorf("%s %s: %d %v, want %d code %v", c.method, c.path, st, out, c.status, c.code)
		}
	}
	// REST: create, then camelCase JSON with int64 and durations as strings.
	st, out := call("POST", "/apigateways/v1/apigateways", tok, fmt.Sprintf(`{"folderId": "f", "name": "r", "openapiSpec": %q, "executionTimeout": "15s", "canary": {"weight": "5", "variables": {"v": {"intValue": "3"}}}}`, okSpec))
	resp, _ := out["response"].(map[string]any)
	if st != 200 || resp["executionTimeout"] != "15s" || resp["canary"].(map[string]any)["weight"] != "5" || out["done"] != true {
		t.Fatalf("REST create: %d %v", st, out)
	}
	if n := testutil.ToFloat64(Calls.WithLabelValues("rest", "ApiGatewayService.List", "Unauthenticated")); n < 2 {
		t.Errorf("apigw_control_plane_calls_total counted %v refused Lists, want 2", n)
	}
	// gRPC over h2c: the same rule.
	cc, err := grpc.NewClient(ln.Address, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	c := apigateway.NewApiGatewayServiceClient(cc)
	if _, err := c.List(context.Background(), &apigateway.ListApiGatewayRequest{FolderId: "f"}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("gRPC without a token: %v", err)
	}
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok)
	if r, err := c.List(ctx, &apigateway.ListApiGatewayRequest{FolderId: "f"}); err != nil || len(r.ApiGateways) != 1 {
		t.Fatalf("gRPC with the token: %v %v", err, r)
	}
	if n := testutil.ToFloat64(Calls.WithLabelValues("grpc", "ApiGatewayService.List", "OK")); n < 1 {
		t.Errorf("apigw_control_plane_calls_total counted %v gRPC Lists", n)
	}
}

// TestOpenListenerAnswersLoopbackNamesOnly: with any token accepted, a
// request by a name someone else's DNS could point here (DNS rebinding)
// is refused before anything else.
func TestOpenListenerAnswersLoopbackNamesOnly(t *testing.T) {
	p, _ := testPlane(t, nil)
	ln, err := Listen(p, config.ControlPlane{Listen: "127.0.0.1:0", Plaintext: true}, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	go ln.Serve()
	defer ln.Close(context.Background())
	for host, want := range map[string]int{"evil.example:80": 403, "localhost:1": 200, "127.0.0.1": 200, "x.localhost": 200} {
		req, _ := http.NewRequest("GET", "http://"+ln.Address+"/apigateways/v1/apigateways?folderId=f", nil)
		req.Host = host
		req.Header.Set("Authorization", "Bearer any")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("Host %s: %d, want %d", host, res.StatusCode, want)
		}
	}
}

// TestSyncNeverRevivesADeletedGateway: a sync that read the state before
// a Delete must not serve the deleted gateway again.
func TestSyncNeverRevivesADeletedGateway(t *testing.T) {
	p, h := testPlane(t, nil)
	s := gateways{p: p}
	ctx := context.Background()
	for i := range 50 {
		g, err := create(t, s, fmt.Sprintf("g%d", i), okSpec)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- p.Sync(ctx, i%2 == 0) }()
		if _, err := s.Delete(ctx, &apigateway.DeleteApiGatewayRequest{ApiGatewayId: g.Id}); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if p.Len() != 0 || h.Fleet().Len() != 0 {
			t.Fatalf("round %d: a deleted gateway is served again", i)
		}
	}
}

// TestTheOtherCalls: access bindings as a single-tenant cloud answers
// them, the token exchange on an open listener, the endpoint lookup, and
// the spec read back as YAML.
func TestTheOtherCalls(t *testing.T) {
	p, _ := testPlane(t, nil)
	s := gateways{p: p}
	ctx := context.Background()
	g, err := create(t, s, "b", okSpec)
	if err != nil {
		t.Fatal(err)
	}
	lb, err := s.ListAccessBindings(ctx, &ycaccess.ListAccessBindingsRequest{ResourceId: g.Id})
	if err != nil || len(lb.AccessBindings) != 0 {
		t.Fatalf("ListAccessBindings: %v %v", err, lb)
	}
	op, err := s.SetAccessBindings(ctx, &ycaccess.SetAccessBindingsRequest{ResourceId: g.Id})
	md := &ycaccess.SetAccessBindingsMetadata{}
	if err != nil || !op.Done || op.Metadata.UnmarshalTo(md) != nil || md.ResourceId != g.Id {
		t.Fatalf("SetAccessBindings: %v %v", err, op)
	}
	if _, err := s.UpdateAccessBindings(ctx, &ycaccess.UpdateAccessBindingsRequest{ResourceId: "d5dnope"}); status.Code(err) != codes.NotFound {
		t.Fatalf("UpdateAccessBindings of an unknown gateway: %v", err)
	}
	tok, err := tokens{a: &access{open: true}}.Create(ctx, &iam.CreateIamTokenRequest{Identity: &iam.CreateIamTokenRequest_Jwt{Jwt: "eyJ.x.y"}})
	if err != nil || !strings.HasPrefix(tok.IamToken, "t1.") || time.Until(tok.ExpiresAt.AsTime()) < 11*time.Hour {
		t.Fatalf("a JWT exchanged on loopback: %v %v", err, tok)
	}
	if _, err := (tokens{a: &access{tokens: [][]byte{[]byte("sixteen-chars-token")}}}).Create(ctx, &iam.CreateIamTokenRequest{Identity: &iam.CreateIamTokenRequest_Jwt{Jwt: "eyJ.x.y"}}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("a JWT with tokens set: %v", err)
	}
	e := endpoints{addr: "127.0.0.1:8443"}
	if ep, err := e.Get(ctx, &endpoint.GetApiEndpointRequest{ApiEndpointId: "serverless-apigateway"}); err != nil || ep.Address != "127.0.0.1:8443" {
		t.Fatalf("endpoint Get: %v %v", err, ep)
	}
	if _, err := e.Get(ctx, &endpoint.GetApiEndpointRequest{ApiEndpointId: "compute"}); status.Code(err) != codes.NotFound {
		t.Fatalf("an unknown endpoint: %v", err)
	}
	sp, err := s.GetOpenapiSpec(ctx, &apigateway.GetOpenapiSpecRequest{ApiGatewayId: g.Id, Format: apigateway.GetOpenapiSpecRequest_YAML})
	if err != nil || !strings.HasPrefix(sp.OpenapiSpec, "openapi: 3.0.0\ninfo:\n  title: t\n") {
		t.Fatalf("the spec as YAML: %v %q", err, sp.GetOpenapiSpec())
	}
}

// TestAddDomainWithABrokenCertificate: a certificate the bindings name but
// whose files do not load is refused at AddDomain, not served without HTTPS.
func TestAddDomainWithABrokenCertificate(t *testing.T) {
	b, errs := config.Parse([]byte("certificates:\n  fpqbroken: {cert: /nonexistent/c.pem, key: /nonexistent/k.pem}\n"))
	if errs.Err() != nil {
		t.Fatal(errs.Err())
	}
	p, _ := testPlane(t, b)
	s := gateways{p: p}
	g, err := create(t, s, "d", okSpec)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.AddDomain(context.Background(), &apigateway.AddDomainRequest{ApiGatewayId: g.Id, DomainName: "api.example.com", CertificateId: "fpqbroken"})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(status.Convert(err).Message(), "does not load") {
		t.Fatalf("%v", err)
	}
}
