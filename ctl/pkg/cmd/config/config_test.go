package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"navarch.dev/e2e/clitest"
)

// fixture is a kubeconfig with two clusters, users and contexts; "dev" is current.
const fixture = `apiVersion: v1
kind: Config
clusters:
- name: dev-cluster
  cluster:
    server: https://dev.example:6443
    certificate-authority-data: ZmFrZS1jYQ==
- name: prod-cluster
  cluster:
    server: https://prod.example:6443
contexts:
- name: dev
  context:
    cluster: dev-cluster
    user: alice
    namespace: team-a
- name: prod
  context:
    cluster: prod-cluster
    user: bob
current-context: dev
users:
- name: alice
  user:
    client-certificate-data: ZmFrZS1jZXJ0
    client-key-data: ZmFrZS1rZXk=
- name: bob
  user:
    token: s3cret
`

// writeFixture writes content to a new kubeconfig file and returns its path.
func writeFixture(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func load(t *testing.T, path string) *clientcmdapi.Config {
	t.Helper()
	c, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	return c
}

func TestView(t *testing.T) {
	env := clitest.Offline(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{
			name: "secrets redacted",
			args: []string{"config", "view"},
			want: `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: DATA+OMITTED
    server: https://dev.example:6443
  name: dev-cluster
- cluster:
    server: https://prod.example:6443
  name: prod-cluster
contexts:
- context:
    cluster: dev-cluster
    namespace: team-a
    user: alice
  name: dev
- context:
    cluster: prod-cluster
    user: bob
  name: prod
current-context: dev
kind: Config
users:
- name: alice
  user:
    client-certificate-data: DATA+OMITTED
    client-key-data: DATA+OMITTED
- name: bob
  user:
    token: REDACTED
`,
		},
		{
			name: "minify keeps the current context only",
			args: []string{"config", "view", "--minify"},
			want: `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: DATA+OMITTED
    server: https://dev.example:6443
  name: dev-cluster
contexts:
- context:
    cluster: dev-cluster
    namespace: team-a
    user: alice
  name: dev
current-context: dev
kind: Config
users:
- name: alice
  user:
    client-certificate-data: DATA+OMITTED
    client-key-data: DATA+OMITTED
`,
		},
		{
			name: "minify raw for another context",
			args: []string{"config", "view", "--minify", "--raw", "--context", "prod"},
			want: `apiVersion: v1
clusters:
- cluster:
    server: https://prod.example:6443
  name: prod-cluster
contexts:
- context:
    cluster: prod-cluster
    user: bob
  name: prod
current-context: prod
kind: Config
users:
- name: bob
  user:
    token: s3cret
`,
		},
		{
			name: "jsonpath",
			args: []string{"config", "view", "-o", "jsonpath={.contexts[*].name}"},
			want: "dev prod",
		},
		{
			name: "flatten keeps data",
			args: []string{"config", "view", "--flatten", "-o", "jsonpath={.clusters[0].cluster.certificate-authority-data}"},
			want: "ZmFrZS1jYQ==",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFixture(t, fixture)
			r := env.RunEnv(t, []string{"KUBECONFIG=" + path}, "", tt.args...)
			if r.Code != 0 || r.Stdout != tt.want {
				t.Errorf("navctl %s: exit %d\nstdout:\n%s\nwant:\n%s\nstderr: %s", strings.Join(tt.args, " "), r.Code, r.Stdout, tt.want, r.Stderr)
			}
		})
	}

	t.Run("json", func(t *testing.T) {
		path := writeFixture(t, fixture)
		r := env.RunEnv(t, nil, "", "--kubeconfig", path, "config", "view", "-o", "json")
		for _, want := range []string{`"kind": "Config",`, `"current-context": "dev"`, `"token": "REDACTED"`} {
			if !strings.Contains(r.Stdout, want) {
				t.Errorf("config view -o json: want %q in\n%s", want, r.Stdout)
			}
		}
	})
	t.Run("unexpected argument", func(t *testing.T) {
		r := env.Run(t, "", "config", "view", "extra")
		want := "error: unexpected arguments: [extra]\nSee 'navctl config view -h' for help and examples\n"
		if r.Code != 1 || r.Stderr != want {
			t.Errorf("exit %d, stderr %q; want 1, %q", r.Code, r.Stderr, want)
		}
	})
}

