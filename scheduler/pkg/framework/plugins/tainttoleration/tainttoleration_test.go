package tainttoleration

import (
	"context"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"navarch.dev/scheduler/pkg/framework"
)

func makeNode(name string, taints ...v1.Taint) *framework.NodeInfo {
	ni := framework.NewNodeInfo()
	ni.SetNode(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1.NodeSpec{Taints: taints}})
	return ni
}

func taint(key, value string, effect v1.TaintEffect) v1.Taint {
	return v1.Taint{Key: key, Value: value, Effect: effect}
}

func tol(key string, op v1.TolerationOperator, value string, effect v1.TaintEffect) v1.Toleration {
	return v1.Toleration{Key: key, Operator: op, Value: value, Effect: effect}
}

func makePod(tols ...v1.Toleration) *v1.Pod { return &v1.Pod{Spec: v1.PodSpec{Tolerations: tols}} }

func TestFilter(t *testing.T) {
	untolerated := func(k, v string) *framework.Status {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, "node(s) had untolerated taint {"+k+": "+v+"}")
	}
	tests := []struct {
		name string
		pod  *v1.Pod
		node *framework.NodeInfo
		want *framework.Status
	}{
		{name: "no taints", pod: makePod(), node: makeNode("n")},
		{name: "NoSchedule untolerated", pod: makePod(), node: makeNode("n", taint("dedicated", "gpu", v1.TaintEffectNoSchedule)), want: untolerated("dedicated", "gpu")},
		{name: "NoExecute untolerated", pod: makePod(), node: makeNode("n", taint("k", "", v1.TaintEffectNoExecute)), want: untolerated("k", "")},
		{name: "PreferNoSchedule does not filter", pod: makePod(), node: makeNode("n", taint("k", "v", v1.TaintEffectPreferNoSchedule))},
		{name: "Equal toleration", pod: makePod(tol("dedicated", v1.TolerationOpEqual, "gpu", v1.TaintEffectNoSchedule)), node: makeNode("n", taint("dedicated", "gpu", v1.TaintEffectNoSchedule))},
		{name: "Equal toleration, other value", pod: makePod(tol("dedicated", v1.TolerationOpEqual, "db", v1.TaintEffectNoSchedule)), node: makeNode("n", taint("dedicated", "gpu", v1.TaintEffectNoSchedule)), want: untolerated("dedicated", "gpu")},
		{name: "default operator is Equal", pod: makePod(tol("dedicated", "", "gpu", "")), node: makeNode("n", taint("dedicated", "gpu", v1.TaintEffectNoSchedule))},
		{name: "Exists toleration", pod: makePod(tol("dedicated", v1.TolerationOpExists, "", v1.TaintEffectNoSchedule)), node: makeNode("n", taint("dedicated", "gpu", v1.TaintEffectNoSchedule))},
		{name: "empty key Exists tolerates all", pod: makePod(tol("", v1.TolerationOpExists, "", "")), node: makeNode("n", taint("a", "1", v1.TaintEffectNoSchedule), taint("b", "2", v1.TaintEffectNoExecute))},
		{name: "effect mismatch", pod: makePod(tol("k", v1.TolerationOpExists, "", v1.TaintEffectNoSchedule)), node: makeNode("n", taint("k", "", v1.TaintEffectNoExecute)), want: untolerated("k", "")},
		{name: "second taint untolerated", pod: makePod(tol("a", v1.TolerationOpExists, "", "")), node: makeNode("n", taint("a", "1", v1.TaintEffectNoSchedule), taint("b", "2", v1.TaintEffectNoSchedule)), want: untolerated("b", "2")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p framework.FilterPlugin = &TaintToleration{}
			if got := p.Filter(context.Background(), nil, tt.pod, tt.node); got.String() != tt.want.String() {
				t.Errorf("Filter = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestScore(t *testing.T) {
	prefer := v1.TaintEffectPreferNoSchedule
	tests := []struct {
		name  string
		pod   *v1.Pod
		nodes []*framework.NodeInfo
		want  []int64
	}{
		{name: "fewer untolerated PreferNoSchedule taints win", pod: makePod(),
			nodes: []*framework.NodeInfo{makeNode("a"), makeNode("b", taint("x", "", prefer)), makeNode("c", taint("x", "", prefer), taint("y", "", prefer))},
			want:  []int64{100, 50, 0}},
		{name: "tolerated taints do not count", pod: makePod(tol("x", v1.TolerationOpExists, "", prefer)),
			nodes: []*framework.NodeInfo{makeNode("a", taint("x", "", prefer)), makeNode("b", taint("y", "", prefer))},
			want:  []int64{100, 0}},
		{name: "NoSchedule tolerations do not tolerate PreferNoSchedule", pod: makePod(tol("x", v1.TolerationOpExists, "", v1.TaintEffectNoSchedule)),
			nodes: []*framework.NodeInfo{makeNode("a", taint("x", "", prefer)), makeNode("b")},
			want:  []int64{0, 100}},
		{name: "no taints anywhere", pod: makePod(), nodes: []*framework.NodeInfo{makeNode("a"), makeNode("b")}, want: []int64{100, 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &TaintToleration{}
			state := framework.NewCycleState()
			p.PreScore(context.Background(), state, tt.pod, tt.nodes)
			var scores framework.NodeScoreList
			for _, ni := range tt.nodes {
				s, _ := p.Score(context.Background(), state, tt.pod, ni)
				scores = append(scores, framework.NodeScore{Name: ni.NodeName(), Score: s})
			}
			p.ScoreExtensions().NormalizeScore(context.Background(), state, tt.pod, scores)
			for i, s := range scores {
				if s.Score != tt.want[i] {
					t.Errorf("node %s score = %d, want %d", s.Name, s.Score, tt.want[i])
				}
			}
		})
	}
}
