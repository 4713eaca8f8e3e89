package podtopologyspread

import (
	"context"
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"navarch.dev/scheduler/pkg/cache"
	"navarch.dev/scheduler/pkg/framework"
)

type handle struct {
	framework.Handle
	snapshot *cache.Snapshot
}

func (h handle) SnapshotNodeInfos() framework.NodeInfoLister { return h.snapshot }

var n int

// pods returns count pods labelled app.
func pods(app string, count int) []*v1.Pod {
	var out []*v1.Pod
	for range count {
		n++
		name := fmt.Sprintf("%s-%d", app, n)
		out = append(out, &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID(name), Labels: map[string]string{"app": app}}})
	}
	return out
}

func makeNode(name string, lbls map[string]string, ps ...*v1.Pod) *framework.NodeInfo {
	ni := framework.NewNodeInfo(ps...)
	ni.SetNode(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: lbls}})
	return ni
}

func zone(z string) map[string]string { return map[string]string{"zone": z} }

func spreadPod(maxSkew int32, action v1.UnsatisfiableConstraintAction, minDomains *int32) *v1.Pod {
	return &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default", Labels: map[string]string{"app": "web"}},
		Spec: v1.PodSpec{TopologySpreadConstraints: []v1.TopologySpreadConstraint{{
			MaxSkew: maxSkew, TopologyKey: "zone", WhenUnsatisfiable: action, MinDomains: minDomains,
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		}}}}
}

func TestFilter(t *testing.T) {
	skewFail := framework.NewStatus(framework.Unschedulable, ErrReasonConstraintsNotMatch)
	labelFail := framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonNodeLabelNotMatch)
	three := int32(3)
	tests := []struct {
		name  string
		pod   *v1.Pod
		nodes []*framework.NodeInfo
		want  map[string]*framework.Status
	}{
		{name: "skew 1: only the emptier zone", pod: spreadPod(1, v1.DoNotSchedule, nil),
			nodes: []*framework.NodeInfo{makeNode("a", zone("a"), pods("web", 2)...), makeNode("b", zone("b"), pods("web", 1)...)},
			want:  map[string]*framework.Status{"a": skewFail, "b": nil}},
		{name: "balanced zones both fit", pod: spreadPod(1, v1.DoNotSchedule, nil),
			nodes: []*framework.NodeInfo{makeNode("a", zone("a"), pods("web", 1)...), makeNode("b", zone("b"), pods("web", 1)...)},
			want:  map[string]*framework.Status{"a": nil, "b": nil}},
		{name: "maxSkew 2 allows one more", pod: spreadPod(2, v1.DoNotSchedule, nil),
			nodes: []*framework.NodeInfo{makeNode("a", zone("a"), pods("web", 1)...), makeNode("b", zone("b"))},
			want:  map[string]*framework.Status{"a": nil, "b": nil}},
		{name: "other labels do not count", pod: spreadPod(1, v1.DoNotSchedule, nil),
			nodes: []*framework.NodeInfo{makeNode("a", zone("a"), pods("db", 5)...), makeNode("b", zone("b"))},
			want:  map[string]*framework.Status{"a": nil, "b": nil}},
		{name: "node without the key", pod: spreadPod(1, v1.DoNotSchedule, nil),
			nodes: []*framework.NodeInfo{makeNode("a", zone("a")), makeNode("nokey", nil)},
			want:  map[string]*framework.Status{"a": nil, "nokey": labelFail}},
		{name: "minDomains above domain count: global min is 0", pod: spreadPod(1, v1.DoNotSchedule, &three),
			nodes: []*framework.NodeInfo{makeNode("a", zone("a"), pods("web", 1)...), makeNode("b", zone("b"), pods("web", 1)...)},
			want:  map[string]*framework.Status{"a": skewFail, "b": skewFail}},
		{name: "multiple nodes per zone add up", pod: spreadPod(1, v1.DoNotSchedule, nil),
			nodes: []*framework.NodeInfo{makeNode("a1", zone("a"), pods("web", 1)...), makeNode("a2", zone("a"), pods("web", 1)...), makeNode("b1", zone("b"), pods("web", 1)...)},
			want:  map[string]*framework.Status{"a1": skewFail, "a2": skewFail, "b1": nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := cache.NewSnapshot(tt.nodes...)
			p := &PodTopologySpread{handle: handle{snapshot: snap}}
			state := framework.NewCycleState()
			if st := p.PreFilter(context.Background(), state, tt.pod, snap.List()); !st.IsSuccess() {
				t.Fatalf("PreFilter = %v", st)
			}
			var f framework.FilterPlugin = p
			for _, ni := range snap.List() {
				want := tt.want[ni.NodeName()]
				if got := f.Filter(context.Background(), state, tt.pod, ni); got.String() != want.String() {
					t.Errorf("node %s: %v, want %v", ni.NodeName(), got, want)
				}
			}
		})
	}
}

func TestSkipWithoutConstraints(t *testing.T) {
	p := &PodTopologySpread{}
	if st := p.PreFilter(context.Background(), framework.NewCycleState(), &v1.Pod{}, nil); !st.IsSkip() {
		t.Errorf("PreFilter = %v, want Skip", st)
	}
	if st := p.PreScore(context.Background(), framework.NewCycleState(), spreadPod(1, v1.DoNotSchedule, nil), nil); !st.IsSkip() {
		t.Errorf("PreScore with only hard constraints = %v, want Skip", st)
	}
}

func TestScore(t *testing.T) {
	nodes := []*framework.NodeInfo{makeNode("a", zone("a"), pods("web", 3)...), makeNode("b", zone("b"), pods("web", 1)...), makeNode("c", zone("c")), makeNode("nokey", nil)}
	snap := cache.NewSnapshot(nodes...)
	p := &PodTopologySpread{handle: handle{snapshot: snap}}
	pod := spreadPod(1, v1.ScheduleAnyway, nil)
	state := framework.NewCycleState()
	if st := p.PreScore(context.Background(), state, pod, snap.List()); !st.IsSuccess() {
		t.Fatalf("PreScore = %v", st)
	}
	var scores framework.NodeScoreList
	for _, ni := range snap.List() {
		s, _ := p.Score(context.Background(), state, pod, ni)
		scores = append(scores, framework.NodeScore{Name: ni.NodeName(), Score: s})
	}
	p.NormalizeScore(context.Background(), state, pod, scores)
	got := map[string]int64{}
	for _, s := range scores {
		got[s.Name] = s.Score
	}
	if !(got["c"] == 100 && got["c"] > got["b"] && got["b"] > got["a"] && got["nokey"] == 0) {
		t.Errorf("scores = %v, want c (0 pods) = 100 > b (1) > a (3), nokey = 0", got)
	}
}
