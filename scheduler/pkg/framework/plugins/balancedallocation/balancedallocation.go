// Package balancedallocation is the NodeResourcesBalancedAllocation score
// plugin (upstream's BalancedResourceAllocation priority): nodes whose cpu
// and memory would be used in similar fractions once the pod runs score
// higher, so no resource is stranded.
package balancedallocation

import (
	"context"
	"math"

	v1 "k8s.io/api/core/v1"

	"navarch.dev/scheduler/pkg/framework"
)

// Name is the plugin's name.
const Name = "NodeResourcesBalancedAllocation"

// BalancedAllocation is the plugin.
type BalancedAllocation struct {
	resources []v1.ResourceName
}

var (
	_ framework.PreScorePlugin = (*BalancedAllocation)(nil)
	_ framework.ScorePlugin    = (*BalancedAllocation)(nil)
)

// Name implements framework.Plugin.
func (*BalancedAllocation) Name() string { return Name }

const stateKey framework.StateKey = "PreScore" + Name

type preScoreState struct{ req *framework.Resource }

func (s *preScoreState) Clone() framework.StateData { return s }

// PreScore computes the pod's requests once; it skips pods that request
// none of the resources: they cannot unbalance a node.
func (b *BalancedAllocation) PreScore(_ context.Context, state *framework.CycleState, pod *v1.Pod, _ []*framework.NodeInfo) *framework.Status {
	req := framework.PodRequests(pod)
	for _, r := range b.resources {
		if req.Get(r) > 0 {
			if state != nil {
				state.Write(stateKey, &preScoreState{req: req})
			}
			return nil
		}
	}
	return framework.NewStatus(framework.Skip)
}

// Score is (1 - standard deviation of the used fractions) * 100, the
// fractions counting the node's requests plus the pod's and capped at 1.
func (b *BalancedAllocation) Score(_ context.Context, state *framework.CycleState, pod *v1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	var req *framework.Resource
	if state != nil {
		if s, err := state.Read(stateKey); err == nil {
			req = s.(*preScoreState).req
		}
	}
	if req == nil {
		req = framework.PodRequests(pod)
	}
	// Room for the usual resources on the stack: Score runs per node.
	var buf [4]float64
	fractions := buf[:0]
	for _, r := range b.resources {
		alloc := ni.Allocatable.Get(r)
		if alloc == 0 {
			continue
		}
		f := float64(ni.Requested.Get(r)+req.Get(r)) / float64(alloc)
		fractions = append(fractions, math.Min(f, 1))
	}
	return BalancedScore(fractions), nil
}

// BalancedScore maps used fractions to a score.
func BalancedScore(fractions []float64) int64 {
	if len(fractions) == 0 {
		return 0
	}
	var std float64
	if len(fractions) == 2 {
		std = math.Abs(fractions[0]-fractions[1]) / 2
	} else {
		var mean float64
		for _, f := range fractions {
			mean += f
		}
		mean /= float64(len(fractions))
		for _, f := range fractions {
			std += (f - mean) * (f - mean)
		}
		std = math.Sqrt(std / float64(len(fractions)))
	}
	return int64((1 - std) * float64(framework.MaxNodeScore))
}

// ScoreExtensions implements framework.ScorePlugin.
func (*BalancedAllocation) ScoreExtensions() framework.ScoreExtensions { return nil }
