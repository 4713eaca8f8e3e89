// Package cluster runs the README's quick start on this machine: `make up`
// brings up the single-node cluster, navctl does the seed walkthrough on it,
// and `make down` leaves nothing behind. It needs root (CI runs it as root
// after .ci/run); it refuses to run over a cluster that is already up.
package cluster

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	adminKubeconfig = "/etc/navarch/admin.conf"
	kubeletRoot     = "/var/lib/navarch/kubelet"
	runDir          = "/run/navarch"
	rolledImage     = "registry.navarch.local/busybox:1.36-rolled"
	// httpGet is the README's fetch of the Service's page from inside a pod.
	httpGet = `printf 'GET / HTTP/1.0\r\nHost: httpd-service\r\n\r\n' | nc -w 5 httpd-service 80`
)

// repo is the repository root (this package is e2e/cluster).
var repo = func() string {
	wd, _ := os.Getwd()
	return filepath.Clean(filepath.Join(wd, "..", ".."))
}()

// run runs a command from the repository root, as the README's reader does,
// and returns its standard output; a failure ends the test with all output.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := try(name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func try(name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "KUBECONFIG="+adminKubeconfig, "PATH="+os.Getenv("PATH")+":/usr/local/go/bin:/usr/sbin:/sbin")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String() + stderr.String(), err
	}
	return stdout.String(), nil
}

func navctl(t *testing.T, args ...string) string {
	t.Helper()
	return run(t, "bin/navctl", args...)
}

// eventually polls check every half second until it reports done, failing
// the test with check's last word after timeout.
func eventually(t *testing.T, timeout time.Duration, what string, check func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, why := check()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %s", what, timeout, why)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

type pod struct{ name, phase, ip, image string }

// httpdPods lists the walkthrough's pods that are not being deleted.
func httpdPods(t *testing.T) []pod {
	t.Helper()
	out := navctl(t, "get", "pods", "-l", "app=httpd_server", "-o",
		`jsonpath={range .items[*]}{.metadata.name}|{.status.phase}|{.status.podIP}|{.spec.containers[0].image}|{.metadata.deletionTimestamp}{"\n"}{end}`)
	var pods []pod
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Split(line, "|")
		if len(f) != 5 || f[4] != "" {
			continue // blank, or being deleted
		}
		pods = append(pods, pod{name: f[0], phase: f[1], ip: f[2], image: f[3]})
	}
	return pods
}

// wantRunning waits until exactly n walkthrough pods exist, all Running with
// an IP (and, when image is set, that image), and returns them.
func wantRunning(t *testing.T, n int, image string) []pod {
	t.Helper()
	var pods []pod
	eventually(t, 3*time.Minute, fmt.Sprintf("%d httpd pods Running", n), func() (bool, string) {
		pods = httpdPods(t)
		if len(pods) != n {
			return false, fmt.Sprintf("%d pods: %v", len(pods), pods)
		}
		for _, p := range pods {
			if p.phase != "Running" || p.ip == "" || (image != "" && p.image != image) {
				return false, fmt.Sprintf("pods %v", pods)
			}
		}
		return true, ""
	})
	return pods
}

// leftovers describes what of a cluster is on this host: navarch processes
// started from this repository's bin/, KUBE-* and NAVARCH-* iptables chains, veths on the
// CNI bridge (other than those in before), mounts under the kubelet's root,
// and containers of this node's kubelet.
func leftovers(t *testing.T, node string, vethsBefore []string) []string {
	t.Helper()
	var left []string
	procs, _ := filepath.Glob("/proc/[0-9]*/exe")
	for _, p := range procs {
		exe, err := os.Readlink(p)
		if err == nil && strings.HasPrefix(exe, filepath.Join(repo, "bin", "navarch-")) {
			left = append(left, "process "+exe)
		}
	}
	for _, save := range []string{"iptables-nft-save", "iptables-legacy-save"} {
		out, _ := try(save)
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, ":KUBE-") || strings.HasPrefix(line, ":NAVARCH-") {
				left = append(left, save+" chain "+strings.Fields(line)[0])
			}
		}
	}
	veths := bridgePorts()
	for _, v := range veths {
		if !slices.Contains(vethsBefore, v) {
			left = append(left, "interface "+v+" on "+podBridge)
		}
	}
	if len(vethsBefore) == 0 {
		if _, err := try("ip", "link", "show", podBridge); err == nil {
			left = append(left, "bridge "+podBridge)
		}
	}
	mounts, _ := os.ReadFile("/proc/self/mounts")
	for _, line := range strings.Split(string(mounts), "\n") {
		if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(f[1], kubeletRoot+"/") {
			left = append(left, "mount "+f[1])
		}
	}
	if out, _ := try("ctr", "-n", "k8s.io", "containers", "ls", "-q", `labels."navarch.dev/node-name"==`+node); strings.TrimSpace(out) != "" {
		left = append(left, "containers "+strings.Join(strings.Fields(out), " "))
	}
	if _, err := os.Stat(runDir); err == nil {
		left = append(left, "directory "+runDir)
	}
	return left
}

