package framework

import (
	"strconv"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// NodeSelectorTermMatches reports whether node satisfies every requirement
// of term (matchExpressions on labels, matchFields on metadata.name). A term
// with no requirements matches nothing, as upstream.
func NodeSelectorTermMatches(term *v1.NodeSelectorTerm, node *v1.Node) bool {
	if len(term.MatchExpressions) == 0 && len(term.MatchFields) == 0 {
		return false
	}
	for i := range term.MatchExpressions {
		if !requirementMatches(&term.MatchExpressions[i], node.Labels) {
			return false
		}
	}
	for i := range term.MatchFields {
		r := &term.MatchFields[i]
		if r.Key != "metadata.name" {
			return false
		}
		if !requirementMatches(r, map[string]string{"metadata.name": node.Name}) {
			return false
		}
	}
	return true
}

// NodeSelectorMatches reports whether node satisfies any of the terms (they
// are ORed). A nil selector matches every node.
func NodeSelectorMatches(sel *v1.NodeSelector, node *v1.Node) bool {
	if sel == nil {
		return true
	}
	for i := range sel.NodeSelectorTerms {
		if NodeSelectorTermMatches(&sel.NodeSelectorTerms[i], node) {
			return true
		}
	}
	return false
}

func requirementMatches(r *v1.NodeSelectorRequirement, lbls map[string]string) bool {
	v, has := lbls[r.Key]
	switch r.Operator {
	case v1.NodeSelectorOpIn:
		if !has {
			return false
		}
		for _, x := range r.Values {
			if x == v {
				return true
			}
		}
		return false
	case v1.NodeSelectorOpNotIn:
		for _, x := range r.Values {
			if has && x == v {
				return false
			}
		}
		return true
	case v1.NodeSelectorOpExists:
		return has
	case v1.NodeSelectorOpDoesNotExist:
		return !has
	case v1.NodeSelectorOpGt, v1.NodeSelectorOpLt:
		if !has || len(r.Values) != 1 {
			return false
		}
		nv, err1 := strconv.ParseInt(v, 10, 64)
		rv, err2 := strconv.ParseInt(r.Values[0], 10, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		if r.Operator == v1.NodeSelectorOpGt {
			return nv > rv
		}
		return nv < rv
	}
	return false
}

// PodMatchesNodeSelectorAndAffinity reports whether node satisfies the
// pod's spec.nodeSelector and its required node affinity.
func PodMatchesNodeSelectorAndAffinity(pod *v1.Pod, node *v1.Node) bool {
	if len(pod.Spec.NodeSelector) > 0 {
		if !labels.SelectorFromSet(pod.Spec.NodeSelector).Matches(labels.Set(node.Labels)) {
			return false
		}
	}
	if a := pod.Spec.Affinity; a != nil && a.NodeAffinity != nil {
		if sel := a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution; sel != nil {
			return NodeSelectorMatches(sel, node)
		}
	}
	return true
}

// TolerationToleratesTaint reports whether t tolerates taint, as upstream:
// an empty effect matches every effect, an empty key with Exists matches
// every taint, Equal (the default) compares values.
func TolerationToleratesTaint(t *v1.Toleration, taint *v1.Taint) bool {
	if t.Effect != "" && t.Effect != taint.Effect {
		return false
	}
	if t.Key != "" && t.Key != taint.Key {
		return false
	}
	switch t.Operator {
	case "", v1.TolerationOpEqual:
		return t.Value == taint.Value
	case v1.TolerationOpExists:
		return true
	}
	return false
}

// FindUntoleratedTaint returns the first taint accepted by include that
// no toleration tolerates.
func FindUntoleratedTaint(taints []v1.Taint, tolerations []v1.Toleration, include func(*v1.Taint) bool) (*v1.Taint, bool) {
	for i := range taints {
		taint := &taints[i]
		if include != nil && !include(taint) {
			continue
		}
		tolerated := false
		for j := range tolerations {
			if TolerationToleratesTaint(&tolerations[j], taint) {
				tolerated = true
				break
			}
		}
		if !tolerated {
			return taint, true
		}
	}
	return nil, false
}
