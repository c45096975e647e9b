package intercept

import (
	"bufio"
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
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// echoAPI stands in for the management API: it answers what it was asked.
var echoAPI = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	fmt.Fprintf(w, "%s %s %s auth=%q body=%q", r.Proto, r.Method, r.URL.Path, r.Header.Get("Authorization"), body)
})

func newIntercept(t *testing.T, env map[string]string) *Intercept {
	t.Helper()
	i, err := New(t.TempDir(), echoAPI, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	i.getenv = func(k string) string { return env[k] }
	t.Cleanup(func() { i.Close() })
	return i
}

func TestCA(t *testing.T) {
	dir := t.TempDir()
	ca, err := LoadOrCreateCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	again, err := LoadOrCreateCA(dir)
	if err != nil || !again.Cert.Equal(ca.Cert) {
		t.Fatalf("a second start made another CA (%v)", err)
	}
	if st, _ := os.Stat(filepath.Join(dir, ConnectionsScope.File)); st.Mode().Perm() != 0o600 {
		t.Errorf("the CA key file is %v, want 0600", st.Mode().Perm())
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca.CertPEM)
	verify := func(name string, names ...string) error {
		cert, err := ca.Issue(names...)
		if err != nil {
			return err
		}
		_, err = cert.Leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: name})
		return err
	}
	for _, name := range []string{Host, "localhost", "127.0.0.1", "::1"} {
		if err := verify(name, name); err != nil {
			t.Errorf("a certificate for %s does not verify: %v", name, err)
		}
	}
	// The name constraints: a certificate the CA's key signs for any other
	// name is worthless.
	for _, name := range []string{"example.com", "api.cloud.yandex.net", "192.0.2.1"} {
		if err := verify(name, name); err == nil {
			t.Errorf("a certificate for %s verifies; the CA must be limited to the connections host and loopback", name)
		}
	}
	// A broken file is an error that says what to do.
	os.WriteFile(filepath.Join(dir, ConnectionsScope.File), []byte("junk"), 0o600)
	if _, err := LoadOrCreateCA(dir); err == nil || !strings.Contains(err.Error(), "delete it") {
		t.Errorf("a broken CA file: %v", err)
	}
}

// A CA found in the directory is trusted only if nobody else could have
// read its key or put it there and its constraints are apigw's: else it is
// set aside, and a new one is made and says why. One without name
// constraints (say, copied from elsewhere) or readable by others was used.
func TestCAFoundIsChecked(t *testing.T) {
	unconstrained := func() []byte {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "any CA"}, NotBefore: time.Now().Add(-time.Hour),
			NotAfter: time.Now().AddDate(1, 0, 0), KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true, MaxPathLenZero: true}
		der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		kder, _ := x509.MarshalECPrivateKey(key)
		return append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})...)
	}
	for _, tc := range []struct {
		name string
		make func(dir string) // puts a CA file in dir
		why  string           // "" : kept
	}{
		{"apigw's own", func(dir string) { LoadOrCreateCA(dir) }, ""},
		{"readable by others", func(dir string) { LoadOrCreateCA(dir); os.Chmod(filepath.Join(dir, ConnectionsScope.File), 0o644) }, "can be read by others"},
		{"without name constraints", func(dir string) { os.WriteFile(filepath.Join(dir, ConnectionsScope.File), unconstrained(), 0o600) }, "no name constraints"},
	} {
		if runtime.GOOS == "windows" && tc.why == "can be read by others" {
			continue
		}
		dir := t.TempDir()
		tc.make(dir)
		before, _ := os.ReadFile(filepath.Join(dir, ConnectionsScope.File))
		ca, err := LoadOrCreateCA(dir)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		after, _ := os.ReadFile(filepath.Join(dir, ConnectionsScope.File))
		kept := string(before) == string(after)
		if tc.why == "" {
			if !kept || ca.Replaced != "" {
				t.Errorf("%s: replaced (%s)", tc.name, ca.Replaced)
			}
			continue
		}
		if kept || !strings.Contains(ca.Replaced, tc.why) || len(ca.Cert.PermittedDNSDomains) == 0 {
			t.Errorf("%s: kept %v, replaced because %q", tc.name, kept, ca.Replaced)
		}
		if st, _ := os.Stat(filepath.Join(dir, ConnectionsScope.File)); st.Mode().Perm() != 0o600 {
			t.Errorf("%s: the new CA's file is %v", tc.name, st.Mode().Perm())
		}
		if aside, _ := filepath.Glob(filepath.Join(dir, ConnectionsScope.File+".untrusted-*")); len(aside) != 1 {
			t.Errorf("%s: the old CA was not set aside: %v", tc.name, aside)
		}
	}
}

