package intercept

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// Intercept is set up once per apigw process, on the first function
// process that needs it: the CA, the proxy, and the IAM token apigw's
// function processes find in their context.
type Intercept struct {
	CA    *CA
	Proxy *Proxy
	dir   string
	token string
	log   *slog.Logger
	// getenv is apigw's own environment (a field so tests can set it).
	getenv func(string) string

	mu     sync.Mutex
	warned map[string]bool // what was logged once
}

// New makes the CA (or loads it from dir) and starts the proxy, which
// serves intercepted connections from handler.
func New(dir string, handler http.Handler, log *slog.Logger) (*Intercept, error) {
	ca, err := LoadOrCreateCA(dir)
	if err != nil {
		return nil, fmt.Errorf("the local CA for intercepting the cloud's connection API: %w", err)
	}
	if ca.Replaced != "" {
		log.Warn("the local CA found was not trusted; apigw made a new one (clients that trusted the old file must take the new one)", "why", ca.Replaced, "ca", ca.CertFile)
	}
	cert, err := ca.Issue(Host)
	if err != nil {
		return nil, err
	}
	p, err := NewProxy(cert, handler, log)
	if err != nil {
		return nil, err
	}
	return &Intercept{CA: ca, Proxy: p, dir: dir, token: "apigw-local-" + randomHex(16), log: log, getenv: os.Getenv, warned: map[string]bool{}}, nil
}

// DefaultDir is where the CA lives: the user's cache directory.
func DefaultDir() (string, error) {
	if d := os.Getenv("APIGW_CACHE_DIR"); d != "" {
		return filepath.Join(d, "ca"), nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "apigw", "ca"), nil
}

// Token is the IAM token apigw's function processes get in their context
// (unless their binding names one); the intercepted API takes it.
func (i *Intercept) Token() string { return i.token }

// Close stops the proxy.
func (i *Intercept) Close() error { return i.Proxy.Close() }

// proxyKeys are the variables through which a process picks a proxy for
// HTTPS or gRPC.
var proxyKeys = []string{"HTTPS_PROXY", "https_proxy", "grpc_proxy", "GRPC_PROXY", "ALL_PROXY", "all_proxy"}

// Env is what a function process gets on top of apigw's environment: the
// binding's own variables (env) with the intercept's over them. A binding
// that routes its HTTPS elsewhere itself (its own proxy, or a NO_PROXY
// that names the connections host) keeps its settings and goes without
// the intercept, with a warning that says so.
func (i *Intercept) Env(functionID string, env map[string]string) map[string]string {
	out := make(map[string]string, len(env)+12)
	for k, v := range env {
		out[k] = v
	}
	for _, k := range proxyKeys {
		if v, ok := env[k]; ok {
			i.warnOnce(functionID+"/"+k, "the function's binding sets "+k+": its calls to "+Host+
				" go to that proxy, not to apigw's connection API; remove it from the binding's env, or set websocket.intercept_cloud_api: false to silence this",
				"function_id", functionID, "proxy", redact(v))
			return out
		}
	}
	for _, k := range []string{"NO_PROXY", "no_proxy", "no_grpc_proxy"} {
		if v, ok := env[k]; ok && bypasses(v) {
			i.warnOnce(functionID+"/"+k, "the function's binding sets "+k+" to a value that covers "+Host+
				": its calls there go to the real cloud, not to apigw; remove it from the binding's env, or set websocket.intercept_cloud_api: false to silence this",
				"function_id", functionID, "no_proxy", v)
			return out
		}
	}
	get := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return i.getenv(k)
	}
	proxy := i.Proxy.URL()
	out["HTTPS_PROXY"], out["https_proxy"], out["grpc_proxy"] = proxy, proxy, proxy
	// Loopback stays direct, and whatever apigw's own NO_PROXY lists,
	// but for entries that would send the connections host around apigw.
	out["NO_PROXY"] = directList(get("NO_PROXY"), get("no_proxy"))
	out["no_proxy"] = out["NO_PROXY"]
	if v := get("no_grpc_proxy"); v != "" { // gRPC clients read it instead
		out["no_grpc_proxy"] = directList(v)
	}
	// Node.js 24.5+ (and 22.21+) let fetch and https use HTTPS_PROXY
	// with this; the shipped adapter routes them on any version.
	if get("NODE_USE_ENV_PROXY") == "" {
		out["NODE_USE_ENV_PROXY"] = "1"
	}
	out["APIGW_CLOUD_API_REDIRECT"] = Host + "=" + i.Proxy.Addr()
	// Trust: the roots each kind of client would have trusted, plus the
	// local CA; never the local CA alone where it replaces the roots.
	system := SystemBundle()
	for _, v := range []struct {
		key      string
		fallback []string // read when key is unset
	}{
		{"SSL_CERT_FILE", nil},
		{"REQUESTS_CA_BUNDLE", []string{"CURL_CA_BUNDLE"}},
		{"GRPC_DEFAULT_SSL_ROOTS_FILE_PATH", nil},
		{"CURL_CA_BUNDLE", nil},
	} {
		base := get(v.key)
		for _, f := range v.fallback {
			if base == "" {
				base = get(f)
			}
		}
		if base == "" {
			if v.key == "CURL_CA_BUNDLE" { // curl reads SSL_CERT_FILE too
				continue
			}
			base = system
		}
		if base == "" {
			i.warnOnce("no-system-bundle", "no system CA bundle found: "+v.key+" is not set for function processes, so clients that read it may not trust the intercepted connection API", "function_id", functionID)
			continue
		}
		if path, err := i.bundle(base); err == nil {
			out[v.key] = path
		} else {
			i.warnOnce("bundle/"+base, "could not build a CA bundle for function processes", "base", base, "error", err.Error())
		}
	}
	// NODE_EXTRA_CA_CERTS adds to Node's own roots.
	if extra := get("NODE_EXTRA_CA_CERTS"); extra != "" {
		if path, err := i.bundle(extra); err == nil {
			out["NODE_EXTRA_CA_CERTS"] = path
		}
	} else {
		out["NODE_EXTRA_CA_CERTS"] = i.CA.CertFile
	}
	return out
}

