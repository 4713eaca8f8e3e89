package daemonset

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// Taint keys of the default DaemonSet tolerations, as upstream.
const (
	TaintNodeNotReady           = "node.kubernetes.io/not-ready"
	TaintNodeUnreachable        = "node.kubernetes.io/unreachable"
	TaintNodeDiskPressure       = "node.kubernetes.io/disk-pressure"
	TaintNodeMemoryPressure     = "node.kubernetes.io/memory-pressure"
	TaintNodePIDPressure        = "node.kubernetes.io/pid-pressure"
	TaintNodeUnschedulable      = "node.kubernetes.io/unschedulable"
	TaintNodeNetworkUnavailable = "node.kubernetes.io/network-unavailable"
)

// DefaultTolerations returns the tolerations upstream adds to every daemon
// pod: it keeps running on not-ready and unreachable nodes (no eviction),
// lands on nodes under pressure or cordoned, and, for host-network pods, on
// nodes whose network is not set up yet.
func DefaultTolerations(hostNetwork bool) []corev1.Toleration {
	t := []corev1.Toleration{
		{Key: TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
		{Key: TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
		{Key: TaintNodeDiskPressure, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
		{Key: TaintNodeMemoryPressure, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
		{Key: TaintNodePIDPressure, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
		{Key: TaintNodeUnschedulable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
	}
	if hostNetwork {
		t = append(t, corev1.Toleration{Key: TaintNodeNetworkUnavailable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule})
	}
	return t
}

// addDefaultTolerations adds the default tolerations the spec lacks.
func addDefaultTolerations(spec *corev1.PodSpec) {
	for _, d := range DefaultTolerations(spec.HostNetwork) {
		found := false
		for _, t := range spec.Tolerations {
			if t.MatchToleration(&d) {
				found = true
				break
			}
		}
		if !found {
			spec.Tolerations = append(spec.Tolerations, d)
		}
	}
}

// nodeShould says whether a daemon pod with spec should be placed on node
// (run) and whether one already there may stay (keep): a taint with effect
// NoSchedule the pod does not tolerate blocks new pods only; NoExecute also
// evicts.
func nodeShould(node *corev1.Node, spec *corev1.PodSpec) (run, keep bool, err error) {
	if spec.NodeName != "" && spec.NodeName != node.Name {
		return false, false, nil
	}
	fits, err := matchesNode(node, spec)
	if err != nil || !fits {
		return false, false, err
	}
	run, keep = true, true
	for i := range node.Spec.Taints {
		taint := &node.Spec.Taints[i]
		if taint.Effect == corev1.TaintEffectPreferNoSchedule || tolerated(spec.Tolerations, taint) {
			continue
		}
		run = false
		if taint.Effect == corev1.TaintEffectNoExecute {
			keep = false
		}
	}
	return run, keep, nil
}

func tolerated(tolerations []corev1.Toleration, taint *corev1.Taint) bool {
	for i := range tolerations {
		if tolerations[i].ToleratesTaint(taint) {
			return true
		}
	}
	return false
}

// matchesNode checks the pod's nodeSelector and its required node affinity
// (terms ORed, expressions within a term ANDed).
func matchesNode(node *corev1.Node, spec *corev1.PodSpec) (bool, error) {
	if len(spec.NodeSelector) > 0 && !labels.SelectorFromSet(spec.NodeSelector).Matches(labels.Set(node.Labels)) {
		return false, nil
	}
	if spec.Affinity == nil || spec.Affinity.NodeAffinity == nil || spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return true, nil
	}
	for _, term := range spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		ok, err := termMatches(node, &term)
		if err != nil {
			return false, err
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}

var operators = map[corev1.NodeSelectorOperator]selection.Operator{
	corev1.NodeSelectorOpIn:           selection.In,
	corev1.NodeSelectorOpNotIn:        selection.NotIn,
	corev1.NodeSelectorOpExists:       selection.Exists,
	corev1.NodeSelectorOpDoesNotExist: selection.DoesNotExist,
	corev1.NodeSelectorOpGt:           selection.GreaterThan,
	corev1.NodeSelectorOpLt:           selection.LessThan,
}

func termMatches(node *corev1.Node, term *corev1.NodeSelectorTerm) (bool, error) {
	if len(term.MatchExpressions) == 0 && len(term.MatchFields) == 0 {
		return false, nil
	}
	sel := labels.NewSelector()
	for _, e := range term.MatchExpressions {
		op, ok := operators[e.Operator]
		if !ok {
			return false, fmt.Errorf("node selector operator %q", e.Operator)
		}
		r, err := labels.NewRequirement(e.Key, op, e.Values)
		if err != nil {
			return false, err
		}
		sel = sel.Add(*r)
	}
	if !sel.Matches(labels.Set(node.Labels)) {
		return false, nil
	}
	for _, f := range term.MatchFields {
		if f.Key != "metadata.name" {
			return false, fmt.Errorf("node field selector key %q", f.Key)
		}
		var ok bool
		switch f.Operator {
		case corev1.NodeSelectorOpIn:
			ok = contains(f.Values, node.Name)
		case corev1.NodeSelectorOpNotIn:
			ok = !contains(f.Values, node.Name)
		default:
			return false, fmt.Errorf("node field selector operator %q", f.Operator)
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

func contains(vs []string, s string) bool {
	for _, v := range vs {
		if v == s {
			return true
		}
	}
	return false
}

// pinToNode makes the pod schedulable only on nodeName, the way upstream
// does: its required node affinity gets a single term matching the node's
// metadata.name (kept alongside the template's own terms' label
// expressions), so the scheduler, not the controller, binds it.
func pinToNode(spec *corev1.PodSpec, nodeName string) {
	nameTerm := corev1.NodeSelectorRequirement{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{nodeName}}
	if spec.Affinity == nil {
		spec.Affinity = &corev1.Affinity{}
	}
	if spec.Affinity.NodeAffinity == nil {
		spec.Affinity.NodeAffinity = &corev1.NodeAffinity{}
	}
	na := spec.Affinity.NodeAffinity
	if na.RequiredDuringSchedulingIgnoredDuringExecution == nil || len(na.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms) == 0 {
		na.RequiredDuringSchedulingIgnoredDuringExecution = &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{nameTerm}}}}
		return
	}
	// Every term that already let the node in gets the name requirement in
	// place of any name requirement it had; the node matched the template,
	// so at least one term survives.
	terms := na.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	var out []corev1.NodeSelectorTerm
	for _, t := range terms {
		var fieldsKept []corev1.NodeSelectorRequirement
		for _, f := range t.MatchFields {
			if f.Key != "metadata.name" {
				fieldsKept = append(fieldsKept, f)
			}
		}
		t.MatchFields = append(fieldsKept, nameTerm)
		out = append(out, t)
	}
	na.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms = out
}

// nodeOf returns the node a daemon pod is for: where it is bound, else the
// node its affinity pins it to.
func nodeOf(p *corev1.Pod) string {
	if p.Spec.NodeName != "" {
		return p.Spec.NodeName
	}
	if p.Spec.Affinity == nil || p.Spec.Affinity.NodeAffinity == nil || p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return ""
	}
	for _, t := range p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		for _, f := range t.MatchFields {
			if f.Key == "metadata.name" && f.Operator == corev1.NodeSelectorOpIn && len(f.Values) == 1 {
				return f.Values[0]
			}
		}
	}
	return ""
}
