// mkcert makes the certificates of examples/domains: a local CA and one
// certificate per domain, signed by it (ECDSA P-256, valid 30 days).
//
//	go run ./examples/domains/mkcert [-out examples/domains/certs]
//
// Then trust ca.pem in your client: curl --cacert examples/domains/certs/ca.pem ...
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

func main() {
	out := flag.String("out", "examples/domains/certs", "directory for the PEM files")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "mkcert:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "apigw example CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(30 * 24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	if err := write(filepath.Join(out, "ca.pem"), "CERTIFICATE", caDER, 0o644); err != nil {
		return err
	}
	for i, d := range []struct {
		file  string
		names []string
	}{
		{"api", []string{"api.example.test", "*.api.example.test"}},
		{"shop", []string{"shop.example.test"}},
	} {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(100 + i)), Subject: pkix.Name{CommonName: d.names[0]}, DNSNames: d.names,
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(30 * 24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			return err
		}
		kder, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return err
		}
		if err := write(filepath.Join(out, d.file+"-key.pem"), "EC PRIVATE KEY", kder, 0o600); err != nil {
			return err
		}
		if err := write(filepath.Join(out, d.file+".pem"), "CERTIFICATE", der, 0o644); err != nil {
			return err
		}
	}
	fmt.Println("wrote", filepath.Join(out, "{ca,api,api-key,shop,shop-key}.pem"))
	return nil
}

func write(path, typ string, der []byte, mode os.FileMode) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode)
}
