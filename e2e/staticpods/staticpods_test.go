// Package staticpods brings up a control-plane node the way an operator
// would with `hack/install.sh control-plane-static`: the kubelet runs the
// etcd member, apiserver, scheduler and controller-manager from the static
// pod manifests in manifests/static-pods on this machine's containerd, with
// the images hack/images.sh builds. The kubelet is started once, as the
// installed navarch-kubelet.service starts it (with --kubeconfig, before
// any apiserver exists): the test shows the apiserver come up as a static
// pod and serve the API, and the Node and the mirror pods appear once the
// kubelet can reach it.
package staticpods

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"navarch.dev/kubelet/pkg/cgroup"
	"navarch.dev/kubelet/pkg/podworker"
	criruntime "navarch.dev/kubelet/pkg/runtime"
)

// The static pods and the component each one's mirror pod is named after.
var controlPlane = []string{"navarch-etcd", "navarch-apiserver", "navarch-scheduler", "navarch-controller-manager"}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func TestControlPlaneFromStaticPods(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("the static pod control plane runs pods on containerd and needs root")
	}
	repo := repoRoot()
	rt := nodeRuntime(t)
	suffix := fmt.Sprintf("%d", time.Now().UnixNano()%1000000)
	node := "e2e-cp-" + suffix
	tag := "e2e-" + suffix
	work := t.TempDir()
	root := filepath.Join(work, "root")
	bin := filepath.Join(work, "bin")
	for _, d := range []string{root, bin} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}

	// The images of the control plane, under a tag of this test's own so
	// that images other runs use are left alone.
	t.Cleanup(func() { removeImages(t, tag) })
	run(t, 15*time.Minute, []string{"NAVARCH_IMAGE_TAG=" + tag}, "bash", filepath.Join(repo, "hack", "images.sh"))

	// The host side: the kubelet (and what install.sh installs with it).
	run(t, 10*time.Minute, nil, "go", "build", "-o", bin+"/",
		"navarch.dev/kubelet/cmd/navarch-kubelet", "navarch.dev/proxy/cmd/navarch-proxy", "navarch.dev/ctl/cmd/navctl")

	ports := freePorts(t, 8)
	apiPort, etcdClient, etcdPeer, etcdMetrics, schedPort, cmPort, kubeletPort, kubeletHealthz := ports[0], ports[1], ports[2], ports[3], ports[4], ports[5], ports[6], ports[7]
	apiURL := fmt.Sprintf("https://127.0.0.1:%d", apiPort)
	out := run(t, 2*time.Minute, nil, "bash", filepath.Join(repo, "hack", "install.sh"),
		"--root", root, "--bin-dir", bin, "--apiserver", apiURL, "--node-name", node, "control-plane-static")
	t.Logf("install.sh:\n%s", out)

	// Render the installed manifests for this test's layout: host paths
	// under the temporary root, free ports, this test's image tag.
	etc := filepath.Join(root, "etc", "navarch")
	manifestDir := filepath.Join(etc, "manifests")
	replacements := []struct {
		re   *regexp.Regexp
		with string
	}{
		{regexp.MustCompile(`/etc/navarch\b`), etc},
		{regexp.MustCompile(`/var/lib/navarch\b`), filepath.Join(root, "var", "lib", "navarch")},
		{regexp.MustCompile(`(registry\.navarch\.local/navarch-[a-z-]+):dev\b`), "${1}:" + tag},
		{regexp.MustCompile(`\b6443\b`), strconv.Itoa(apiPort)},
		{regexp.MustCompile(`\b2379\b`), strconv.Itoa(etcdClient)},
		{regexp.MustCompile(`\b2380\b`), strconv.Itoa(etcdPeer)},
		{regexp.MustCompile(`\b2381\b`), strconv.Itoa(etcdMetrics)},
		{regexp.MustCompile(`\b10251\b`), strconv.Itoa(schedPort)},
		{regexp.MustCompile(`\b10252\b`), strconv.Itoa(cmPort)},
	}
	for _, c := range controlPlane {
		name := c + ".yaml"
		if c == "navarch-etcd" {
			name = "etcd.yaml"
		}
		path := filepath.Join(manifestDir, name)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("install.sh did not install %s: %v", name, err)
		}
		rendered := data
		for _, r := range replacements {
			rendered = r.re.ReplaceAll(rendered, []byte(r.with))
		}
		if bytes.Contains(rendered, []byte(":dev\n")) || bytes.Equal(rendered, data) {
			t.Fatalf("%s was not rendered:\n%s", name, rendered)
		}
		if err := os.WriteFile(path, rendered, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Whatever happens, the pods this node ran go away at the end.
	t.Cleanup(func() { removeNodePods(t, rt, node) })

	// The kubelet is started once, the way the installed unit starts it:
	// its ExecStart with the installed kubelet.env, with this test's
	// layout (temporary root, free ports, no host pod network).
	kubeletCmd := unitCommand(t, root, "navarch-kubelet", map[string]string{
		"NETWORK_ARGS": "",
		"NODE_ARGS":    "--hostname-override=" + node + " --node-ip=127.0.0.1",
		"EXTRA_ARGS": strings.Join([]string{
			"--file-check-frequency=1s", "--pod-log-dir=" + filepath.Join(work, "pods"),
			"--port=" + strconv.Itoa(kubeletPort), "--healthz-port=" + strconv.Itoa(kubeletHealthz),
		}, " "),
	})
	if !contains(kubeletCmd, "--kubeconfig="+filepath.Join(etc, "kubelet.conf")) || !contains(kubeletCmd, "--pod-manifest-path="+manifestDir) {
		t.Fatalf("the unit's kubelet command lacks --kubeconfig or --pod-manifest-path: %q", kubeletCmd)
	}
	t.Logf("kubelet command: %s", strings.Join(kubeletCmd, " "))
	started := time.Now()
	kubelet := startKubelet(t, kubeletCmd[0], filepath.Join(work, "kubelet.log"), kubeletCmd[1:])
	admin := filepath.Join(etc, "admin.conf")
	cfg, err := clientcmd.BuildConfigFromFlags("", admin)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != apiURL {
		t.Fatalf("admin.conf names %s, want %s", cfg.Host, apiURL)
	}
	waitFor(t, 5*time.Minute, "the apiserver static pod answers /readyz", kubelet, func() error {
		body, err := get(cfg, "/readyz")
		if err == nil && body != "ok" {
			return fmt.Errorf("/readyz: %q", body)
		}
		return err
	})
	t.Logf("the API was served %v after the kubelet started", time.Since(started).Round(time.Millisecond))
	client := kubernetes.NewForConfigOrDie(cfg)
	ctx := context.Background()
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "static-pods-" + suffix, Namespace: "default"},
		Data:       map[string]string{"served-by": "static pods"},
	}
	if _, err := client.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create a ConfigMap through the static apiserver: %v", err)
	}
	got, err := client.CoreV1().ConfigMaps("default").Get(ctx, cm.Name, metav1.GetOptions{})
	if err != nil || got.Data["served-by"] != "static pods" {
		t.Fatalf("get the ConfigMap back: %v %v", got, err)
	}
	// The apiserver kept its data in the etcd member's hostPath directory.
	if _, err := os.Stat(filepath.Join(root, "var", "lib", "navarch", "etcd", "member")); err != nil {
		t.Errorf("the etcd static pod wrote no data under its hostPath: %v", err)
	}

	// The same kubelet, still running, registers the Node once the
	// apiserver answers, and each static pod gets its mirror pod.
	for _, c := range controlPlane {
		name := c + "-" + node
		waitFor(t, 3*time.Minute, "mirror pod kube-system/"+name+" Ready", kubelet, func() error {
			p, err := client.CoreV1().Pods("kube-system").Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if _, ok := p.Annotations["kubernetes.io/config.mirror"]; !ok {
				return fmt.Errorf("not a mirror pod: annotations %v", p.Annotations)
			}
			if p.Spec.NodeName != node || !p.Spec.HostNetwork || p.Spec.PriorityClassName != "system-node-critical" {
				return fmt.Errorf("node %q hostNetwork %v priorityClass %q", p.Spec.NodeName, p.Spec.HostNetwork, p.Spec.PriorityClassName)
			}
			if p.Status.Phase != corev1.PodRunning {
				return fmt.Errorf("phase %s", p.Status.Phase)
			}
			for _, cond := range p.Status.Conditions {
				if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue {
					return nil
				}
			}
			return fmt.Errorf("not Ready: %v", p.Status.Conditions)
		})
	}
	t.Logf("all four mirror pods Ready %v after the kubelet started", time.Since(started).Round(time.Millisecond))
	waitFor(t, 2*time.Minute, "node "+node+" Ready", kubelet, func() error {
		n, err := client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				return nil
			}
		}
		return fmt.Errorf("conditions %v", n.Status.Conditions)
	})
	// The kubelet's first registration attempts met no apiserver: it
	// retried rather than exiting (waitFor fails if it exits).
	if log, _ := os.ReadFile(filepath.Join(work, "kubelet.log")); !bytes.Contains(log, []byte("unable to register node with the apiserver, retrying")) {
		t.Errorf("the kubelet log shows no registration retried before the apiserver answered")
	}
	// The scheduler and controller-manager pods work against the apiserver
	// with their installed kubeconfigs: each holds its leader Lease.
	for _, lease := range []string{"kube-scheduler", "kube-controller-manager"} {
		waitFor(t, 2*time.Minute, "Lease kube-system/"+lease+" held", kubelet, func() error {
			l, err := client.CoordinationV1().Leases("kube-system").Get(ctx, lease, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == "" {
				return fmt.Errorf("no holder")
			}
			return nil
		})
	}

	// Taking the manifests away stops the control plane, as on a real node:
	// first the pods the kubelet can still report (the apiserver goes last).
	for _, c := range []string{"navarch-scheduler", "navarch-controller-manager"} {
		if err := os.Remove(filepath.Join(manifestDir, c+".yaml")); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []string{"navarch-scheduler", "navarch-controller-manager"} {
		name := c + "-" + node
		waitFor(t, 2*time.Minute, "mirror pod "+name+" deleted with its manifest", kubelet, func() error {
			_, err := client.CoreV1().Pods("kube-system").Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return nil
			}
			if err != nil {
				return err
			}
			return fmt.Errorf("still there")
		})
	}
	for _, f := range []string{"navarch-apiserver.yaml", "etcd.yaml"} {
		if err := os.Remove(filepath.Join(manifestDir, f)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 2*time.Minute, "the node's sandboxes removed", kubelet, func() error {
		sbs, err := rt.ListPodSandbox(ctx, map[string]string{podworker.LabelNode: node})
		if err != nil {
			return err
		}
		if len(sbs) > 0 {
			return fmt.Errorf("%d sandboxes left", len(sbs))
		}
		return nil
	})
	kubelet.stop(t)
}

// unitCommand is the command line the installed unit name.service (under
// root) runs: its ExecStart with the variables of the installed
// /etc/navarch/<name without navarch->.env, where overrides replace some,
// expanded as systemd does (${VAR} in place, $VAR split at spaces), and
// with /usr/local/bin, /etc/navarch and /var/lib/navarch under root.
func unitCommand(t *testing.T, root, name string, overrides map[string]string) []string {
	t.Helper()
	unit, err := os.ReadFile(filepath.Join(root, "etc", "systemd", "system", name+".service"))
	if err != nil {
		t.Fatalf("install.sh did not install %s.service: %v", name, err)
	}
	var cmdline string
	inExec := false
	for _, line := range strings.Split(string(unit), "\n") {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "ExecStart="); ok {
			line, inExec = v, true
		} else if !inExec {
			continue
		}
		more := strings.HasSuffix(line, "\\")
		cmdline += " " + strings.TrimSuffix(line, "\\")
		if !more {
			break
		}
	}
	if cmdline == "" {
		t.Fatalf("%s.service has no ExecStart", name)
	}
	envFile := filepath.Join(root, "etc", "navarch", strings.TrimPrefix(name, "navarch-")+".env")
	data, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatalf("install.sh did not install %s: %v", envFile, err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: line %q is not KEY=VALUE", envFile, line)
		}
		env[k] = strings.Trim(v, `"`)
	}
	for k, v := range overrides {
		if _, ok := env[k]; !ok {
			t.Fatalf("%s has no %s to override", envFile, k)
		}
		env[k] = v
	}
	paths := strings.NewReplacer(
		"/usr/local/bin/", filepath.Join(root, "usr", "local", "bin")+"/",
		"/etc/navarch", filepath.Join(root, "etc", "navarch"),
		"/var/lib/navarch", filepath.Join(root, "var", "lib", "navarch"),
	)
	braced := regexp.MustCompile(`\$\{([A-Z_]+)\}`)
	var args []string
	for _, word := range strings.Fields(cmdline) {
		if v, ok := strings.CutPrefix(word, "$"); ok && !strings.HasPrefix(v, "{") {
			args = append(args, strings.Fields(env[v])...)
			continue
		}
		word = braced.ReplaceAllStringFunc(word, func(m string) string { return env[m[2:len(m)-1]] })
		args = append(args, paths.Replace(word))
	}
	return args
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// nodeRuntime returns a client of this machine's containerd, running
// hack/node-setup.sh first when it does not answer (a fresh CI machine).
func nodeRuntime(t *testing.T) *criruntime.Runtime {
	t.Helper()
	if rt, err := criruntime.Dial(criruntime.DefaultEndpoint, 5*time.Second); err == nil {
		if _, err := rt.Version(context.Background()); err == nil {
			t.Cleanup(func() { rt.Close() })
			return rt
		}
		rt.Close()
	}
	run(t, 15*time.Minute, nil, "bash", filepath.Join(repoRoot(), "hack", "node-setup.sh"))
	rt, err := criruntime.Dial(criruntime.DefaultEndpoint, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	return rt
}

// run runs a command from the repository root and returns its output,
// failing the test when it fails.
func run(t *testing.T, timeout time.Duration, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = repoRoot()
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var lns []net.Listener
	for i := 0; i < n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

// kubeletProcess is a navarch-kubelet started by the test.
type kubeletProcess struct {
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

func startKubelet(t *testing.T, binary, logPath string, args []string) *kubeletProcess {
	t.Helper()
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatal(err)
	}
	k := &kubeletProcess{cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		k.err = cmd.Wait()
		logf.Close()
		close(k.done)
	}()
	t.Cleanup(func() { k.stop(t) })
	return k
}

// exited reports whether the kubelet has ended, with the end of its log.
func (k *kubeletProcess) exited() (string, bool) {
	select {
	case <-k.done:
		return fmt.Sprintf("kubelet exited (%v); log:\n%s", k.err, tail(k.log, 30)), true
	default:
		return "", false
	}
}

// stop ends the kubelet with SIGTERM, then SIGKILL after 30s.
func (k *kubeletProcess) stop(t *testing.T) {
	select {
	case <-k.done:
		return
	default:
	}
	_ = k.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-k.done:
	case <-time.After(30 * time.Second):
		t.Errorf("kubelet did not stop within 30s of SIGTERM; killing it")
		_ = k.cmd.Process.Kill()
		<-k.done
	}
}

func tail(path string, n int) string {
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// waitFor polls cond every half second until it returns nil, failing the
// test with cond's last error (and the kubelet's log) at the deadline or
// when the kubelet exits.
func waitFor(t *testing.T, timeout time.Duration, what string, k *kubeletProcess, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for {
		if last = cond(); last == nil {
			return
		}
		if msg, done := k.exited(); done {
			t.Fatalf("%s: %s", what, msg)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v\nkubelet log:\n%s", what, timeout, last, tail(k.log, 40))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// get fetches path from the apiserver with cfg's credentials.
func get(cfg *rest.Config, path string) (string, error) {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(cfg.TLSClientConfig.CAData)
	cert, err := tls.X509KeyPair(cfg.TLSClientConfig.CertData, cfg.TLSClientConfig.KeyData)
	if err != nil {
		return "", err
	}
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}},
	}}
	resp, err := c.Get(cfg.Host + path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s: %s", path, resp.Status, body)
	}
	return string(body), nil
}

// removeNodePods stops and removes every sandbox the test's kubelet made
// (normally none are left by then) and their pod cgroups.
func removeNodePods(t *testing.T, rt *criruntime.Runtime, node string) {
	ctx := context.Background()
	sbs, err := rt.ListPodSandbox(ctx, map[string]string{podworker.LabelNode: node})
	if err != nil {
		t.Errorf("cleanup: list sandboxes: %v", err)
		return
	}
	for _, sb := range sbs {
		if err := rt.StopPodSandbox(ctx, sb.Id); err != nil {
			t.Errorf("cleanup: stop sandbox %s: %v", sb.Id, err)
			continue
		}
		if err := rt.RemovePodSandbox(ctx, sb.Id); err != nil {
			t.Errorf("cleanup: remove sandbox %s: %v", sb.Id, err)
		}
		uid := sb.Labels[podworker.LabelPodUID]
		for _, p := range []string{"/kubepods/pod" + uid, "/kubepods/burstable/pod" + uid, "/kubepods/besteffort/pod" + uid} {
			_ = cgroup.Remove(p)
		}
	}
}

// removeImages removes the references to the component images built under
// tag. ctr removes just the named reference; CRI's RemoveImage would remove
// the image under every name, the :dev tag of the same content included.
func removeImages(t *testing.T, tag string) {
	for _, c := range append(controlPlane, "navarch-proxy", "navarch-dns") {
		ref := "registry.navarch.local/" + c + ":" + tag
		out, err := exec.Command("ctr", "-n", "k8s.io", "images", "rm", ref).CombinedOutput()
		if err != nil && !strings.Contains(string(out), "not found") {
			t.Errorf("cleanup: ctr images rm %s: %v\n%s", ref, err, out)
		}
	}
}
