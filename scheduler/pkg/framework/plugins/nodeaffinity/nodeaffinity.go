// Package nodeaffinity is the NodeAffinity plugin. Its filter is upstream's
// PodSelectorMatches / MatchNodeSelector: the node's labels must satisfy the
// pod's spec.nodeSelector and one of the terms of its required node affinity
// (operators In, NotIn, Exists, DoesNotExist, Gt, Lt; matchFields on
// metadata.name). Its score (CalculateNodeAffinityPriority) sums the weights
// of the preferred terms a node satisfies, normalized to 0-100.
package nodeaffinity

import (
	"context"

	v1 "k8s.io/api/core/v1"

	"navarch.dev/scheduler/pkg/framework"
)

// Name is the plugin's name.
const Name = "NodeAffinity"

// Reasons, as upstream.
const (
	ErrReasonPod      = "node(s) didn't match Pod's node affinity/selector"
	ErrReasonEnforced = "node(s) didn't match scheduler-enforced node affinity"
)

// NodeAffinity is the plugin.
type NodeAffinity struct {
	added *v1.NodeAffinity
}

var (
	_ framework.PreFilterPlugin   = (*NodeAffinity)(nil)
	_ framework.FilterPlugin      = (*NodeAffinity)(nil)
	_ framework.PreScorePlugin    = (*NodeAffinity)(nil)
	_ framework.ScorePlugin       = (*NodeAffinity)(nil)
	_ framework.EnqueueExtensions = (*NodeAffinity)(nil)
)

// Name implements framework.Plugin.
func (*NodeAffinity) Name() string { return Name }

// EventsToRegister implements framework.EnqueueExtensions.
func (*NodeAffinity) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{{Resource: framework.Node, ActionType: framework.Add | framework.UpdateNodeLabel | framework.Update}}
}

func hasRequired(pod *v1.Pod) bool {
	a := pod.Spec.Affinity
	return len(pod.Spec.NodeSelector) > 0 || (a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil)
}

// PreFilter skips pods with nothing to check.
func (p *NodeAffinity) PreFilter(_ context.Context, _ *framework.CycleState, pod *v1.Pod, _ []*framework.NodeInfo) *framework.Status {
	if !hasRequired(pod) && (p.added == nil || p.added.RequiredDuringSchedulingIgnoredDuringExecution == nil) {
		return framework.NewStatus(framework.Skip)
	}
	return nil
}

// PreFilterExtensions implements framework.PreFilterPlugin.
func (*NodeAffinity) PreFilterExtensions() framework.PreFilterExtensions { return nil }

// Filter implements framework.FilterPlugin.
func (p *NodeAffinity) Filter(_ context.Context, _ *framework.CycleState, pod *v1.Pod, ni *framework.NodeInfo) *framework.Status {
	node := ni.Node()
	if node == nil {
		return framework.NewStatus(framework.Error, "node not found")
	}
	if p.added != nil && !framework.NodeSelectorMatches(p.added.RequiredDuringSchedulingIgnoredDuringExecution, node) {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonEnforced)
	}
	if !framework.PodMatchesNodeSelectorAndAffinity(pod, node) {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonPod)
	}
	return nil
}

func (p *NodeAffinity) preferred(pod *v1.Pod) []v1.PreferredSchedulingTerm {
	var terms []v1.PreferredSchedulingTerm
	if p.added != nil {
		terms = append(terms, p.added.PreferredDuringSchedulingIgnoredDuringExecution...)
	}
	if a := pod.Spec.Affinity; a != nil && a.NodeAffinity != nil {
		terms = append(terms, a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution...)
	}
	return terms
}

// PreScore skips pods without preferred terms.
func (p *NodeAffinity) PreScore(_ context.Context, _ *framework.CycleState, pod *v1.Pod, _ []*framework.NodeInfo) *framework.Status {
	if len(p.preferred(pod)) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	return nil
}

// Score sums the weights of the preferred terms the node satisfies.
func (p *NodeAffinity) Score(_ context.Context, _ *framework.CycleState, pod *v1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	node := ni.Node()
	if node == nil {
		return 0, framework.NewStatus(framework.Error, "node not found")
	}
	var total int64
	for _, t := range p.preferred(pod) {
		if t.Weight != 0 && framework.NodeSelectorTermMatches(&t.Preference, node) {
			total += int64(t.Weight)
		}
	}
	return total, nil
}

// NormalizeScore implements framework.ScoreExtensions.
func (*NodeAffinity) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *v1.Pod, scores framework.NodeScoreList) *framework.Status {
	return framework.DefaultNormalizeScore(framework.MaxNodeScore, false, scores)
}

// ScoreExtensions implements framework.ScorePlugin.
func (p *NodeAffinity) ScoreExtensions() framework.ScoreExtensions { return p }
