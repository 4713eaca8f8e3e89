package e2enode

import (
	"context"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"navarch.dev/apiserver/testserver"
	"navarch.dev/kubelet/internal/nodetest"
	"navarch.dev/kubelet/pkg/eviction"
)

func sleeper(name, node string, mem string) *v1.Pod {
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: v1.PodSpec{
			NodeName: node, TerminationGracePeriodSeconds: int64p(0),
			Containers: []v1.Container{{Name: "main", Image: nodetest.BusyboxImage, ImagePullPolicy: v1.PullNever, Command: []string{"sleep", "3600"}}},
		},
	}
	if mem != "" {
		q := resource.MustParse(mem)
		p.Spec.Containers[0].Resources = v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceMemory: q}, Limits: v1.ResourceList{v1.ResourceMemory: q}}
	}
	return p
}

func createPods(t *testing.T, client kubernetes.Interface, pods ...*v1.Pod) {
	t.Helper()
	for _, p := range pods {
		if _, err := client.CoreV1().Pods("default").Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		name := p.Name
		t.Cleanup(func() { deletePod(t, client, "default", name) })
	}
}

// TestMaxPods: on a node with --max-pods=2 a third pod fails with
// OutOfpods and never runs.
func TestMaxPods(t *testing.T) {
	nodetest.Runtime(t)
	ts := testserver.Start(t)
	client := ts.Client
	ensureLeaseNamespace(t, client)
	node := testNodeName("e2emaxpods")
	cfg := nodeConfig(t, node)
	cfg.MaxPods, cfg.HealthzAddr, cfg.ReadOnlyAddr = 2, "", ""
	runKubelet(t, client, cfg)

	createPods(t, client, sleeper("one", node, ""), sleeper("two", node, ""))
	for _, n := range []string{"one", "two"} {
		waitPod(t, client, "default", n, "Running", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning })
	}
	createPods(t, client, sleeper("three", node, ""))
	p := waitPod(t, client, "default", "three", "Failed", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodFailed })
	if p.Status.Reason != "OutOfpods" || p.Status.Message != "Pod was rejected: Node didn't have enough resource: pods, requested: 1, used: 2, capacity: 2" {
		t.Errorf("rejected pod: reason %q message %q", p.Status.Reason, p.Status.Message)
	}
	if ids := runningContainers(t, nodetest.Runtime(t), "default", "three"); len(ids) != 0 {
		t.Errorf("the rejected pod runs containers %v", ids)
	}
}

// TestEvictionUnderMemoryPressure runs a kubelet whose hard threshold
// (memory.available<1Ei) is always met: the Node reports MemoryPressure,
// a running BestEffort pod is evicted (Failed, reason Evicted, a message
// naming memory), and a new BestEffort pod is refused. (Under a pressure
// that never ends every pod goes in the end, one per interval; the order
// is the unit tests' concern.)
func TestEvictionUnderMemoryPressure(t *testing.T) {
	nodetest.Runtime(t)
	ts := testserver.Start(t)
	client := ts.Client
	ctx := context.Background()
	ensureLeaseNamespace(t, client)
	node := testNodeName("e2eevict")
	cfg := nodeConfig(t, node)
	cfg.HealthzAddr, cfg.ReadOnlyAddr = "", ""
	cfg.StatusInterval, cfg.EvictionInterval = time.Second, time.Second
	thresholds, err := eviction.ParseThresholds("memory.available<1Ei", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The pods start on a kubelet without thresholds (under pressure the
	// BestEffort one would be refused); a kubelet with the threshold takes
	// them over.
	createPods(t, client, sleeper("guaranteed", node, "64Mi"), sleeper("besteffort", node, ""))
	stop := runKubelet(t, client, cfg)
	for _, n := range []string{"guaranteed", "besteffort"} {
		waitPod(t, client, "default", n, "Running", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning })
	}
	stop()
	cfg.Eviction = eviction.Config{Thresholds: thresholds}
	runKubelet(t, client, cfg)

	p := waitPod(t, client, "default", "besteffort", "evicted", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodFailed })
	if p.Status.Reason != "Evicted" || !strings.HasPrefix(p.Status.Message, "The node was low on resource: memory. Threshold quantity: 1Ei, available: ") {
		t.Errorf("evicted pod: reason %q message %q", p.Status.Reason, p.Status.Message)
	}
	poll(t, "MemoryPressure on the Node", func() (bool, error) {
		n, err := client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range n.Status.Conditions {
			if c.Type == v1.NodeMemoryPressure {
				return c.Status == v1.ConditionTrue && c.Reason == "KubeletHasInsufficientMemory", nil
			}
		}
		return false, nil
	})
	createPods(t, client, sleeper("late", node, ""))
	late := waitPod(t, client, "default", "late", "refused", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodFailed })
	if late.Status.Reason != "Evicted" || late.Status.Message != "Pod was rejected: The node had condition: [MemoryPressure]. " {
		t.Errorf("pod created under pressure: reason %q message %q", late.Status.Reason, late.Status.Message)
	}
}
