package swagger

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/spec"
)

func TestSwaggerUI(t *testing.T) {
	src := `openapi: 3.0.0
info: {title: 'Shop <beta>', version: '1'}
servers: [{url: 'https://d5d.apigw.yandexcloud.net'}]
x-yc-apigateway:
  service_account_id: sa-secret
  variables: {backend: {default: 'http://10.0.0.7:8080'}}
components:
  securitySchemes:
    jwt:
      type: http
      scheme: bearer
      x-yc-apigateway-authorizer: {type: jwt, jwksUri: 'https://keys.internal/jwks'}
paths:
  /items/{id}:
    get:
      summary: 'Item ${var.backend}'
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses: {200: {description: ok}}
      x-yc-apigateway-integration: {type: http, url: '${var.backend}/items/{id}', headers: {Authorization: 'Bearer s3cr3t'}}
  /docs:
    get:
      x-yc-apigateway-integration: {type: swagger}
`
	doc, errs := spec.Load("api.yaml", []byte(src), nil)
	if doc == nil {
		t.Fatal(errs)
	}
	h, errs := New(&integration.Build{Doc: doc}, doc.Paths[1].Operations[0].Integration.Node, "p")
	if h == nil {
		t.Fatal(errs)
	}
	get := func(url string, header ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", url, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		w := httptest.NewRecorder()
		if err := h.Serve(w, req, &integration.Call{}); err != nil {
			t.Fatalf("%s: %v", url, err)
		}
		return w
	}
	page := get("/docs")
	if page.Code != 200 || !strings.Contains(page.Body.String(), "<title>Shop &lt;beta&gt; · API documentation</title>") ||
		!strings.Contains(page.Body.String(), `src="?asset=swagger-ui-bundle.js"`) {
		t.Errorf("page: %d %s", page.Code, page.Body)
	}

	specRes := get("/docs?asset=openapi.json")
	body := specRes.Body.String()
	for _, secret := range []string{"x-yc-", "s3cr3t", "sa-secret", "keys.internal", "d5d.apigw"} {
		if strings.Contains(body, secret) {
			t.Errorf("the public spec shows %q:\n%s", secret, body)
		}
	}
	var public struct {
		Info    struct{ Title string }
		Servers []struct{ URL string }
		Paths   map[string]map[string]struct{ Summary string }
	}
	if err := json.Unmarshal(specRes.Body.Bytes(), &public); err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	if public.Info.Title != "Shop <beta>" || len(public.Servers) != 1 || public.Servers[0].URL != "/" ||
		public.Paths["/items/{id}"]["get"].Summary != "Item http://10.0.0.7:8080" {
		t.Errorf("public spec: %+v", public)
	}
	if !strings.HasPrefix(body, `{"openapi":"3.0.0","info":`) {
		t.Errorf("key order lost: %.80s", body)
	}

	js := get("/docs?asset=swagger-ui-bundle.js", "Accept-Encoding", "gzip")
	if js.Header().Get("Content-Encoding") != "gzip" || js.Header().Get("ETag") == "" {
		t.Fatalf("bundle headers: %v", js.Header())
	}
	z, err := gzip.NewReader(bytes.NewReader(js.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(z)
	if !bytes.Contains(raw, []byte("SwaggerUIBundle")) {
		t.Error("the bundle does not define SwaggerUIBundle")
	}
	if res := get("/docs?asset=swagger-ui.css", "If-None-Match", js.Header().Get("ETag")); res.Code != 200 {
		t.Errorf("another asset's ETag matched: %d", res.Code)
	}
	css := get("/docs?asset=swagger-ui.css")
	if res := get("/docs?asset=swagger-ui.css", "If-None-Match", css.Header().Get("ETag")); res.Code != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", res.Code)
	}
	req := httptest.NewRequest("GET", "/docs?asset=../../etc/passwd", nil)
	if err := h.Serve(httptest.NewRecorder(), req, &integration.Call{}); err == nil {
		t.Error("an unknown asset was served")
	}
}
