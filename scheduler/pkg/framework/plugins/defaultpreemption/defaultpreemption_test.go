package defaultpreemption

import (
	"context"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

	"navarch.dev/scheduler/pkg/cache"
	"navarch.dev/scheduler/pkg/config"
	"navarch.dev/scheduler/pkg/framework"
	"navarch.dev/scheduler/pkg/framework/plugins/defaultbinder"
	"navarch.dev/scheduler/pkg/framework/plugins/noderesourcesfit"
	"navarch.dev/scheduler/pkg/framework/plugins/queuesort"
	"navarch.dev/scheduler/pkg/framework/plugins/tainttoleration"
	"navarch.dev/scheduler/pkg/framework/runtime"
)

func makePod(name string, prio int32, cpu string) *v1.Pod {
	return &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID(name)}, Spec: v1.PodSpec{
		Priority:   &prio,
		Containers: []v1.Container{{Resources: v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse(cpu)}}}},
	}}
}

func makeNode(name, cpu string, taint bool, pods ...*v1.Pod) *framework.NodeInfo {
	ni := framework.NewNodeInfo(pods...)
	n := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: v1.NodeStatus{Allocatable: v1.ResourceList{
		v1.ResourceCPU: resource.MustParse(cpu), v1.ResourcePods: resource.MustParse("10")}}}
	if taint {
		n.Spec.Taints = []v1.Taint{{Key: "k", Effect: v1.TaintEffectNoSchedule}}
	}
	ni.SetNode(n)
	return ni
}

func TestPostFilter(t *testing.T) {
	never := v1.PreemptNever
	tests := []struct {
		name        string
		pod         *v1.Pod
		nodes       []*framework.NodeInfo
		wantNode    string
		wantVictims []string
		wantMsg     string
	}{
		{name: "evicts the lower-priority pod", pod: makePod("p", 100, "2"),
			nodes:    []*framework.NodeInfo{makeNode("n1", "2", false, makePod("low", 1, "2"))},
			wantNode: "n1", wantVictims: []string{"low"}},
		{name: "keeps pods it does not need to evict", pod: makePod("p", 100, "2"),
			nodes:    []*framework.NodeInfo{makeNode("n1", "4", false, makePod("low1", 1, "2"), makePod("low2", 2, "1"), makePod("low3", 3, "1"))},
			wantNode: "n1", wantVictims: []string{"low1"}},
		{name: "prefers the node with less important victims", pod: makePod("p", 100, "2"),
			nodes:    []*framework.NodeInfo{makeNode("n1", "2", false, makePod("mid", 50, "2")), makeNode("n2", "2", false, makePod("low", 10, "2"))},
			wantNode: "n2", wantVictims: []string{"low"}},
		{name: "prefers fewer victims at equal priority", pod: makePod("p", 100, "2"),
			nodes:    []*framework.NodeInfo{makeNode("n1", "2", false, makePod("a", 10, "1"), makePod("b", 10, "1")), makeNode("n2", "2", false, makePod("c", 10, "2"))},
			wantNode: "n2", wantVictims: []string{"c"}},
		{name: "never evicts equal or higher priority", pod: makePod("p", 100, "2"),
			nodes:   []*framework.NodeInfo{makeNode("n1", "2", false, makePod("same", 100, "2"))},
			wantMsg: "preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod"},
		{name: "unresolvable nodes are skipped", pod: makePod("p", 100, "2"),
			nodes:   []*framework.NodeInfo{makeNode("n1", "2", true, makePod("low", 1, "2"))},
			wantMsg: "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling"},
		{name: "preemptionPolicy Never", pod: func() *v1.Pod { p := makePod("p", 100, "2"); p.Spec.PreemptionPolicy = &never; return p }(),
			nodes:   []*framework.NodeInfo{makeNode("n1", "2", false, makePod("low", 1, "2"))},
			wantMsg: "preemption: not eligible due to preemptionPolicy=Never"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset()
			for _, ni := range tt.nodes {
				for _, pi := range ni.Pods {
					client.Tracker().Add(pi.Pod)
				}
			}
			snap := cache.NewSnapshot(tt.nodes...)
			fwk, err := runtime.New(config.Profile{SchedulerName: "s"}, runtime.Options{
				Registry: runtime.Registry{
					queuesort.Name: queuesort.New, noderesourcesfit.Name: noderesourcesfit.New, tainttoleration.Name: tainttoleration.New,
					defaultbinder.Name: defaultbinder.New, Name: New,
				},
				Defaults: []runtime.DefaultPlugin{{Name: queuesort.Name}, {Name: tainttoleration.Name}, {Name: noderesourcesfit.Name}, {Name: Name}, {Name: defaultbinder.Name}},
				Client:   client, Snapshot: snap,
			})
			if err != nil {
				t.Fatal(err)
			}
			state := framework.NewCycleState()
			ctx := context.Background()
			if st := fwk.RunPreFilterPlugins(ctx, state, tt.pod, snap.List()); !st.IsSuccess() {
				t.Fatal(st)
			}
			filtered := framework.NodeToStatus{}
			for _, ni := range snap.List() {
				if st := fwk.RunFilterPlugins(ctx, state, tt.pod, ni); !st.IsSuccess() {
					filtered[ni.NodeName()] = st
				}
			}
			res, st := fwk.RunPostFilterPlugins(ctx, state, tt.pod, filtered)
			if tt.wantMsg != "" {
				if st.IsSuccess() || st.Message() != tt.wantMsg {
					t.Fatalf("PostFilter = %v, want %q", st, tt.wantMsg)
				}
				return
			}
			if !st.IsSuccess() || res.NominatedNodeName != tt.wantNode {
				t.Fatalf("PostFilter = %+v, %v; want node %s", res, st, tt.wantNode)
			}
			left, _ := client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
			remaining := map[string]bool{}
			for _, p := range left.Items {
				remaining[p.Name] = true
			}
			for _, v := range tt.wantVictims {
				if remaining[v] {
					t.Errorf("victim %s not deleted", v)
				}
			}
			if want := countPods(tt.nodes) - len(tt.wantVictims); len(left.Items) != want {
				t.Errorf("%d pods left, want %d", len(left.Items), want)
			}
		})
	}
}

func countPods(nodes []*framework.NodeInfo) int {
	n := 0
	for _, ni := range nodes {
		n += len(ni.Pods)
	}
	return n
}