// podBridge is the bridge the kubelet (kubenet) puts the node's pods on.
const podBridge = "cbr0"

// bridgePorts lists the interfaces attached to the pod bridge.
func bridgePorts() []string {
	out, err := try("ip", "-o", "link", "show", "master", podBridge)
	if err != nil {
		return nil
	}
	var ports []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Fields(line); len(f) > 1 {
			ports = append(ports, strings.SplitN(strings.TrimSuffix(f[1], ":"), "@", 2)[0])
		}
	}
	return ports
}

func pids(t *testing.T) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, c := range []string{"apiserver", "controller-manager", "scheduler", "kubelet", "proxy"} {
		b, err := os.ReadFile(filepath.Join(runDir, c+".pid"))
		if err != nil {
			t.Fatalf("pid file of %s: %v", c, err)
		}
		m[c] = strings.TrimSpace(string(b))
	}
	return m
}

func TestQuickStartAndSeedWalkthrough(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("the quick start runs a kubelet and a proxy on this host: run this test as root (CI does)")
	}
	if b, err := os.ReadFile(filepath.Join(runDir, "apiserver.pid")); err == nil {
		if pid, _ := strconv.Atoi(strings.TrimSpace(string(b))); pid > 0 && exec.Command("kill", "-0", strconv.Itoa(pid)).Run() == nil {
			t.Fatalf("a Navarch cluster is already running (apiserver pid %d): run make down first; this test brings up its own and removes it", pid)
		}
	}
	vethsBefore := bridgePorts()

	// The README quick start.
	t.Log("make up")
	down := true
	t.Cleanup(func() {
		if down {
			if out, err := try("make", "down"); err != nil {
				t.Errorf("make down: %v\n%s", err, out)
			}
		}
	})
	run(t, "make", "up")
	node := strings.TrimSpace(navctl(t, "get", "nodes", "-o", "jsonpath={.items[0].metadata.name}"))
	if ready := navctl(t, "get", "node", node, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`); ready != "True" {
		t.Fatalf("after make up node %s Ready=%q", node, ready)
	}
	// A leftover of an earlier, interrupted run is removed first.
	navctl(t, "delete", "-f", "manifests/examples/httpd.yaml", "-f", "manifests/examples/job.yaml", "--ignore-not-found", "--wait=true")

	// make up again leaves the healthy cluster alone.
	before := pids(t)
	run(t, "make", "up")
	if after := pids(t); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("a second make up restarted components: before %v, after %v", before, after)
	}

	t.Log("apply the httpd Deployment and Service")
	navctl(t, "apply", "-f", "manifests/examples/httpd.yaml")
	navctl(t, "rollout", "status", "deployment/httpd-deployment", "--timeout=3m")
	pods := wantRunning(t, 2, "")
	t.Logf("pods %v", pods)
	// The pods are on the node's pod network: inside its podCIDR.
	podCIDR := strings.TrimSpace(navctl(t, "get", "node", node, "-o", "jsonpath={.spec.podCIDR}"))
	cidr, err := netip.ParsePrefix(podCIDR)
	if err != nil {
		t.Fatalf("node %s podCIDR %q: %v", node, podCIDR, err)
	}
	for _, p := range pods {
		if ip, err := netip.ParseAddr(p.ip); err != nil || !cidr.Contains(ip) {
			t.Errorf("pod %s has IP %q, outside its node's podCIDR %s", p.name, p.ip, podCIDR)
		}
	}

	svc := navctl(t, "get", "service", "httpd-service", "-o", `jsonpath={.spec.clusterIP} {.spec.ports[0].nodePort}`)
	f := strings.Fields(svc)
	if len(f) != 2 || f[1] != "30080" {
		t.Fatalf("httpd-service clusterIP and nodePort = %q, want an IP and 30080", svc)
	}
	clusterIP := f[0]
	if table := navctl(t, "get", "service", "httpd-service"); !strings.Contains(table, clusterIP) || !strings.Contains(table, "80:30080/TCP") {
		t.Errorf("navctl get service shows\n%s\nwant the cluster IP %s and 80:30080/TCP", table, clusterIP)
	}

	t.Log("resolve the Service by name from inside a pod")
	client := pods[0].name
	eventually(t, time.Minute, "nslookup httpd-service from a pod", func() (bool, string) {
		out, err := try("bin/navctl", "exec", client, "--", "nslookup", "httpd-service.default.svc.cluster.local")
		return err == nil && strings.Contains(out, clusterIP), out
	})
	hello := regexp.MustCompile(`hello from httpd-deployment-`)
	eventually(t, time.Minute, "GET http://httpd-service/ from a pod", func() (bool, string) {
		// HTTP by hand with nc: this busybox build's wget crashes.
		out, err := try("bin/navctl", "exec", client, "--", "sh", "-c", httpGet)
		return err == nil && hello.MatchString(out), out
	})

	t.Log("fetch a page through the ClusterIP and the NodePort")
	for _, url := range []string{"http://" + clusterIP + "/", "http://127.0.0.1:30080/"} {
		eventually(t, time.Minute, "curl "+url, func() (bool, string) {
			out, err := try("curl", "-sS", "--max-time", "5", url)
			return err == nil && hello.MatchString(out), out
		})
	}

	t.Log("a plain pod gets its service account token, the cluster CA and the apiserver's address")
	checkServiceAccountToken(t)

	t.Log("scale to 5 and back to 2")
	navctl(t, "scale", "deployment/httpd-deployment", "--replicas=5")
	wantRunning(t, 5, "")
	navctl(t, "scale", "deployment/httpd-deployment", "--replicas=2")
	wantRunning(t, 2, "")

	t.Log("roll the image")
	navctl(t, "set", "image", "deployment/httpd-deployment", "httpd-app="+rolledImage)
	navctl(t, "rollout", "status", "deployment/httpd-deployment", "--timeout=3m")
	pods = wantRunning(t, 2, rolledImage)
	eventually(t, time.Minute, "curl the rolled pods through the NodePort", func() (bool, string) {
		out, err := try("curl", "-sS", "--max-time", "5", "http://127.0.0.1:30080/")
		return err == nil && hello.MatchString(out), out
	})

	t.Log("delete a pod and see it replaced")
	navctl(t, "delete", "pod", pods[0].name, "--wait=false")
	eventually(t, 3*time.Minute, "a replacement pod", func() (bool, string) {
		now := httpdPods(t)
		var names []string
		running := 0
		for _, p := range now {
			names = append(names, p.name)
			if p.phase == "Running" && p.ip != "" && p.image == rolledImage {
				running++
			}
		}
		return running == 2 && !slices.Contains(names, pods[0].name), fmt.Sprint(now)
	})

	t.Log("run the Job to completion")
	navctl(t, "apply", "-f", "manifests/examples/job.yaml")
	navctl(t, "wait", "--for=condition=complete", "job/sum", "--timeout=3m")
	if logs := navctl(t, "logs", "job/sum"); !strings.Contains(logs, "5050") {
		t.Errorf("navctl logs job/sum = %q, want the sum 5050", logs)
	}

	t.Log("make down")
	navctl(t, "delete", "-f", "manifests/examples/httpd.yaml", "-f", "manifests/examples/job.yaml", "--wait=false")
	down = false
	run(t, "make", "down")
	if left := leftovers(t, node, vethsBefore); len(left) > 0 {
		t.Fatalf("make down left behind:\n  %s", strings.Join(left, "\n  "))
	}

	t.Log("make up again, then make down")
	down = true
	run(t, "make", "up")
	if ready := navctl(t, "get", "node", node, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`); ready != "True" {
		t.Fatalf("after the second make up node %s Ready=%q", node, ready)
	}
	down = false
	run(t, "make", "down")
	if left := leftovers(t, node, vethsBefore); len(left) > 0 {
		t.Fatalf("the second make down left behind:\n  %s", strings.Join(left, "\n  "))
	}
}
