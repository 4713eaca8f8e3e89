// Package pki creates and loads the cluster certificate authority and issues
// the serving and client certificates that Navarch components present to each
// other.
//
// Keys are ECDSA P-256. Certificates and keys are PEM encoded: certificates as
// "CERTIFICATE" blocks, keys as PKCS#8 "PRIVATE KEY" blocks. LoadCA also reads
// "EC PRIVATE KEY" (SEC 1) and "RSA PRIVATE KEY" (PKCS#1) keys, so a CA made
// by kubeadm or openssl can be reused.
package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"navarch.dev/shared/internal/atomicfile"
)

const (
	// CACertFile and CAKeyFile are the file names EnsureCA uses inside its
	// directory, the names kubeadm uses in /etc/kubernetes/pki.
	CACertFile = "ca.crt"
	CAKeyFile  = "ca.key"

	// DefaultCACommonName is the subject common name of a CA made by EnsureCA.
	DefaultCACommonName = "navarch-ca"

	caValidity   = 10 * 365 * 24 * time.Hour
	leafValidity = 365 * 24 * time.Hour
	// backdate tolerates clocks of other machines running slightly behind ours.
	backdate = 5 * time.Minute
)

// CA is a certificate authority: a self-signed CA certificate and its key.
type CA struct {
	// Cert is the parsed CA certificate.
	Cert *x509.Certificate
	// Key signs the certificates the CA issues; its public key is Cert's.
	Key crypto.Signer
	// CertPEM is Cert, PEM encoded, ready for a kubeconfig's
	// certificate-authority-data or a --client-ca-file.
	CertPEM []byte
}

// NewCA creates a self-signed CA with a new key, valid for 10 years, whose
// certificate may sign other certificates (IsCA, KeyUsageCertSign).
func NewCA(commonName string) (*CA, error) {
	if commonName == "" {
		return nil, errors.New("pki: CA common name is empty")
	}
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(caValidity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("pki: create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("pki: parse CA certificate: %w", err)
	}
	return &CA{Cert: cert, Key: key, CertPEM: encodeCert(der)}, nil
}

// LoadCA reads a CA certificate and its private key from PEM files. It fails
// if the certificate is not a CA certificate or the key does not belong to it.
func LoadCA(certFile, keyFile string) (*CA, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("pki: read CA certificate: %w", err)
	}
	cert, err := parseCertPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("pki: %s: %w", certFile, err)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("pki: %s: certificate %q is not a CA certificate", certFile, cert.Subject.CommonName)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("pki: read CA key: %w", err)
	}
	key, err := parseKeyPEM(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("pki: %s: %w", keyFile, err)
	}
	if !publicKeysEqual(cert.PublicKey, key.Public()) {
		return nil, fmt.Errorf("pki: key %s does not match certificate %s", keyFile, certFile)
	}
	return &CA{Cert: cert, Key: key, CertPEM: encodeCert(cert.Raw)}, nil
}

// Write stores the CA certificate (mode 0644) and key (mode 0600), creating
// missing directories. Each file is replaced atomically.
func (ca *CA) Write(certFile, keyFile string) error {
	keyPEM, err := encodeKey(ca.Key)
	if err != nil {
		return err
	}
	return WriteKeyPair(certFile, keyFile, ca.CertPEM, keyPEM)
}

// EnsureCA returns the CA stored as ca.crt and ca.key in dir, creating the
// directory and a new CA (common name DefaultCACommonName) when neither file
// exists. Calling it again returns the same CA. It refuses to replace a CA of
// which only one of the two files exists.
func EnsureCA(dir string) (*CA, error) {
	certFile := filepath.Join(dir, CACertFile)
	keyFile := filepath.Join(dir, CAKeyFile)
	certExists, err := exists(certFile)
	if err != nil {
		return nil, err
	}
	keyExists, err := exists(keyFile)
	if err != nil {
		return nil, err
	}
	switch {
	case certExists && keyExists:
		return LoadCA(certFile, keyFile)
	case certExists:
		return nil, fmt.Errorf("pki: %s exists but %s does not", certFile, keyFile)
	case keyExists:
		return nil, fmt.Errorf("pki: %s exists but %s does not", keyFile, certFile)
	}
	ca, err := NewCA(DefaultCACommonName)
	if err != nil {
		return nil, err
	}
	if err := ca.Write(certFile, keyFile); err != nil {
		return nil, err
	}
	return ca, nil
}

