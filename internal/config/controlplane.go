package config

import (
	"net"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/apigw/apigw/internal/yamlx"
	"go.yaml.in/yaml/v3"
)

// DefaultBaseDomain is the parent of created gateways' service domains:
// <id>.apigw.localhost resolves to loopback on most systems (RFC 6761).
const DefaultBaseDomain = "apigw.localhost"

// ControlPlane serves the cloud's API Gateway API (gRPC and REST), so that
// the SDKs, yc and Terraform create gateways here (docs/control-plane.md).
// Off unless listen is set; read at start.
type ControlPlane struct {
	// Listen is the control plane's address, such as 127.0.0.1:8443.
	Listen string `yaml:"listen"`
	// StateDir keeps the gateways (state.db) and the local CA
	// (ca.pem, the certificate clients trust; ca-key.pem, owner-only).
	// Default: apigw-state next to this file.
	StateDir string `yaml:"state_dir"`
	// BaseDomain: a created gateway is served at <id>.<base_domain>
	// (default apigw.localhost).
	BaseDomain string `yaml:"base_domain"`
	// Database, a postgres:// URL, keeps the gateways in PostgreSQL
	// instead of state_dir: every replica that names it serves every
	// gateway.
	Database string `yaml:"database"`
	// Tokens are the bearer tokens the control plane accepts. Required
	// unless listen is a loopback address (where any token is accepted).
	Tokens []string `yaml:"tokens"`
	// Plaintext serves gRPC and REST without TLS (h2c for gRPC). The
	// SDKs' endpoint discovery always dials TLS: see docs/control-plane.md.
	Plaintext bool `yaml:"plaintext"`
	// Cert and Key are the control plane's own certificate (PEM files,
	// relative to this file) instead of one the local CA issues.
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
	// Resync is how often a replica reads the whole state even without a
	// notification (default 5s): a missed notification heals within it.
	Resync *Duration `yaml:"resync"`
	// MaxGateways caps the gateways kept (default 1000; each served one
	// holds its snapshot in every replica's memory): Create beyond it is
	// RESOURCE_EXHAUSTED, as the cloud's quota answers.
	MaxGateways int `yaml:"max_gateways"`
}

// Enabled says whether a control plane is configured.
func (c *ControlPlane) Enabled() bool { return c.Listen != "" }

// Certificate is a certificate by its Certificate Manager ID, for the
// domains attached to created gateways (AddDomain's certificate_id).
type Certificate struct {
	// Cert and Key are PEM files, relative to this file.
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

func checkControlPlane(root *yaml.Node, b *Bindings, errs *yamlx.List) {
	n := yamlx.Get(root, "control_plane")
	c := &b.ControlPlane
	if n != nil && c.Listen == "" {
		errs.Errorf(n, "control_plane", "needs listen: the address of the control plane, such as 127.0.0.1:8443")
	}
	if c.Listen != "" {
		host, _, err := net.SplitHostPort(c.Listen)
		if err != nil {
			errs.Errorf(yamlx.Get(n, "listen"), "control_plane.listen", "must be host:port, not %q", c.Listen)
		} else if !IsLoopbackHost(host) && len(c.Tokens) == 0 {
			errs.Errorf(yamlx.Get(n, "listen"), "control_plane.listen",
				"%s is not a loopback address: set control_plane.tokens, or anyone who reaches it could create a gateway that proxies anywhere", c.Listen)
		}
	}
	for i, t := range c.Tokens {
		if len(t) < 16 {
			errs.Errorf(yamlx.Get(n, "tokens"), "control_plane.tokens", "token %d is %d characters: use at least 16 (a random one: openssl rand -hex 24)", i+1, len(t))
		}
	}
	if c.BaseDomain != "" && !validHost(strings.ToLower(c.BaseDomain)) || strings.HasPrefix(c.BaseDomain, "*") {
		errs.Errorf(yamlx.Get(n, "base_domain"), "control_plane.base_domain", "%q is not a domain name", c.BaseDomain)
	}
	if c.Database != "" {
		u, err := url.Parse(c.Database)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			errs.Errorf(yamlx.Get(n, "database"), "control_plane.database", "must be a postgres:// URL")
		}
	}
	if c.MaxGateways < 0 {
		errs.Errorf(yamlx.Get(n, "max_gateways"), "control_plane.max_gateways", "must be positive")
	}
	if (c.Cert == "") != (c.Key == "") {
		errs.Errorf(n, "control_plane", "cert and key go together")
	}
	if c.Plaintext && c.Cert != "" {
		errs.Errorf(yamlx.Get(n, "plaintext"), "control_plane.plaintext", "plaintext and a certificate exclude each other")
	}
	cn := yamlx.Get(root, "certificates")
	for id, cert := range b.Certificates {
		path := "certificates." + id
		if cert == nil || cert.Cert == "" || cert.Key == "" {
			errs.Errorf(yamlx.Get(cn, id), path, "needs cert and key (PEM files)")
		}
	}
}

// resolveControlPlaneFiles makes the control plane's and the certificates' files relative
// to the bindings file.
func (b *Bindings) resolveControlPlaneFiles(file string) {
	rel := relativeTo(filepath.Dir(file))
	rel(&b.ControlPlane.StateDir)
	if abs, err := filepath.Abs(b.ControlPlane.StateDir); err == nil && b.ControlPlane.StateDir != "" {
		b.ControlPlane.StateDir = abs // logged for `export SSL_CERT_FILE=...`
	}
	rel(&b.ControlPlane.Cert)
	rel(&b.ControlPlane.Key)
	rel(&b.GeoIP.MMDB)
	rel(&b.GeoIP.ASNMMDB)
	for _, c := range b.Certificates {
		if c != nil {
			rel(&c.Cert)
			rel(&c.Key)
		}
	}
}

// IsLoopbackHost says whether a listen host reaches this machine only.
func IsLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (c *ControlPlane) applyDefaults() {
	if c.BaseDomain == "" {
		c.BaseDomain = DefaultBaseDomain
	}
	c.BaseDomain = strings.ToLower(c.BaseDomain)
	if c.Listen != "" && c.StateDir == "" {
		c.StateDir = "apigw-state"
	}
	if c.MaxGateways == 0 {
		c.MaxGateways = 1000
	}
	if c.Resync == nil {
		d := Duration(5e9)
		c.Resync = &d
	}
}