func TestContexts(t *testing.T) {
	env := clitest.Offline(t)
	tests := []struct {
		name       string
		args       []string
		wantOut    string
		wantErr    string
		wantCode   int
		wantConfig func(t *testing.T, c *clientcmdapi.Config)
	}{
		{
			name: "get-contexts",
			args: []string{"config", "get-contexts"},
			wantOut: "CURRENT   NAME   CLUSTER        AUTHINFO   NAMESPACE\n" +
				"*         dev    dev-cluster    alice      team-a\n" +
				"          prod   prod-cluster   bob        \n",
		},
		{
			name:    "get-contexts by name without headers",
			args:    []string{"config", "get-contexts", "prod", "--no-headers"},
			wantOut: "      prod   prod-cluster   bob   \n",
		},
		{
			name:    "get-contexts -o name",
			args:    []string{"config", "get-contexts", "-o", "name"},
			wantOut: "dev\nprod\n",
		},
		{
			name:     "get-contexts unknown",
			args:     []string{"config", "get-contexts", "dev", "nope"},
			wantOut:  "CURRENT   NAME   CLUSTER       AUTHINFO   NAMESPACE\n*         dev    dev-cluster   alice      team-a\n",
			wantErr:  "error: context nope not found\n",
			wantCode: 1,
		},
		{
			name:     "get-contexts -o yaml",
			args:     []string{"config", "get-contexts", "-o", "yaml"},
			wantErr:  "error: --output yaml is not available in navctl config get-contexts; resetting to default output format\n",
			wantCode: 1,
		},
		{
			name:    "current-context",
			args:    []string{"config", "current-context"},
			wantOut: "dev\n",
		},
		{
			name:    "use-context",
			args:    []string{"config", "use-context", "prod"},
			wantOut: "Switched to context \"prod\".\n",
			wantConfig: func(t *testing.T, c *clientcmdapi.Config) {
				if c.CurrentContext != "prod" {
					t.Errorf("current-context %q, want prod", c.CurrentContext)
				}
			},
		},
		{
			name:     "use-context unknown",
			args:     []string{"config", "use-context", "nope"},
			wantErr:  "error: no context exists with the name: \"nope\"\n",
			wantCode: 1,
		},
		{
			name:    "set-context creates",
			args:    []string{"config", "set-context", "staging", "--cluster=prod-cluster", "--user=bob", "--namespace=qa"},
			wantOut: "Context \"staging\" created.\n",
			wantConfig: func(t *testing.T, c *clientcmdapi.Config) {
				ctx := c.Contexts["staging"]
				if ctx == nil || ctx.Cluster != "prod-cluster" || ctx.AuthInfo != "bob" || ctx.Namespace != "qa" {
					t.Errorf("context staging = %+v", ctx)
				}
			},
		},
		{
			name:    "set-context modifies only the given fields",
			args:    []string{"config", "set-context", "dev", "--namespace=team-b"},
			wantOut: "Context \"dev\" modified.\n",
			wantConfig: func(t *testing.T, c *clientcmdapi.Config) {
				ctx := c.Contexts["dev"]
				if ctx.Namespace != "team-b" || ctx.Cluster != "dev-cluster" || ctx.AuthInfo != "alice" {
					t.Errorf("context dev = %+v", ctx)
				}
			},
		},
		{
			name:    "set-context --current",
			args:    []string{"config", "set-context", "--current", "--namespace=kube-system"},
			wantOut: "Context \"dev\" modified.\n",
			wantConfig: func(t *testing.T, c *clientcmdapi.Config) {
				if ns := c.Contexts["dev"].Namespace; ns != "kube-system" {
					t.Errorf("dev namespace %q, want kube-system", ns)
				}
			},
		},
		{
			name:     "set-context without a name",
			args:     []string{"config", "set-context", "--namespace=x"},
			wantErr:  "error: you must specify a non-empty context name or --current\n",
			wantCode: 1,
		},
		{
			name:     "set-context with a name and --current",
			args:     []string{"config", "set-context", "dev", "--current"},
			wantErr:  "error: you cannot specify both a context name and --current\n",
			wantCode: 1,
		},
		{
			name:    "delete-context",
			args:    []string{"config", "delete-context", "prod"},
			wantOut: "deleted context prod from KUBECONFIG\n",
			wantConfig: func(t *testing.T, c *clientcmdapi.Config) {
				if _, ok := c.Contexts["prod"]; ok {
					t.Error("context prod still there")
				}
			},
		},
		{
			name:    "delete-context of the current context warns",
			args:    []string{"config", "delete-context", "dev"},
			wantOut: "deleted context dev from KUBECONFIG\n",
			wantErr: "warning: this removed your active context, use \"navctl config use-context\" to select a different one\n",
		},
		{
			name:     "delete-context unknown",
			args:     []string{"config", "delete-context", "nope"},
			wantErr:  "error: cannot delete context nope, not in KUBECONFIG\n",
			wantCode: 1,
		},
		{
			name:    "rename-context of the current context",
			args:    []string{"config", "rename-context", "dev", "development"},
			wantOut: "Context \"dev\" renamed to \"development\".\n",
			wantConfig: func(t *testing.T, c *clientcmdapi.Config) {
				if c.CurrentContext != "development" || c.Contexts["development"] == nil || c.Contexts["dev"] != nil {
					t.Errorf("current %q, contexts %v", c.CurrentContext, c.Contexts)
				}
			},
		},
		{
			name:    "get-clusters",
			args:    []string{"config", "get-clusters"},
			wantOut: "NAME\ndev-cluster\nprod-cluster\n",
		},
		{
			name:    "get-users",
			args:    []string{"config", "get-users"},
			wantOut: "NAME\nalice\nbob\n",
		},
		{
			name:    "delete-cluster",
			args:    []string{"config", "delete-cluster", "prod-cluster"},
			wantOut: "deleted cluster prod-cluster from KUBECONFIG\n",
		},
		{
			name:    "delete-user",
			args:    []string{"config", "delete-user", "bob"},
			wantOut: "deleted user bob from KUBECONFIG\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFixture(t, fixture)
			r := env.RunEnv(t, []string{"KUBECONFIG=" + path}, "", tt.args...)
			wantOut := strings.ReplaceAll(tt.wantOut, "KUBECONFIG", path)
			wantErr := strings.ReplaceAll(tt.wantErr, "KUBECONFIG", path)
			if r.Code != tt.wantCode || r.Stdout != wantOut || r.Stderr != wantErr {
				t.Errorf("navctl %s: exit %d, want %d\nstdout: %q\nwant:   %q\nstderr: %q\nwant:   %q",
					strings.Join(tt.args, " "), r.Code, tt.wantCode, r.Stdout, wantOut, r.Stderr, wantErr)
			}
			if tt.wantConfig != nil {
				tt.wantConfig(t, load(t, path))
			}
		})
	}
}

