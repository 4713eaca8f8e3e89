package nodelifecycle

import (
	"context"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"navarch.dev/controller-manager/pkg/controller/controllertest"
)

var start = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

func makeNode(name string, ready corev1.ConditionStatus, taints ...corev1.Taint) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.NodeSpec{Taints: taints},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{
			Type: corev1.NodeReady, Status: ready, LastHeartbeatTime: metav1.Time{Time: start},
		}}},
	}
}

func makePod(name, node string, tolerations ...corev1.Toleration) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: "uid-" + "name"},
		Spec:       corev1.PodSpec{NodeName: node, Tolerations: tolerations},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{
			{Type: corev1.PodReady, Status: corev1.ConditionTrue},
		}},
	}
}

func noExecute(key string, added time.Time) corev1.Taint {
	return corev1.Taint{Key: key, Effect: corev1.TaintEffectNoExecute, TimeAdded: &metav1.Time{Time: added}}
}

func tolerate(key string, seconds *int64) corev1.Toleration {
	return corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: seconds}
}

type harness struct {
	client *fake.Clientset
	f      informers.SharedInformerFactory
	c      *Controller
	clock  *clocktesting.FakeClock
}

func newHarness(t *testing.T, objs ...runtime.Object) *harness {
	t.Helper()
	client := fake.NewClientset(objs...)
	controllertest.GenerateNames(client)
	f := informers.NewSharedInformerFactory(client, 0)
	clk := clocktesting.NewFakeClock(start)
	c, err := NewController(client, f.Core().V1().Nodes(), f.Core().V1().Pods(), f.Coordination().V1().Leases(), record.NewFakeRecorder(100), clk, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{client: client, f: f, c: c, clock: clk}
	h.refresh()
	return h
}

func (h *harness) refresh() {
	ctx := context.Background()
	nodes, _ := h.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	pods, _ := h.client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	leases, _ := h.client.CoordinationV1().Leases("").List(ctx, metav1.ListOptions{})
	var objs []any
	for i := range nodes.Items {
		objs = append(objs, &nodes.Items[i])
	}
	_ = h.f.Core().V1().Nodes().Informer().GetIndexer().Replace(objs, "")
	objs = nil
	for i := range pods.Items {
		objs = append(objs, &pods.Items[i])
	}
	_ = h.f.Core().V1().Pods().Informer().GetIndexer().Replace(objs, "")
	objs = nil
	for i := range leases.Items {
		objs = append(objs, &leases.Items[i])
	}
	_ = h.f.Coordination().V1().Leases().Informer().GetIndexer().Replace(objs, "")
}

func (h *harness) syncNode(t *testing.T, name string) *corev1.Node {
	t.Helper()
	if err := h.c.syncNode(context.Background(), name); err != nil {
		t.Fatalf("syncNode: %v", err)
	}
	h.refresh()
	n, err := h.client.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func taintKeys(n *corev1.Node) map[string]bool {
	out := map[string]bool{}
	for _, t := range n.Spec.Taints {
		out[t.Key+":"+string(t.Effect)] = true
	}
	return out
}

func TestSilentNodeBecomesUnreachable(t *testing.T) {
	h := newHarness(t, makeNode("n1", corev1.ConditionTrue), makePod("p1", "n1"))
	n := h.syncNode(t, "n1")
	if len(n.Spec.Taints) != 0 {
		t.Fatalf("healthy node tainted: %v", n.Spec.Taints)
	}
	h.clock.Step(39 * time.Second)
	if n = h.syncNode(t, "n1"); readyCondition(n).Status != corev1.ConditionTrue {
		t.Fatalf("node judged before the grace period")
	}
	h.clock.Step(2 * time.Second)
	n = h.syncNode(t, "n1")
	if r := readyCondition(n); r.Status != corev1.ConditionUnknown || r.Reason != "NodeStatusUnknown" {
		t.Fatalf("ready condition = %+v", r)
	}
	keys := taintKeys(n)
	if !keys[TaintUnreachable+":NoExecute"] || !keys[TaintUnreachable+":NoSchedule"] {
		t.Errorf("taints = %v", n.Spec.Taints)
	}
	p, _ := h.client.CoreV1().Pods("default").Get(context.Background(), "p1", metav1.GetOptions{})
	if c := p.Status.Conditions[0]; c.Status != corev1.ConditionFalse {
		t.Errorf("pod ready condition = %+v, want False", c)
	}
}

func TestLeaseRenewalKeepsNodeHealthy(t *testing.T) {
	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: "n1", Namespace: LeaseNamespace},
		Spec:       coordinationv1.LeaseSpec{RenewTime: &metav1.MicroTime{Time: start}},
	}
	h := newHarness(t, makeNode("n1", corev1.ConditionTrue), lease)
	h.syncNode(t, "n1")
	for range 5 {
		h.clock.Step(20 * time.Second)
		lease.Spec.RenewTime = &metav1.MicroTime{Time: h.clock.Now()}
		if _, err := h.client.CoordinationV1().Leases(LeaseNamespace).Update(context.Background(), lease, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		h.refresh()
		if n := h.syncNode(t, "n1"); readyCondition(n).Status != corev1.ConditionTrue {
			t.Fatalf("node with a fresh lease judged unhealthy")
		}
	}
}

func TestTaintsFollowReadyCondition(t *testing.T) {
	tests := []struct {
		name string
		node *corev1.Node
		want []string
	}{
		{name: "not ready", node: makeNode("n1", corev1.ConditionFalse), want: []string{TaintNotReady + ":NoSchedule", TaintNotReady + ":NoExecute"}},
		{name: "ready again drops lifecycle taints, keeps others", node: makeNode("n1", corev1.ConditionTrue,
			noExecute(TaintUnreachable, start), corev1.Taint{Key: "dedicated", Effect: corev1.TaintEffectNoSchedule}), want: []string{"dedicated:NoSchedule"}},
		{name: "unknown turns not-ready into unreachable", node: makeNode("n1", corev1.ConditionUnknown, noExecute(TaintNotReady, start)),
			want: []string{TaintUnreachable + ":NoSchedule", TaintUnreachable + ":NoExecute"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.node)
			n := h.syncNode(t, "n1")
			keys := taintKeys(n)
			if len(keys) != len(tt.want) {
				t.Errorf("taints = %v, want %v", n.Spec.Taints, tt.want)
			}
			for _, w := range tt.want {
				if !keys[w] {
					t.Errorf("missing taint %s in %v", w, n.Spec.Taints)
				}
			}
		})
	}
}

