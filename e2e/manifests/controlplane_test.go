package manifests

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// TestControlPlaneFromUnits installs a control-plane host into a temporary
// root with hack/install.sh, sets its environment files the way an operator
// would (ports and addresses free on this machine), and starts the
// apiserver, scheduler and controller-manager exactly as their units'
// ExecStart= lines say (systemd's expansion, the installed paths moved under
// the root). The apiserver serves with the installed PKI, and the scheduler
// and controller-manager work against it with their installed kubeconfigs.
func TestControlPlaneFromUnits(t *testing.T) {
	root := t.TempDir()
	ports := freePorts(t, 5)
	api, etcdClient, etcdPeer, sched, cm := ports[0], ports[1], ports[2], ports[3], ports[4]
	apiURL := fmt.Sprintf("https://127.0.0.1:%d", api)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "bash", filepath.Join(repoRoot(t), "hack", "install.sh"),
		"--root", root, "--bin-dir", binDir, "--apiserver", apiURL, "control-plane").CombinedOutput()
	if err != nil {
		t.Fatalf("install.sh: %v\n%s", err, out)
	}
	etc := filepath.Join(root, "etc", "navarch")
	setEnv(t, filepath.Join(etc, "apiserver.env"), map[string]string{
		"BIND_ADDRESS": "127.0.0.1",
		"SECURE_PORT":  fmt.Sprint(api),
		"EXTRA_ARGS": fmt.Sprintf(`"--embedded-etcd-client-url=http://127.0.0.1:%d --embedded-etcd-peer-url=http://127.0.0.1:%d"`,
			etcdClient, etcdPeer),
	})
	setEnv(t, filepath.Join(etc, "scheduler.env"), map[string]string{"PORT": fmt.Sprint(sched)})
	setEnv(t, filepath.Join(etc, "controller-manager.env"), map[string]string{"SECURE_PORT": fmt.Sprint(cm)})

	for _, c := range []string{"apiserver", "scheduler", "controller-manager"} {
		startUnit(t, root, c)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(etc, "admin.conf"))
	if err != nil {
		t.Fatal(err)
	}
	client := kubernetes.NewForConfigOrDie(cfg)
	bg := context.Background()
	poll(t, 2*time.Minute, "the apiserver serves with the installed PKI", func() error {
		body, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(bg)
		if err == nil && string(body) != "ok" {
			return fmt.Errorf("/readyz: %s", body)
		}
		return err
	})
	// It generated no CA of its own: the serving certificate is the
	// installed CA's, so clients of every installed kubeconfig trust it.
	for _, f := range []string{"ca.crt", "ca.key", "apiserver.crt", "apiserver.key"} {
		if _, err := os.Stat(filepath.Join(etc, "pki", f)); err != nil {
			t.Errorf("pki/%s: %v", f, err)
		}
	}
	for _, lease := range []string{"kube-scheduler", "kube-controller-manager"} {
		poll(t, 2*time.Minute, "Lease kube-system/"+lease+" held", func() error {
			l, err := client.CoordinationV1().Leases("kube-system").Get(bg, lease, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == "" {
				return fmt.Errorf("no holder")
			}
			return nil
		})
	}
	// The controller-manager acts: a Deployment gets its ReplicaSet and pods.
	replicas := int32(2)
	labels := map[string]string{"app": "units"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "units", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "c", Image: "docker.io/library/busybox:1.36", ImagePullPolicy: corev1.PullIfNotPresent,
				}}},
			},
		},
	}
	if _, err := client.AppsV1().Deployments("default").Create(bg, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, 2*time.Minute, "the Deployment's pods created", func() error {
		pods, err := client.CoreV1().Pods("default").List(bg, metav1.ListOptions{LabelSelector: "app=units"})
		if err != nil {
			return err
		}
		if len(pods.Items) != 2 {
			return fmt.Errorf("%d pods", len(pods.Items))
		}
		// Admitted as upstream admits them: the default account and its
		// token volume.
		for _, p := range pods.Items {
			if p.Spec.ServiceAccountName != "default" || len(p.Spec.Volumes) != 1 || !strings.HasPrefix(p.Spec.Volumes[0].Name, "kube-api-access-") {
				t.Errorf("pod %s: account %q volumes %v, want default and a kube-api-access- volume", p.Name, p.Spec.ServiceAccountName, p.Spec.Volumes)
			}
		}
		return nil
	})
	// The controller-manager publishes the installed CA (--root-ca-file)
	// for the pods' ca.crt.
	ca, err := os.ReadFile(filepath.Join(etc, "pki", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	poll(t, 2*time.Minute, "ConfigMap default/kube-root-ca.crt holding the installed CA", func() error {
		cm, err := client.CoreV1().ConfigMaps("default").Get(bg, "kube-root-ca.crt", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if cm.Data["ca.crt"] != string(ca) {
			return fmt.Errorf("ca.crt %q", cm.Data["ca.crt"])
		}
		return nil
	})
}

// setEnv sets keys in an installed environment file, as an operator edits it.
func setEnv(t *testing.T, path string, set map[string]string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	for k, v := range set {
		found := false
		for i, l := range lines {
			if strings.HasPrefix(l, k+"=") {
				lines[i], found = k+"="+v, true
			}
		}
		if !found {
			t.Fatalf("%s has no %s setting", path, k)
		}
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
}

// startUnit runs the installed unit's ExecStart= with its installed
// environment file, the host paths it names moved under root, until the test
// ends.
func startUnit(t *testing.T, root, component string) {
	t.Helper()
	unit, err := parseUnit(filepath.Join(root, "etc", "systemd", "system", "navarch-"+component+".service"))
	if err != nil {
		t.Fatal(err)
	}
	env, err := parseEnvFile(filepath.Join(root, "etc", "navarch", component+".env"))
	if err != nil {
		t.Fatal(err)
	}
	argv, _, err := execArgs(unit.get("Service", "ExecStart")[0], env)
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range argv {
		for _, p := range []string{"/usr/local/bin/", "/etc/navarch", "/var/lib/navarch"} {
			if strings.HasPrefix(a, p) {
				a = root + a
			}
			a = strings.ReplaceAll(a, "="+p, "="+root+p)
		}
		argv[i] = a
	}
	logPath := filepath.Join(root, component+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			data, _ := os.ReadFile(logPath)
			t.Logf("%s log:\n%s", component, lastLines(string(data), 30))
		}
	})
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func poll(t *testing.T, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, timeout, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	for i := 0; i < n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports
}