// TestCAStartedTwiceAtOnce: processes starting together share one CA.
func TestCAStartedTwiceAtOnce(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	cas := make([]*CA, 8)
	for n := range cas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cas[n], _ = LoadOrCreateCA(dir)
		}()
	}
	wg.Wait()
	for n, ca := range cas {
		if ca == nil || !ca.Cert.Equal(cas[0].Cert) {
			t.Fatalf("start %d has another CA", n)
		}
	}
}

// proxyClient is an HTTP client of the kind a function process has: its
// proxy is the intercept, and it trusts the local CA (and roots).
func proxyClient(t *testing.T, i *Intercept, proxyURL string, roots *x509.CertPool, h2 bool) *http.Client {
	u, _ := url.Parse(proxyURL)
	tr := &http.Transport{Proxy: http.ProxyURL(u), TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: h2}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func caPool(i *Intercept) *x509.CertPool {
	p := x509.NewCertPool()
	p.AppendCertsFromPEM(i.CA.CertPEM)
	return p
}

func TestProxyIntercepts(t *testing.T) {
	i := newIntercept(t, nil)
	for _, h2 := range []bool{false, true} {
		c := proxyClient(t, i, i.Proxy.URL(), caPool(i), h2)
		req, _ := http.NewRequest("POST", "https://"+Host+"/apigateways/websocket/v1/connections/abc:send", strings.NewReader(`{"data":"aGk="}`))
		req.Header.Set("Authorization", "Bearer "+i.Token())
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		want := "HTTP/1.1"
		if h2 {
			want = "HTTP/2.0"
		}
		if got := string(b); !strings.HasPrefix(got, want+" POST /apigateways/websocket/v1/connections/abc:send auth=\"Bearer "+i.Token()+"\"") || !strings.Contains(got, `aGk=`) {
			t.Errorf("h2=%v: the intercepted call reached the API as %q", h2, got)
		}
	}
}

// TestProxyTunnels: every other CONNECT goes through byte for byte, to a
// server the child trusts by its own roots.
func TestProxyTunnels(t *testing.T) {
	backend := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "backend saw %s %s", r.Host, r.URL.Path)
	}))
	defer backend.Close()
	i := newIntercept(t, nil)
	roots := caPool(i)
	roots.AddCert(backend.Certificate())
	res, err := proxyClient(t, i, i.Proxy.URL(), roots, false).Get(backend.URL + "/other")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.HasPrefix(string(b), "backend saw 127.0.0.1:") {
		t.Errorf("a tunnelled call got %q", b)
	}
	// A raw tunnel: bytes go both ways unchanged, and half-closing works.
	echo, _ := net.Listen("tcp", "127.0.0.1:0")
	defer echo.Close()
	go func() {
		c, err := echo.Accept()
		if err != nil {
			return
		}
		io.Copy(c, c)
		c.Close()
	}()
	conn := connect(t, i, echo.Addr().String(), true)
	payload := strings.Repeat("\x00\x01binary\r\n\r\n", 5000)
	go func() {
		io.WriteString(conn, payload)
		conn.(*bufConn).Conn.(*net.TCPConn).CloseWrite()
	}()
	got, _ := io.ReadAll(conn)
	if string(got) != payload {
		t.Errorf("the tunnel changed the bytes: sent %d, got %d", len(payload), len(got))
	}
}

// connect sends a CONNECT (with the secret or not) and returns the
// connection once it is answered 200; it fails the test otherwise.
func connect(t *testing.T, i *Intercept, target string, secret bool) net.Conn {
	t.Helper()
	c, status, _ := rawConnect(t, i, target, secret)
	if status != 200 {
		t.Fatalf("CONNECT %s: %d", target, status)
	}
	return c
}

func rawConnect(t *testing.T, i *Intercept, target string, secret bool) (net.Conn, int, string) {
	t.Helper()
	c, err := net.Dial("tcp", i.Proxy.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	req := "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n"
	if secret {
		u, _ := url.Parse(i.Proxy.URL())
		pass, _ := u.User.Password()
		req += "Proxy-Authorization: Basic " + encodeBasic("apigw", pass) + "\r\n"
	}
	io.WriteString(c, req+"\r\n")
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, &http.Request{Method: "CONNECT"})
	if err != nil {
		t.Fatalf("CONNECT %s: %v", target, err)
	}
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(res.Body)
		return c, res.StatusCode, res.Header.Get("Proxy-Authenticate") + " " + string(b)
	}
	return &bufConn{Conn: c, r: br}, 200, ""
}

