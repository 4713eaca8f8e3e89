package integration

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"navarch.dev/apiserver/pkg/server"
	"navarch.dev/apiserver/testserver"
	"navarch.dev/shared/pki"
)

// An operator's own PKI (--tls-cert-file, --tls-private-key-file,
// --client-ca-file) and a static token file (--token-auth-file).
func TestGivenCertificatesAndTokenFile(t *testing.T) {
	dir := t.TempDir()
	ca, err := pki.NewCA("operator-ca")
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.IssueServing("apiserver", []string{"localhost"}, []net.IP{net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, caFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"), filepath.Join(dir, "ca.crt")
	if err := pki.WriteKeyPair(certFile, keyFile, certPEM, keyPEM); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(caFile, ca.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(tokenFile, []byte("s3cret,alice,1001,\"dev,ops\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ts := testserver.Start(t, func(o *server.Options) {
		o.TLSCertFile, o.TLSKeyFile, o.ClientCAFile, o.TokenAuthFile = certFile, keyFile, caFile, tokenFile
	})
	if _, err := os.Stat(ts.Kubeconfig); err == nil {
		// The test server loads its client config from the generated admin
		// kubeconfig; with given certificates none may be generated.
		t.Fatalf("admin kubeconfig written although the server has no CA key")
	}
	base := rest.Config{Host: ts.URL, TLSClientConfig: rest.TLSClientConfig{CAData: ca.CertPEM}}

	clientCert, clientKey, err := ca.IssueClient("bob", []string{"devs"})
	if err != nil {
		t.Fatal(err)
	}
	otherCA, _ := pki.NewCA("someone-else")
	strangerCert, strangerKey, _ := otherCA.IssueClient("mallory", nil)

	tests := []struct {
		name   string
		modify func(*rest.Config)
		wantOK bool
	}{
		{name: "client certificate from the client CA", modify: func(c *rest.Config) { c.CertData, c.KeyData = clientCert, clientKey }, wantOK: true},
		{name: "token from the token file", modify: func(c *rest.Config) { c.BearerToken = "s3cret" }, wantOK: true},
		{name: "certificate from another CA", modify: func(c *rest.Config) { c.CertData, c.KeyData = strangerCert, strangerKey }},
		{name: "unknown token", modify: func(c *rest.Config) { c.BearerToken = "guess" }},
		{name: "nothing", modify: func(*rest.Config) {}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			tc.modify(&cfg)
			cs, err := kubernetes.NewForConfig(&cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = cs.CoreV1().Namespaces().Get(testContext(t), "default", metav1.GetOptions{})
			if tc.wantOK && err != nil {
				t.Fatalf("want access, got %v", err)
			}
			if !tc.wantOK && !apierrors.IsUnauthorized(err) {
				t.Fatalf("want 401, got %v", err)
			}
		})
	}
}
