package noderesourcesfit

import (
	"context"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"navarch.dev/scheduler/pkg/framework"
)

const extended = v1.ResourceName("example.com/gpu")

// res builds a ResourceList from name/value pairs.
func res(kv ...string) v1.ResourceList {
	rl := v1.ResourceList{}
	for i := 0; i < len(kv); i += 2 {
		rl[v1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return rl
}

var uid int

func makePod(containers ...v1.ResourceList) *v1.Pod {
	uid++
	p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", UID: types.UID(string(rune('a' + uid)))}}
	for _, c := range containers {
		p.Spec.Containers = append(p.Spec.Containers, v1.Container{Resources: v1.ResourceRequirements{Requests: c}})
	}
	return p
}

func withInit(p *v1.Pod, sidecar bool, req v1.ResourceList) *v1.Pod {
	c := v1.Container{Resources: v1.ResourceRequirements{Requests: req}}
	if sidecar {
		always := v1.ContainerRestartPolicyAlways
		c.RestartPolicy = &always
	}
	p.Spec.InitContainers = append(p.Spec.InitContainers, c)
	return p
}

func withOverhead(p *v1.Pod, o v1.ResourceList) *v1.Pod { p.Spec.Overhead = o; return p }

func makeNode(alloc v1.ResourceList, pods ...*v1.Pod) *framework.NodeInfo {
	ni := framework.NewNodeInfo(pods...)
	ni.SetNode(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Status: v1.NodeStatus{Allocatable: alloc}})
	return ni
}

func TestFilter(t *testing.T) {
	node := func(pods ...*v1.Pod) *framework.NodeInfo {
		return makeNode(res("cpu", "10", "memory", "20", "pods", "32", "ephemeral-storage", "10", string(extended), "2"), pods...)
	}
	tests := []struct {
		name    string
		pod     *v1.Pod
		node    *framework.NodeInfo
		ignored map[v1.ResourceName]bool
		code    framework.Code
		reasons []string
	}{
		{name: "zero requests fit a full node", pod: makePod(), node: node(makePod(res("cpu", "10", "memory", "20")))},
		{name: "fits", pod: makePod(res("cpu", "1", "memory", "1")), node: node(makePod(res("cpu", "5", "memory", "5")))},
		{name: "insufficient cpu", pod: makePod(res("cpu", "6")), node: node(makePod(res("cpu", "5"))),
			code: framework.Unschedulable, reasons: []string{"Insufficient cpu"}},
		{name: "insufficient cpu and memory", pod: makePod(res("cpu", "6", "memory", "16")), node: node(makePod(res("cpu", "5", "memory", "5"))),
			code: framework.Unschedulable, reasons: []string{"Insufficient cpu", "Insufficient memory"}},
		{name: "larger than the whole node", pod: makePod(res("cpu", "11")), node: node(),
			code: framework.UnschedulableAndUnresolvable, reasons: []string{"Insufficient cpu"}},
		{name: "init container larger than containers counts", pod: withInit(makePod(res("cpu", "1")), false, res("cpu", "6")), node: node(makePod(res("cpu", "5"))),
			code: framework.Unschedulable, reasons: []string{"Insufficient cpu"}},
		{name: "init container smaller than containers is fine", pod: withInit(makePod(res("cpu", "4")), false, res("cpu", "3")), node: node(makePod(res("cpu", "5")))},
		{name: "sidecar adds to containers", pod: withInit(makePod(res("cpu", "4")), true, res("cpu", "2")), node: node(makePod(res("cpu", "5"))),
			code: framework.Unschedulable, reasons: []string{"Insufficient cpu"}},
		{name: "overhead counts", pod: withOverhead(makePod(res("memory", "10")), res("memory", "6")), node: node(makePod(res("memory", "5"))),
			code: framework.Unschedulable, reasons: []string{"Insufficient memory"}},
		{name: "ephemeral storage", pod: makePod(res("ephemeral-storage", "6")), node: node(makePod(res("ephemeral-storage", "5"))),
			code: framework.Unschedulable, reasons: []string{"Insufficient ephemeral-storage"}},
		{name: "extended resource", pod: makePod(res(string(extended), "2")), node: node(makePod(res(string(extended), "1"))),
			code: framework.Unschedulable, reasons: []string{"Insufficient example.com/gpu"}},
		{name: "extended resource missing on node", pod: makePod(res("example.com/fpga", "1")), node: node(),
			code: framework.UnschedulableAndUnresolvable, reasons: []string{"Insufficient example.com/fpga"}},
		{name: "ignored extended resource", pod: makePod(res("example.com/fpga", "1")), node: node(), ignored: map[v1.ResourceName]bool{"example.com/fpga": true}},
		{name: "too many pods", pod: makePod(), node: makeNode(res("cpu", "1", "pods", "1"), makePod()),
			code: framework.Unschedulable, reasons: []string{"Too many pods"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p framework.FilterPlugin = &Fit{ignored: tt.ignored}
			state := framework.NewCycleState()
			p.(framework.PreFilterPlugin).PreFilter(context.Background(), state, tt.pod, nil)
			got := p.Filter(context.Background(), state, tt.pod, tt.node)
			if got.Code() != tt.code || got.Message() != framework.NewStatus(tt.code, tt.reasons...).Message() {
				t.Errorf("Filter = %v, want %v %v", got, tt.code, tt.reasons)
			}
		})
	}
}

func TestScore(t *testing.T) {
	alloc := res("cpu", "4", "memory", "10Gi", "pods", "110")
	tests := []struct {
		name     string
		strategy string
		pod      *v1.Pod
		node     *framework.NodeInfo
		want     int64
	}{
		{name: "empty node, zero request uses defaults", pod: makePod(nil), node: makeNode(alloc),
			// cpu (4000-100)*100/4000 = 97, memory (10240-200)*100/10240 = 98
			want: (97 + 98) / 2},
		{name: "half used", pod: makePod(res("cpu", "1", "memory", "2.5Gi")), node: makeNode(alloc, makePod(res("cpu", "1", "memory", "2.5Gi"))), want: 50},
		{name: "over-committed scores zero", pod: makePod(res("cpu", "4", "memory", "10Gi")), node: makeNode(alloc, makePod(res("cpu", "1", "memory", "1Gi"))), want: 0},
		{name: "most allocated", strategy: MostAllocated, pod: makePod(res("cpu", "1", "memory", "2.5Gi")), node: makeNode(alloc, makePod(res("cpu", "2", "memory", "5Gi"))), want: 75},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			strategy := tt.strategy
			if strategy == "" {
				strategy = LeastAllocated
			}
			var p framework.ScorePlugin = &Fit{strategy: ScoringStrategy{Type: strategy, Resources: []ResourceSpec{{Name: "cpu", Weight: 1}, {Name: "memory", Weight: 1}}}}
			got, st := p.Score(context.Background(), framework.NewCycleState(), tt.pod, tt.node)
			if !st.IsSuccess() || got != tt.want {
				t.Errorf("Score = %d, %v; want %d", got, st, tt.want)
			}
		})
	}
}
