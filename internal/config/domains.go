package config

import (
	"net"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/apigw/apigw/internal/yamlx"
	"go.yaml.in/yaml/v3"
)

// TLS terminates HTTPS on a listener of its own, next to the plain one.
type TLS struct {
	// Listen is the HTTPS address, such as :8443. Empty: no HTTPS.
	Listen string `yaml:"listen"`
	// RedirectHTTP answers plain requests for a domain that has a
	// certificate with 308 to the same URL over HTTPS.
	RedirectHTTP bool `yaml:"redirect_http"`
	// Cert and Key are the certificate for names no domain covers (SNI
	// absent or unknown). Optional.
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// AdminTLS serves the admin listener over HTTPS (HTTP/2 and HTTP/1.1),
// which the SDKs' gRPC clients need when pointed at the connection service:
// they speak TLS only. Cert and Key are PEM files (relative to the bindings
// file); LocalCA instead issues a certificate for localhost, 127.0.0.1 and
// ::1 from apigw's local CA (docs/functions.md). Read at start.
type AdminTLS struct {
	Cert    string `yaml:"cert"`
	Key     string `yaml:"key"`
	LocalCA bool   `yaml:"local_ca"`
}

// Enabled reports whether the admin listener serves HTTPS.
func (a *AdminTLS) Enabled() bool { return a.Cert != "" || a.LocalCA }

// Domain serves a specification at some hosts (digest §9.4): the request's
// Host picks it, and on HTTPS the SNI name picks its certificate.
type Domain struct {
	// Hosts are names such as api.example.com, or *.example.com for any
	// one label in front of example.com.
	Hosts []string `yaml:"hosts"`
	// Spec is the domain's specification (default: the one given with
	// --spec), relative to this file.
	Spec string `yaml:"spec"`
	// Cert and Key are PEM files (relative to this file); both or none.
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`

	Node *yaml.Node `yaml:"-"`
}

func checkDomains(root *yaml.Node, b *Bindings, errs *yamlx.List) {
	section := yamlx.Get(root, "domains")
	seen := map[string]bool{}
	for i, d := range b.Domains {
		var n *yaml.Node
		if section != nil && i < len(section.Content) {
			n = section.Content[i]
		}
		path := "domains[" + strconv.Itoa(i) + "]"
		if d == nil {
			errs.Errorf(n, path, "needs hosts")
			continue
		}
		d.Node = n
		if len(d.Hosts) == 0 {
			errs.Errorf(n, path, "needs hosts: the names it answers to")
		}
		for _, h := range d.Hosts {
			name := strings.ToLower(h)
			if !validHost(name) {
				errs.Errorf(yamlx.Get(n, "hosts"), yamlx.Join(path, "hosts"), "%q is not a host name (or *.domain)", h)
			}
			if seen[name] {
				errs.Errorf(yamlx.Get(n, "hosts"), yamlx.Join(path, "hosts"), "%s is served by an earlier domain too", h)
			}
			seen[name] = true
		}
		if (d.Cert == "") != (d.Key == "") {
			errs.Errorf(n, path, "cert and key go together")
		}
		if d.Cert != "" && b.TLS.Listen == "" {
			errs.Errorf(yamlx.Get(n, "cert"), yamlx.Join(path, "cert"), "a certificate needs tls.listen, the HTTPS address")
		}
	}
	an := yamlx.Get(root, "admin_tls")
	switch at := b.AdminTLS; {
	case (at.Cert == "") != (at.Key == ""):
		errs.Errorf(an, "admin_tls", "cert and key go together")
	case at.Cert != "" && at.LocalCA:
		errs.Errorf(an, "admin_tls", "either cert and key, or local_ca: true, not both")
	}
	tn := yamlx.Get(root, "tls")
	if (b.TLS.Cert == "") != (b.TLS.Key == "") {
		errs.Errorf(tn, "tls", "cert and key go together")
	}
	if b.TLS.Listen != "" {
		if _, _, err := net.SplitHostPort(b.TLS.Listen); err != nil {
			errs.Errorf(yamlx.Get(tn, "listen"), "tls.listen", "must be host:port or :port, not %q", b.TLS.Listen)
		}
	}
	switch b.Routing.UnknownHost {
	case "", "reject", "default":
	default:
		errs.Errorf(yamlx.Get(yamlx.Get(root, "routing"), "unknown_host"), "routing.unknown_host", "must be reject or default, not %q", b.Routing.UnknownHost)
	}
}

func validHost(h string) bool {
	h = strings.TrimPrefix(h, "*.")
	if h == "" || len(h) > 253 || strings.Contains(h, "*") {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// resolveDomainFiles makes domain files relative to the bindings file.
func resolveDomainFiles(b *Bindings, file string) {
	rel := relativeTo(filepath.Dir(file))
	for _, d := range b.Domains {
		if d != nil {
			rel(&d.Spec)
			rel(&d.Cert)
			rel(&d.Key)
		}
	}
	rel(&b.TLS.Cert)
	rel(&b.TLS.Key)
	rel(&b.AdminTLS.Cert)
	rel(&b.AdminTLS.Key)
	b.resolveControlPlaneFiles(file)
}

// relativeTo makes a path relative to base, unless it is empty or absolute.
func relativeTo(base string) func(p *string) {
	return func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(base, *p)
		}
	}
}

// WatchedFiles are the files besides the spec and this file whose change
// reloads the gateway: domain specs and certificates.
func (b *Bindings) WatchedFiles() []string {
	var out []string
	for _, d := range b.Domains {
		if d != nil {
			out = append(out, d.Spec, d.Cert, d.Key)
		}
	}
	return append(out, b.TLS.Cert, b.TLS.Key)
}

// Tracing exports OpenTelemetry traces (off unless Endpoint is set).
type Tracing struct {
	// Endpoint is the OTLP/HTTP collector's base URL, such as
	// http://127.0.0.1:4318 (spans go to <endpoint>/v1/traces).
	Endpoint string `yaml:"endpoint"`
	// SampleRatio is the share of new traces recorded (default 1); a
	// request that arrives with a sampled traceparent is always recorded.
	SampleRatio *float64 `yaml:"sample_ratio"`
	// ServiceName is service.name (default apigw).
	ServiceName string `yaml:"service_name"`
}

func checkTracing(root *yaml.Node, t *Tracing, errs *yamlx.List) {
	n := yamlx.Get(root, "tracing")
	if t.Endpoint != "" {
		checkURL(n, "tracing", "endpoint", t.Endpoint, errs)
	}
	if r := t.SampleRatio; r != nil && (*r < 0 || *r > 1) {
		errs.Errorf(yamlx.Get(n, "sample_ratio"), "tracing.sample_ratio", "must be between 0 and 1")
	}
}
