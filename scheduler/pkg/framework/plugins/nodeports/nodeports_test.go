package nodeports

import (
	"context"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"navarch.dev/scheduler/pkg/framework"
)

// port is "ip/proto/hostPort".
type port struct {
	ip    string
	proto v1.Protocol
	port  int32
}

func makePod(name string, ports ...port) *v1.Pod {
	c := v1.Container{}
	for _, p := range ports {
		c.Ports = append(c.Ports, v1.ContainerPort{HostIP: p.ip, Protocol: p.proto, HostPort: p.port, ContainerPort: 80})
	}
	return &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(name)}, Spec: v1.PodSpec{Containers: []v1.Container{c}}}
}

func TestFilter(t *testing.T) {
	conflict := framework.NewStatus(framework.Unschedulable, ErrReason)
	tests := []struct {
		name     string
		pod      *v1.Pod
		existing *v1.Pod
		want     *framework.Status
	}{
		{name: "no ports", pod: makePod("p"), existing: makePod("e", port{"", "TCP", 80})},
		{name: "different port", pod: makePod("p", port{"", "TCP", 81}), existing: makePod("e", port{"", "TCP", 80})},
		{name: "same port", pod: makePod("p", port{"", "TCP", 80}), existing: makePod("e", port{"", "TCP", 80}), want: conflict},
		{name: "same port, other protocol", pod: makePod("p", port{"", "UDP", 80}), existing: makePod("e", port{"", "TCP", 80})},
		{name: "same port, different IPs", pod: makePod("p", port{"10.0.0.1", "TCP", 80}), existing: makePod("e", port{"10.0.0.2", "TCP", 80})},
		{name: "wildcard vs specific IP", pod: makePod("p", port{"0.0.0.0", "TCP", 80}), existing: makePod("e", port{"10.0.0.2", "TCP", 80}), want: conflict},
		{name: "specific IP vs wildcard", pod: makePod("p", port{"10.0.0.1", "TCP", 80}), existing: makePod("e", port{"", "TCP", 80}), want: conflict},
		{name: "default protocol is TCP", pod: makePod("p", port{"", "", 80}), existing: makePod("e", port{"", "TCP", 80}), want: conflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ni := framework.NewNodeInfo(tt.existing)
			ni.SetNode(&v1.Node{})
			p := &NodePorts{}
			state := framework.NewCycleState()
			if st := p.PreFilter(context.Background(), state, tt.pod, nil); st.IsSkip() {
				if tt.want != nil {
					t.Fatalf("PreFilter skipped, want %v", tt.want)
				}
				return
			}
			var f framework.FilterPlugin = p
			if got := f.Filter(context.Background(), state, tt.pod, ni); got.String() != tt.want.String() {
				t.Errorf("Filter = %v, want %v", got, tt.want)
			}
		})
	}
}
