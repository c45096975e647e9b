package gateway

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/apigw/apigw/internal/config"
	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/spec"
	"github.com/apigw/apigw/internal/yc/yctest"
	"github.com/prometheus/client_golang/prometheus"
)

// tokenBackend records the Authorization of each request, by path, and
// whether the IAM stand-in issued it.
type tokenBackend struct {
	mu   sync.Mutex
	seen map[string]string
	srv  *httptest.Server
}

func newTokenBackend(t *testing.T, cloud *yctest.Server) *tokenBackend {
	b := &tokenBackend{seen: map[string]string{}}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		b.mu.Lock()
		b.seen[r.URL.Path] = auth
		b.mu.Unlock()
		if tok, ok := strings.CutPrefix(auth, "Bearer "); !ok || !cloud.ValidToken(tok) {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"message":"no IAM token"}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *tokenBackend) auth(path string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.seen[path]
}

// TestServiceAccounts: integrations whose spec names a service account
// that the bindings bind call as it, with an IAM token from the (stand-in)
// IAM endpoint: http (its own account only), serverless_containers and
// cloud_datasphere (own, else the spec's), and a real cloud function bound
// without a key of its own. A client's own Authorization never reaches such
// a target; an account that is not bound warns and sends no token; a key
// the IAM endpoint refuses is a 502 that says so; no token or key is logged.
func TestServiceAccounts(t *testing.T) {
	cloud := yctest.New()
	t.Cleanup(cloud.Close)
	good, err := cloud.AddKey("ajek-good", "aje-speechkit")
	if err != nil {
		t.Fatal(err)
	}
	stranger, _, _ := yctest.NewKey("ajek-stranger", "aje-stranger") // unknown to the IAM endpoint
	dir := t.TempDir()
	goodFile := filepath.Join(dir, "good.json")
	os.WriteFile(goodFile, good, 0o600)
	t.Setenv("APIGW_TEST_STRANGER_KEY", string(stranger))
	cloud.Function = func(id, tag string, event []byte) (int, string) {
		return 200, `{"statusCode":200,"body":"` + id + `"}`
	}
	backend := newTokenBackend(t, cloud)

	src := `openapi: 3.0.0
x-yc-apigateway:
  service_account_id: aje-speechkit
paths:
  /tts:
    post:
      x-yc-apigateway-integration:
        type: http
        url: ` + backend.srv.URL + `/tts/v3/utteranceSynthesis
        http_method: post
        headers: {'*': '*'}
        serviceAccountId: aje-speechkit
  /inherited-not-for-http:
    get:
      x-yc-apigateway-integration: {type: http, url: ` + backend.srv.URL + `/plain}
  /unbound:
    get:
      x-yc-apigateway-integration: {type: http, url: ` + backend.srv.URL + `/unbound, service_account_id: aje-nobody}
  /refused:
    get:
      x-yc-apigateway-integration: {type: http, url: ` + backend.srv.URL + `/refused, service_account_id: aje-stranger}
  /container/{rest+}:
    x-yc-apigateway-any-method:
      parameters: [{name: rest, in: path, required: true}]
      x-yc-apigateway-integration: {type: serverless_containers, container_id: bba-private}
  /predict:
    post:
      x-yc-apigateway-integration: {type: cloud_datasphere, folder_id: b1g, node_id: node-1, service_account: aje-speechkit}
  /fn:
    get:
      x-yc-apigateway-integration: {type: cloud_functions, function_id: d4e-cloud}
`
	bindings := `service_accounts:
  aje-speechkit: {service_account_key_file: ` + goodFile + `, iam_endpoint: ` + cloud.IAMEndpoint() + `}
  aje-stranger: {service_account_key_env: APIGW_TEST_STRANGER_KEY, iam_endpoint: ` + cloud.IAMEndpoint() + `}
containers:
  bba-private: {url: ` + backend.srv.URL + `/container}
datasphere:
  node-1: {url: ` + backend.srv.URL + `/predict}
functions:
  d4e-cloud:
    yandex: {functions_endpoint: ` + cloud.FunctionsEndpoint() + `}
`
	b, errs := config.Parse([]byte(bindings))
	if errs.Err() != nil {
		t.Fatal(errs)
	}
	doc, errs := spec.Load("api.yaml", []byte(src), nil)
	if errs.Err() != nil {
		t.Fatal(errs)
	}
	snap, berrs := Build(doc, b, integration.NewDeps())
	if snap == nil {
		t.Fatal(berrs)
	}
	if w := berrs.Warnings(); len(w) != 1 || !strings.Contains(w[0].Error(), "18:106: paths./unbound.get.x-yc-apigateway-integration.service_account_id: warning: service account aje-nobody is not bound: calls go out without an IAM token") {
		t.Errorf("warnings: %v", w)
	}
	var logs bytes.Buffer
	h := NewHandler(slog.New(slog.NewJSONHandler(&logs, nil)), NewMetrics(prometheus.NewRegistry()))
	h.Swap(snap)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	client := map[string]string{"Authorization": "Bearer the-client-s-own", "Content-Type": "application/json"}
	if res := do(t, "POST", srv.URL+"/tts", client, strings.NewReader(`{"text":"hi"}`)); res.status != 200 || !cloud.ValidToken(strings.TrimPrefix(backend.auth("/tts/v3/utteranceSynthesis"), "Bearer ")) {
		t.Errorf("http with serviceAccountId: %d, upstream Authorization %q", res.status, backend.auth("/tts/v3/utteranceSynthesis"))
	}
	if res := do(t, "GET", srv.URL+"/inherited-not-for-http", client, nil); res.status != 401 || backend.auth("/plain") != "" {
		t.Errorf("the top-level account reached an http url: %d, %q", res.status, backend.auth("/plain"))
	}
	if res := do(t, "GET", srv.URL+"/unbound", nil, nil); res.status != 401 || backend.auth("/unbound") != "" {
		t.Errorf("unbound account: %d, %q", res.status, backend.auth("/unbound"))
	}
	res := do(t, "GET", srv.URL+"/refused", nil, nil)
	if res.status != 502 || !strings.Contains(res.body, "service account aje-stranger: the IAM endpoint refused its key") || backend.auth("/refused") != "" {
		t.Errorf("refused key: %d %q", res.status, res.body)
	}
	if res := do(t, "DELETE", srv.URL+"/container/orders/7", client, nil); res.status != 200 || !cloud.ValidToken(strings.TrimPrefix(backend.auth("/container/container/orders/7"), "Bearer ")) {
		t.Errorf("container with the inherited account: %d, %q", res.status, backend.auth("/container/container/orders/7"))
	}
	if res := do(t, "POST", srv.URL+"/predict", client, strings.NewReader(`{"x":1}`)); res.status != 200 || !cloud.ValidToken(strings.TrimPrefix(backend.auth("/predict"), "Bearer ")) {
		t.Errorf("datasphere with service_account: %d %q, %q", res.status, res.body, backend.auth("/predict"))
	}
	if res := do(t, "GET", srv.URL+"/fn", nil, nil); res.status != 200 || res.body != "d4e-cloud" {
		t.Errorf("a keyless yandex function with the spec's account: %d %q", res.status, res.body)
	}
	if ex, _ := cloud.Counts(); ex != 1 {
		t.Errorf("%d token exchanges for one account, want 1", ex)
	}
	// Nothing secret in the log: not the tokens, not the keys.
	log := logs.String()
	for _, secret := range []string{"t1.iam-", "PRIVATE KEY", "the-client-s-own"} {
		if strings.Contains(log, secret) {
			t.Errorf("the log holds %q:\n%s", secret, log)
		}
	}
	if !strings.Contains(log, "refused its key") {
		t.Errorf("the refusal is not in the access log:\n%s", log)
	}
}