func encodeBasic(user, pass string) string {
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth(user, pass)
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")
}

// TestProxyRefuses: the proxy is not an open proxy, and bad input gets
// HTTP's own answers while it keeps serving. Every target is loopback.
func TestProxyRefuses(t *testing.T) {
	i := newIntercept(t, nil)
	backend := httptest.NewServer(echoAPI)
	defer backend.Close()
	target := strings.TrimPrefix(backend.URL, "http://")
	if _, status, why := rawConnect(t, i, target, false); status != 407 || !strings.Contains(why, `Basic realm="apigw"`) {
		t.Errorf("CONNECT without the secret: %d %q, want 407", status, why)
	}
	// A wrong secret, by hand.
	c, _ := net.Dial("tcp", i.Proxy.Addr())
	defer c.Close()
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\nProxy-Authorization: Basic %s\r\n\r\n", target, target, encodeBasic("apigw", "guess"))
	if res, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil || res.StatusCode != 407 {
		t.Errorf("CONNECT with a wrong secret: %v %v", res, err)
	}
	if _, status, why := rawConnect(t, i, i.Proxy.Addr(), true); status != 403 {
		t.Errorf("CONNECT to the proxy itself: %d %q, want 403", status, why)
	}
	if _, status, _ := rawConnect(t, i, "127.0.0.1", true); status != 400 {
		t.Errorf("CONNECT without a port: %d, want 400", status)
	}
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := closed.Addr().String()
	closed.Close()
	if _, status, why := rawConnect(t, i, addr, true); status != 502 || !strings.Contains(why, "could not reach") {
		t.Errorf("CONNECT to a closed port: %d %q, want 502", status, why)
	}
	for raw, want := range map[string]int{
		"GET http://" + target + "/ HTTP/1.1\r\nHost: " + target + "\r\n\r\n": 405,
		"\x80\x81 garbage\r\n\r\n": 400,
	} {
		c, _ := net.Dial("tcp", i.Proxy.Addr())
		io.WriteString(c, raw)
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		c.Close()
		if err != nil || res.StatusCode != want {
			t.Errorf("%q: %v %v, want %d", raw, res, err, want)
		}
	}
	// A TLS client that does not trust the CA fails its handshake, and a
	// ClientHello for another name is refused; neither stops the proxy.
	for _, cfg := range []*tls.Config{{ServerName: Host}, {ServerName: "example.com", RootCAs: caPool(i)}} {
		conn := connect(t, i, Host+":443", true)
		if err := tls.Client(conn, cfg).Handshake(); err == nil {
			t.Errorf("a TLS client with %q and roots %v completed a handshake", cfg.ServerName, cfg.RootCAs != nil)
		}
		direct, _ := net.Dial("tcp", i.Proxy.Addr())
		if err := tls.Client(direct, cfg).Handshake(); err == nil {
			t.Errorf("a direct TLS client with %q completed a handshake", cfg.ServerName)
		}
		direct.Close()
	}
	// Still serving.
	c2 := proxyClient(t, i, i.Proxy.URL(), caPool(i), true)
	if res, err := c2.Get("https://" + Host + "/still"); err != nil || res.StatusCode != 200 {
		t.Errorf("after the bad input: %v %v", res, err)
	}
}

// TestDirectTLS: a TLS ClientHello for the host straight to the port (how
// the Node.js adapter routes fetch) reaches the API over h2 and HTTP/1.1.
func TestDirectTLS(t *testing.T) {
	i := newIntercept(t, nil)
	tr := &http2.Transport{TLSClientConfig: &tls.Config{RootCAs: caPool(i), ServerName: Host}, DialTLSContext: func(ctx context.Context, network, _ string, cfg *tls.Config) (net.Conn, error) {
		return tls.Dial(network, i.Proxy.Addr(), cfg)
	}}
	res, err := (&http.Client{Transport: tr}).Get("https://" + Host + "/direct")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	if !strings.HasPrefix(string(b), "HTTP/2.0 GET /direct") {
		t.Errorf("direct TLS: %q", b)
	}
}

