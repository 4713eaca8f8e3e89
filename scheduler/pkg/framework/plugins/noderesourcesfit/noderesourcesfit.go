// Package noderesourcesfit is the NodeResourcesFit plugin: the filter
// (PodFitsResources) checks that a node has room for the pod's cpu, memory,
// ephemeral-storage, extended resources and one more pod; the score ranks
// nodes by how much would stay free (LeastAllocated, the default) or be
// used (MostAllocated).
package noderesourcesfit

import (
	"context"
	"fmt"

	v1 "k8s.io/api/core/v1"

	"navarch.dev/scheduler/pkg/framework"
)

// Name is the plugin's name.
const Name = "NodeResourcesFit"

const stateKey framework.StateKey = "PreFilter" + Name

type preFilterState struct{ req *framework.Resource }

func (s *preFilterState) Clone() framework.StateData { return s }

// Fit is the plugin.
type Fit struct {
	ignored  map[v1.ResourceName]bool
	strategy ScoringStrategy
}

var (
	_ framework.PreFilterPlugin   = (*Fit)(nil)
	_ framework.FilterPlugin      = (*Fit)(nil)
	_ framework.PreScorePlugin    = (*Fit)(nil)
	_ framework.ScorePlugin       = (*Fit)(nil)
	_ framework.EnqueueExtensions = (*Fit)(nil)
)

// Name implements framework.Plugin.
func (*Fit) Name() string { return Name }

// EventsToRegister implements framework.EnqueueExtensions: room appears
// when a pod goes away or a node is added or grows.
func (*Fit) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{
		{Resource: framework.AssignedPod, ActionType: framework.Delete | framework.Update},
		{Resource: framework.Node, ActionType: framework.Add | framework.UpdateNodeAllocatable | framework.Update},
	}
}

// PreFilter computes the pod's requests once.
func (f *Fit) PreFilter(_ context.Context, state *framework.CycleState, pod *v1.Pod, _ []*framework.NodeInfo) *framework.Status {
	state.Write(stateKey, &preFilterState{req: framework.PodRequests(pod)})
	return nil
}

// PreFilterExtensions implements framework.PreFilterPlugin.
func (*Fit) PreFilterExtensions() framework.PreFilterExtensions { return nil }

func podRequests(state *framework.CycleState, pod *v1.Pod) *framework.Resource {
	if state != nil {
		if s, err := state.Read(stateKey); err == nil {
			return s.(*preFilterState).req
		}
	}
	return framework.PodRequests(pod)
}

// InsufficientResource is one reason a node does not fit.
type InsufficientResource struct {
	Name      v1.ResourceName
	Reason    string
	Requested int64
	Used      int64
	Capacity  int64
}

// Insufficient lists what ni lacks for a pod requesting req.
func Insufficient(req *framework.Resource, ni *framework.NodeInfo, ignored map[v1.ResourceName]bool) []InsufficientResource {
	var out []InsufficientResource
	alloc, used := ni.Allocatable, ni.Requested
	if int64(len(ni.Pods))+1 > alloc.AllowedPodNumber {
		out = append(out, InsufficientResource{Name: v1.ResourcePods, Reason: "Too many pods", Requested: 1, Used: int64(len(ni.Pods)), Capacity: alloc.AllowedPodNumber})
	}
	check := func(name v1.ResourceName, r, u, a int64) {
		if r > 0 && r > a-u {
			out = append(out, InsufficientResource{Name: name, Reason: fmt.Sprintf("Insufficient %v", name), Requested: r, Used: u, Capacity: a})
		}
	}
	check(v1.ResourceCPU, req.MilliCPU, used.MilliCPU, alloc.MilliCPU)
	check(v1.ResourceMemory, req.Memory, used.Memory, alloc.Memory)
	check(v1.ResourceEphemeralStorage, req.EphemeralStorage, used.EphemeralStorage, alloc.EphemeralStorage)
	for name, r := range req.ScalarResources {
		if ignored[name] {
			continue
		}
		check(name, r, used.ScalarResources[name], alloc.ScalarResources[name])
	}
	return out
}

// Filter implements framework.FilterPlugin. The node is rejected with one
// reason per missing resource; when even an empty node could not hold the
// pod, preemption would not help and the code is
// UnschedulableAndUnresolvable.
func (f *Fit) Filter(_ context.Context, state *framework.CycleState, pod *v1.Pod, ni *framework.NodeInfo) *framework.Status {
	short := Insufficient(podRequests(state, pod), ni, f.ignored)
	if len(short) == 0 {
		return nil
	}
	code := framework.Unschedulable
	reasons := make([]string, len(short))
	for i, s := range short {
		reasons[i] = s.Reason
		if s.Name != v1.ResourcePods && s.Requested > s.Capacity {
			code = framework.UnschedulableAndUnresolvable
		}
	}
	return framework.NewStatus(code, reasons...)
}

const preScoreKey framework.StateKey = "PreScore" + Name

// PreScore computes the pod's non-zero requests once for all nodes.
func (f *Fit) PreScore(_ context.Context, state *framework.CycleState, pod *v1.Pod, _ []*framework.NodeInfo) *framework.Status {
	state.Write(preScoreKey, &preFilterState{req: framework.PodNonZeroRequests(pod)})
	return nil
}

// Score implements framework.ScorePlugin.
func (f *Fit) Score(_ context.Context, state *framework.CycleState, pod *v1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	if ni.Node() == nil {
		return 0, framework.NewStatus(framework.Error, "node not found")
	}
	var podReq *framework.Resource
	if s, err := state.Read(preScoreKey); err == nil {
		podReq = s.(*preFilterState).req
	} else {
		podReq = framework.PodNonZeroRequests(pod)
	}
	var total, weights int64
	for _, r := range f.strategy.Resources {
		alloc := ni.Allocatable.Get(r.Name)
		var requested int64
		switch r.Name {
		case v1.ResourceCPU, v1.ResourceMemory:
			requested = ni.NonZeroRequested.Get(r.Name) + podReq.Get(r.Name)
		default:
			requested = ni.Requested.Get(r.Name) + podReq.Get(r.Name)
			if alloc == 0 {
				// Nodes without the resource do not weigh it.
				continue
			}
		}
		var s int64
		if f.strategy.Type == MostAllocated {
			s = MostAllocatedScore(requested, alloc)
		} else {
			s = LeastAllocatedScore(requested, alloc)
		}
		total += s * r.Weight
		weights += r.Weight
	}
	if weights == 0 {
		return 0, nil
	}
	return total / weights, nil
}

// LeastAllocatedScore is (capacity - requested) * 100 / capacity, 0 when
// the node is full or has no capacity.
func LeastAllocatedScore(requested, capacity int64) int64 {
	if capacity == 0 || requested > capacity {
		return 0
	}
	return (capacity - requested) * framework.MaxNodeScore / capacity
}

// MostAllocatedScore is requested * 100 / capacity, capped at 100.
func MostAllocatedScore(requested, capacity int64) int64 {
	if capacity == 0 {
		return 0
	}
	if requested > capacity {
		requested = capacity
	}
	return requested * framework.MaxNodeScore / capacity
}

// ScoreExtensions implements framework.ScorePlugin.
func (*Fit) ScoreExtensions() framework.ScoreExtensions { return nil }