// TestNoKubeconfig runs with no kubeconfig file at all.
func TestNoKubeconfig(t *testing.T) {
	env := clitest.Offline(t)
	tests := []struct {
		name     string
		args     string
		wantOut  string
		wantErr  string
		wantCode int
	}{
		{name: "current-context", args: "config current-context", wantCode: 1, wantErr: "error: current-context is not set\n"},
		{name: "view", args: "config view",
			wantOut: "apiVersion: v1\nclusters: null\ncontexts: null\ncurrent-context: \"\"\nkind: Config\nusers: null\n"},
		{name: "minify", args: "config view --minify", wantCode: 1, wantErr: "error: current-context must exist in order to minify\n"},
		{name: "set-context --current", args: "config set-context --current --namespace=x", wantCode: 1, wantErr: "error: no current context is set\n"},
		{name: "unknown subcommand", args: "config bogus", wantCode: 1, wantErr: "error: unknown command \"bogus\"\nSee 'navctl config -h' for help and examples\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := env.Run(t, "", strings.Fields(tt.args)...)
			if r.Code != tt.wantCode || r.Stdout != tt.wantOut || r.Stderr != tt.wantErr {
				t.Errorf("navctl %s: exit %d, want %d\nstdout: %q\nwant:   %q\nstderr: %q\nwant:   %q", tt.args, r.Code, tt.wantCode, r.Stdout, tt.wantOut, r.Stderr, tt.wantErr)
			}
		})
	}
	t.Run("no subcommand", func(t *testing.T) {
		r := env.Run(t, "", "config")
		if r.Code != 1 || r.Stdout != "" || !strings.Contains(r.Stderr, "Modify kubeconfig files using subcommands") {
			t.Errorf("exit %d\nstdout: %s\nstderr: %s", r.Code, r.Stdout, r.Stderr)
		}
	})
}

