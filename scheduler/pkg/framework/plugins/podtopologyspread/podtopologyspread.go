// Package podtopologyspread is the PodTopologySpread plugin: a pod's
// topologySpreadConstraints limit the skew — matching pods in the node's
// domain minus the fewest in any eligible domain — to maxSkew. Hard
// constraints (DoNotSchedule) filter, soft ones (ScheduleAnyway) score.
package podtopologyspread

import (
	"context"
	"math"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"navarch.dev/scheduler/pkg/framework"
)

// Name is the plugin's name.
const Name = "PodTopologySpread"

// Reasons, as upstream.
const (
	ErrReasonConstraintsNotMatch = "node(s) didn't match pod topology spread constraints"
	ErrReasonNodeLabelNotMatch   = ErrReasonConstraintsNotMatch + " (missing required label)"
)

// PodTopologySpread is the plugin.
type PodTopologySpread struct {
	handle framework.Handle
}

var (
	_ framework.PreFilterPlugin   = (*PodTopologySpread)(nil)
	_ framework.FilterPlugin      = (*PodTopologySpread)(nil)
	_ framework.PreScorePlugin    = (*PodTopologySpread)(nil)
	_ framework.ScorePlugin       = (*PodTopologySpread)(nil)
	_ framework.EnqueueExtensions = (*PodTopologySpread)(nil)
)

// Name implements framework.Plugin.
func (*PodTopologySpread) Name() string { return Name }

// EventsToRegister implements framework.EnqueueExtensions.
func (*PodTopologySpread) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{
		{Resource: framework.AssignedPod, ActionType: framework.All},
		{Resource: framework.Node, ActionType: framework.Add | framework.Delete | framework.UpdateNodeLabel | framework.UpdateNodeTaint},
	}
}

// constraint is a parsed topologySpreadConstraint.
type constraint struct {
	maxSkew           int32
	topologyKey       string
	selector          labels.Selector
	minDomains        int32
	honorNodeAffinity bool
	honorTaints       bool
}

