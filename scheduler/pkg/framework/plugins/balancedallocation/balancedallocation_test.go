package balancedallocation

import (
	"context"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"navarch.dev/scheduler/pkg/framework"
)

func makePod(name, cpu, mem string) *v1.Pod {
	rl := v1.ResourceList{}
	if cpu != "" {
		rl[v1.ResourceCPU] = resource.MustParse(cpu)
	}
	if mem != "" {
		rl[v1.ResourceMemory] = resource.MustParse(mem)
	}
	return &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(name)},
		Spec: v1.PodSpec{Containers: []v1.Container{{Resources: v1.ResourceRequirements{Requests: rl}}}}}
}

func makeNode(cpu, mem string, pods ...*v1.Pod) *framework.NodeInfo {
	ni := framework.NewNodeInfo(pods...)
	ni.SetNode(&v1.Node{Status: v1.NodeStatus{Allocatable: v1.ResourceList{
		v1.ResourceCPU: resource.MustParse(cpu), v1.ResourceMemory: resource.MustParse(mem)}}})
	return ni
}

func TestScore(t *testing.T) {
	tests := []struct {
		name string
		pod  *v1.Pod
		node *framework.NodeInfo
		want int64
		skip bool
	}{
		{name: "perfectly balanced", pod: makePod("p", "1", "1Gi"), node: makeNode("4", "4Gi", makePod("a", "1", "1Gi")), want: 100},
		{name: "cpu heavy", pod: makePod("p", "3", "0"), node: makeNode("4", "4Gi", makePod("a", "1", "1Gi")), want: 62}, // 100 * (1 - (1-0.25)/2), truncated
		{name: "over-commit caps at 1", pod: makePod("p", "8", "2Gi"), node: makeNode("4", "4Gi"), want: 75},
		{name: "best-effort pod skips", pod: makePod("p", "", ""), node: makeNode("4", "4Gi"), skip: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &BalancedAllocation{resources: []v1.ResourceName{v1.ResourceCPU, v1.ResourceMemory}}
			var p framework.ScorePlugin = b
			if st := b.PreScore(context.Background(), nil, tt.pod, nil); st.IsSkip() != tt.skip {
				t.Fatalf("PreScore = %v, want skip %v", st, tt.skip)
			}
			if tt.skip {
				return
			}
			if got, _ := p.Score(context.Background(), nil, tt.pod, tt.node); got != tt.want {
				t.Errorf("Score = %d, want %d", got, tt.want)
			}
		})
	}
}
