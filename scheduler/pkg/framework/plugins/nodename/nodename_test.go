package nodename

import (
	"context"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"navarch.dev/scheduler/pkg/framework"
)

func node(name string) *framework.NodeInfo {
	ni := framework.NewNodeInfo()
	ni.SetNode(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}})
	return ni
}

func TestFilter(t *testing.T) {
	tests := []struct {
		name     string
		nodeName string
		node     *framework.NodeInfo
		want     *framework.Status
	}{
		{name: "no node name", node: node("n1")},
		{name: "same node", nodeName: "n1", node: node("n1")},
		{name: "other node", nodeName: "n2", node: node("n1"), want: framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReason)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p framework.FilterPlugin = &NodeName{}
			pod := &v1.Pod{Spec: v1.PodSpec{NodeName: tt.nodeName}}
			if got := p.Filter(context.Background(), nil, pod, tt.node); got.String() != tt.want.String() {
				t.Errorf("Filter = %v, want %v", got, tt.want)
			}
		})
	}
}