func TestNoExecuteTaintingIsRateLimited(t *testing.T) {
	h := newHarness(t, makeNode("n1", corev1.ConditionFalse), makeNode("n2", corev1.ConditionFalse))
	n1 := h.syncNode(t, "n1")
	n2 := h.syncNode(t, "n2")
	if !taintKeys(n1)[TaintNotReady+":NoExecute"] {
		t.Fatalf("first node not tainted: %v", n1.Spec.Taints)
	}
	if taintKeys(n2)[TaintNotReady+":NoExecute"] || !taintKeys(n2)[TaintNotReady+":NoSchedule"] {
		t.Fatalf("second node should wait for a token (NoSchedule only): %v", n2.Spec.Taints)
	}
	h.clock.Step(10 * time.Second)
	if n2 = h.syncNode(t, "n2"); !taintKeys(n2)[TaintNotReady+":NoExecute"] {
		t.Fatalf("second node not tainted after 1/rate: %v", n2.Spec.Taints)
	}
}

func TestEvictionTime(t *testing.T) {
	added := start
	tests := []struct {
		name      string
		taints    []corev1.Taint
		tols      []corev1.Toleration
		wantEvict bool
		wantAt    time.Time
	}{
		{name: "no taints"},
		{name: "NoSchedule only", taints: []corev1.Taint{{Key: "x", Effect: corev1.TaintEffectNoSchedule}}},
		{name: "untolerated", taints: []corev1.Taint{noExecute(TaintUnreachable, added)}, wantEvict: true},
		{name: "tolerated forever", taints: []corev1.Taint{noExecute(TaintUnreachable, added)}, tols: []corev1.Toleration{tolerate(TaintUnreachable, nil)}},
		{name: "default 300s", taints: []corev1.Taint{noExecute(TaintUnreachable, added)}, tols: []corev1.Toleration{tolerate(TaintUnreachable, ptr.To[int64](300))},
			wantEvict: true, wantAt: added.Add(300 * time.Second)},
		{name: "shortest of two tolerations", taints: []corev1.Taint{noExecute(TaintUnreachable, added)},
			tols:      []corev1.Toleration{tolerate(TaintUnreachable, ptr.To[int64](300)), tolerate(TaintUnreachable, ptr.To[int64](30))},
			wantEvict: true, wantAt: added.Add(30 * time.Second)},
		{name: "one untolerated of two taints", taints: []corev1.Taint{noExecute(TaintUnreachable, added), noExecute("other", added)},
			tols: []corev1.Toleration{tolerate(TaintUnreachable, nil)}, wantEvict: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			node := makeNode("n1", corev1.ConditionUnknown, tt.taints...)
			pod := makePod("p", "n1", tt.tols...)
			at, evict := evictionTime(pod, node)
			if evict != tt.wantEvict || !at.Equal(tt.wantAt) {
				t.Errorf("evictionTime = %v, %v; want %v, %v", at, evict, tt.wantAt, tt.wantEvict)
			}
		})
	}
}

