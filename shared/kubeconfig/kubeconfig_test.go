package kubeconfig

import (
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/tools/clientcmd"

	"navarch.dev/shared/pki"
)

func TestWriteRESTConfigRoundTrip(t *testing.T) {
	ca, err := pki.NewCA("test-ca")
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.IssueClient("admin", []string{"system:masters"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		cfg         Config
		wantContext string
		wantNS      string
	}{
		{
			name:        "client certificate",
			cfg:         Config{Server: "https://127.0.0.1:6443", CAData: ca.CertPEM, CertData: certPEM, KeyData: keyPEM, User: "admin", Cluster: "prod"},
			wantContext: "admin@prod",
		},
		{
			name:        "bearer token with namespace",
			cfg:         Config{Server: "https://10.0.0.1:6443", CAData: ca.CertPEM, Token: "abc.def", User: "ci", Cluster: "lab", Namespace: "team-a"},
			wantContext: "ci@lab",
			wantNS:      "team-a",
		},
		{
			name:        "default entry names",
			cfg:         Config{Server: "https://localhost:6443", Token: "t0ken"},
			wantContext: DefaultUser + "@" + DefaultCluster,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "etc", "navarch", "admin.conf")
			if err := Write(path, tt.cfg); err != nil {
				t.Fatalf("Write: %v", err)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
			}

			rc, err := RESTConfig(path)
			if err != nil {
				t.Fatalf("RESTConfig: %v", err)
			}
			if rc.Host != tt.cfg.Server {
				t.Errorf("Host = %q, want %q", rc.Host, tt.cfg.Server)
			}
			if string(rc.CAData) != string(tt.cfg.CAData) {
				t.Errorf("CAData = %q, want %q", rc.CAData, tt.cfg.CAData)
			}
			if string(rc.CertData) != string(tt.cfg.CertData) || string(rc.KeyData) != string(tt.cfg.KeyData) {
				t.Error("client certificate or key did not round trip")
			}
			if rc.BearerToken != tt.cfg.Token {
				t.Errorf("BearerToken = %q, want %q", rc.BearerToken, tt.cfg.Token)
			}

			// What kubectl sees: the current context and its namespace.
			raw, err := clientcmd.LoadFromFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if raw.CurrentContext != tt.wantContext {
				t.Errorf("current-context = %q, want %q", raw.CurrentContext, tt.wantContext)
			}
			ns, _, err := clientcmd.NewDefaultClientConfig(*raw, nil).Namespace()
			if err != nil {
				t.Fatal(err)
			}
			wantNS := tt.wantNS
			if wantNS == "" {
				wantNS = "default"
			}
			if ns != wantNS {
				t.Errorf("namespace = %q, want %q", ns, wantNS)
			}
		})
	}
}

func TestWriteRejectsIncompleteConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{name: "no server", cfg: Config{Token: "x"}, wantErr: "server is empty"},
		{name: "certificate without key", cfg: Config{Server: "https://a:6443", CertData: []byte("c")}, wantErr: "together"},
		{name: "key without certificate", cfg: Config{Server: "https://a:6443", KeyData: []byte("k")}, wantErr: "together"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "kubeconfig")
			err := Write(path, tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Write error = %v, want one containing %q", err, tt.wantErr)
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Errorf("Write left a file behind (stat error %v)", err)
			}
		})
	}
}