func TestSetClusterAndCredentials(t *testing.T) {
	env := clitest.Offline(t)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.crt")
	cert := filepath.Join(dir, "user.crt")
	key := filepath.Join(dir, "user.key")
	for p, data := range map[string]string{ca: "ca-bytes", cert: "cert-bytes", key: "key-bytes"} {
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name     string
		args     []string
		wantOut  string
		wantErr  string
		wantCode int
		check    func(t *testing.T, c *clientcmdapi.Config)
	}{
		{
			name:    "new cluster",
			args:    []string{"config", "set-cluster", "lab", "--server=https://10.0.0.1:6443", "--insecure-skip-tls-verify=true"},
			wantOut: "Cluster \"lab\" set.\n",
			check: func(t *testing.T, c *clientcmdapi.Config) {
				cl := c.Clusters["lab"]
				if cl == nil || cl.Server != "https://10.0.0.1:6443" || !cl.InsecureSkipTLSVerify {
					t.Errorf("cluster lab = %+v", cl)
				}
			},
		},
		{
			name:    "server only keeps the CA",
			args:    []string{"config", "set-cluster", "dev-cluster", "--server=https://other:6443"},
			wantOut: "Cluster \"dev-cluster\" set.\n",
			check: func(t *testing.T, c *clientcmdapi.Config) {
				cl := c.Clusters["dev-cluster"]
				if cl.Server != "https://other:6443" || string(cl.CertificateAuthorityData) != "fake-ca" {
					t.Errorf("cluster dev-cluster = %+v", cl)
				}
			},
		},
		{
			name:    "embedded CA",
			args:    []string{"config", "set-cluster", "prod-cluster", "--certificate-authority=" + ca, "--embed-certs"},
			wantOut: "Cluster \"prod-cluster\" set.\n",
			check: func(t *testing.T, c *clientcmdapi.Config) {
				cl := c.Clusters["prod-cluster"]
				if string(cl.CertificateAuthorityData) != "ca-bytes" || cl.CertificateAuthority != "" || cl.Server != "https://prod.example:6443" {
					t.Errorf("cluster prod-cluster = %+v", cl)
				}
			},
		},
		{
			name:    "CA file path",
			args:    []string{"config", "set-cluster", "dev-cluster", "--certificate-authority=" + ca},
			wantOut: "Cluster \"dev-cluster\" set.\n",
			check: func(t *testing.T, c *clientcmdapi.Config) {
				cl := c.Clusters["dev-cluster"]
				if cl.CertificateAuthority != ca || len(cl.CertificateAuthorityData) != 0 {
					t.Errorf("cluster dev-cluster = %+v", cl)
				}
			},
		},
		{
			name:     "CA and insecure",
			args:     []string{"config", "set-cluster", "x", "--certificate-authority=" + ca, "--insecure-skip-tls-verify"},
			wantErr:  "error: you cannot specify a certificate authority and insecure mode at the same time\n",
			wantCode: 1,
		},
		{
			name:     "embed without a CA",
			args:     []string{"config", "set-cluster", "x", "--embed-certs"},
			wantErr:  "error: you must specify a --certificate-authority to embed\n",
			wantCode: 1,
		},
		{
			name:    "token replaces basic auth",
			args:    []string{"config", "set-credentials", "alice", "--token=t0ken"},
			wantOut: "User \"alice\" set.\n",
			check: func(t *testing.T, c *clientcmdapi.Config) {
				u := c.AuthInfos["alice"]
				if u.Token != "t0ken" || string(u.ClientCertificateData) != "fake-cert" {
					t.Errorf("user alice = %+v", u)
				}
			},
		},
		{
			name:    "basic auth clears the token",
			args:    []string{"config", "set-credentials", "bob", "--username=bob", "--password=pw"},
			wantOut: "User \"bob\" set.\n",
			check: func(t *testing.T, c *clientcmdapi.Config) {
				u := c.AuthInfos["bob"]
				if u.Token != "" || u.Username != "bob" || u.Password != "pw" {
					t.Errorf("user bob = %+v", u)
				}
			},
		},
		{
			name:    "client certificate files",
			args:    []string{"config", "set-credentials", "carol", "--client-certificate=" + cert, "--client-key=" + key},
			wantOut: "User \"carol\" set.\n",
			check: func(t *testing.T, c *clientcmdapi.Config) {
				u := c.AuthInfos["carol"]
				if u == nil || u.ClientCertificate != cert || u.ClientKey != key {
					t.Errorf("user carol = %+v", u)
				}
			},
		},
		{
			name:    "embedded client certificate",
			args:    []string{"config", "set-credentials", "alice", "--client-certificate=" + cert, "--client-key=" + key, "--embed-certs"},
			wantOut: "User \"alice\" set.\n",
			check: func(t *testing.T, c *clientcmdapi.Config) {
				u := c.AuthInfos["alice"]
				if string(u.ClientCertificateData) != "cert-bytes" || string(u.ClientKeyData) != "key-bytes" || u.ClientCertificate != "" {
					t.Errorf("user alice = %+v", u)
				}
			},
		},
		{
			name:     "token and basic auth together",
			args:     []string{"config", "set-credentials", "x", "--token=a", "--username=b"},
			wantErr:  "error: you cannot specify more than one authentication method at the same time: --token, --username/--password\n",
			wantCode: 1,
		},
		{
			name:     "embed a missing file",
			args:     []string{"config", "set-credentials", "x", "--client-key=" + filepath.Join(dir, "nope"), "--embed-certs"},
			wantErr:  "error: could not stat client-key file " + filepath.Join(dir, "nope") + ": stat " + filepath.Join(dir, "nope") + ": no such file or directory\n",
			wantCode: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFixture(t, fixture)
			r := env.RunEnv(t, nil, "", append([]string{"--kubeconfig", path}, tt.args...)...)
			if r.Code != tt.wantCode || r.Stdout != tt.wantOut || r.Stderr != tt.wantErr {
				t.Errorf("navctl %s: exit %d, want %d\nstdout: %q\nwant:   %q\nstderr: %q\nwant:   %q",
					strings.Join(tt.args, " "), r.Code, tt.wantCode, r.Stdout, tt.wantOut, r.Stderr, tt.wantErr)
			}
			if tt.check != nil {
				tt.check(t, load(t, path))
			}
		})
	}
}