// TestUpstreamProxy: with a proxy in apigw's own environment, tunnels go
// through it (CONNECT, with its credentials); the intercept does not.
func TestUpstreamProxy(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	up, _ := net.Listen("tcp", "127.0.0.1:0")
	defer up.Close()
	go func() {
		for {
			c, err := up.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				mu.Lock()
				seen = append(seen, req.Method+" "+req.Host+" "+req.Header.Get("Proxy-Authorization"))
				mu.Unlock()
				b, err := net.Dial("tcp", req.Host)
				if err != nil {
					return
				}
				defer b.Close()
				io.WriteString(c, "HTTP/1.1 200 OK\r\n\r\n")
				go io.Copy(b, br)
				io.Copy(c, b)
			}()
		}
	}()
	backend := httptest.NewTLSServer(echoAPI)
	defer backend.Close()
	i := newIntercept(t, nil)
	i.Proxy.upstream = func(*url.URL) (*url.URL, error) {
		return url.Parse("http://corp:pw@" + up.Addr().String())
	}
	roots := caPool(i)
	roots.AddCert(backend.Certificate())
	c := proxyClient(t, i, i.Proxy.URL(), roots, false)
	if res, err := c.Get(backend.URL + "/via-upstream"); err != nil || res.StatusCode != 200 {
		t.Fatalf("through the upstream proxy: %v %v", res, err)
	}
	if res, err := c.Get("https://" + Host + "/intercepted"); err != nil || res.StatusCode != 200 {
		t.Fatalf("intercepted with an upstream proxy: %v %v", res, err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := "CONNECT " + strings.TrimPrefix(backend.URL, "https://") + " Basic " + encodeBasic("corp", "pw")
	if len(seen) != 1 || seen[0] != want {
		t.Errorf("the upstream proxy saw %q, want only %q", seen, want)
	}
}

func TestEnv(t *testing.T) {
	dir := t.TempDir()
	own := filepath.Join(dir, "own-roots.pem")
	os.WriteFile(own, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("own root")}), 0o644)
	i := newIntercept(t, map[string]string{"SSL_CERT_FILE": own, "NO_PROXY": "internal.corp, .yandex.net,10.0.0.0/8", "no_grpc_proxy": "*"})
	env := i.Env("fn", map[string]string{"APP": "x", "NODE_EXTRA_CA_CERTS": own})
	if env["APP"] != "x" || env["HTTPS_PROXY"] != i.Proxy.URL() || env["https_proxy"] != i.Proxy.URL() || env["grpc_proxy"] != i.Proxy.URL() {
		t.Errorf("env %v", env)
	}
	if env["NO_PROXY"] != "localhost,127.0.0.1,::1,internal.corp,10.0.0.0/8" || env["no_proxy"] != env["NO_PROXY"] {
		t.Errorf("NO_PROXY = %q: loopback and apigw's own entries, but none that covers %s", env["NO_PROXY"], Host)
	}
	if env["no_grpc_proxy"] != "localhost,127.0.0.1,::1" {
		t.Errorf("no_grpc_proxy = %q, want loopback only (apigw's own was *)", env["no_grpc_proxy"])
	}
	if env["APIGW_CLOUD_API_REDIRECT"] != Host+"="+i.Proxy.Addr() || env["NODE_USE_ENV_PROXY"] != "1" {
		t.Errorf("redirect %q, NODE_USE_ENV_PROXY %q", env["APIGW_CLOUD_API_REDIRECT"], env["NODE_USE_ENV_PROXY"])
	}
	// Each bundle is the roots the client would have trusted, then the CA.
	ownPEM, _ := os.ReadFile(own)
	for key, base := range map[string]string{"SSL_CERT_FILE": own, "NODE_EXTRA_CA_CERTS": own, "REQUESTS_CA_BUNDLE": SystemBundle(), "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH": SystemBundle()} {
		if base == "" {
			continue // no system bundle on this machine
		}
		want, _ := os.ReadFile(base)
		if base == own {
			want = ownPEM
		}
		got, err := os.ReadFile(env[key])
		if err != nil || !strings.HasPrefix(string(got), string(want)) || !strings.HasSuffix(string(got), string(i.CA.CertPEM)) {
			t.Errorf("%s = %s: not %s followed by the CA (%v)", key, env[key], base, err)
		}
	}
	// A binding that routes HTTPS itself keeps its settings, without the
	// intercept, and the log says so once (with the proxy's password hidden).
	var log strings.Builder
	i.log = slog.New(slog.NewTextHandler(&log, nil))
	for _, fenv := range []map[string]string{{"HTTPS_PROXY": "http://corp:pw@proxy:3128"}, {"grpc_proxy": "http://corp:3128"}, {"NO_PROXY": "*"}, {"no_proxy": "localhost,.cloud.yandex.net"}, {"no_grpc_proxy": Host}} {
		for range 2 {
			env := i.Env("fn", fenv)
			if len(env) != len(fenv) || env["APIGW_CLOUD_API_REDIRECT"] != "" {
				t.Errorf("binding env %v became %v", fenv, env)
			}
		}
	}
	for _, key := range []string{"HTTPS_PROXY", "grpc_proxy", "NO_PROXY", "no_proxy", "no_grpc_proxy"} {
		if n := strings.Count(log.String(), "binding sets "+key+":") + strings.Count(log.String(), "binding sets "+key+" to"); n != 1 {
			t.Errorf("the conflict of %s was logged %d times, want once:\n%s", key, n, log.String())
		}
	}
	if strings.Contains(log.String(), "corp:pw") || !strings.Contains(log.String(), "http://***@proxy:3128") {
		t.Errorf("the log shows the binding's proxy password, or no proxy at all:\n%s", log.String())
	}
}