func TestRESTConfigLoading(t *testing.T) {
	dir := t.TempDir()
	fromEnv := filepath.Join(dir, "from-env.conf")
	if err := Write(fromEnv, Config{Server: "https://env.example:6443", Token: "t"}); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage.conf")
	if err := os.WriteFile(garbage, []byte("clusters: [this is not a kubeconfig"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.conf")

	tests := []struct {
		name       string
		path       string
		kubeconfig string // $KUBECONFIG
		wantHost   string
		wantErr    []string
	}{
		{name: "explicit path", path: fromEnv, wantHost: "https://env.example:6443"},
		{name: "empty path reads KUBECONFIG", kubeconfig: fromEnv, wantHost: "https://env.example:6443"},
		{name: "explicit path wins over KUBECONFIG", path: fromEnv, kubeconfig: garbage, wantHost: "https://env.example:6443"},
		{name: "missing file", path: missing, wantErr: []string{missing, "no such file"}},
		{name: "malformed file", path: garbage, wantErr: []string{garbage}},
		{name: "nothing configured", wantErr: []string{"default kubeconfig", "no configuration has been provided"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("KUBECONFIG", tt.kubeconfig)
			t.Setenv("HOME", t.TempDir())
			t.Setenv("KUBERNETES_SERVICE_HOST", "")
			t.Setenv("KUBERNETES_SERVICE_PORT", "")
			rc, err := RESTConfig(tt.path)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("RESTConfig succeeded with host %q, want error", rc.Host)
				}
				for _, want := range tt.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not contain %q", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("RESTConfig: %v", err)
			}
			if rc.Host != tt.wantHost {
				t.Errorf("Host = %q, want %q", rc.Host, tt.wantHost)
			}
		})
	}
}

// TestClientsetTalksToServer checks that a client built from a written
// kubeconfig trusts the server through CAData, authenticates with its client
// certificate or token, and sends its user agent.
func TestClientsetTalksToServer(t *testing.T) {
	ca, err := pki.NewCA("test-ca")
	if err != nil {
		t.Fatal(err)
	}
	serverCert, serverKey, err := ca.IssueServing("apiserver", []string{"localhost"}, []net.IP{net.ParseIP("127.0.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(serverCert, serverKey)
	if err != nil {
		t.Fatal(err)
	}

	type seen struct{ user, userAgent string }
	var (
		mu   sync.Mutex
		last seen
	)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := seen{userAgent: r.UserAgent()}
		if len(r.TLS.PeerCertificates) > 0 {
			s.user = "cert:" + r.TLS.PeerCertificates[0].Subject.CommonName
		} else if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			s.user = "token:" + tok
		}
		mu.Lock()
		last = s
		mu.Unlock()
		if r.URL.Path != "/version" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(version.Info{GitVersion: "v1.34.0-navarch"})
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, ClientCAs: ca.Pool(), ClientAuth: tls.VerifyClientCertIfGiven}
	srv.StartTLS()
	defer srv.Close()

	certPEM, keyPEM, err := ca.IssueClient("system:kube-scheduler", nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		cfg       Config
		userAgent string
		want      seen
	}{
		{
			name:      "client certificate",
			cfg:       Config{Server: srv.URL, CAData: ca.CertPEM, CertData: certPEM, KeyData: keyPEM},
			userAgent: "navarch-scheduler/v0.1.0",
			want:      seen{user: "cert:system:kube-scheduler", userAgent: "navarch-scheduler/v0.1.0"},
		},
		{
			name:      "bearer token",
			cfg:       Config{Server: srv.URL, CAData: ca.CertPEM, Token: "s3cret"},
			userAgent: "navarch-proxy",
			want:      seen{user: "token:s3cret", userAgent: "navarch-proxy"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "kubeconfig")
			if err := Write(path, tt.cfg); err != nil {
				t.Fatal(err)
			}
			client, rc, err := Clientset(path, tt.userAgent)
			if err != nil {
				t.Fatalf("Clientset: %v", err)
			}
			if rc.QPS != DaemonQPS || rc.Burst != DaemonBurst {
				t.Errorf("QPS/Burst = %v/%v, want %v/%v", rc.QPS, rc.Burst, DaemonQPS, DaemonBurst)
			}
			info, err := client.Discovery().ServerVersion()
			if err != nil {
				t.Fatalf("ServerVersion: %v", err)
			}
			if info.GitVersion != "v1.34.0-navarch" {
				t.Errorf("GitVersion = %q", info.GitVersion)
			}
			mu.Lock()
			got := last
			mu.Unlock()
			if got != tt.want {
				t.Errorf("server saw %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestClientsetMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope")
	if _, _, err := Clientset(path, "x"); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Clientset error = %v, want one naming %s", err, path)
	}
}
