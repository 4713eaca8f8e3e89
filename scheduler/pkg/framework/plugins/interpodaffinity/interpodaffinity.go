// Package interpodaffinity is the InterPodAffinity plugin. The filter
// (MatchInterPodAffinity) enforces required pod affinity and anti-affinity
// over topology domains (nodes sharing a topologyKey label value), both the
// incoming pod's terms and the anti-affinity of pods already running. The
// score sums the weights of preferred terms satisfied per domain.
package interpodaffinity

import (
	"context"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	corelisters "k8s.io/client-go/listers/core/v1"

	"navarch.dev/scheduler/pkg/framework"
)

// Name is the plugin's name.
const Name = "InterPodAffinity"

// Reasons, as upstream.
const (
	ErrReasonExistingAntiAffinityRulesNotMatch = "node(s) didn't satisfy existing pods anti-affinity rules"
	ErrReasonAffinityRulesNotMatch             = "node(s) didn't match pod affinity rules"
	ErrReasonAntiAffinityRulesNotMatch         = "node(s) didn't match pod anti-affinity rules"
)

// InterPodAffinity is the plugin.
type InterPodAffinity struct {
	handle     framework.Handle
	namespaces corelisters.NamespaceLister
	hardWeight int64
}

var (
	_ framework.PreFilterPlugin   = (*InterPodAffinity)(nil)
	_ framework.FilterPlugin      = (*InterPodAffinity)(nil)
	_ framework.PreScorePlugin    = (*InterPodAffinity)(nil)
	_ framework.ScorePlugin       = (*InterPodAffinity)(nil)
	_ framework.EnqueueExtensions = (*InterPodAffinity)(nil)
)

// Name implements framework.Plugin.
func (*InterPodAffinity) Name() string { return Name }

// EventsToRegister implements framework.EnqueueExtensions.
func (*InterPodAffinity) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{
		{Resource: framework.AssignedPod, ActionType: framework.All},
		{Resource: framework.Node, ActionType: framework.Add | framework.UpdateNodeLabel},
	}
}

type topologyPair struct{ key, value string }

type counts map[topologyPair]int64

func (c counts) add(term *framework.AffinityTerm, node *v1.Node, n int64) {
	if node == nil {
		return
	}
	if v, ok := node.Labels[term.TopologyKey]; ok {
		c[topologyPair{term.TopologyKey, v}] += n
		if c[topologyPair{term.TopologyKey, v}] == 0 {
			delete(c, topologyPair{term.TopologyKey, v})
		}
	}
}

func (c counts) clone() counts {
	out := make(counts, len(c))
	for k, v := range c {
		out[k] = v
	}
	return out
}

const preFilterKey framework.StateKey = "PreFilter" + Name

type preFilterState struct {
	// existingAntiAffinity counts, per domain, existing pods whose
	// required anti-affinity matches the incoming pod.
	existingAntiAffinity counts
	// affinity counts, per domain of each incoming affinity term, pods
	// matching all of the incoming pod's affinity terms.
	affinity counts
	// antiAffinity counts, per domain, pods matching any incoming
	// anti-affinity term.
	antiAffinity counts
	podInfo      *framework.PodInfo
	nsLabels     labels.Set
}

func (s *preFilterState) Clone() framework.StateData {
	return &preFilterState{
		existingAntiAffinity: s.existingAntiAffinity.clone(),
		affinity:             s.affinity.clone(),
		antiAffinity:         s.antiAffinity.clone(),
		podInfo:              s.podInfo,
		nsLabels:             s.nsLabels,
	}
}

// nsLabels returns the labels of a namespace (nil if unknown).
func (p *InterPodAffinity) nsLabels(name string) labels.Set {
	if p.namespaces == nil {
		return nil
	}
	ns, err := p.namespaces.Get(name)
	if err != nil {
		return nil
	}
	return ns.Labels
}

// resolveTerms fills each term's namespaces from its namespace selector,
// so matching needs no lookups.
func (p *InterPodAffinity) resolveTerms(terms []framework.AffinityTerm) []framework.AffinityTerm {
	out := make([]framework.AffinityTerm, len(terms))
	for i, t := range terms {
		out[i] = t
		if t.NamespaceSelector == nil || p.namespaces == nil {
			continue
		}
		out[i].Namespaces = t.Namespaces.Clone()
		if nss, err := p.namespaces.List(t.NamespaceSelector); err == nil {
			for _, ns := range nss {
				out[i].Namespaces.Insert(ns.Name)
			}
		}
		out[i].NamespaceSelector = nil
	}
	return out
}

func matchesAll(terms []framework.AffinityTerm, pod *v1.Pod) bool {
	if len(terms) == 0 {
		return false
	}
	for i := range terms {
		if !terms[i].Matches(pod, nil) {
			return false
		}
	}
	return true
}

