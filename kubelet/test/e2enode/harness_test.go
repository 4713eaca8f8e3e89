package e2enode

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"navarch.dev/kubelet/pkg/cgroup"
	"navarch.dev/kubelet/pkg/kubelet"
	"navarch.dev/kubelet/pkg/podworker"
	"navarch.dev/kubelet/pkg/runtime"
)

// nodeConfig is a kubelet configuration for a test node whose per-pod
// directories and logs live in the test's temporary directory. When the
// test ends (after its kubelets stopped), whatever the node left in the
// runtime — a failed test's pods — is removed.
func nodeConfig(t testing.TB, name string) kubelet.Config {
	t.Cleanup(func() { removeNodeSandboxes(t, name) })
	return kubelet.Config{
		NodeName: name, NodeIP: "127.0.0.1", Hostname: name, RuntimeEndpoint: runtime.DefaultEndpoint,
		ClusterDomain: "cluster.local", MaxPods: 110, Reserved: kubelet.DefaultReserved(),
		PodLogRoot: t.TempDir(), PodsDir: t.TempDir(), RootDir: "/", Port: 10250,
		StatusInterval: 10 * time.Second, RemovePodCgroups: true, VolumeRefresh: time.Second,
	}
}

// runKubelet runs a kubelet with cfg; stop ends it (and is also called when
// the test ends, if it was not before).
func runKubelet(t testing.TB, client kubernetes.Interface, cfg kubelet.Config) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- kubelet.Run(ctx, cfg, client) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("kubelet: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

func testNodeName(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()%100000)
}

func ensureLeaseNamespace(t testing.TB, client kubernetes.Interface) {
	t.Helper()
	_, err := client.CoreV1().Namespaces().Create(context.Background(), &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: v1.NamespaceNodeLease}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// waitPod polls the pod until cond holds and returns it.
func waitPod(t *testing.T, client kubernetes.Interface, ns, name, what string, cond func(*v1.Pod) bool) *v1.Pod {
	t.Helper()
	var got *v1.Pod
	poll(t, name+": "+what, func() (bool, error) {
		p, err := client.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		got = p
		return cond(p), nil
	})
	return got
}

func podReady(p *v1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == v1.PodReady && c.Status == v1.ConditionTrue {
			return p.Status.Phase == v1.PodRunning && p.Status.PodIP != ""
		}
	}
	return false
}

// deletePod deletes the pod and waits until the kubelet has finished it.
func deletePod(t *testing.T, client kubernetes.Interface, ns, name string) {
	t.Helper()
	ctx := context.Background()
	if err := client.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Error(err)
		return
	}
	poll(t, name+" gone", func() (bool, error) {
		_, err := client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
}

// get fetches url and returns the body of a 200 answer.
func get(url string) (string, error) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(b), nil
}

func int64p(v int64) *int64 { return &v }

func intOrString(port int) intstr.IntOrString { return intstr.FromInt(port) }

// removeNodeSandboxes stops and removes every sandbox (and so container)
// the kubelet of node made, and their pod cgroups.
func removeNodeSandboxes(t testing.TB, node string) {
	rt, err := runtime.Dial(runtime.DefaultEndpoint, 10*time.Second)
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	defer rt.Close()
	ctx := context.Background()
	sbs, err := rt.ListPodSandbox(ctx, map[string]string{podworker.LabelNode: node})
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	for _, sb := range sbs {
		if err := rt.StopPodSandbox(ctx, sb.Id); err != nil {
			t.Errorf("cleanup: %v", err)
			continue
		}
		if err := rt.RemovePodSandbox(ctx, sb.Id); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		uid := sb.Labels[podworker.LabelPodUID]
		for _, p := range []string{"/kubepods/pod" + uid, "/kubepods/burstable/pod" + uid, "/kubepods/besteffort/pod" + uid} {
			cgroup.Remove(p)
		}
	}
}
