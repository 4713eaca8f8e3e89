package multinode

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"navarch.dev/kubelet/pkg/cgroup"
	"navarch.dev/kubelet/pkg/podworker"
	"navarch.dev/kubelet/pkg/runtime"
)

// The images every node's containerd gets, from the host's containerd
// (hack/node-setup.sh imports them there).
var images = []string{"registry.navarch.local/pause:3.10", "docker.io/library/busybox:1.36"}

const (
	clusterCIDR = "10.244.0.0/16"
	dnsIP       = "10.96.0.10"
)

// cluster is a control plane in one network namespace and nodes in others,
// all on one machine:
//
//	host ── veth ──┐
//	               br0 (control-plane namespace: apiserver, controller-manager,
//	               │    scheduler, navarch-dns on .1)
//	node n1 eth0 ──┤    each node namespace: containerd, kubelet, proxy
//	node n2 eth0 ──┘
//
// The host reaches the apiserver and the nodes over its veth; nodes reach
// each other on the bridge, their pods through the routes their kubelets
// install.
type cluster struct {
	t      *testing.T
	id     string
	base   string // state of every process, containerd roots included
	bin    string
	subnet string // first three octets of the /24 the namespaces share
	cpNS   string
	hostIf string
	nodes  []*node
	client kubernetes.Interface
	config *rest.Config
	kcfg   string // kubeconfig for everyone, server = the control plane's address
	procs  []*proc
	mu     sync.Mutex
}

type node struct {
	name, ns, ip, dir, sock string
	containerd, kubelet     *proc
	proxy                   *proc
}

type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	// stopping is set once the test stops the process on purpose.
	stopping bool
}

