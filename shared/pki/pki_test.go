package pki

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func mustCA(t *testing.T, name string) *CA {
	t.Helper()
	ca, err := NewCA(name)
	if err != nil {
		t.Fatalf("NewCA(%q): %v", name, err)
	}
	return ca
}

func mustParse(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	cert, err := parseCertPEM(certPEM)
	if err != nil {
		t.Fatalf("parse certificate: %v", err)
	}
	return cert
}

func TestIssueClient(t *testing.T) {
	ca := mustCA(t, "test-ca")
	other := mustCA(t, "other-ca")
	tests := []struct {
		name      string
		user      string
		groups    []string
		roots     *CA
		usage     x509.ExtKeyUsage
		wantErr   bool
		verifyErr bool
	}{
		{name: "admin in system:masters", user: "admin", groups: []string{"system:masters"}, roots: ca, usage: x509.ExtKeyUsageClientAuth},
		{name: "node with group", user: "system:node:worker1", groups: []string{"system:nodes"}, roots: ca, usage: x509.ExtKeyUsageClientAuth},
		{name: "user without groups", user: "jane", roots: ca, usage: x509.ExtKeyUsageClientAuth},
		{name: "several groups", user: "bob", groups: []string{"dev", "ops"}, roots: ca, usage: x509.ExtKeyUsageClientAuth},
		{name: "not a serving certificate", user: "admin", roots: ca, usage: x509.ExtKeyUsageServerAuth, verifyErr: true},
		{name: "not trusted by another CA", user: "admin", roots: other, usage: x509.ExtKeyUsageClientAuth, verifyErr: true},
		{name: "empty user name", user: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			certPEM, keyPEM, err := ca.IssueClient(tt.user, tt.groups)
			if tt.wantErr {
				if err == nil {
					t.Fatal("IssueClient succeeded, want error")
				}
				return
			}
			if err != nil {
				t.Fatalf("IssueClient: %v", err)
			}
			if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
				t.Fatalf("certificate and key do not form a key pair: %v", err)
			}
			cert := mustParse(t, certPEM)
			_, err = cert.Verify(x509.VerifyOptions{Roots: tt.roots.Pool(), KeyUsages: []x509.ExtKeyUsage{tt.usage}})
			if tt.verifyErr != (err != nil) {
				t.Fatalf("Verify error = %v, want error %v", err, tt.verifyErr)
			}
			if cert.Subject.CommonName != tt.user {
				t.Errorf("CN = %q, want %q", cert.Subject.CommonName, tt.user)
			}
			if !slices.Equal(cert.Subject.Organization, tt.groups) {
				t.Errorf("O = %q, want %q", cert.Subject.Organization, tt.groups)
			}
			if cert.IsCA {
				t.Error("client certificate is a CA certificate")
			}
		})
	}
}

func TestIssueServing(t *testing.T) {
	ca := mustCA(t, "test-ca")
	certPEM, keyPEM, err := ca.IssueServing("navarch-apiserver",
		[]string{"localhost", "kubernetes.default.svc"},
		[]net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.96.0.1")})
	if err != nil {
		t.Fatalf("IssueServing: %v", err)
	}
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		t.Fatalf("certificate and key do not form a key pair: %v", err)
	}
	cert := mustParse(t, certPEM)
	tests := []struct {
		name    string
		host    string
		usage   x509.ExtKeyUsage
		wantErr bool
	}{
		{name: "dns name", host: "localhost", usage: x509.ExtKeyUsageServerAuth},
		{name: "second dns name", host: "kubernetes.default.svc", usage: x509.ExtKeyUsageServerAuth},
		{name: "ipv4 address", host: "127.0.0.1", usage: x509.ExtKeyUsageServerAuth},
		{name: "service ip", host: "10.96.0.1", usage: x509.ExtKeyUsageServerAuth},
		{name: "other dns name", host: "example.com", usage: x509.ExtKeyUsageServerAuth, wantErr: true},
		{name: "other ip", host: "10.0.0.9", usage: x509.ExtKeyUsageServerAuth, wantErr: true},
		{name: "common name is not a SAN", host: "navarch-apiserver", usage: x509.ExtKeyUsageServerAuth, wantErr: true},
		{name: "not a client certificate", host: "localhost", usage: x509.ExtKeyUsageClientAuth, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := cert.Verify(x509.VerifyOptions{
				DNSName:   tt.host,
				Roots:     ca.Pool(),
				KeyUsages: []x509.ExtKeyUsage{tt.usage},
			})
			if tt.wantErr != (err != nil) {
				t.Fatalf("Verify(%q) error = %v, want error %v", tt.host, err, tt.wantErr)
			}
		})
	}
}

func TestIssueServingRequiresNames(t *testing.T) {
	ca := mustCA(t, "test-ca")
	if _, _, err := ca.IssueServing("nameless", nil, nil); err == nil {
		t.Fatal("IssueServing without DNS names or IPs succeeded, want error")
	}
}