func parse(pod *v1.Pod, action v1.UnsatisfiableConstraintAction) ([]constraint, error) {
	var out []constraint
	for _, c := range pod.Spec.TopologySpreadConstraints {
		if c.WhenUnsatisfiable != action {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(c.LabelSelector)
		if err != nil {
			return nil, err
		}
		for _, k := range c.MatchLabelKeys {
			if v, ok := pod.Labels[k]; ok {
				if r, err := labels.NewRequirement(k, "in", []string{v}); err == nil {
					sel = sel.Add(*r)
				}
			}
		}
		pc := constraint{maxSkew: c.MaxSkew, topologyKey: c.TopologyKey, selector: sel, minDomains: 1,
			honorNodeAffinity: true, honorTaints: false}
		if c.MinDomains != nil {
			pc.minDomains = *c.MinDomains
		}
		if c.NodeAffinityPolicy != nil {
			pc.honorNodeAffinity = *c.NodeAffinityPolicy == v1.NodeInclusionPolicyHonor
		}
		if c.NodeTaintsPolicy != nil {
			pc.honorTaints = *c.NodeTaintsPolicy == v1.NodeInclusionPolicyHonor
		}
		out = append(out, pc)
	}
	return out, nil
}

// eligible reports whether a node counts for the constraints: it has all
// their topology keys and passes the policies.
func eligible(pod *v1.Pod, node *v1.Node, cs []constraint) bool {
	for _, c := range cs {
		if _, ok := node.Labels[c.topologyKey]; !ok {
			return false
		}
		if c.honorNodeAffinity && !framework.PodMatchesNodeSelectorAndAffinity(pod, node) {
			return false
		}
		if c.honorTaints {
			if _, bad := framework.FindUntoleratedTaint(node.Spec.Taints, pod.Spec.Tolerations, func(t *v1.Taint) bool {
				return t.Effect == v1.TaintEffectNoSchedule || t.Effect == v1.TaintEffectNoExecute
			}); bad {
				return false
			}
		}
	}
	return true
}

func countMatching(ns string, sel labels.Selector, ni *framework.NodeInfo) int64 {
	var n int64
	for _, pi := range ni.Pods {
		p := pi.Pod
		if p.Namespace == ns && p.DeletionTimestamp == nil && sel.Matches(labels.Set(p.Labels)) {
			n++
		}
	}
	return n
}

const preFilterKey framework.StateKey = "PreFilter" + Name

type pair struct{ key, value string }

type preFilterState struct {
	constraints []constraint
	// counts holds matching pods per domain, for each constraint's key.
	counts map[pair]int64
	// domains lists each constraint's eligible domain values.
	domains []map[string]bool
}

func (s *preFilterState) Clone() framework.StateData {
	c := &preFilterState{constraints: s.constraints, counts: make(map[pair]int64, len(s.counts)), domains: s.domains}
	for k, v := range s.counts {
		c.counts[k] = v
	}
	return c
}

// minMatch returns the fewest matching pods over constraint i's domains
// (0 when there are fewer domains than minDomains).
func (s *preFilterState) minMatch(i int) int64 {
	c := s.constraints[i]
	if int32(len(s.domains[i])) < c.minDomains {
		return 0
	}
	m := int64(math.MaxInt64)
	for v := range s.domains[i] {
		m = min(m, s.counts[pair{c.topologyKey, v}])
	}
	if m == math.MaxInt64 {
		return 0
	}
	return m
}

// PreFilter counts matching pods per domain for the hard constraints.
func (p *PodTopologySpread) PreFilter(_ context.Context, state *framework.CycleState, pod *v1.Pod, nodes []*framework.NodeInfo) *framework.Status {
	cs, err := parse(pod, v1.DoNotSchedule)
	if err != nil {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, err.Error())
	}
	if len(cs) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	s := &preFilterState{constraints: cs, counts: map[pair]int64{}, domains: make([]map[string]bool, len(cs))}
	for i := range cs {
		s.domains[i] = map[string]bool{}
	}
	for _, ni := range nodes {
		node := ni.Node()
		if node == nil || !eligible(pod, node, cs) {
			continue
		}
		for i, c := range cs {
			v := node.Labels[c.topologyKey]
			s.domains[i][v] = true
			s.counts[pair{c.topologyKey, v}] += countMatching(pod.Namespace, c.selector, ni)
		}
	}
	state.Write(preFilterKey, s)
	return nil
}

// PreFilterExtensions implements framework.PreFilterPlugin.
func (p *PodTopologySpread) PreFilterExtensions() framework.PreFilterExtensions { return p }

func (p *PodTopologySpread) update(state *framework.CycleState, pod *v1.Pod, other *v1.Pod, ni *framework.NodeInfo, n int64) {
	d, err := state.Read(preFilterKey)
	if err != nil || ni.Node() == nil || other.Namespace != pod.Namespace {
		return
	}
	s := d.(*preFilterState)
	if !eligible(pod, ni.Node(), s.constraints) {
		return
	}
	for _, c := range s.constraints {
		if c.selector.Matches(labels.Set(other.Labels)) {
			s.counts[pair{c.topologyKey, ni.Node().Labels[c.topologyKey]}] += n
		}
	}
}

// AddPod implements framework.PreFilterExtensions.
func (p *PodTopologySpread) AddPod(_ context.Context, state *framework.CycleState, pod *v1.Pod, add *framework.PodInfo, ni *framework.NodeInfo) *framework.Status {
	p.update(state, pod, add.Pod, ni, 1)
	return nil
}

// RemovePod implements framework.PreFilterExtensions.
func (p *PodTopologySpread) RemovePod(_ context.Context, state *framework.CycleState, pod *v1.Pod, rm *framework.PodInfo, ni *framework.NodeInfo) *framework.Status {
	p.update(state, pod, rm.Pod, ni, -1)
	return nil
}