func TestSyncPodEvicts(t *testing.T) {
	tests := []struct {
		name       string
		pod        *corev1.Pod
		wantDelete bool
	}{
		{name: "untolerated pod is deleted", pod: makePod("p", "n1"), wantDelete: true},
		{name: "pod within tolerationSeconds stays", pod: makePod("p", "n1", tolerate(TaintUnreachable, ptr.To[int64](300)))},
		{name: "pod past tolerationSeconds is deleted", pod: makePod("p", "n1", tolerate(TaintUnreachable, ptr.To[int64](5))), wantDelete: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			node := makeNode("n1", corev1.ConditionUnknown, noExecute(TaintUnreachable, start.Add(-10*time.Second)))
			h := newHarness(t, node, tt.pod)
			h.client.ClearActions()
			if err := h.c.syncPod(context.Background(), "default/p"); err != nil {
				t.Fatal(err)
			}
			if got := controllertest.Count(h.client.Actions(), "delete", "pods") == 1; got != tt.wantDelete {
				t.Errorf("deleted = %v, want %v", got, tt.wantDelete)
			}
		})
	}
}

// withConditions adds conditions (type=status) to a ready node.
func withConditions(n *corev1.Node, conds map[corev1.NodeConditionType]corev1.ConditionStatus) *corev1.Node {
	for t, s := range conds {
		n.Status.Conditions = append(n.Status.Conditions, corev1.NodeCondition{Type: t, Status: s, LastHeartbeatTime: metav1.Time{Time: start}})
	}
	return n
}

func noSchedule(key string) corev1.Taint {
	return corev1.Taint{Key: key, Effect: corev1.TaintEffectNoSchedule}
}