// updateWith counts (or uncounts, n = -1) an existing pod on node.
func (s *preFilterState) updateWith(existing *framework.PodInfo, node *v1.Node, n int64) {
	pod := s.podInfo.Pod
	for i := range existing.RequiredAntiAffinityTerms {
		t := &existing.RequiredAntiAffinityTerms[i]
		if t.Matches(pod, s.nsLabels) {
			s.existingAntiAffinity.add(t, node, n)
		}
	}
	if matchesAll(s.podInfo.RequiredAffinityTerms, existing.Pod) {
		for i := range s.podInfo.RequiredAffinityTerms {
			s.affinity.add(&s.podInfo.RequiredAffinityTerms[i], node, n)
		}
	}
	for i := range s.podInfo.RequiredAntiAffinityTerms {
		t := &s.podInfo.RequiredAntiAffinityTerms[i]
		if t.Matches(existing.Pod, nil) {
			s.antiAffinity.add(t, node, n)
		}
	}
}

// PreFilter counts, per topology domain, the pods the filter rules need.
func (p *InterPodAffinity) PreFilter(_ context.Context, state *framework.CycleState, pod *v1.Pod, nodes []*framework.NodeInfo) *framework.Status {
	pi := framework.NewPodInfo(pod)
	if pi.ParseError != nil {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, pi.ParseError.Error())
	}
	pi.RequiredAffinityTerms = p.resolveTerms(pi.RequiredAffinityTerms)
	pi.RequiredAntiAffinityTerms = p.resolveTerms(pi.RequiredAntiAffinityTerms)
	s := &preFilterState{existingAntiAffinity: counts{}, affinity: counts{}, antiAffinity: counts{}, podInfo: pi, nsLabels: p.nsLabels(pod.Namespace)}
	ownTerms := len(pi.RequiredAffinityTerms)+len(pi.RequiredAntiAffinityTerms) > 0
	var withAnti []*framework.NodeInfo
	if p.handle != nil && p.handle.SnapshotNodeInfos() != nil {
		withAnti = p.handle.SnapshotNodeInfos().HavePodsWithRequiredAntiAffinityList()
	} else {
		withAnti = nodes
	}
	if !ownTerms && len(withAnti) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	scan := withAnti
	if ownTerms {
		scan = nodes
	}
	for _, ni := range scan {
		for _, existing := range ni.Pods {
			if !ownTerms && len(existing.RequiredAntiAffinityTerms) == 0 {
				continue
			}
			s.updateWith(existing, ni.Node(), 1)
		}
	}
	state.Write(preFilterKey, s)
	return nil
}

// PreFilterExtensions implements framework.PreFilterPlugin.
func (p *InterPodAffinity) PreFilterExtensions() framework.PreFilterExtensions { return p }

// AddPod implements framework.PreFilterExtensions.
func (p *InterPodAffinity) AddPod(_ context.Context, state *framework.CycleState, _ *v1.Pod, add *framework.PodInfo, ni *framework.NodeInfo) *framework.Status {
	d, err := state.Read(preFilterKey)
	if err != nil {
		return nil
	}
	d.(*preFilterState).updateWith(add, ni.Node(), 1)
	return nil
}

// RemovePod implements framework.PreFilterExtensions.
func (p *InterPodAffinity) RemovePod(_ context.Context, state *framework.CycleState, _ *v1.Pod, rm *framework.PodInfo, ni *framework.NodeInfo) *framework.Status {
	d, err := state.Read(preFilterKey)
	if err != nil {
		return nil
	}
	d.(*preFilterState).updateWith(rm, ni.Node(), -1)
	return nil
}

// Filter implements framework.FilterPlugin.
func (p *InterPodAffinity) Filter(_ context.Context, state *framework.CycleState, pod *v1.Pod, ni *framework.NodeInfo) *framework.Status {
	d, err := state.Read(preFilterKey)
	if err != nil {
		return framework.AsStatus(err)
	}
	s := d.(*preFilterState)
	node := ni.Node()
	for key, value := range node.Labels {
		if s.existingAntiAffinity[topologyPair{key, value}] > 0 {
			return framework.NewStatus(framework.Unschedulable, ErrReasonExistingAntiAffinityRulesNotMatch)
		}
	}
	for i := range s.podInfo.RequiredAntiAffinityTerms {
		t := &s.podInfo.RequiredAntiAffinityTerms[i]
		if v, ok := node.Labels[t.TopologyKey]; ok && s.antiAffinity[topologyPair{t.TopologyKey, v}] > 0 {
			return framework.NewStatus(framework.Unschedulable, ErrReasonAntiAffinityRulesNotMatch)
		}
	}
	if terms := s.podInfo.RequiredAffinityTerms; len(terms) > 0 {
		ok := true
		for i := range terms {
			v, has := node.Labels[terms[i].TopologyKey]
			if !has || s.affinity[topologyPair{terms[i].TopologyKey, v}] <= 0 {
				ok = false
				break
			}
		}
		if !ok {
			// The first pod of a group that selects itself may go anywhere
			// its topology keys exist: no pod matches yet.
			if len(s.affinity) == 0 && matchesAll(terms, pod) {
				for i := range terms {
					if _, has := node.Labels[terms[i].TopologyKey]; !has {
						return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonAffinityRulesNotMatch)
					}
				}
				return nil
			}
			return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonAffinityRulesNotMatch)
		}
	}
	return nil
}