func TestBypasses(t *testing.T) {
	for v, want := range map[string]bool{
		"*": true, Host: true, ".yandex.net": true, "yandex.net": true, "*.cloud.yandex.net": true, "api.cloud.yandex.net:443": true,
		"localhost,127.0.0.1": false, "connections.api.cloud.yandex.net": false, "net": true, "ndex.net": false, "": false,
	} {
		if got := bypasses(v); got != want {
			t.Errorf("bypasses(%q) = %v, want %v", v, got, want)
		}
	}
}

// TestRealClients: unchanged Python (urllib) and Node.js (fetch, through
// the shipped adapter's redirect) code reaches the API at the cloud's URL
// with the env a function process gets, and still reaches another HTTPS
// server that its own roots trust.
func TestRealClients(t *testing.T) {
	backend := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "other server") }))
	defer backend.Close()
	dir := t.TempDir()
	own := filepath.Join(dir, "roots.pem")
	os.WriteFile(own, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: backend.Certificate().Raw}), 0o644)
	i := newIntercept(t, map[string]string{"SSL_CERT_FILE": own, "NODE_EXTRA_CA_CERTS": own})
	env := os.Environ()
	for k, v := range i.Env("fn", nil) {
		env = append(env, k+"="+v)
	}
	adapter, _ := filepath.Abs("../functions/runtimes/nodejs/apigw_adapter.js")
	for _, tt := range []struct{ name, bin, code string }{
		{"python", "python3", `
import sys, urllib.request
req = urllib.request.Request("https://` + Host + `/apigateways/websocket/v1/connections/abc:send",
    data=b'{"data":"aGk="}', headers={"Authorization": "Bearer tok", "Content-Type": "application/json"})
print(urllib.request.urlopen(req, timeout=10).read().decode())
print(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())
`},
		{"node", "node", `
process.env.APIGW_HANDLER = 'x.y';
const tls = require('tls');
// the adapter's redirect, without starting the adapter
const src = require('fs').readFileSync(process.argv[2] || '', 'utf8');
eval(src.slice(src.indexOf('function redirectCloudAPI'), src.indexOf('function loadHandler')));
(async () => {
  const r = await fetch('https://` + Host + `/apigateways/websocket/v1/connections/abc:send',
    {method: 'POST', body: '{"data":"aGk="}', headers: {Authorization: 'Bearer tok'}});
  console.log(await r.text());
  console.log(await (await fetch(process.argv[1])).text());
})().catch((e) => { console.error(e, e.cause); process.exit(1); });
`},
	} {
		if _, err := exec.LookPath(tt.bin); err != nil {
			t.Skipf("%s is not installed (scripts/test installs it)", tt.bin)
		}
		args := []string{"-c", tt.code, backend.URL}
		if tt.bin == "node" {
			args = []string{"-e", tt.code, backend.URL, adapter}
		}
		cmd := exec.Command(tt.bin, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("%s: %v\n%s", tt.name, err, out)
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) != 2 || !strings.Contains(lines[0], `POST /apigateways/websocket/v1/connections/abc:send auth="Bearer tok"`) || lines[1] != "other server" {
			t.Errorf("%s printed %q", tt.name, out)
		}
	}
}