// TestTaintNodesByCondition: each pressure condition and network
// unavailability puts its NoSchedule taint on the node while it holds and
// takes it off when it clears, leaving other taints alone, as upstream's
// taint-nodes-by-condition does.
func TestTaintNodesByCondition(t *testing.T) {
	tests := []struct {
		name string
		node *corev1.Node
		want []string
	}{
		{name: "memory pressure", node: withConditions(makeNode("n1", corev1.ConditionTrue),
			map[corev1.NodeConditionType]corev1.ConditionStatus{corev1.NodeMemoryPressure: corev1.ConditionTrue, corev1.NodeDiskPressure: corev1.ConditionFalse}),
			want: []string{TaintMemoryPressure + ":NoSchedule"}},
		{name: "disk pressure", node: withConditions(makeNode("n1", corev1.ConditionTrue),
			map[corev1.NodeConditionType]corev1.ConditionStatus{corev1.NodeDiskPressure: corev1.ConditionTrue}),
			want: []string{TaintDiskPressure + ":NoSchedule"}},
		{name: "pid pressure", node: withConditions(makeNode("n1", corev1.ConditionTrue),
			map[corev1.NodeConditionType]corev1.ConditionStatus{corev1.NodePIDPressure: corev1.ConditionTrue}),
			want: []string{TaintPIDPressure + ":NoSchedule"}},
		{name: "network unavailable", node: withConditions(makeNode("n1", corev1.ConditionTrue),
			map[corev1.NodeConditionType]corev1.ConditionStatus{corev1.NodeNetworkUnavailable: corev1.ConditionTrue}),
			want: []string{TaintNetworkUnavailable + ":NoSchedule"}},
		{name: "all at once, beside an operator's taint", node: withConditions(makeNode("n1", corev1.ConditionTrue, noSchedule("dedicated")),
			map[corev1.NodeConditionType]corev1.ConditionStatus{
				corev1.NodeMemoryPressure: corev1.ConditionTrue, corev1.NodeDiskPressure: corev1.ConditionTrue,
				corev1.NodePIDPressure: corev1.ConditionTrue, corev1.NodeNetworkUnavailable: corev1.ConditionTrue,
			}),
			want: []string{"dedicated:NoSchedule", TaintMemoryPressure + ":NoSchedule", TaintDiskPressure + ":NoSchedule",
				TaintPIDPressure + ":NoSchedule", TaintNetworkUnavailable + ":NoSchedule"}},
		{name: "cleared conditions drop their taints", node: withConditions(makeNode("n1", corev1.ConditionTrue,
			noSchedule(TaintMemoryPressure), noSchedule(TaintDiskPressure), noSchedule(TaintPIDPressure), noSchedule(TaintNetworkUnavailable), noSchedule("dedicated")),
			map[corev1.NodeConditionType]corev1.ConditionStatus{
				corev1.NodeMemoryPressure: corev1.ConditionFalse, corev1.NodeDiskPressure: corev1.ConditionFalse,
				corev1.NodePIDPressure: corev1.ConditionFalse, corev1.NodeNetworkUnavailable: corev1.ConditionFalse,
			}),
			want: []string{"dedicated:NoSchedule"}},
		{name: "unknown pressure is no pressure", node: withConditions(makeNode("n1", corev1.ConditionTrue, noSchedule(TaintMemoryPressure)),
			map[corev1.NodeConditionType]corev1.ConditionStatus{corev1.NodeMemoryPressure: corev1.ConditionUnknown}),
			want: nil},
		{name: "pressure on a not-ready node", node: withConditions(makeNode("n1", corev1.ConditionFalse),
			map[corev1.NodeConditionType]corev1.ConditionStatus{corev1.NodeDiskPressure: corev1.ConditionTrue}),
			want: []string{TaintDiskPressure + ":NoSchedule", TaintNotReady + ":NoSchedule", TaintNotReady + ":NoExecute"}},
		{name: "cordoned node", node: func() *corev1.Node {
			n := makeNode("n1", corev1.ConditionTrue)
			n.Spec.Unschedulable = true
			return n
		}(), want: []string{TaintUnschedulable + ":NoSchedule"}},
		{name: "uncordoned node", node: makeNode("n1", corev1.ConditionTrue, noSchedule(TaintUnschedulable)), want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.node)
			n := h.syncNode(t, "n1")
			keys := taintKeys(n)
			if len(keys) != len(tt.want) || len(n.Spec.Taints) != len(tt.want) {
				t.Errorf("taints = %v, want %v", n.Spec.Taints, tt.want)
			}
			for _, w := range tt.want {
				if !keys[w] {
					t.Errorf("missing taint %s in %v", w, n.Spec.Taints)
				}
			}
		})
	}
}

// TestPressureTaintFollowsConditionChanges: the taint comes with the
// condition turning True and goes when the kubelet reports it False again.
func TestPressureTaintFollowsConditionChanges(t *testing.T) {
	h := newHarness(t, withConditions(makeNode("n1", corev1.ConditionTrue),
		map[corev1.NodeConditionType]corev1.ConditionStatus{corev1.NodeMemoryPressure: corev1.ConditionFalse}))
	set := func(s corev1.ConditionStatus) {
		t.Helper()
		n, err := h.client.CoreV1().Nodes().Get(context.Background(), "n1", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for i := range n.Status.Conditions {
			if n.Status.Conditions[i].Type == corev1.NodeMemoryPressure {
				n.Status.Conditions[i].Status = s
			}
		}
		if _, err := h.client.CoreV1().Nodes().UpdateStatus(context.Background(), n, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		h.refresh()
	}
	if n := h.syncNode(t, "n1"); len(n.Spec.Taints) != 0 {
		t.Fatalf("node without pressure tainted: %v", n.Spec.Taints)
	}
	set(corev1.ConditionTrue)
	if n := h.syncNode(t, "n1"); !taintKeys(n)[TaintMemoryPressure+":NoSchedule"] || len(n.Spec.Taints) != 1 {
		t.Fatalf("taints under memory pressure = %v, want %s:NoSchedule", n.Spec.Taints, TaintMemoryPressure)
	}
	set(corev1.ConditionFalse)
	if n := h.syncNode(t, "n1"); len(n.Spec.Taints) != 0 {
		t.Fatalf("taints after the pressure cleared = %v, want none", n.Spec.Taints)
	}
}
