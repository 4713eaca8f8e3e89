package nodeunschedulable

import (
	"context"
	"testing"

	v1 "k8s.io/api/core/v1"

	"navarch.dev/scheduler/pkg/framework"
)

func node(unschedulable bool) *framework.NodeInfo {
	ni := framework.NewNodeInfo()
	ni.SetNode(&v1.Node{Spec: v1.NodeSpec{Unschedulable: unschedulable}})
	return ni
}

func pod(tols ...v1.Toleration) *v1.Pod { return &v1.Pod{Spec: v1.PodSpec{Tolerations: tols}} }

func TestFilter(t *testing.T) {
	tests := []struct {
		name string
		pod  *v1.Pod
		node *framework.NodeInfo
		want *framework.Status
	}{
		{name: "schedulable node", pod: pod(), node: node(false)},
		{name: "cordoned node", pod: pod(), node: node(true),
			want: framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonUnschedulable)},
		{name: "cordoned node, pod tolerates", pod: pod(v1.Toleration{Key: v1.TaintNodeUnschedulable, Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoSchedule}), node: node(true)},
		{name: "cordoned node, toleration of other effect", pod: pod(v1.Toleration{Key: v1.TaintNodeUnschedulable, Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoExecute}), node: node(true),
			want: framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonUnschedulable)},
		{name: "unknown node", pod: pod(), node: framework.NewNodeInfo(),
			want: framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonUnknownNode)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p framework.FilterPlugin = &NodeUnschedulable{}
			got := p.Filter(context.Background(), framework.NewCycleState(), tt.pod, tt.node)
			if got.String() != tt.want.String() {
				t.Errorf("Filter = %v, want %v", got, tt.want)
			}
		})
	}
}
