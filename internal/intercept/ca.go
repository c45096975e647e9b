// Package intercept lets the function processes apigw runs reach apigw's
// connection management API at the cloud's own address,
// https://apigateway-connections.api.cloud.yandex.net, with their code
// unchanged. apigw gives each process a forward proxy of its own (loopback,
// a per-start secret in the proxy URL) and a local CA to trust; the proxy
// terminates TLS for that one host and serves it from apigw, and tunnels
// every other CONNECT byte for byte. docs/functions.md has the design.
package intercept

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"
)

// Host is the cloud's connection management host.
const Host = "apigateway-connections.api.cloud.yandex.net"

// CA is apigw's local certificate authority: made on first start, kept in
// the user's cache directory (never installed system-wide), and trusted
// only by the processes apigw starts. Its name constraints limit it to the
// connections host and loopback names: whoever reads its key can sign for
// nothing else.
type CA struct {
	Cert     *x509.Certificate
	Key      *ecdsa.PrivateKey
	CertPEM  []byte
	CertFile string // the certificate alone, for users and bundles
	// Replaced says why a CA found in the directory was set aside for
	// this new one ("": none was).
	Replaced string
}

// Scope is what a CA may sign for and where it is kept.
type Scope struct {
	// DNS are the permitted name constraints (a name and its
	// subdomains); addresses are always loopback only.
	DNS []string
	// File holds the key and the certificate, readable by the user only;
	// CertFile the certificate alone, for users and bundles.
	File, CertFile string
	// Label names the CA in its subject.
	Label string
}

// ConnectionsScope is the intercept's CA: the connections host and
// loopback, kept as ca.pem (key) and ca-cert.pem.
var ConnectionsScope = Scope{DNS: []string{Host, "localhost"}, File: "ca.pem", CertFile: "ca-cert.pem", Label: "apigw local CA"}

// LoadOrCreateCA reads the CA kept in dir, making it on first use. Two
// processes starting at once agree on one CA: the file is published with a
// hard link, which fails if the other got there first.
//
// A CA found there is used only if nobody else could have read or put it
// there and it is the kind apigw makes: the file is the user's own and
// readable by them only, the directory not writable by others, and its
// name constraints limit it to the connections host and loopback. Else it
// is set aside (ca.pem.untrusted-TIME) and a new one is made; Replaced
// says why, for the log.
func LoadOrCreateCA(dir string) (*CA, error) { return LoadOrCreateScoped(dir, ConnectionsScope) }

// LoadOrCreateScoped is LoadOrCreateCA for a CA of another scope.
func LoadOrCreateScoped(dir string, scope Scope) (*CA, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	// The directory is apigw's own: one others may write to is closed
	// (else its CA would be set aside at every start).
	if di, err := os.Stat(dir); err == nil && runtime.GOOS != "windows" && di.Mode().Perm()&0o022 != 0 {
		if uid, ok := owner(di); ok && uid == os.Getuid() {
			os.Chmod(dir, 0o700)
		}
	}
	path := filepath.Join(dir, scope.File)
	var replaced string
	for attempt := 0; ; attempt++ {
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			if b, err = newCA(scope); err != nil {
				return nil, err
			}
			tmp := fmt.Sprintf("%s.%d.%s.tmp", path, os.Getpid(), randomHex(4))
			if err := os.WriteFile(tmp, b, 0o600); err != nil {
				return nil, err
			}
			err = os.Link(tmp, path)
			os.Remove(tmp)
			if errors.Is(err, fs.ErrExist) {
				b, err = os.ReadFile(path) // another apigw made it first
			}
		}
		if err != nil {
			return nil, err
		}
		ca, err := parseCA(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %v (delete it and apigw makes a new one)", path, err)
		}
		why := untrusted(dir, path, ca, scope)
		if why != "" && attempt == 0 {
			// Set it aside (kept for the user to look at) and make another.
			aside := fmt.Sprintf("%s.untrusted-%s", path, time.Now().UTC().Format("20060102T150405"))
			if err := os.Rename(path, aside); err != nil {
				return nil, fmt.Errorf("%s is not to be trusted (%s) and cannot be set aside: %v", path, why, err)
			}
			replaced = fmt.Sprintf("%s (set aside as %s)", why, filepath.Base(aside))
			continue
		}
		if why != "" {
			return nil, fmt.Errorf("%s is not to be trusted: %s", path, why)
		}
		ca.Replaced = replaced
		ca.CertFile = filepath.Join(dir, scope.CertFile)
		if err := writeIfChanged(ca.CertFile, ca.CertPEM, 0o644); err != nil {
			return nil, err
		}
		return ca, nil
	}
}

