package core

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"navarch.dev/apiserver/pkg/registry/metavalidation"
	"navarch.dev/apiserver/pkg/registry/typedstrategy"
)

// --- podtemplates ----------------------------------------------------------

var podTemplateStrategy = typedstrategy.Funcs[*corev1.PodTemplate]{
	Namespaced: true,
	Defaults:   func(t *corev1.PodTemplate) { DefaultPodTemplateSpec(&t.Template) },
	Check: func(t *corev1.PodTemplate) field.ErrorList {
		return ValidatePodTemplateSpec(&t.Template, field.NewPath("template"))
	},
}

// --- replicationcontrollers ------------------------------------------------

var replicationControllerStrategy = typedstrategy.Funcs[*corev1.ReplicationController]{
	Namespaced:    true,
	PrepareCreate: func(rc *corev1.ReplicationController) { rc.Status = corev1.ReplicationControllerStatus{} },
	Defaults:      defaultReplicationController,
	Check:         validateReplicationController,
	CheckStatus: func(rc, _ *corev1.ReplicationController) field.ErrorList {
		s := rc.Status
		return ValidateReplicaStatus(field.NewPath("status"), s.Replicas, s.FullyLabeledReplicas, s.ReadyReplicas, s.AvailableReplicas, s.ObservedGeneration)
	},
}

// defaultReplicationController takes the selector and the object's labels
// from the template's labels when unset, and defaults replicas to 1.
func defaultReplicationController(rc *corev1.ReplicationController) {
	if t := rc.Spec.Template; t != nil && t.Labels != nil {
		if len(rc.Spec.Selector) == 0 {
			rc.Spec.Selector = t.Labels
		}
		if len(rc.Labels) == 0 {
			rc.Labels = t.Labels
		}
	}
	if rc.Spec.Replicas == nil {
		rc.Spec.Replicas = ptrTo(int32(1))
	}
	DefaultPodTemplateSpec(rc.Spec.Template)
}

func validateReplicationController(rc *corev1.ReplicationController) field.ErrorList {
	var errs field.ErrorList
	specPath := field.NewPath("spec")
	errs = append(errs, metavalidation.ValidateNonnegativeField(int64(rc.Spec.MinReadySeconds), specPath.Child("minReadySeconds"))...)
	if len(rc.Spec.Selector) == 0 {
		errs = append(errs, field.Required(specPath.Child("selector"), ""))
	} else {
		errs = append(errs, metavalidation.ValidateLabels(rc.Spec.Selector, specPath.Child("selector"))...)
	}
	if rc.Spec.Replicas != nil {
		errs = append(errs, metavalidation.ValidateNonnegativeField(int64(*rc.Spec.Replicas), specPath.Child("replicas"))...)
	}
	var sel labels.Selector
	if len(rc.Spec.Selector) > 0 {
		sel = labels.SelectorFromSet(rc.Spec.Selector)
	}
	errs = append(errs, ValidateControllerPodTemplate(rc.Spec.Template, sel, "ReplicationController", specPath.Child("template"))...)
	return errs
}

// ValidateReplicaStatus validates the replica counters of a ReplicaSet or
// ReplicationController status: all non-negative, none above replicas, and
// available not above ready.
func ValidateReplicaStatus(fldPath *field.Path, replicas, fullyLabeled, ready, available int32, observedGeneration int64) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, metavalidation.ValidateNonnegativeField(int64(replicas), fldPath.Child("replicas"))...)
	errs = append(errs, metavalidation.ValidateNonnegativeField(int64(fullyLabeled), fldPath.Child("fullyLabeledReplicas"))...)
	errs = append(errs, metavalidation.ValidateNonnegativeField(int64(ready), fldPath.Child("readyReplicas"))...)
	errs = append(errs, metavalidation.ValidateNonnegativeField(int64(available), fldPath.Child("availableReplicas"))...)
	errs = append(errs, metavalidation.ValidateNonnegativeField(observedGeneration, fldPath.Child("observedGeneration"))...)
	const msg = "cannot be greater than status.replicas"
	if fullyLabeled > replicas {
		errs = append(errs, field.Invalid(fldPath.Child("fullyLabeledReplicas"), fullyLabeled, msg))
	}
	if ready > replicas {
		errs = append(errs, field.Invalid(fldPath.Child("readyReplicas"), ready, msg))
	}
	if available > replicas {
		errs = append(errs, field.Invalid(fldPath.Child("availableReplicas"), available, msg))
	}
	if available > ready {
		errs = append(errs, field.Invalid(fldPath.Child("availableReplicas"), available, "cannot be greater than readyReplicas"))
	}
	return errs
}

func replicationControllerFields(obj runtime.Object) fields.Set {
	if rc, ok := obj.(*corev1.ReplicationController); ok {
		return fields.Set{"status.replicas": itoa(rc.Status.Replicas)}
	}
	return nil
}