// TestMutualTLS checks what a component sees: a client presenting a client
// certificate reaches a server presenting a serving certificate, both issued
// by the same CA, and the server reads the user and groups from it.
func TestMutualTLS(t *testing.T) {
	ca := mustCA(t, "test-ca")
	serverCert, serverKey, err := ca.IssueServing("server", nil, []net.IP{net.ParseIP("127.0.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	serverPair, err := tls.X509KeyPair(serverCert, serverKey)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer := r.TLS.PeerCertificates[0]
		io.WriteString(w, peer.Subject.CommonName+" "+strings.Join(peer.Subject.Organization, ","))
	}))
	srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{serverPair},
		ClientCAs:    ca.Pool(),
		ClientAuth:   tls.RequireAndVerifyClientCert,
	}
	srv.StartTLS()
	defer srv.Close()

	tests := []struct {
		name    string
		issuer  *CA
		want    string
		wantErr bool
	}{
		{name: "client of the cluster CA", issuer: ca, want: "system:kube-scheduler system:schedulers"},
		{name: "client of another CA", issuer: mustCA(t, "other-ca"), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			certPEM, keyPEM, err := tt.issuer.IssueClient("system:kube-scheduler", []string{"system:schedulers"})
			if err != nil {
				t.Fatal(err)
			}
			pair, err := tls.X509KeyPair(certPEM, keyPEM)
			if err != nil {
				t.Fatal(err)
			}
			client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
				RootCAs:      ca.Pool(),
				Certificates: []tls.Certificate{pair},
			}}}
			defer client.CloseIdleConnections()
			resp, err := client.Get(srv.URL)
			if tt.wantErr {
				if err == nil {
					resp.Body.Close()
					t.Fatal("request succeeded, want TLS failure")
				}
				return
			}
			if err != nil {
				t.Fatalf("GET: %v", err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if string(body) != tt.want {
				t.Errorf("server saw %q, want %q", body, tt.want)
			}
		})
	}
}

func TestEnsureCA(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki", "nested")
	first, err := EnsureCA(dir)
	if err != nil {
		t.Fatalf("first EnsureCA: %v", err)
	}
	second, err := EnsureCA(dir)
	if err != nil {
		t.Fatalf("second EnsureCA: %v", err)
	}
	if !first.Cert.Equal(second.Cert) {
		t.Error("second EnsureCA returned a different certificate")
	}
	if string(first.CertPEM) != string(second.CertPEM) {
		t.Error("second EnsureCA returned different CertPEM")
	}
	if !first.Cert.IsCA || first.Cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Error("EnsureCA certificate cannot sign certificates")
	}

	// A certificate issued with the loaded key verifies against the first CA.
	certPEM, _, err := second.IssueClient("admin", []string{"system:masters"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mustParse(t, certPEM).Verify(x509.VerifyOptions{Roots: first.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("certificate from the reloaded CA does not verify against the original: %v", err)
	}

	tests := []struct {
		name string
		file string
		mode os.FileMode
	}{
		{name: "certificate readable", file: CACertFile, mode: 0o644},
		{name: "key private", file: CAKeyFile, mode: 0o600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fi, err := os.Stat(filepath.Join(dir, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != tt.mode {
				t.Errorf("mode of %s = %v, want %v", tt.file, got, tt.mode)
			}
		})
	}
}

func TestEnsureCAHalfPresent(t *testing.T) {
	tests := []struct {
		name   string
		remove string
	}{
		{name: "key missing", remove: CAKeyFile},
		{name: "certificate missing", remove: CACertFile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := EnsureCA(dir); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(filepath.Join(dir, tt.remove)); err != nil {
				t.Fatal(err)
			}
			if _, err := EnsureCA(dir); err == nil || !strings.Contains(err.Error(), tt.remove) {
				t.Fatalf("EnsureCA error = %v, want one naming %s", err, tt.remove)
			}
		})
	}
}

func TestLoadCA(t *testing.T) {
	dir := t.TempDir()
	ca := mustCA(t, "test-ca")
	if err := ca.Write(filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key")); err != nil {
		t.Fatal(err)
	}
	other := mustCA(t, "other-ca")
	if err := other.Write(filepath.Join(dir, "other.crt"), filepath.Join(dir, "other.key")); err != nil {
		t.Fatal(err)
	}
	leafCert, leafKey, err := ca.IssueServing("leaf", []string{"localhost"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteKeyPair(filepath.Join(dir, "leaf.crt"), filepath.Join(dir, "leaf.key"), leafCert, leafKey); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "garbage.crt"), []byte("not pem"), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		cert    string
		key     string
		wantErr string
	}{
		{name: "matching pair", cert: "ca.crt", key: "ca.key"},
		{name: "key of another CA", cert: "ca.crt", key: "other.key", wantErr: "does not match"},
		{name: "leaf certificate", cert: "leaf.crt", key: "leaf.key", wantErr: "not a CA"},
		{name: "missing certificate", cert: "absent.crt", key: "ca.key", wantErr: "absent.crt"},
		{name: "missing key", cert: "ca.crt", key: "absent.key", wantErr: "absent.key"},
		{name: "not PEM", cert: "garbage.crt", key: "ca.key", wantErr: "no PEM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LoadCA(filepath.Join(dir, tt.cert), filepath.Join(dir, tt.key))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("LoadCA error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadCA: %v", err)
			}
			if !got.Cert.Equal(ca.Cert) {
				t.Error("loaded a different certificate")
			}
		})
	}
}