// untrusted says why a CA file found in dir must not be used ("" when it
// may): someone else could have read its key or put it there, or it
// could sign for names beyond the connections host and loopback.
func untrusted(dir, path string, ca *CA, scope Scope) string {
	if runtime.GOOS != "windows" { // its permission bits say nothing
		fi, err := os.Stat(path)
		if err != nil {
			return err.Error()
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return fmt.Sprintf("its file can be read by others (mode %04o; apigw makes it 0600)", fi.Mode().Perm())
		}
		if uid, ok := owner(fi); ok && uid != os.Getuid() {
			return fmt.Sprintf("its file belongs to another user (uid %d)", uid)
		}
		if di, err := os.Stat(dir); err == nil && di.Mode().Perm()&0o022 != 0 {
			return fmt.Sprintf("its directory can be written by others (mode %04o)", di.Mode().Perm())
		}
	}
	c := ca.Cert
	pub, ok := c.PublicKey.(*ecdsa.PublicKey)
	switch {
	case !ok || !pub.Equal(&ca.Key.PublicKey):
		return "its key is not its certificate's"
	case !c.BasicConstraintsValid || !c.MaxPathLenZero:
		return "it may sign other CAs (no path length of zero)"
	case !c.PermittedDNSDomainsCritical || len(c.PermittedDNSDomains) == 0:
		return "it has no name constraints: it could sign for any site"
	case len(c.ExcludedDNSDomains)+len(c.PermittedEmailAddresses)+len(c.PermittedURIDomains) > 0:
		return "its name constraints are not the ones apigw makes"
	}
	for _, d := range c.PermittedDNSDomains {
		if !slices.Contains(scope.DNS, d) {
			return "its name constraints permit " + d
		}
	}
	if len(c.PermittedIPRanges) == 0 {
		return "it has no address constraints: it could sign for any address"
	}
	for _, r := range c.PermittedIPRanges {
		if !r.IP.IsLoopback() {
			return "its address constraints permit " + r.String()
		}
		if ones, bits := r.Mask.Size(); bits == 32 && ones < 8 || bits == 128 && ones < 128 {
			return "its address constraints permit " + r.String()
		}
	}
	return ""
}

func newCA(scope Scope) ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	_, v4, _ := net.ParseCIDR("127.0.0.0/8")
	_, v6, _ := net.ParseCIDR("::1/128")
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:                serial(),
		Subject:                     pkix.Name{Organization: []string{scope.Label}, CommonName: scope.Label + " (" + host + ")"},
		NotBefore:                   now.Add(-time.Hour),
		NotAfter:                    now.AddDate(10, 0, 0),
		KeyUsage:                    x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid:       true,
		IsCA:                        true,
		MaxPathLenZero:              true,
		PermittedDNSDomainsCritical: true,
		PermittedDNSDomains:         scope.DNS,
		PermittedIPRanges:           []*net.IPNet{v4, v6},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return append(out, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})...), nil
}

func parseCA(b []byte) (*CA, error) {
	ca := &CA{}
	for {
		var block *pem.Block
		if block, b = pem.Decode(b); block == nil {
			break
		}
		switch block.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, err
			}
			ca.Cert, ca.CertPEM = c, pem.EncodeToMemory(block)
		case "EC PRIVATE KEY":
			k, err := x509.ParseECPrivateKey(block.Bytes)
			if err != nil {
				return nil, err
			}
			ca.Key = k
		}
	}
	switch {
	case ca.Cert == nil || ca.Key == nil:
		return nil, errors.New("not a CA certificate and key")
	case !ca.Cert.IsCA:
		return nil, errors.New("the certificate is not a CA")
	case time.Now().After(ca.Cert.NotAfter.Add(-24 * time.Hour)):
		return nil, fmt.Errorf("the CA expired (or expires within a day) on %s", ca.Cert.NotAfter.Format(time.DateOnly))
	}
	return ca, nil
}

// Issue makes a server certificate for names (DNS names or IP addresses),
// valid for a year; apigw issues afresh at every start and keeps them in
// memory only.
func (ca *CA) Issue(names ...string) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{Organization: []string{"apigw"}, CommonName: names[0]},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &tls.Certificate{Certificate: [][]byte{der, ca.Cert.Raw}, PrivateKey: key, Leaf: leaf}, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}

// randomHex is n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// writeIfChanged writes data to path unless it already holds exactly that,
// through a rename so that a reader never sees half a file.
func writeIfChanged(path string, data []byte, perm os.FileMode) error {
	if old, err := os.ReadFile(path); err == nil && string(old) == string(data) {
		return nil
	}
	tmp := fmt.Sprintf("%s.%d.%s.tmp", path, os.Getpid(), randomHex(4))
	if err := os.WriteFile(tmp, data, perm); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
