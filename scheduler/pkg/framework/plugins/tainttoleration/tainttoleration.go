// Package tainttoleration is the TaintToleration plugin: the filter
// (PodToleratesNodeTaints) rejects nodes with a NoSchedule or NoExecute
// taint the pod does not tolerate; the score (TaintTolerationPriority)
// prefers nodes with fewer untolerated PreferNoSchedule taints.
package tainttoleration

import (
	"context"
	"fmt"

	v1 "k8s.io/api/core/v1"

	"navarch.dev/scheduler/pkg/framework"
)

// Name is the plugin's name.
const Name = "TaintToleration"

// TaintToleration is the plugin.
type TaintToleration struct{}

var (
	_ framework.FilterPlugin      = (*TaintToleration)(nil)
	_ framework.PreScorePlugin    = (*TaintToleration)(nil)
	_ framework.ScorePlugin       = (*TaintToleration)(nil)
	_ framework.EnqueueExtensions = (*TaintToleration)(nil)
)

// Name implements framework.Plugin.
func (*TaintToleration) Name() string { return Name }

// EventsToRegister implements framework.EnqueueExtensions.
func (*TaintToleration) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{{Resource: framework.Node, ActionType: framework.Add | framework.UpdateNodeTaint | framework.Update}}
}

// Filter implements framework.FilterPlugin.
func (*TaintToleration) Filter(_ context.Context, _ *framework.CycleState, pod *v1.Pod, ni *framework.NodeInfo) *framework.Status {
	node := ni.Node()
	if node == nil {
		return framework.NewStatus(framework.Error, "invalid nodeInfo")
	}
	taint, found := framework.FindUntoleratedTaint(node.Spec.Taints, pod.Spec.Tolerations, func(t *v1.Taint) bool {
		return t.Effect == v1.TaintEffectNoSchedule || t.Effect == v1.TaintEffectNoExecute
	})
	if !found {
		return nil
	}
	return framework.NewStatus(framework.UnschedulableAndUnresolvable,
		fmt.Sprintf("node(s) had untolerated taint {%s: %s}", taint.Key, taint.Value))
}

const stateKey framework.StateKey = "PreScore" + Name

type preScoreState []v1.Toleration

func (s preScoreState) Clone() framework.StateData { return s }

// PreScore keeps the tolerations that can tolerate PreferNoSchedule.
func (*TaintToleration) PreScore(_ context.Context, state *framework.CycleState, pod *v1.Pod, _ []*framework.NodeInfo) *framework.Status {
	var tols []v1.Toleration
	for _, t := range pod.Spec.Tolerations {
		if t.Effect == "" || t.Effect == v1.TaintEffectPreferNoSchedule {
			tols = append(tols, t)
		}
	}
	state.Write(stateKey, preScoreState(tols))
	return nil
}

// Score counts the node's untolerated PreferNoSchedule taints (normalized
// in reverse: fewer is better).
func (*TaintToleration) Score(_ context.Context, state *framework.CycleState, pod *v1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	tols := pod.Spec.Tolerations
	if s, err := state.Read(stateKey); err == nil {
		tols = s.(preScoreState)
	}
	var n int64
	for i := range ni.Node().Spec.Taints {
		taint := &ni.Node().Spec.Taints[i]
		if taint.Effect != v1.TaintEffectPreferNoSchedule {
			continue
		}
		tolerated := false
		for j := range tols {
			if framework.TolerationToleratesTaint(&tols[j], taint) {
				tolerated = true
				break
			}
		}
		if !tolerated {
			n++
		}
	}
	return n, nil
}

// NormalizeScore implements framework.ScoreExtensions.
func (*TaintToleration) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *v1.Pod, scores framework.NodeScoreList) *framework.Status {
	return framework.DefaultNormalizeScore(framework.MaxNodeScore, true, scores)
}

// ScoreExtensions implements framework.ScorePlugin.
func (p *TaintToleration) ScoreExtensions() framework.ScoreExtensions { return p }
