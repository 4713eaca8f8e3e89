package e2enode

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"navarch.dev/apiserver/testserver"
	"navarch.dev/kubelet/internal/nodetest"
	"navarch.dev/kubelet/pkg/eviction"
	"navarch.dev/kubelet/pkg/stats"
	"navarch.dev/shared/statsummary"
)

// nodeCondition polls the Node until its condition of type typ has status
// and reason.
func nodeCondition(t *testing.T, client kubernetes.Interface, node string, typ v1.NodeConditionType, status v1.ConditionStatus, reason string) {
	t.Helper()
	poll(t, fmt.Sprintf("%s %s (%s) on the Node", typ, status, reason), func() (bool, error) {
		n, err := client.CoreV1().Nodes().Get(context.Background(), node, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range n.Status.Conditions {
			if c.Type == typ {
				return c.Status == status && c.Reason == reason, nil
			}
		}
		return false, nil
	})
}

// TestEvictionUnderPIDPressure: a node without a PID threshold reports
// PIDPressure False, and the summary counts a pod's processes from its
// cgroups; a kubelet whose --eviction-hard pid.available threshold lies
// above what the machine has free reports PIDPressure True, evicts the
// running pod (Failed, Evicted, DisruptionTarget) and refuses a new one.
func TestEvictionUnderPIDPressure(t *testing.T) {
	rt := nodetest.Runtime(t)
	ts := testserver.Start(t)
	client := ts.Client
	ctx := context.Background()
	ensureLeaseNamespace(t, client)
	node := testNodeName("e2epid")
	cfg := nodeConfig(t, node)
	cfg.HealthzAddr, cfg.ReadOnlyAddr = "", ""
	cfg.StatusInterval, cfg.EvictionInterval = time.Second, time.Second

	// Three processes: the shell and two sleeps.
	forker := sleeper("forker", node, "")
	forker.Spec.Containers[0].Command = []string{"sh", "-c", "sleep 3600 & sleep 3600 & wait"}
	createPods(t, client, forker)
	stop := runKubelet(t, client, cfg)
	running := waitPod(t, client, "default", "forker", "Running", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning })
	nodeCondition(t, client, node, v1.NodePIDPressure, v1.ConditionFalse, "KubeletHasSufficientPID")

	// The summary the kubelet serves, from the machine's containerd and
	// cgroups.
	summaries := stats.NewProvider(node, "/", "", rt.RuntimeService(), nil, func() []*v1.Pod { return []*v1.Pod{running} })
	var sum *statsummary.Summary
	poll(t, "forker's three processes in the summary", func() (bool, error) {
		var err error
		if sum, err = summaries.Summary(ctx); err != nil {
			return false, err
		}
		ps := sum.Pods[0].ProcessStats
		return ps != nil && ps.ProcessCount != nil && *ps.ProcessCount == 3, nil
	})
	r := sum.Node.Rlimit
	if r == nil || r.MaxPID == nil || r.NumOfRunningProcesses == nil {
		t.Fatalf("node rlimit = %+v, want maxpid and curproc", r)
	}
	stop()

	// A threshold well above what is free now is met however the
	// machine's other tasks come and go.
	free := *r.MaxPID - *r.NumOfRunningProcesses
	threshold := free + 5000
	thresholds, err := eviction.ParseThresholds(fmt.Sprintf("pid.available<%d", threshold), false, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Eviction = eviction.Config{Thresholds: thresholds}
	runKubelet(t, client, cfg)

	p := waitPod(t, client, "default", "forker", "evicted", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodFailed })
	wantPrefix := fmt.Sprintf("The node was low on resource: pids. Threshold quantity: %s, available: ", thresholds[0].Value.String())
	if p.Status.Reason != "Evicted" || !strings.HasPrefix(p.Status.Message, wantPrefix) {
		t.Errorf("evicted pod: reason %q message %q, want Evicted and %q...", p.Status.Reason, p.Status.Message, wantPrefix)
	}
	var disruption *v1.PodCondition
	for i, c := range p.Status.Conditions {
		if c.Type == v1.DisruptionTarget {
			disruption = &p.Status.Conditions[i]
		}
	}
	if disruption == nil || disruption.Status != v1.ConditionTrue || disruption.Reason != "TerminationByKubelet" || disruption.Message != p.Status.Message {
		t.Errorf("DisruptionTarget = %+v, want True, TerminationByKubelet, the eviction message", disruption)
	}
	nodeCondition(t, client, node, v1.NodePIDPressure, v1.ConditionTrue, "KubeletHasInsufficientPID")
	if ids := runningContainers(t, rt, "default", "forker"); len(ids) != 0 {
		t.Errorf("the evicted pod still runs containers %v", ids)
	}

	// Under PID pressure every pod is refused, a Guaranteed one too.
	createPods(t, client, sleeper("late", node, "64Mi"))
	late := waitPod(t, client, "default", "late", "refused", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodFailed })
	if late.Status.Reason != "Evicted" || late.Status.Message != "Pod was rejected: The node had condition: [PIDPressure]. " {
		t.Errorf("pod created under pressure: reason %q message %q", late.Status.Reason, late.Status.Message)
	}
}