// Filter rejects a node where placing the pod would exceed maxSkew.
func (p *PodTopologySpread) Filter(_ context.Context, state *framework.CycleState, pod *v1.Pod, ni *framework.NodeInfo) *framework.Status {
	d, err := state.Read(preFilterKey)
	if err != nil {
		return framework.AsStatus(err)
	}
	s := d.(*preFilterState)
	node := ni.Node()
	for i, c := range s.constraints {
		v, ok := node.Labels[c.topologyKey]
		if !ok {
			return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonNodeLabelNotMatch)
		}
		self := int64(0)
		if c.selector.Matches(labels.Set(pod.Labels)) {
			self = 1
		}
		skew := s.counts[pair{c.topologyKey, v}] + self - s.minMatch(i)
		if skew > int64(c.maxSkew) {
			return framework.NewStatus(framework.Unschedulable, ErrReasonConstraintsNotMatch)
		}
	}
	return nil
}

const preScoreKey framework.StateKey = "PreScore" + Name

type scoreState struct {
	constraints []constraint
	counts      map[pair]int64
	// weights: log(domains + 2) per constraint, so keys with many domains
	// (hostname) do not drown keys with few (zone).
	weights []float64
}

func (s *scoreState) Clone() framework.StateData { return s }

// PreScore counts matching pods per domain for the soft constraints.
func (p *PodTopologySpread) PreScore(_ context.Context, state *framework.CycleState, pod *v1.Pod, filtered []*framework.NodeInfo) *framework.Status {
	cs, err := parse(pod, v1.ScheduleAnyway)
	if err != nil {
		return framework.AsStatus(err)
	}
	if len(cs) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	all := filtered
	if p.handle != nil && p.handle.SnapshotNodeInfos() != nil {
		all = p.handle.SnapshotNodeInfos().List()
	}
	s := &scoreState{constraints: cs, counts: map[pair]int64{}, weights: make([]float64, len(cs))}
	domains := make([]map[string]bool, len(cs))
	for i := range cs {
		domains[i] = map[string]bool{}
	}
	for _, ni := range filtered {
		for i, c := range cs {
			if v, ok := ni.Node().Labels[c.topologyKey]; ok {
				domains[i][v] = true
			}
		}
	}
	for _, ni := range all {
		node := ni.Node()
		if node == nil || !eligible(pod, node, cs) {
			continue
		}
		for _, c := range cs {
			v := node.Labels[c.topologyKey]
			s.counts[pair{c.topologyKey, v}] += countMatching(pod.Namespace, c.selector, ni)
		}
	}
	for i := range cs {
		s.weights[i] = math.Log(float64(len(domains[i]) + 2))
	}
	state.Write(preScoreKey, s)
	return nil
}

// Score is the weighted count of matching pods in the node's domains
// (lower is better; normalized in reverse). Nodes missing a key score 0
// after normalization.
func (p *PodTopologySpread) Score(_ context.Context, state *framework.CycleState, _ *v1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	d, err := state.Read(preScoreKey)
	if err != nil {
		return 0, framework.AsStatus(err)
	}
	s := d.(*scoreState)
	var score float64
	for i, c := range s.constraints {
		v, ok := ni.Node().Labels[c.topologyKey]
		if !ok {
			return -1, nil
		}
		score += float64(s.counts[pair{c.topologyKey, v}])*s.weights[i] + float64(c.maxSkew-1)
	}
	return int64(math.Round(score)), nil
}

// NormalizeScore maps the lowest count to 100 and nodes missing a key
// (score -1) to 0.
func (p *PodTopologySpread) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *v1.Pod, scores framework.NodeScoreList) *framework.Status {
	lo, hi := int64(math.MaxInt64), int64(0)
	for _, s := range scores {
		if s.Score < 0 {
			continue
		}
		lo, hi = min(lo, s.Score), max(hi, s.Score)
	}
	for i := range scores {
		switch {
		case scores[i].Score < 0:
			scores[i].Score = 0
		case hi == 0:
			scores[i].Score = framework.MaxNodeScore
		default:
			scores[i].Score = framework.MaxNodeScore * (hi + lo - scores[i].Score) / hi
		}
	}
	return nil
}

// ScoreExtensions implements framework.ScorePlugin.
func (p *PodTopologySpread) ScoreExtensions() framework.ScoreExtensions { return p }