func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// stop sends sig and waits up to wait, then kills.
func (p *proc) stop(sig syscall.Signal, wait time.Duration) {
	if p == nil || !p.running() {
		return
	}
	p.stopping = true
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(wait):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func randomID() string {
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// sh runs a command and returns its combined output, failing the test on error.
func (c *cluster) sh(name string, args ...string) string {
	c.t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		c.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// try runs a cleanup command, logging a failure.
func (c *cluster) try(name string, args ...string) {
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		c.t.Logf("cleanup: %s %s: %v: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
}

// newCluster builds the binaries, makes the namespaces and starts the
// control plane and n nodes. Everything is undone when the test ends, also
// when it fails half-way.
func newCluster(t *testing.T, n int) *cluster {
	if os.Geteuid() != 0 {
		t.Fatal("the multi-node e2e needs root (network namespaces, containerd); CI runs it as root after .ci/run")
	}
	id := randomID()
	c := &cluster{t: t, id: id, base: "/var/lib/navarch-e2e/mn-" + id, cpNS: "nvmn-" + id + "-cp", hostIf: "nvmn" + id + "h"}
	t.Cleanup(c.teardown)
	if err := os.MkdirAll(c.base, 0o755); err != nil {
		t.Fatal(err)
	}
	c.bin = filepath.Join(c.base, "bin")
	c.prerequisites()
	c.build()
	c.network(n)
	c.controlPlane()
	for _, nd := range c.nodes {
		c.startNode(nd)
	}
	return c
}

func repoRoot(t *testing.T) string {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(filepath.Dir(wd)) // e2e/multinode -> repo
}

// prerequisites installs what a fresh node lacks and the local images into
// the host's containerd, as CI does (hack/node-setup.sh is idempotent).
func (c *cluster) prerequisites() {
	setup := exec.Command(filepath.Join(repoRoot(c.t), "hack", "node-setup.sh"))
	if out, err := setup.CombinedOutput(); err != nil {
		c.t.Fatalf("hack/node-setup.sh: %v\n%s", err, out)
	}
	for _, tool := range []string{"ip", "nsenter", "containerd", "ctr", "iptables"} {
		if _, err := exec.LookPath(tool); err != nil {
			c.t.Fatalf("%s not found after hack/node-setup.sh: %v", tool, err)
		}
	}
}

func (c *cluster) build() {
	start := time.Now()
	args := []string{"build", "-o", c.bin + "/"}
	for _, m := range []string{"apiserver", "scheduler", "controller-manager", "kubelet", "proxy", "dns"} {
		args = append(args, "navarch.dev/"+m+"/cmd/navarch-"+m)
	}
	cmd := exec.Command("go", args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		c.t.Fatalf("go build: %v\n%s", err, out)
	}
	c.t.Logf("binaries built in %v", time.Since(start).Round(time.Millisecond))
}

// freeSubnet picks a 10.x.y.0/24 that no host route or address overlaps.
func freeSubnet(t *testing.T) string {
	out, err := exec.Command("ip", "-4", "route", "show", "table", "all").CombinedOutput()
	if err != nil {
		t.Fatalf("ip route: %v: %s", err, out)
	}
	var used []*net.IPNet
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		dst := f[0]
		if dst == "local" || dst == "broadcast" || dst == "unreachable" {
			if len(f) < 2 {
				continue
			}
			dst = f[1]
		}
		if !strings.Contains(dst, "/") {
			dst += "/32"
		}
		if _, n, err := net.ParseCIDR(dst); err == nil {
			used = append(used, n)
		}
	}
	for i := 0; i < 200; i++ {
		b := make([]byte, 2)
		_, _ = rand.Read(b)
		cand := fmt.Sprintf("10.%d.%d", 160+int(b[0])%60, b[1])
		_, n, _ := net.ParseCIDR(cand + ".0/24")
		free := true
		for _, u := range used {
			if u.Contains(n.IP) || n.Contains(u.IP) {
				free = false
				break
			}
		}
		if free {
			return cand
		}
	}
	t.Fatal("no free 10.x.y.0/24 for the test network")
	return ""
}

// network makes the control-plane namespace with its bridge, the host's
// veth into it and one namespace per node.
func (c *cluster) network(n int) {
	c.subnet = freeSubnet(c.t)
	cp := c.cpNS
	c.sh("ip", "netns", "add", cp)
	c.sh("ip", "-n", cp, "link", "set", "lo", "up")
	c.sh("ip", "-n", cp, "link", "add", "br0", "type", "bridge")
	c.sh("ip", "-n", cp, "addr", "add", c.subnet+".1/24", "dev", "br0")
	c.sh("ip", "-n", cp, "link", "set", "br0", "up")
	c.sh("ip", "link", "add", c.hostIf, "type", "veth", "peer", "name", "host", "netns", cp)
	c.sh("ip", "addr", "add", c.subnet+".254/24", "dev", c.hostIf)
	c.sh("ip", "link", "set", c.hostIf, "up")
	c.sh("ip", "-n", cp, "link", "set", "host", "master", "br0", "up")
	for i := 1; i <= n; i++ {
		nd := &node{
			name: fmt.Sprintf("mn-%s-n%d", c.id, i),
			ns:   fmt.Sprintf("nvmn-%s-n%d", c.id, i),
			ip:   fmt.Sprintf("%s.%d", c.subnet, 10+i),
			dir:  filepath.Join(c.base, fmt.Sprintf("n%d", i)),
		}
		nd.sock = filepath.Join(nd.dir, "state", "containerd.sock")
		c.nodes = append(c.nodes, nd)
		c.sh("ip", "netns", "add", nd.ns)
		c.sh("ip", "-n", nd.ns, "link", "set", "lo", "up")
		port := fmt.Sprintf("n%d", i)
		c.sh("ip", "-n", cp, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", nd.ns)
		c.sh("ip", "-n", cp, "link", "set", port, "master", "br0", "up")
		c.sh("ip", "-n", nd.ns, "addr", "add", nd.ip+"/24", "dev", "eth0")
		c.sh("ip", "-n", nd.ns, "link", "set", "eth0", "up")
		c.sh("ip", "-n", nd.ns, "route", "add", "default", "via", c.subnet+".1")
		c.sh("nsenter", "--net=/run/netns/"+nd.ns, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	}
}

// start runs bin in network namespace ns (nsenter --net keeps the host's
// mounts: containerd and runc need /sys/fs/cgroup, which `ip netns exec`
// hides behind a fresh /sys).
func (c *cluster) start(name, ns string, bin string, args ...string) *proc {
	c.t.Helper()
	logPath := filepath.Join(c.base, "logs", name+".log")
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		c.t.Fatal(err)
	}
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		c.t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command("nsenter", append([]string{"--net=/run/netns/" + ns, bin}, args...)...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	c.mu.Lock()
	c.procs = append(c.procs, p)
	c.mu.Unlock()
	return p
}

// waitFor polls f every 250ms until it is true or the timeout passes. A
// component that exits meanwhile fails the test at once, with its log.
func (c *cluster) waitFor(what string, timeout time.Duration, f func() (bool, error)) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		c.mu.Lock()
		for _, p := range c.procs {
			if !p.running() && !p.stopping {
				c.mu.Unlock()
				c.t.Fatalf("waiting for %s: %s exited (%v):\n%s", what, p.name, p.cmd.ProcessState, tail(p.log, 30))
			}
		}
		c.mu.Unlock()
		var ok bool
		if ok, err = f(); ok {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	c.t.Fatalf("gave up waiting for %s after %v (last error: %v)", what, timeout, err)
}

func (c *cluster) controlPlane() {
	cp, addr := c.cpNS, c.subnet+".1"
	data := filepath.Join(c.base, "apiserver")
	c.start("apiserver", cp, filepath.Join(c.bin, "navarch-apiserver"),
		"--data-dir", data, "--bind-address", "0.0.0.0", "--advertise-address", addr, "--secure-port", "6443")
	admin := filepath.Join(data, "admin.conf")
	c.waitFor("the apiserver's admin kubeconfig", 2*time.Minute, func() (bool, error) {
		_, err := os.Stat(admin)
		return err == nil, err
	})
	// One kubeconfig for every component and the test, aimed at the
	// control plane's address on the bridge.
	kc, err := clientcmd.LoadFromFile(admin)
	if err != nil {
		c.t.Fatal(err)
	}
	for _, cl := range kc.Clusters {
		cl.Server = "https://" + addr + ":6443"
	}
	c.kcfg = filepath.Join(c.base, "cluster.conf")
	if err := clientcmd.WriteToFile(*kc, c.kcfg); err != nil {
		c.t.Fatal(err)
	}
	c.config, err = clientcmd.BuildConfigFromFlags("", c.kcfg)
	if err != nil {
		c.t.Fatal(err)
	}
	c.config.QPS, c.config.Burst = 50, 100
	c.client = kubernetes.NewForConfigOrDie(c.config)
	c.waitFor("apiserver ready", 2*time.Minute, func() (bool, error) {
		body, err := c.client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(context.Background())
		return err == nil && string(body) == "ok", err
	})
	c.start("controller-manager", cp, filepath.Join(c.bin, "navarch-controller-manager"),
		"--kubeconfig", c.kcfg, "--leader-elect=false",
		"--allocate-node-cidrs", "--cluster-cidr", clusterCIDR, "--node-cidr-mask-size", "24",
		"--node-monitor-period", "1s", "--node-monitor-grace-period", "8s")
	c.start("scheduler", cp, filepath.Join(c.bin, "navarch-scheduler"), "--kubeconfig", c.kcfg, "--leader-elect=false")
	c.start("dns", cp, filepath.Join(c.bin, "navarch-dns"), "--kubeconfig", c.kcfg)
	c.dnsService(addr)
}

// startNode starts the node's containerd (its own root, state, socket and
// CNI directory), imports the images, then its kubelet and proxy.
func (c *cluster) startNode(nd *node) {
	cni := filepath.Join(nd.dir, "cni", "net.d")
	for _, d := range []string{cni, filepath.Join(nd.dir, "state"), filepath.Join(nd.dir, "root")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			c.t.Fatal(err)
		}
	}
	def, err := exec.Command("containerd", "config", "default").Output()
	if err != nil {
		c.t.Fatalf("containerd config default: %v", err)
	}
	cfg, err := containerdConfig(string(def), map[string]string{
		`root = "/var/lib/containerd"`:                fmt.Sprintf("root = %q", filepath.Join(nd.dir, "root")),
		`state = "/run/containerd"`:                   fmt.Sprintf("state = %q", filepath.Join(nd.dir, "state")),
		`address = "/run/containerd/containerd.sock"`: fmt.Sprintf("address = %q", nd.sock),
		`conf_dir = "/etc/cni/net.d"`:                 fmt.Sprintf("conf_dir = %q", cni),
		`bin_dir = "/opt/cni/bin"`:                    `bin_dir = "/usr/lib/cni"`,
		`restrict_oom_score_adj = false`:              `restrict_oom_score_adj = true`,
		`sandbox_image = "registry.k8s.io/pause:3.6"`: fmt.Sprintf("sandbox_image = %q", images[0]),
	})
	if err != nil {
		c.t.Fatal(err)
	}
	cfgPath := filepath.Join(nd.dir, "containerd.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		c.t.Fatal(err)
	}
	nd.containerd = c.start(nd.name+"-containerd", nd.ns, "containerd", "--config", cfgPath)
	c.waitFor(nd.name+" containerd", time.Minute, func() (bool, error) {
		err := exec.Command("ctr", "--address", nd.sock, "version").Run()
		return err == nil, err
	})
	tar := filepath.Join(c.base, "images.tar")
	if _, err := os.Stat(tar); err != nil {
		c.sh("ctr", append([]string{"-n", "k8s.io", "images", "export", "--platform", "linux/amd64", tar}, images...)...)
	}
	c.sh("ctr", "--address", nd.sock, "-n", "k8s.io", "images", "import", "--platform", "linux/amd64", tar)

	nd.kubelet = c.startKubelet(nd)
	nd.proxy = c.start(nd.name+"-proxy", nd.ns, filepath.Join(c.bin, "navarch-proxy"),
		"--kubeconfig", c.kcfg, "--hostname-override", nd.name, "--cluster-cidr", clusterCIDR)
}

func (c *cluster) startKubelet(nd *node) *proc {
	return c.start(nd.name+"-kubelet", nd.ns, filepath.Join(c.bin, "navarch-kubelet"),
		"--kubeconfig", c.kcfg, "--hostname-override", nd.name, "--node-ip", nd.ip,
		"--container-runtime-endpoint", "unix://"+nd.sock,
		"--root-dir", filepath.Join(nd.dir, "kubelet"), "--pod-log-dir", filepath.Join(nd.dir, "pods"),
		"--network-plugin", "kubenet", "--cni-conf-dir", filepath.Join(nd.dir, "cni", "net.d"),
		"--non-masquerade-cidr", clusterCIDR,
		"--cluster-dns", dnsIP, "--node-status-update-frequency", "2s",
		// The images were copied in and cannot be pulled again, and the
		// nodes share a build host's disk: no image GC, low disk thresholds.
		"--image-gc-high-threshold", "100",
		"--eviction-hard", "memory.available<100Mi,nodefs.available<5%,imagefs.available<5%,nodefs.inodesFree<5%")
}

// containerdConfig applies line replacements to `containerd config
// default`, failing if a line to replace is not there (a containerd whose
// defaults changed must not silently share the host's paths).
func containerdConfig(def string, edits map[string]string) (string, error) {
	lines := strings.Split(def, "\n")
	seen := map[string]bool{}
	for i, l := range lines {
		trimmed := strings.TrimSpace(l)
		if r, ok := edits[trimmed]; ok {
			lines[i] = strings.Replace(l, trimmed, r, 1)
			seen[trimmed] = true
		}
	}
	for k := range edits {
		if !seen[k] {
			return "", fmt.Errorf("containerd config default has no line %q to change", k)
		}
	}
	return strings.Join(lines, "\n"), nil
}

func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// teardown undoes newCluster in reverse: processes, pods (through each
// node's CRI, so CNI releases their namespaces), containerds, mounts,
// namespaces, the host's veth and the state directory.
func (c *cluster) teardown() {
	if c.t.Failed() {
		c.mu.Lock()
		for _, p := range c.procs {
			c.t.Logf("--- last lines of %s:\n%s", p.name, tail(p.log, 25))
		}
		c.mu.Unlock()
	}
	for _, nd := range c.nodes {
		nd.kubelet.stop(syscall.SIGTERM, 10*time.Second)
		nd.proxy.stop(syscall.SIGTERM, 10*time.Second)
	}
	for _, nd := range c.nodes {
		if nd.containerd != nil && nd.containerd.running() {
			c.removePods(nd)
		}
		nd.containerd.stop(syscall.SIGTERM, 15*time.Second)
		c.killShims(nd)
	}
	c.mu.Lock()
	procs := append([]*proc(nil), c.procs...)
	c.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].stop(syscall.SIGTERM, 15*time.Second)
	}
	c.unmountUnder(c.base)
	for _, nd := range c.nodes {
		c.try("ip", "netns", "del", nd.ns)
	}
	if c.subnet != "" {
		c.try("ip", "link", "del", c.hostIf)
		c.try("ip", "netns", "del", c.cpNS)
	}
	if err := os.RemoveAll(c.base); err != nil {
		c.t.Logf("cleanup: %v", err)
	}
	_ = os.Remove(filepath.Dir(c.base)) // only when no other run uses it
}

// removePods stops and removes every sandbox of the node's containerd and
// the pod cgroups the kubelet would have removed.
func (c *cluster) removePods(nd *node) {
	rt, err := runtime.Dial("unix://"+nd.sock, 30*time.Second)
	if err != nil {
		c.t.Logf("cleanup %s: %v", nd.name, err)
		return
	}
	defer rt.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sbs, err := rt.ListPodSandbox(ctx, nil)
	if err != nil {
		c.t.Logf("cleanup %s: %v", nd.name, err)
		return
	}
	for _, sb := range sbs {
		if err := rt.StopPodSandbox(ctx, sb.Id); err != nil {
			c.t.Logf("cleanup %s: stop sandbox: %v", nd.name, err)
		}
		if err := rt.RemovePodSandbox(ctx, sb.Id); err != nil {
			c.t.Logf("cleanup %s: remove sandbox: %v", nd.name, err)
		}
		uid := sb.Labels[podworker.LabelPodUID]
		if uid == "" {
			continue
		}
		for _, p := range []string{"/kubepods/pod" + uid, "/kubepods/burstable/pod" + uid, "/kubepods/besteffort/pod" + uid} {
			if err := cgroup.Remove(p); err != nil {
				c.t.Logf("cleanup %s: %v", nd.name, err)
			}
		}
	}
}

// killShims kills the containerd shims the node's containerd started (their
// command line names its socket) that outlived it.
func (c *cluster) killShims(nd *node) {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid := 0
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil || pid <= 1 {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(cmdline), "\x00")
		if len(args) > 0 && strings.HasPrefix(filepath.Base(args[0]), "containerd-shim") && strings.Contains(string(cmdline), "\x00"+nd.sock+"\x00") {
			c.t.Logf("cleanup %s: killing leftover shim %d", nd.name, pid)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// unmountUnder lazily unmounts every mount point below dir, deepest first.
func (c *cluster) unmountUnder(dir string) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return
	}
	defer f.Close()
	var points []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && strings.HasPrefix(fields[4], dir+"/") {
			points = append(points, fields[4])
		}
	}
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	for _, p := range points {
		if err := syscall.Unmount(p, syscall.MNT_DETACH); err != nil {
			c.t.Logf("cleanup: unmount %s: %v", p, err)
		}
	}
}
