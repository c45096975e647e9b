package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testCA issues certificates for the tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "apigw test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// issue writes a certificate for names (and its key) into dir.
func (ca *testCA) issue(t *testing.T, dir, name string, serial int64, names ...string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(filepath.Join(dir, name+"-key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	// The certificate last: a reload that sees it sees its key.
	tmp := filepath.Join(dir, name+".pem.tmp")
	os.WriteFile(tmp, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.Rename(tmp, filepath.Join(dir, name+".pem"))
}

// TestDomainsAndTLS: one process serves two specs on their own domains:
// SNI picks each domain's certificate, HTTP/2 is negotiated, the Host
// picks the spec (wildcards included), an unknown host is 404, plain HTTP
// is redirected to HTTPS, and a replaced certificate is served after the
// reload it triggers.
func TestDomainsAndTLS(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t)
	ca.issue(t, dir, "api", 10, "api.example.test", "*.api.example.test")
	ca.issue(t, dir, "shop", 20, "shop.example.test")
	spec := writeFile(t, dir, "api.yaml", "openapi: 3.0.0\npaths:\n  /who:\n    get:\n      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': main}}\n")
	writeFile(t, dir, "shop.yaml", "openapi: 3.0.0\npaths:\n  /who:\n    get:\n      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': shop}}\n")
	tlsPort := freePort(t)
	cfg := writeFile(t, dir, "apigw.yaml", fmt.Sprintf(`reload: {interval: 100ms}
tls: {listen: '127.0.0.1:%d', redirect_http: true}
domains:
  - hosts: [api.example.test, '*.api.example.test']
    cert: api.pem
    key: api-key.pem
  - hosts: [shop.example.test]
    spec: shop.yaml
    cert: shop.pem
    key: shop-key.pem
`, tlsPort))
	g := start(t, "--spec", spec, "--config", cfg)

	client := &http.Client{
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: ca.pool},
			ForceAttemptHTTP2: true,
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, fmt.Sprintf("127.0.0.1:%d", tlsPort))
			},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	fetch := func(url string) (*http.Response, string) {
		t.Helper()
		res, err := client.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	for _, tt := range []struct {
		host, body string
		serial     int64
	}{
		{"api.example.test", "main", 10}, {"eu.api.example.test", "main", 10}, {"shop.example.test", "shop", 20},
	} {
		res, body := fetch(fmt.Sprintf("https://%s:%d/who", tt.host, tlsPort))
		if res.StatusCode != 200 || body != tt.body || res.Proto != "HTTP/2.0" || res.TLS.PeerCertificates[0].SerialNumber.Int64() != tt.serial {
			t.Errorf("%s: %d %q over %s with certificate %v, want %q over HTTP/2 with certificate %d",
				tt.host, res.StatusCode, body, res.Proto, res.TLS.PeerCertificates[0].SerialNumber, tt.body, tt.serial)
		}
	}
	if _, err := client.Get(fmt.Sprintf("https://unknown.example.test:%d/who", tlsPort)); err == nil {
		t.Error("a handshake for a name without a certificate succeeded")
	}

	plain := func(host, path string) *http.Response {
		req, _ := http.NewRequest("GET", g.URL+path, nil)
		req.Host = host
		res, err := (&http.Client{CheckRedirect: client.CheckRedirect}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	if res := plain("api.example.test", "/who?x=1"); res.StatusCode != 308 || res.Header.Get("Location") != fmt.Sprintf("https://api.example.test:%d/who?x=1", tlsPort) {
		t.Errorf("plain HTTP: %d Location %q", res.StatusCode, res.Header.Get("Location"))
	}
	if res := plain("elsewhere.test", "/who"); res.StatusCode != 404 {
		t.Errorf("unknown host: %d, want 404", res.StatusCode)
	}

	// A renewed certificate is served after the reload its file triggers.
	ca.issue(t, dir, "shop", 21, "shop.example.test")
	if !g.waitLog(`"msg":"reloaded"`, 5*time.Second) {
		t.Fatalf("no reload after the certificate changed:\n%s", g.Logs())
	}
	client.Transport.(*http.Transport).CloseIdleConnections()
	if res, _ := fetch(fmt.Sprintf("https://shop.example.test:%d/who", tlsPort)); res.TLS.PeerCertificates[0].SerialNumber.Int64() != 21 {
		t.Errorf("after renewal the certificate is %v, want 21", res.TLS.PeerCertificates[0].SerialNumber)
	}
}

// TestAdminTLSWithOwnCertificate: admin_tls with the operator's own
// certificate and key files serves the admin listener over HTTPS with
// that certificate (HTTP/2 offered), and a missing key file is an error
// with its line, not a plain-HTTP fallback.
func TestAdminTLSWithOwnCertificate(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t)
	ca.issue(t, dir, "admin", 30, "localhost")
	spec := writeFile(t, dir, "api.yaml", "openapi: 3.0.0\npaths:\n  /who:\n    get:\n      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': main}}\n")
	cfg := writeFile(t, dir, "apigw.yaml", "admin_tls: {cert: admin.pem, key: admin-key.pem}\n")
	g := start(t, "--spec", spec, "--config", cfg)
	if !strings.HasPrefix(g.Admin, "https://") {
		t.Fatalf("the admin listener answers plain HTTP at %s", g.Admin)
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{ForceAttemptHTTP2: true,
		TLSClientConfig: &tls.Config{RootCAs: ca.pool, ServerName: "localhost"}}}
	res, err := client.Get(g.Admin + "/healthz")
	if err != nil {
		t.Fatalf("the admin listener with our CA: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.TLS == nil || res.TLS.PeerCertificates[0].SerialNumber.Int64() != 30 || res.ProtoMajor != 2 {
		t.Errorf("healthz: %d, %s, serial %v", res.StatusCode, res.Proto, res.TLS.PeerCertificates[0].SerialNumber)
	}
	// The API listener stays plain HTTP.
	if status, _, body := get(t, g.URL+"/who"); status != 200 || body != "main" {
		t.Errorf("API: %d %q", status, body)
	}

	bad := writeFile(t, dir, "bad.yaml", "admin_tls: {cert: admin.pem, key: missing-key.pem}\n")
	if code, out, stderr := runCLI(t, "validate", "--spec", spec, "--config", bad); code != 1 || !strings.Contains(out+stderr, "bad.yaml: admin_tls.cert: open ") || !strings.Contains(out+stderr, "missing-key.pem") {
		t.Errorf("a missing key file: exit %d, %q / %q", code, out, stderr)
	}
}
