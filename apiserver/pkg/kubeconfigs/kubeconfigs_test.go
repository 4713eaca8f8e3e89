package kubeconfigs

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"navarch.dev/shared/kubeconfig"
	"navarch.dev/shared/pki"
)

func TestNamed(t *testing.T) {
	tests := []struct {
		name       string
		arg        string
		wantUser   string
		wantGroups []string
		wantErr    bool
	}{
		{name: "admin", arg: "admin", wantUser: "kubernetes-admin", wantGroups: []string{"system:masters"}},
		{name: "scheduler", arg: "scheduler", wantUser: "system:kube-scheduler"},
		{name: "controller-manager", arg: "controller-manager", wantUser: "system:kube-controller-manager"},
		{name: "proxy", arg: "proxy", wantUser: "system:kube-proxy"},
		{name: "dns", arg: "dns", wantUser: "system:serviceaccount:kube-system:navarch-dns",
			wantGroups: []string{"system:serviceaccounts", "system:serviceaccounts:kube-system"}},
		{name: "node", arg: "node:worker1", wantUser: "system:node:worker1", wantGroups: []string{"system:nodes"}},
		{name: "node without name", arg: "node:", wantErr: true},
		{name: "node name with slash", arg: "node:a/b", wantErr: true},
		{name: "unknown", arg: "etcd", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := Named(tt.arg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Named(%q) error = %v, want error %v", tt.arg, err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if id.User != tt.wantUser || !slices.Equal(id.Groups, tt.wantGroups) {
				t.Errorf("Named(%q) = %+v, want user %q groups %v", tt.arg, id, tt.wantUser, tt.wantGroups)
			}
		})
	}
}

// clientCert returns the client certificate of the kubeconfig at path, read
// the way every component reads it.
func clientCert(t *testing.T, path string) (*x509.Certificate, string) {
	t.Helper()
	cfg, err := kubeconfig.RESTConfig(path)
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	block, _ := pem.Decode(cfg.TLSClientConfig.CertData)
	if block == nil {
		t.Fatalf("%s: no client certificate", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert, cfg.Host
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	ca, err := pki.EnsureCA(filepath.Join(dir, "pki"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "kubelet.conf")
	const server = "https://192.0.2.10:6443"

	wrote, err := Write(ca, path, server, Node("worker1"))
	if err != nil || !wrote {
		t.Fatalf("first Write = %v, %v; want written", wrote, err)
	}
	cert, host := clientCert(t, path)
	if host != server {
		t.Errorf("server = %q, want %q", host, server)
	}
	if cert.Subject.CommonName != "system:node:worker1" || !slices.Equal(cert.Subject.Organization, []string{"system:nodes"}) {
		t.Errorf("subject = %v, want CN system:node:worker1 O system:nodes", cert.Subject)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client certificate does not verify against the cluster CA: %v", err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}

	// Same identity, server and CA: the file is kept.
	if wrote, err := Write(ca, path, server, Node("worker1")); err != nil || wrote {
		t.Fatalf("second Write = %v, %v; want kept", wrote, err)
	}
	if again, _ := clientCert(t, path); !again.Equal(cert) {
		t.Error("second Write replaced the certificate")
	}

	otherCA, err := pki.NewCA("other")
	if err != nil {
		t.Fatal(err)
	}
	changes := []struct {
		name   string
		ca     *pki.CA
		server string
		id     Identity
	}{
		{name: "other server", ca: ca, server: "https://127.0.0.1:6443", id: Node("worker1")},
		{name: "other identity", ca: ca, server: server, id: Node("worker2")},
		{name: "other groups", ca: ca, server: server, id: Identity{User: "system:node:worker2"}},
		{name: "other CA", ca: otherCA, server: server, id: Identity{User: "system:node:worker2"}},
	}
	for _, c := range changes {
		t.Run(c.name, func(t *testing.T) {
			wrote, err := Write(c.ca, path, c.server, c.id)
			if err != nil || !wrote {
				t.Fatalf("Write = %v, %v; want written", wrote, err)
			}
			cert, host := clientCert(t, path)
			if host != c.server || cert.Subject.CommonName != c.id.User || !slices.Equal(cert.Subject.Organization, c.id.Groups) {
				t.Errorf("got %s %v, want %s %+v", host, cert.Subject, c.server, c.id)
			}
			if _, err := cert.Verify(x509.VerifyOptions{Roots: c.ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
				t.Errorf("certificate not signed by the given CA: %v", err)
			}
		})
	}
}

func TestWriteRejectsBadInput(t *testing.T) {
	ca, err := pki.NewCA("test")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "x.conf")
	if _, err := Write(ca, path, "", Scheduler); err == nil {
		t.Error("Write with no server succeeded")
	}
	if _, err := Write(ca, path, "https://127.0.0.1:6443", Identity{}); err == nil {
		t.Error("Write with no user succeeded")
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("a rejected Write left %s behind", path)
	}
}
