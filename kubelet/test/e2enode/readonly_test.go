package e2enode

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"navarch.dev/apiserver/testserver"
	"navarch.dev/kubelet/internal/nodetest"
	"navarch.dev/shared/statsummary"
)

// TestReadOnlyPort reads /healthz, /pods and /stats/summary of a running
// pod from the unauthenticated read-only port.
func TestReadOnlyPort(t *testing.T) {
	nodetest.Runtime(t)
	ts := testserver.Start(t)
	client := ts.Client
	ctx := context.Background()
	ensureLeaseNamespace(t, client)

	node := testNodeName("e2eronly")
	cfg := nodeConfig(t, node)
	roAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg.ReadOnlyAddr, cfg.HealthzAddr = roAddr, ""
	runKubelet(t, client, cfg)

	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "ro", Namespace: "default"},
		Spec: v1.PodSpec{
			NodeName: node, TerminationGracePeriodSeconds: int64p(0),
			Containers: []v1.Container{{Name: "main", Image: nodetest.BusyboxImage, ImagePullPolicy: v1.PullNever,
				Command: []string{"sh", "-c", "head -c 8000000 /dev/zero > /tmp/blob; exec sleep 3600"}}},
		},
	}
	if _, err := client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deletePod(t, client, "default", "ro") })
	waitPod(t, client, "default", "ro", "Running", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning })

	if body, err := get("http://" + roAddr + "/healthz"); err != nil || body != "ok" {
		t.Errorf("/healthz = %q, %v; want ok", body, err)
	}
	var pods v1.PodList
	poll(t, "/pods lists the running pod", func() (bool, error) {
		body, err := get("http://" + roAddr + "/pods")
		if err != nil {
			return false, err
		}
		if err := json.Unmarshal([]byte(body), &pods); err != nil {
			return false, err
		}
		return len(pods.Items) == 1 && pods.Items[0].Status.Phase == v1.PodRunning, nil
	})
	if p := pods.Items[0]; p.Name != "ro" || p.Spec.NodeName != node || len(p.Status.ContainerStatuses) != 1 || p.Status.ContainerStatuses[0].State.Running == nil {
		t.Errorf("/pods item = %s on %s, statuses %+v", p.Name, p.Spec.NodeName, p.Status.ContainerStatuses)
	}
	var sum statsummary.Summary
	poll(t, "/stats/summary with the pod's usage", func() (bool, error) {
		body, err := get("http://" + roAddr + "/stats/summary")
		if err != nil {
			return false, err
		}
		if err := json.Unmarshal([]byte(body), &sum); err != nil {
			return false, err
		}
		return len(sum.Pods) == 1 && sum.Pods[0].Memory != nil && sum.Pods[0].EphemeralStorage != nil, nil
	})
	n := sum.Node
	if n.NodeName != node || n.Memory == nil || n.Memory.AvailableBytes == nil || n.Fs == nil || n.Fs.CapacityBytes == nil || n.Fs.InodesFree == nil ||
		n.Runtime == nil || n.Runtime.ImageFs == nil || n.Runtime.ImageFs.AvailableBytes == nil {
		t.Errorf("node stats = %+v, want memory, fs with inodes and the image fs", n)
	}
	ps := sum.Pods[0]
	if ps.PodRef.Name != "ro" || len(ps.Containers) != 1 || ps.Containers[0].Name != "main" || *ps.Memory.WorkingSetBytes == 0 {
		t.Errorf("pod stats = %+v", ps)
	}
	// The 8 MB the container wrote are in its writable layer.
	poll(t, "the pod's disk use counted", func() (bool, error) {
		body, err := get("http://" + roAddr + "/stats/summary")
		if err != nil {
			return false, err
		}
		var s statsummary.Summary
		if err := json.Unmarshal([]byte(body), &s); err != nil || len(s.Pods) != 1 || s.Pods[0].EphemeralStorage.UsedBytes == nil {
			return false, err
		}
		return *s.Pods[0].EphemeralStorage.UsedBytes >= 8000000, nil
	})

	// The read-only port is never more than that: no exec, no logs.
	if _, err := get("http://" + roAddr + "/containerLogs/default/ro/main"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("/containerLogs on the read-only port: %v, want 404", err)
	}
}

// TestReadOnlyPortFlag runs the navarch-kubelet binary (standalone, static
// pods only) with --read-only-port set and with --read-only-port=0, and
// looks at which ports the process listens on.
func TestReadOnlyPortFlag(t *testing.T) {
	nodetest.Runtime(t)
	bin := filepath.Join(t.TempDir(), "navarch-kubelet")
	build := exec.Command("go", "build", "-o", bin, "navarch.dev/kubelet/cmd/navarch-kubelet")
	build.Dir = filepath.Join(nodetest.RepoRoot(), "kubelet")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, tt := range []struct {
		name     string
		readOnly int
	}{
		{name: "on", readOnly: freePort(t)},
		{name: "off", readOnly: 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			node := testNodeName("e2eroflag")
			t.Cleanup(func() { removeNodeSandboxes(t, node) })
			api, healthz := freePort(t), freePort(t)
			dir := t.TempDir()
			cmd := exec.Command(bin, "--hostname-override", node, "--pod-manifest-path", filepath.Join(dir, "manifests"),
				"--root-dir", filepath.Join(dir, "root"), "--pod-log-dir", filepath.Join(dir, "logs"), "--address", "127.0.0.1",
				"--port", strconv.Itoa(api), "--healthz-port", strconv.Itoa(healthz), "--read-only-port", strconv.Itoa(tt.readOnly),
				// Shared containerd: never collect its images from a test.
				"--image-gc-high-threshold", "100")
			var logs bytes.Buffer
			cmd.Stdout, cmd.Stderr = &logs, &logs
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() {
				cmd.Process.Signal(syscall.SIGTERM)
				cmd.Wait()
				if t.Failed() {
					t.Logf("kubelet log:\n%s", logs.String())
				}
			}()
			poll(t, "healthz", func() (bool, error) {
				body, err := get(fmt.Sprintf("http://127.0.0.1:%d/healthz", healthz))
				return body == "ok", err
			})
			want := []int{api, healthz}
			if tt.readOnly != 0 {
				want = append(want, tt.readOnly)
				if body, err := get(fmt.Sprintf("http://127.0.0.1:%d/pods", tt.readOnly)); err != nil || !strings.Contains(body, `"kind":"PodList"`) {
					t.Errorf("read-only /pods = %q, %v", body, err)
				}
			}
			sort.Ints(want)
			got, err := listeningPorts(cmd.Process.Pid)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Errorf("kubelet listens on %v, want %v", got, want)
			}
		})
	}
}

// listeningPorts returns the TCP ports the process listens on, sorted:
// its socket inodes matched against the listening sockets of its network
// namespace.
func listeningPorts(pid int) ([]int, error) {
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return nil, err
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if ino, ok := strings.CutPrefix(l, "socket:["); err == nil && ok {
			inodes[strings.TrimSuffix(ino, "]")] = true
		}
	}
	var ports []int
	for _, table := range []string{"tcp", "tcp6"} {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, table))
		if err != nil {
			return nil, err
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 10 || f[3] != "0A" || !inodes[f[9]] { // 0A: LISTEN
				continue
			}
			_, hexPort, _ := strings.Cut(f[1], ":")
			p, err := strconv.ParseInt(hexPort, 16, 32)
			if err != nil {
				return nil, err
			}
			ports = append(ports, int(p))
		}
	}
	sort.Ints(ports)
	return ports, nil
}
