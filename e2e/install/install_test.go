// Package install runs hack/install.sh the way an operator would, into a
// temporary root (--root), and checks what lands on the host: binaries,
// units, environment files, static pod manifests, the PKI and kubeconfigs,
// and the units enabled for boot.
package install

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"navarch.dev/apiserver/pkg/server"
	"navarch.dev/apiserver/testserver"
)

var allBinaries = []string{
	"navarch-apiserver", "navarch-scheduler", "navarch-controller-manager",
	"navarch-kubelet", "navarch-proxy", "navarch-dns", "navctl",
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// standIns writes small executables under the binaries' names, each
// printing its name and version, for install.sh to copy.
func standIns(t *testing.T, version string) string {
	t.Helper()
	dir := t.TempDir()
	for _, b := range allBinaries {
		script := fmt.Sprintf("#!/bin/sh\necho %s %s\n", b, version)
		if err := os.WriteFile(filepath.Join(dir, b), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// install runs hack/install.sh with args and returns its combined output.
func install(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{filepath.Join(repoRoot(), "hack", "install.sh")}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func mustInstall(t *testing.T, args ...string) string {
	t.Helper()
	out, err := install(t, args...)
	if err != nil {
		t.Fatalf("install.sh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameFile fails unless path holds exactly the bytes of src with mode.
func sameFile(t *testing.T, path, src string, mode os.FileMode) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Errorf("not installed: %v", err)
		return
	}
	if st.Mode().Perm() != mode {
		t.Errorf("%s: mode %v, want %v", path, st.Mode().Perm(), mode)
	}
	if !bytes.Equal(read(t, path), read(t, src)) {
		t.Errorf("%s differs from %s", path, src)
	}
}

func TestInstallRoles(t *testing.T) {
	// install.sh enables the units with systemctl --root, which comes with
	// systemd-analyze in Debian's systemd package.
	systemdAnalyze(t)
	repo := repoRoot()
	tests := []struct {
		role     string
		binaries []string
		units    []string
		enabled  []string
		static   bool
		kubeconf []string
	}{
		{
			role:     "control-plane",
			binaries: allBinaries,
			units:    []string{"apiserver", "scheduler", "controller-manager", "kubelet", "proxy", "dns"},
			enabled:  []string{"apiserver", "scheduler", "controller-manager", "kubelet", "proxy"},
			kubeconf: []string{"admin.conf", "scheduler.conf", "controller-manager.conf", "kubelet.conf", "proxy.conf", "dns.conf"},
		},
		{
			role:     "control-plane-static",
			binaries: []string{"navarch-kubelet", "navarch-proxy", "navctl"},
			units:    []string{"kubelet", "proxy"},
			enabled:  []string{"kubelet", "proxy"},
			static:   true,
			kubeconf: []string{"admin.conf", "scheduler.conf", "controller-manager.conf", "kubelet.conf", "proxy.conf"},
		},
		{
			role:     "worker",
			binaries: []string{"navarch-kubelet", "navarch-proxy"},
			units:    []string{"kubelet", "proxy"},
			enabled:  []string{"kubelet", "proxy"},
		},
	}
	bin := standIns(t, "v1")
	for _, tc := range tests {
		t.Run(tc.role, func(t *testing.T) {
			root := t.TempDir()
			out := mustInstall(t, "--root", root, "--bin-dir", bin, "--node-name", "Node-A", tc.role)
			for _, b := range allBinaries {
				path := filepath.Join(root, "usr/local/bin", b)
				if slices.Contains(tc.binaries, b) {
					sameFile(t, path, filepath.Join(bin, b), 0o755)
				} else if _, err := os.Stat(path); err == nil {
					t.Errorf("%s installed for a %s", b, tc.role)
				}
			}
			units, _ := filepath.Glob(filepath.Join(root, "etc/systemd/system/*.service"))
			if len(units) != len(tc.units) {
				t.Errorf("units installed: %v, want %v", units, tc.units)
			}
			for _, u := range tc.units {
				sameFile(t, filepath.Join(root, "etc/systemd/system/navarch-"+u+".service"),
					filepath.Join(repo, "manifests/systemd/navarch-"+u+".service"), 0o644)
				sameFile(t, filepath.Join(root, "etc/navarch/"+u+".env"),
					filepath.Join(repo, "manifests/systemd/env/"+u+".env"), 0o644)
			}
			wants, _ := filepath.Glob(filepath.Join(root, "etc/systemd/system/multi-user.target.wants/*"))
			var enabled []string
			for _, w := range wants {
				target, err := os.Readlink(w)
				if err != nil {
					t.Errorf("%s: %v", w, err)
				}
				if target != "/etc/systemd/system/"+filepath.Base(w) {
					t.Errorf("%s links to %s", w, target)
				}
				enabled = append(enabled, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(w), "navarch-"), ".service"))
			}
			slices.Sort(enabled)
			want := slices.Clone(tc.enabled)
			slices.Sort(want)
			if !slices.Equal(enabled, want) {
				t.Errorf("enabled for boot: %v, want %v", enabled, want)
			}
			if !strings.Contains(out, "nothing started") {
				t.Errorf("output does not say that nothing was started under --root:\n%s", out)
			}
			manifests, _ := filepath.Glob(filepath.Join(repo, "manifests/static-pods/*.yaml"))
			for _, m := range manifests {
				path := filepath.Join(root, "etc/navarch/manifests", filepath.Base(m))
				if tc.static {
					sameFile(t, path, m, 0o644)
				} else if _, err := os.Stat(path); err == nil {
					t.Errorf("static pod %s installed for a %s", filepath.Base(m), tc.role)
				}
			}
			for _, k := range []string{"admin.conf", "scheduler.conf", "controller-manager.conf", "kubelet.conf", "proxy.conf", "dns.conf"} {
				_, err := os.Stat(filepath.Join(root, "etc/navarch", k))
				if has := err == nil; has != slices.Contains(tc.kubeconf, k) {
					t.Errorf("%s installed: %v, want %v", k, has, !has)
				}
			}
			if len(tc.kubeconf) == 0 && !strings.Contains(out, "copy /etc/navarch/kubelet.conf") {
				t.Errorf("a worker install does not say where kubelet.conf comes from:\n%s", out)
			}
		})
	}
}

// The control plane's kubeconfigs are made from a CA the apiserver takes as
// its own: an apiserver started on that PKI directory accepts each of them
// and sees the identity the file is for.
func TestInstalledPKIWorksWithTheAPIServer(t *testing.T) {
	root := t.TempDir()
	mustInstall(t, "--root", root, "--bin-dir", standIns(t, "v1"), "--node-name", "Node-A", "control-plane")
	pkiDir := filepath.Join(root, "etc/navarch/pki")
	ts := testserver.Start(t, func(o *server.Options) { o.CertDir = pkiDir })
	caPEM := read(t, filepath.Join(pkiDir, "ca.crt"))
	if !bytes.Equal(ts.Config.TLSClientConfig.CAData, caPEM) {
		t.Fatalf("the apiserver generated its own CA instead of using the installed one")
	}
	for _, tc := range []struct{ file, user, group string }{
		{"admin.conf", "kubernetes-admin", "system:masters"},
		{"scheduler.conf", "system:kube-scheduler", ""},
		{"controller-manager.conf", "system:kube-controller-manager", ""},
		{"kubelet.conf", "system:node:node-a", "system:nodes"},
		{"proxy.conf", "system:kube-proxy", ""},
		{"dns.conf", "system:navarch-dns", ""},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join(root, "etc/navarch", tc.file)
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("mode %v, want 0600 (it holds a private key)", st.Mode().Perm())
			}
			cfg, err := clientcmd.BuildConfigFromFlags("", path)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Host != "https://127.0.0.1:6443" {
				t.Errorf("server %s, want https://127.0.0.1:6443", cfg.Host)
			}
			block, _ := pem.Decode(cfg.TLSClientConfig.CertData)
			if block == nil {
				t.Fatal("no client certificate")
			}
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			if cert.Subject.CommonName != tc.user || (tc.group != "" && !slices.Contains(cert.Subject.Organization, tc.group)) {
				t.Errorf("certificate for %s %v, want %s %s", cert.Subject.CommonName, cert.Subject.Organization, tc.user, tc.group)
			}
			cfg.Host = ts.URL
			client, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := client.CoreV1().Namespaces().Get(context.Background(), "kube-system", metav1.GetOptions{}); err != nil {
				t.Errorf("the apiserver refuses %s: %v", tc.file, err)
			}
		})
	}
}

// Installing again replaces the binaries and units but keeps what the host
// made its own: edited environment files, static pod manifests, the CA and
// kubeconfigs. A missing environment file is restored.
func TestInstallAgainKeepsHostSettings(t *testing.T) {
	root := t.TempDir()
	repo := repoRoot()
	mustInstall(t, "--root", root, "--bin-dir", standIns(t, "v1"), "control-plane-static")
	etc := filepath.Join(root, "etc/navarch")
	edited := map[string][]byte{
		"kubelet.env":         []byte("CLUSTER_DNS=10.32.0.10\n"),
		"manifests/etcd.yaml": []byte("# this host's etcd member\n"),
	}
	for f, data := range edited {
		if err := os.WriteFile(filepath.Join(etc, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	kept := map[string][]byte{}
	for _, f := range []string{"pki/ca.crt", "pki/ca.key", "kubelet.conf", "admin.conf"} {
		kept[f] = read(t, filepath.Join(etc, f))
	}
	if err := os.Remove(filepath.Join(etc, "proxy.env")); err != nil {
		t.Fatal(err)
	}
	bin2 := standIns(t, "v2")
	out := mustInstall(t, "--root", root, "--bin-dir", bin2, "control-plane-static")
	for f, data := range edited {
		if got := read(t, filepath.Join(etc, f)); !bytes.Equal(got, data) {
			t.Errorf("%s was overwritten: %q", f, got)
		}
	}
	for f, data := range kept {
		if got := read(t, filepath.Join(etc, f)); !bytes.Equal(got, data) {
			t.Errorf("%s was replaced", f)
		}
	}
	if !strings.Contains(out, "kept /etc/navarch/kubelet.env") {
		t.Errorf("output does not say kubelet.env was kept:\n%s", out)
	}
	sameFile(t, filepath.Join(etc, "proxy.env"), filepath.Join(repo, "manifests/systemd/env/proxy.env"), 0o644)
	sameFile(t, filepath.Join(root, "usr/local/bin/navarch-kubelet"), filepath.Join(bin2, "navarch-kubelet"), 0o755)
}

func TestInstallBadInput(t *testing.T) {
	bin := standIns(t, "v1")
	partial := t.TempDir()
	if err := os.WriteFile(filepath.Join(partial, "navarch-kubelet"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{name: "no role", args: []string{"--bin-dir", bin}, want: []string{"no role given", "control-plane, control-plane-static or worker"}},
		{name: "unknown role", args: []string{"--bin-dir", bin, "master"}, want: []string{`unknown role "master"`}},
		{name: "two roles", args: []string{"--bin-dir", bin, "worker", "control-plane"}, want: []string{"one role only"}},
		{name: "unknown option", args: []string{"--bin-dir", bin, "--prefix=/opt", "worker"}, want: []string{"unknown option --prefix=/opt"}},
		{name: "missing binaries", args: []string{"--bin-dir", partial, "worker"}, want: []string{"missing in " + partial + ": navarch-proxy", "make build"}},
		{name: "root is not a directory", args: []string{"--bin-dir", bin, "--root", "/nonexistent/navarch", "worker"}, want: []string{"--root /nonexistent/navarch is not a directory"}},
		{name: "apiserver not https", args: []string{"--bin-dir", bin, "--apiserver", "http://10.0.0.1:6443", "worker"}, want: []string{"want an https:// URL"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			args := tc.args
			if !slices.Contains(args, "--root") {
				args = append([]string{"--root", root}, args...)
			}
			out, err := install(t, args...)
			if err == nil {
				t.Fatalf("install.sh %s succeeded:\n%s", strings.Join(args, " "), out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if entries, _ := os.ReadDir(root); len(entries) != 0 {
				t.Errorf("a failed install left files under the root: %v", entries)
			}
		})
	}
}

// systemd's own checker reads the installed units: unknown directives,
// values it cannot parse and commands that are not executable are all
// reported. ExecStart is pointed into the temporary root, where the
// binaries were installed.
func TestInstalledUnitsPassSystemdVerify(t *testing.T) {
	analyze := systemdAnalyze(t)
	root := t.TempDir()
	mustInstall(t, "--root", root, "--bin-dir", standIns(t, "v1"), "control-plane")
	units, _ := filepath.Glob(filepath.Join(root, "etc/systemd/system/*.service"))
	if len(units) != 6 {
		t.Fatalf("%d units installed, want 6", len(units))
	}
	check := t.TempDir()
	var paths []string
	for _, u := range units {
		data := strings.ReplaceAll(string(read(t, u)), "/usr/local/bin/", root+"/usr/local/bin/")
		p := filepath.Join(check, filepath.Base(u))
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	cmd := exec.Command(analyze, append([]string{"verify", "--man=false"}, paths...)...)
	cmd.Env = append(os.Environ(), "SYSTEMD_LOG_LEVEL=info")
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// systemdAnalyze finds systemd-analyze, installing Debian's systemd package
// (systemctl and systemd-analyze; CI's fresh machines may lack it) when it
// is missing.
func systemdAnalyze(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("systemd-analyze"); err == nil {
		return p
	}
	if os.Geteuid() != 0 {
		t.Fatal("systemd-analyze is missing and installing it (apt-get install systemd) needs root")
	}
	for _, args := range [][]string{{"update", "-qq"}, {"install", "-y", "-qq", "systemd"}} {
		cmd := exec.Command("apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("apt-get %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	p, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatalf("systemd installed but systemd-analyze not found: %v", err)
	}
	return p
}
