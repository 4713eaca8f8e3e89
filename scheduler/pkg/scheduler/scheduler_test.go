package scheduler

import (
	"testing"

	"navarch.dev/scheduler/pkg/framework"
)

func TestNumFeasibleNodesToFind(t *testing.T) {
	tests := []struct {
		name       string
		percentage int32
		nodes      int
		want       int
	}{
		{name: "small cluster: all", nodes: 50, want: 50},
		{name: "100 nodes adaptive", nodes: 100, want: 100},
		{name: "1000 nodes adaptive 42%", nodes: 1000, want: 420},
		{name: "5000 nodes adaptive 10%", nodes: 5000, want: 500},
		{name: "10000 nodes adaptive floor 5%", nodes: 10000, want: 500},
		{name: "explicit 100%", percentage: 100, nodes: 5000, want: 5000},
		{name: "explicit 1% floors at 100", percentage: 1, nodes: 5000, want: 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NumFeasibleNodesToFind(tt.percentage, tt.nodes); got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
}

func TestFitErrorMessage(t *testing.T) {
	taint := framework.NewStatus(framework.UnschedulableAndUnresolvable, "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }")
	cpu := framework.NewStatus(framework.Unschedulable, "Insufficient cpu")
	tests := []struct {
		name string
		err  *FitError
		want string
	}{
		{name: "histogram sorted", err: &FitError{NumAllNodes: 5, Diagnosis: Diagnosis{NodeToStatus: framework.NodeToStatus{
			"a": cpu, "b": cpu, "c": cpu, "d": taint, "e": taint}}},
			want: "0/5 nodes are available: 2 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 3 Insufficient cpu."},
		{name: "several reasons per node", err: &FitError{NumAllNodes: 1, Diagnosis: Diagnosis{NodeToStatus: framework.NodeToStatus{
			"a": framework.NewStatus(framework.Unschedulable, "Insufficient cpu", "Insufficient memory")}}},
			want: "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory."},
		{name: "prefilter", err: &FitError{NumAllNodes: 3, Diagnosis: Diagnosis{PreFilterMsg: `persistentvolumeclaim "data" not found`}},
			want: `0/3 nodes are available: persistentvolumeclaim "data" not found.`},
		{name: "with preemption", err: &FitError{NumAllNodes: 2, Diagnosis: Diagnosis{NodeToStatus: framework.NodeToStatus{"a": cpu, "b": cpu},
			PostFilterMsg: "preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod"}},
			want: "0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}