const preScoreKey framework.StateKey = "PreScore" + Name

type scoreState struct {
	scores map[string]map[string]int64 // topology key -> value -> score
}

func (s *scoreState) Clone() framework.StateData { return s }

// PreScore sums, per topology domain, the weights of the preferred terms
// (and the existing pods' terms) that the domain's pods satisfy.
func (p *InterPodAffinity) PreScore(_ context.Context, state *framework.CycleState, pod *v1.Pod, _ []*framework.NodeInfo) *framework.Status {
	if p.handle == nil || p.handle.SnapshotNodeInfos() == nil {
		return framework.NewStatus(framework.Skip)
	}
	pi := framework.NewPodInfo(pod)
	pi.PreferredAffinityTerms = p.resolveWeighted(pi.PreferredAffinityTerms)
	pi.PreferredAntiAffinityTerms = p.resolveWeighted(pi.PreferredAntiAffinityTerms)
	own := len(pi.PreferredAffinityTerms)+len(pi.PreferredAntiAffinityTerms) > 0
	lister := p.handle.SnapshotNodeInfos()
	nodes := lister.HavePodsWithAffinityList()
	if own {
		nodes = lister.List()
	}
	if len(nodes) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	nsLabels := p.nsLabels(pod.Namespace)
	s := &scoreState{scores: map[string]map[string]int64{}}
	add := func(key string, node *v1.Node, w int64) {
		v, ok := node.Labels[key]
		if !ok || w == 0 {
			return
		}
		if s.scores[key] == nil {
			s.scores[key] = map[string]int64{}
		}
		s.scores[key][v] += w
	}
	for _, ni := range nodes {
		node := ni.Node()
		for _, existing := range ni.Pods {
			for _, t := range pi.PreferredAffinityTerms {
				if t.Matches(existing.Pod, nil) {
					add(t.TopologyKey, node, int64(t.Weight))
				}
			}
			for _, t := range pi.PreferredAntiAffinityTerms {
				if t.Matches(existing.Pod, nil) {
					add(t.TopologyKey, node, -int64(t.Weight))
				}
			}
			for _, t := range existing.RequiredAffinityTerms {
				if t.Matches(pod, nsLabels) {
					add(t.TopologyKey, node, p.hardWeight)
				}
			}
			for _, t := range existing.PreferredAffinityTerms {
				if t.Matches(pod, nsLabels) {
					add(t.TopologyKey, node, int64(t.Weight))
				}
			}
			for _, t := range existing.PreferredAntiAffinityTerms {
				if t.Matches(pod, nsLabels) {
					add(t.TopologyKey, node, -int64(t.Weight))
				}
			}
		}
	}
	if len(s.scores) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	state.Write(preScoreKey, s)
	return nil
}

func (p *InterPodAffinity) resolveWeighted(terms []framework.WeightedAffinityTerm) []framework.WeightedAffinityTerm {
	plain := make([]framework.AffinityTerm, len(terms))
	for i := range terms {
		plain[i] = terms[i].AffinityTerm
	}
	plain = p.resolveTerms(plain)
	out := make([]framework.WeightedAffinityTerm, len(terms))
	for i := range terms {
		out[i] = framework.WeightedAffinityTerm{AffinityTerm: plain[i], Weight: terms[i].Weight}
	}
	return out
}

// Score sums the node's domains' scores (may be negative; normalized).
func (p *InterPodAffinity) Score(_ context.Context, state *framework.CycleState, _ *v1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	d, err := state.Read(preScoreKey)
	if err != nil {
		return 0, framework.AsStatus(err)
	}
	var total int64
	for key, values := range d.(*scoreState).scores {
		if v, ok := ni.Node().Labels[key]; ok {
			total += values[v]
		}
	}
	return total, nil
}

// NormalizeScore maps [min, max] to [0, 100].
func (p *InterPodAffinity) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *v1.Pod, scores framework.NodeScoreList) *framework.Status {
	if len(scores) == 0 {
		return nil
	}
	lo, hi := scores[0].Score, scores[0].Score
	for _, s := range scores {
		lo, hi = min(lo, s.Score), max(hi, s.Score)
	}
	for i := range scores {
		if hi == lo {
			scores[i].Score = 0
			continue
		}
		scores[i].Score = framework.MaxNodeScore * (scores[i].Score - lo) / (hi - lo)
	}
	return nil
}

// ScoreExtensions implements framework.ScorePlugin.
func (p *InterPodAffinity) ScoreExtensions() framework.ScoreExtensions { return p }
