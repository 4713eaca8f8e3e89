// Package scheduling describes scheduling.k8s.io/v1 PriorityClasses to the
// generic store.
package scheduling

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"navarch.dev/apiserver/pkg/registry"
	"navarch.dev/apiserver/pkg/registry/typedstrategy"
)

// Upstream's bounds: user classes may not exceed HighestUserDefinablePriority;
// the two built-in classes sit above it.
const (
	HighestUserDefinablePriority = int32(1000000000)
	SystemCriticalPriority       = 2 * HighestUserDefinablePriority
	SystemClusterCritical        = "system-cluster-critical"
	SystemNodeCritical           = "system-node-critical"
	// SystemPriorityClassPrefix is reserved for the built-in classes.
	SystemPriorityClassPrefix = "system-"
)

// SystemPriorityClasses are created by the apiserver at start.
func SystemPriorityClasses() []*schedulingv1.PriorityClass {
	return []*schedulingv1.PriorityClass{
		systemClass(SystemNodeCritical, SystemCriticalPriority+1000, "Used for system critical pods that must not be moved from their current node."),
		systemClass(SystemClusterCritical, SystemCriticalPriority, "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary."),
	}
}

func systemClass(name string, value int32, desc string) *schedulingv1.PriorityClass {
	pc := &schedulingv1.PriorityClass{Value: value, Description: desc}
	pc.Name = name
	return pc
}

// Resources returns the scheduling.k8s.io/v1 resources.
func Resources() []*registry.Resource {
	return []*registry.Resource{{
		GroupVersion: schedulingv1.SchemeGroupVersion, Plural: "priorityclasses", Singular: "priorityclass", Kind: "PriorityClass", ListKind: "PriorityClassList",
		ShortNames: []string{"pc"},
		New:        func() runtime.Object { return &schedulingv1.PriorityClass{} },
		NewList:    func() runtime.Object { return &schedulingv1.PriorityClassList{} },
		Strategy:   priorityClassStrategy,
	}}
}

var priorityClassStrategy = typedstrategy.Funcs[*schedulingv1.PriorityClass]{
	Defaults:    defaultPriorityClass,
	Check:       validatePriorityClass,
	CheckUpdate: validatePriorityClassUpdate,
}

func defaultPriorityClass(pc *schedulingv1.PriorityClass) {
	if pc.PreemptionPolicy == nil {
		p := corev1.PreemptLowerPriority
		pc.PreemptionPolicy = &p
	}
}

var supportedPreemption = []corev1.PreemptionPolicy{corev1.PreemptLowerPriority, corev1.PreemptNever}

func validatePriorityClass(pc *schedulingv1.PriorityClass) field.ErrorList {
	var errs field.ErrorList
	if strings.HasPrefix(pc.Name, SystemPriorityClassPrefix) {
		ok := false
		for _, sys := range SystemPriorityClasses() {
			if sys.Name == pc.Name {
				ok = true
				if pc.Value != sys.Value {
					errs = append(errs, field.Forbidden(field.NewPath("metadata", "name"),
						"priority class "+pc.Name+" is a system priority class: its value may not be changed"))
				}
			}
		}
		if !ok {
			errs = append(errs, field.Forbidden(field.NewPath("metadata", "name"),
				"priority class names with '"+SystemPriorityClassPrefix+"' prefix are reserved for system use only"))
		}
	} else if pc.Value > HighestUserDefinablePriority {
		errs = append(errs, field.Forbidden(field.NewPath("value"),
			"maximum allowed value of a user defined priority is 1000000000"))
	}
	if p := pc.PreemptionPolicy; p != nil && *p != corev1.PreemptLowerPriority && *p != corev1.PreemptNever {
		errs = append(errs, field.NotSupported(field.NewPath("preemptionPolicy"), *p, supportedPreemption))
	}
	return errs
}

func validatePriorityClassUpdate(pc, old *schedulingv1.PriorityClass) field.ErrorList {
	var errs field.ErrorList
	if pc.Value != old.Value {
		errs = append(errs, field.Forbidden(field.NewPath("value"), "may not be changed in an update."))
	}
	if (pc.PreemptionPolicy == nil) != (old.PreemptionPolicy == nil) ||
		pc.PreemptionPolicy != nil && *pc.PreemptionPolicy != *old.PreemptionPolicy {
		errs = append(errs, field.Invalid(field.NewPath("preemptionPolicy"), pc.PreemptionPolicy, "field is immutable"))
	}
	return errs
}