// TestWhereChangesLand follows kubectl's rules for which file a change is
// written to: the file defining the stanza, else the first file of
// $KUBECONFIG that exists, else ~/.kube/config.
func TestWhereChangesLand(t *testing.T) {
	env := clitest.Offline(t)

	t.Run("home config", func(t *testing.T) {
		home := filepath.Join(env.Home, ".kube", "config")
		defer os.RemoveAll(filepath.Dir(home))
		env.OK(t, "", "config", "set-context", "local", "--namespace=x")
		env.OK(t, "", "config", "use-context", "local")
		c := load(t, home)
		if c.CurrentContext != "local" || c.Contexts["local"].Namespace != "x" {
			t.Errorf("~/.kube/config: current %q, contexts %v", c.CurrentContext, c.Contexts)
		}
	})

	t.Run("merged list", func(t *testing.T) {
		dir := t.TempDir()
		missing := filepath.Join(dir, "missing")
		first := writeFixture(t, "apiVersion: v1\nkind: Config\ncurrent-context: dev\n")
		second := writeFixture(t, fixture)
		list := "KUBECONFIG=" + strings.Join([]string{missing, first, second}, string(os.PathListSeparator))

		r := env.RunEnv(t, []string{list}, "", "config", "get-contexts", "-o", "name")
		if r.Stdout != "dev\nprod\n" {
			t.Errorf("merged contexts: %q", r.Stdout)
		}
		for _, args := range [][]string{
			{"config", "set-context", "prod", "--namespace=p"},
			{"config", "set-context", "new", "--cluster=dev-cluster"},
			{"config", "use-context", "prod"},
		} {
			if r := env.RunEnv(t, []string{list}, "", args...); r.Code != 0 {
				t.Fatalf("navctl %v: exit %d: %s", args, r.Code, r.Stderr)
			}
		}
		if _, err := os.Stat(missing); !os.IsNotExist(err) {
			t.Errorf("%s was created", missing)
		}
		c1, c2 := load(t, first), load(t, second)
		if c1.Contexts["new"] == nil || c2.Contexts["new"] != nil {
			t.Errorf("new context: want it in the first existing file only")
		}
		if c2.Contexts["prod"].Namespace != "p" || c1.Contexts["prod"] != nil {
			t.Errorf("prod context: want it changed in the file that defines it")
		}
		if c1.CurrentContext != "prod" {
			t.Errorf("current-context %q in the first file, want prod", c1.CurrentContext)
		}
	})
}
