package interpodaffinity

import (
	"context"
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

func makeNode(name, zone string, pods ...*v1.Pod) *framework.NodeInfo {
	ni := framework.NewNodeInfo(pods...)
	ni.SetNode(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"zone": zone, v1.LabelHostname: name}}})
	return ni
}

type podOpt func(*v1.Pod)

func makePod(name string, app string, opts ...podOpt) *v1.Pod {
	p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID(name), Labels: map[string]string{"app": app}}}
	for _, o := range opts {
		o(p)
	}
	return p
}

func term(app, key string) v1.PodAffinityTerm {
	return v1.PodAffinityTerm{LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}, TopologyKey: key}
}

func affinity(app, key string) podOpt {
	return func(p *v1.Pod) {
		if p.Spec.Affinity == nil {
			p.Spec.Affinity = &v1.Affinity{}
		}
		p.Spec.Affinity.PodAffinity = &v1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []v1.PodAffinityTerm{term(app, key)}}
	}
}

func antiAffinity(app, key string) podOpt {
	return func(p *v1.Pod) {
		if p.Spec.Affinity == nil {
			p.Spec.Affinity = &v1.Affinity{}
		}
		p.Spec.Affinity.PodAntiAffinity = &v1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []v1.PodAffinityTerm{term(app, key)}}
	}
}

func preferred(app, key string, weight int32, anti bool) podOpt {
	return func(p *v1.Pod) {
		if p.Spec.Affinity == nil {
			p.Spec.Affinity = &v1.Affinity{}
		}
		w := []v1.WeightedPodAffinityTerm{{Weight: weight, PodAffinityTerm: term(app, key)}}
		if anti {
			p.Spec.Affinity.PodAntiAffinity = &v1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: w}
		} else {
			p.Spec.Affinity.PodAffinity = &v1.PodAffinity{PreferredDuringSchedulingIgnoredDuringExecution: w}
		}
	}
}

func TestFilter(t *testing.T) {
	affFail := framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonAffinityRulesNotMatch)
	antiFail := framework.NewStatus(framework.Unschedulable, ErrReasonAntiAffinityRulesNotMatch)
	existingFail := framework.NewStatus(framework.Unschedulable, ErrReasonExistingAntiAffinityRulesNotMatch)
	tests := []struct {
		name  string
		pod   *v1.Pod
		nodes []*framework.NodeInfo
		want  map[string]*framework.Status // node -> status (nil: fits)
	}{
		{name: "affinity to a zone with db", pod: makePod("p", "web", affinity("db", "zone")),
			nodes: []*framework.NodeInfo{makeNode("a1", "a", makePod("db", "db")), makeNode("a2", "a"), makeNode("b1", "b")},
			want:  map[string]*framework.Status{"a1": nil, "a2": nil, "b1": affFail}},
		{name: "affinity with no match anywhere", pod: makePod("p", "web", affinity("db", "zone")),
			nodes: []*framework.NodeInfo{makeNode("a1", "a"), makeNode("b1", "b")},
			want:  map[string]*framework.Status{"a1": affFail, "b1": affFail}},
		{name: "first pod of a self-affine group goes anywhere", pod: makePod("p", "web", affinity("web", "zone")),
			nodes: []*framework.NodeInfo{makeNode("a1", "a"), makeNode("b1", "b")},
			want:  map[string]*framework.Status{"a1": nil, "b1": nil}},
		{name: "affinity needs the topology label", pod: makePod("p", "web", affinity("db", "rack")),
			nodes: []*framework.NodeInfo{makeNode("a1", "a", makePod("db", "db"))},
			want:  map[string]*framework.Status{"a1": affFail}},
		{name: "anti-affinity to a zone", pod: makePod("p", "web", antiAffinity("cache", "zone")),
			nodes: []*framework.NodeInfo{makeNode("a1", "a", makePod("c", "cache")), makeNode("a2", "a"), makeNode("b1", "b")},
			want:  map[string]*framework.Status{"a1": antiFail, "a2": antiFail, "b1": nil}},
		{name: "anti-affinity against itself per host", pod: makePod("p", "web", antiAffinity("web", v1.LabelHostname)),
			nodes: []*framework.NodeInfo{makeNode("a1", "a", makePod("w1", "web")), makeNode("a2", "a")},
			want:  map[string]*framework.Status{"a1": antiFail, "a2": nil}},
		{name: "existing pod's anti-affinity repels", pod: makePod("p", "web"),
			nodes: []*framework.NodeInfo{makeNode("a1", "a", makePod("lonely", "x", antiAffinity("web", "zone"))), makeNode("a2", "a"), makeNode("b1", "b")},
			want:  map[string]*framework.Status{"a1": existingFail, "a2": existingFail, "b1": nil}},
		{name: "other namespace does not count", pod: makePod("p", "web", antiAffinity("cache", "zone")),
			nodes: []*framework.NodeInfo{makeNode("a1", "a", func() *v1.Pod { c := makePod("c", "cache"); c.Namespace = "other"; return c }())},
			want:  map[string]*framework.Status{"a1": nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := cache.NewSnapshot(tt.nodes...)
			p := &InterPodAffinity{handle: handle{snapshot: snap}, hardWeight: 1}
			state := framework.NewCycleState()
			if st := p.PreFilter(context.Background(), state, tt.pod, snap.List()); !st.IsSuccess() {
				t.Fatalf("PreFilter = %v", st)
			}
			var f framework.FilterPlugin = p
			for _, ni := range snap.List() {
				want := tt.want[ni.NodeName()]
				if got := f.Filter(context.Background(), state, tt.pod, ni); got.String() != want.String() {
					t.Errorf("node %s: Filter = %v, want %v", ni.NodeName(), got, want)
				}
			}
		})
	}
}