// bundle writes base's certificates followed by the local CA's into a file
// named by its content, and returns its path.
func (i *Intercept) bundle(base string) (string, error) {
	b, err := os.ReadFile(base)
	if err != nil {
		return "", err
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		b = append(b, '\n')
	}
	b = append(b, i.CA.CertPEM...)
	sum := sha256.Sum256(b)
	path := filepath.Join(i.dir, "bundle-"+hex.EncodeToString(sum[:6])+".pem")
	return path, writeIfChanged(path, b, 0o644)
}

func (i *Intercept) warnOnce(key, msg string, args ...any) {
	i.mu.Lock()
	seen := i.warned[key]
	i.warned[key] = true
	i.mu.Unlock()
	if !seen {
		i.log.Warn(msg, args...)
	}
}

// SystemBundle is the first of the usual CA bundle files that exists (the
// list Go's crypto/x509 reads on Linux, and the BSDs' and macOS's file).
func SystemBundle() string {
	for _, f := range []string{
		"/etc/ssl/certs/ca-certificates.crt",
		"/etc/pki/tls/certs/ca-bundle.crt",
		"/etc/ssl/ca-bundle.pem",
		"/etc/pki/tls/cacert.pem",
		"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
		"/etc/ssl/cert.pem",
	} {
		if st, err := os.Stat(f); err == nil && st.Mode().IsRegular() {
			return f
		}
	}
	return ""
}

// bypasses reports whether a NO_PROXY value sends Host around the proxy.
func bypasses(noProxy string) bool {
	for _, e := range strings.Split(noProxy, ",") {
		if bypassesEntry(strings.TrimSpace(e)) {
			return true
		}
	}
	return false
}

func bypassesEntry(e string) bool {
	e = strings.ToLower(strings.TrimSpace(e))
	if h, _, ok := strings.Cut(e, ":"); ok { // host:port
		e = h
	}
	if e == "*" {
		return true
	}
	e = strings.TrimPrefix(strings.TrimPrefix(e, "*"), ".")
	return e != "" && (Host == e || strings.HasSuffix(Host, "."+e))
}

// directList is a NO_PROXY value: loopback, then the entries of lists
// that leave the connections host to the proxy.
func directList(lists ...string) string {
	out := []string{"localhost", "127.0.0.1", "::1"}
	for _, l := range lists {
		for _, e := range strings.Split(l, ",") {
			if e = strings.TrimSpace(e); e != "" && !bypassesEntry(e) && !slices.Contains(out, e) {
				out = append(out, e)
			}
		}
	}
	return strings.Join(out, ",")
}

// redact hides a proxy URL's password.
func redact(v string) string {
	if at := strings.LastIndex(v, "@"); at >= 0 {
		if scheme := strings.Index(v, "://"); scheme >= 0 && scheme < at {
			return v[:scheme+3] + "***" + v[at:]
		}
	}
	return v
}