// IssueServing issues a TLS server certificate (ExtKeyUsageServerAuth) valid
// for one year, or until the CA expires if that is sooner. Clients verify the
// certificate against dnsNames and ips only; commonName is informational.
// At least one DNS name or IP is required.
func (ca *CA) IssueServing(commonName string, dnsNames []string, ips []net.IP) (certPEM, keyPEM []byte, err error) {
	if len(dnsNames) == 0 && len(ips) == 0 {
		return nil, nil, errors.New("pki: serving certificate needs at least one DNS name or IP address")
	}
	return ca.issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: commonName},
		DNSNames:    dnsNames,
		IPAddresses: ips,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
}

// IssueClient issues a TLS client certificate (ExtKeyUsageClientAuth) valid
// for one year, or until the CA expires if that is sooner. The apiserver's
// x509 authenticator reads the common name as the user name and the
// organizations as the user's groups, as Kubernetes does
// (e.g. "system:node:worker1" in "system:nodes").
func (ca *CA) IssueClient(commonName string, organizations []string) (certPEM, keyPEM []byte, err error) {
	if commonName == "" {
		return nil, nil, errors.New("pki: client certificate needs a common name (the user name)")
	}
	return ca.issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: commonName, Organization: organizations},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
}

// Pool returns a certificate pool holding only the CA certificate, for
// verifying peers (tls.Config RootCAs or ClientCAs).
func (ca *CA) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	return pool
}

func (ca *CA) issue(tmpl *x509.Certificate) (certPEM, keyPEM []byte, err error) {
	key, err := newKey()
	if err != nil {
		return nil, nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl.SerialNumber = serial
	tmpl.NotBefore = now.Add(-backdate)
	tmpl.NotAfter = now.Add(leafValidity)
	if tmpl.NotAfter.After(ca.Cert.NotAfter) {
		tmpl.NotAfter = ca.Cert.NotAfter
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.BasicConstraintsValid = true
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: issue certificate %q: %w", tmpl.Subject.CommonName, err)
	}
	keyPEM, err = encodeKey(key)
	if err != nil {
		return nil, nil, err
	}
	return encodeCert(der), keyPEM, nil
}

// WriteKeyPair stores a PEM certificate (mode 0644) and its PEM key (mode
// 0600), creating missing directories. Each file is replaced atomically.
func WriteKeyPair(certFile, keyFile string, certPEM, keyPEM []byte) error {
	if err := atomicfile.Write(certFile, certPEM, 0o644); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	if err := atomicfile.Write(keyFile, keyPEM, 0o600); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	return nil
}

// parseCertPEM returns the first certificate in PEM data.
func parseCertPEM(data []byte) (*x509.Certificate, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errors.New("no PEM CERTIFICATE block found")
		}
		if block.Type == "CERTIFICATE" {
			return x509.ParseCertificate(block.Bytes)
		}
	}
}

func parseKeyPEM(data []byte) (crypto.Signer, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errors.New("no PEM private key block found")
		}
		var (
			key any
			err error
		)
		switch block.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", block.Type, err)
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("%s of type %T cannot sign", block.Type, key)
		}
		return signer, nil
	}
}

func newKey() (*ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("pki: generate key: %w", err)
	}
	return key, nil
}

func newSerial() (*big.Int, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("pki: generate serial number: %w", err)
	}
	return serial, nil
}

func encodeCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func encodeKey(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("pki: encode key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	da, err := x509.MarshalPKIXPublicKey(a)
	if err != nil {
		return false
	}
	db, err := x509.MarshalPKIXPublicKey(b)
	if err != nil {
		return false
	}
	return bytes.Equal(da, db)
}

func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return false, fmt.Errorf("pki: %w", err)
}