func TestPreFilterExtensions(t *testing.T) {
	existing := makePod("w1", "web")
	ni := makeNode("a1", "a", existing)
	snap := cache.NewSnapshot(ni)
	p := &InterPodAffinity{handle: handle{snapshot: snap}}
	pod := makePod("p", "web", antiAffinity("web", v1.LabelHostname))
	state := framework.NewCycleState()
	p.PreFilter(context.Background(), state, pod, snap.List())
	if st := p.Filter(context.Background(), state, pod, ni); st.IsSuccess() {
		t.Fatal("fits next to a pod it is anti-affine to")
	}
	// Preemption removes the victim: the pod fits.
	p.RemovePod(context.Background(), state, pod, framework.NewPodInfo(existing), ni)
	if st := p.Filter(context.Background(), state, pod, ni); !st.IsSuccess() {
		t.Errorf("after RemovePod: %v", st)
	}
}

func TestScore(t *testing.T) {
	tests := []struct {
		name  string
		pod   *v1.Pod
		nodes []*framework.NodeInfo
		want  map[string]int64
	}{
		{name: "preferred affinity", pod: makePod("p", "web", preferred("db", "zone", 10, false)),
			nodes: []*framework.NodeInfo{makeNode("a1", "a", makePod("db", "db")), makeNode("a2", "a"), makeNode("b1", "b")},
			want:  map[string]int64{"a1": 100, "a2": 100, "b1": 0}},
		{name: "preferred anti-affinity", pod: makePod("p", "web", preferred("web", v1.LabelHostname, 10, true)),
			nodes: []*framework.NodeInfo{makeNode("a1", "a", makePod("w1", "web"), makePod("w2", "web")), makeNode("a2", "a", makePod("w3", "web")), makeNode("b1", "b")},
			want:  map[string]int64{"a1": 0, "a2": 50, "b1": 100}},
		{name: "existing pod's preferred affinity attracts", pod: makePod("p", "web"),
			nodes: []*framework.NodeInfo{makeNode("a1", "a", makePod("x", "x", preferred("web", "zone", 5, false))), makeNode("b1", "b")},
			want:  map[string]int64{"a1": 100, "b1": 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := cache.NewSnapshot(tt.nodes...)
			p := &InterPodAffinity{handle: handle{snapshot: snap}, hardWeight: 1}
			state := framework.NewCycleState()
			if st := p.PreScore(context.Background(), state, tt.pod, snap.List()); !st.IsSuccess() {
				t.Fatalf("PreScore = %v", st)
			}
			var scores framework.NodeScoreList
			for _, ni := range snap.List() {
				s, st := p.Score(context.Background(), state, tt.pod, ni)
				if !st.IsSuccess() {
					t.Fatal(st)
				}
				scores = append(scores, framework.NodeScore{Name: ni.NodeName(), Score: s})
			}
			p.NormalizeScore(context.Background(), state, tt.pod, scores)
			for _, s := range scores {
				if s.Score != tt.want[s.Name] {
					t.Errorf("node %s: score %d, want %d", s.Name, s.Score, tt.want[s.Name])
				}
			}
		})
	}
}
