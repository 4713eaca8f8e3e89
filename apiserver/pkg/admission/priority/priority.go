// Package priority is the Priority admission plugin: it resolves a new
// pod's spec.priority (and preemptionPolicy) from its priorityClassName —
// or from the globalDefault PriorityClass when it names none — and rejects
// pods naming a class that does not exist. It also keeps at most one
// PriorityClass marked globalDefault.
package priority

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"navarch.dev/apiserver/pkg/registry"
)

// PriorityClasses looks classes up (the priorityclasses store's cache).
type PriorityClasses interface {
	// PriorityClass returns the class, or nil when it does not exist.
	PriorityClass(ctx context.Context, name string) (*schedulingv1.PriorityClass, error)
	// PriorityClasses lists every class.
	PriorityClasses(ctx context.Context) ([]*schedulingv1.PriorityClass, error)
}

// Plugin is the Priority admission plugin.
type Plugin struct {
	Classes PriorityClasses
}

var _ registry.Admission = (*Plugin)(nil)

var (
	podsGR    = schema.GroupResource{Resource: "pods"}
	classesGR = schema.GroupResource{Group: "scheduling.k8s.io", Resource: "priorityclasses"}
)

// Admit implements registry.Admission.
func (p *Plugin) Admit(ctx context.Context, a *registry.AdmissionAttributes) error {
	res := a.Resource
	switch {
	case res.GroupVersion.Group == "" && res.Plural == "pods" && a.Operation == "CREATE" && a.Subresource == "":
		pod, ok := a.Object.(*corev1.Pod)
		if !ok {
			return nil
		}
		return p.admitPod(ctx, pod)
	case res.GroupVersion.Group == classesGR.Group && res.Plural == classesGR.Resource && (a.Operation == "CREATE" || a.Operation == "UPDATE"):
		pc, ok := a.Object.(*schedulingv1.PriorityClass)
		if !ok || !pc.GlobalDefault {
			return nil
		}
		all, err := p.Classes.PriorityClasses(ctx)
		if err != nil {
			return apierrors.NewInternalError(err)
		}
		for _, other := range all {
			if other.GlobalDefault && other.Name != pc.Name {
				return apierrors.NewForbidden(classesGR, pc.Name, fmt.Errorf("PriorityClass %v is already marked as default. Only one default can exist", other.Name))
			}
		}
	}
	return nil
}

func (p *Plugin) admitPod(ctx context.Context, pod *corev1.Pod) error {
	spec := &pod.Spec
	var class *schedulingv1.PriorityClass
	if spec.PriorityClassName == "" {
		// The pod strategy defaulted an unnamed pod to priority 0; a global
		// default class replaces that.
		if spec.Priority != nil && *spec.Priority != 0 {
			return nil
		}
		all, err := p.Classes.PriorityClasses(ctx)
		if err != nil {
			return apierrors.NewInternalError(err)
		}
		for _, c := range all {
			if c.GlobalDefault && (class == nil || c.Value < class.Value) {
				class = c
			}
		}
		if class == nil {
			return nil
		}
		spec.PriorityClassName = class.Name
		spec.Priority = nil
		spec.PreemptionPolicy = nil
	} else {
		var err error
		if class, err = p.Classes.PriorityClass(ctx, spec.PriorityClassName); err != nil {
			return apierrors.NewInternalError(err)
		}
		if class == nil {
			return apierrors.NewForbidden(podsGR, pod.Name, fmt.Errorf("no PriorityClass with name %v was found", spec.PriorityClassName))
		}
	}
	if spec.Priority != nil && *spec.Priority != class.Value {
		return apierrors.NewForbidden(podsGR, pod.Name, fmt.Errorf("the integer value of priority (%d) must not be provided in pod spec; priority admission controller computed %d from the given PriorityClass name", *spec.Priority, class.Value))
	}
	value := class.Value
	spec.Priority = &value
	policy := corev1.PreemptLowerPriority
	if class.PreemptionPolicy != nil {
		policy = *class.PreemptionPolicy
	}
	if spec.PreemptionPolicy != nil && *spec.PreemptionPolicy != policy {
		// The pod strategy defaults PreemptLowerPriority for the system
		// classes; a class saying Never wins over that default.
		if *spec.PreemptionPolicy != corev1.PreemptLowerPriority {
			return apierrors.NewForbidden(podsGR, pod.Name, fmt.Errorf("the string value of PreemptionPolicy (%s) must not be provided in pod spec; priority admission controller computed %s from the given PriorityClass name", *spec.PreemptionPolicy, policy))
		}
	}
	spec.PreemptionPolicy = &policy
	return nil
}
