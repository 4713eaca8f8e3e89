package core

import (
	"reflect"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"navarch.dev/apiserver/pkg/registry/metavalidation"
	"navarch.dev/apiserver/pkg/registry/typedstrategy"
)

// podUpdatableFields is upstream's list of what a pod update may change,
// quoted in the error for any other change.
const podUpdatableFields = "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`," +
	"`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"

var podStrategy = typedstrategy.Funcs[*corev1.Pod]{
	Namespaced:    true,
	PrepareCreate: preparePodForCreate,
	Defaults:      defaultPod,
	Check:         validatePod,
	CheckCreate:   validatePodCreate,
	CheckUpdate:   validatePodUpdate,
	CheckStatus:   validatePodStatusUpdate,
}

// preparePodForCreate resets the status to Pending with the pod's QoS class.
func preparePodForCreate(pod *corev1.Pod) {
	// QoS is computed from defaulted requests, and Default runs after this hook.
	spec := pod.Spec.DeepCopy()
	for i := range spec.Containers {
		defaultRequestsFromLimits(&spec.Containers[i].Resources)
	}
	for i := range spec.InitContainers {
		defaultRequestsFromLimits(&spec.InitContainers[i].Resources)
	}
	if spec.Resources != nil {
		defaultRequestsFromLimits(spec.Resources)
	}
	pod.Status = corev1.PodStatus{Phase: corev1.PodPending, QOSClass: PodQOSClass(spec)}
	if len(pod.Spec.SchedulingGates) > 0 {
		pod.Status.Conditions = []corev1.PodCondition{{
			Type:    corev1.PodScheduled,
			Status:  corev1.ConditionFalse,
			Reason:  corev1.PodReasonSchedulingGated,
			Message: "Scheduling is blocked due to non-empty scheduling gates",
		}}
	}
}

// PodQOSClass computes a pod's quality-of-service class from its (defaulted)
// requests and limits: BestEffort when no container requests or limits cpu or
// memory, Guaranteed when every container limits both and requests equal
// limits, Burstable otherwise. Pod-level resources, when set, decide alone.
func PodQOSClass(spec *corev1.PodSpec) corev1.PodQOSClass {
	isQoS := func(name corev1.ResourceName) bool {
		return name == corev1.ResourceCPU || name == corev1.ResourceMemory
	}
	requests, limits := corev1.ResourceList{}, corev1.ResourceList{}
	guaranteed := true
	add := func(r *corev1.ResourceRequirements) {
		for name, q := range r.Requests {
			if isQoS(name) && q.Sign() > 0 {
				sum := requests[name]
				sum.Add(q)
				requests[name] = sum
			}
		}
		found := 0
		for name, q := range r.Limits {
			if isQoS(name) && q.Sign() > 0 {
				found++
				sum := limits[name]
				sum.Add(q)
				limits[name] = sum
			}
		}
		if found != 2 {
			guaranteed = false
		}
	}
	if r := spec.Resources; r != nil && hasQoSResources(r, isQoS) {
		add(r)
	} else {
		for i := range spec.InitContainers {
			add(&spec.InitContainers[i].Resources)
		}
		for i := range spec.Containers {
			add(&spec.Containers[i].Resources)
		}
	}
	if len(requests) == 0 && len(limits) == 0 {
		return corev1.PodQOSBestEffort
	}
	if guaranteed {
		for name, req := range requests {
			if lim, ok := limits[name]; !ok || lim.Cmp(req) != 0 {
				guaranteed = false
				break
			}
		}
	}
	if guaranteed && len(requests) == len(limits) {
		return corev1.PodQOSGuaranteed
	}
	return corev1.PodQOSBurstable
}

func hasQoSResources(r *corev1.ResourceRequirements, isQoS func(corev1.ResourceName) bool) bool {
	for _, list := range []corev1.ResourceList{r.Requests, r.Limits} {
		for name := range list {
			if isQoS(name) {
				return true
			}
		}
	}
	return false
}

func validatePod(pod *corev1.Pod) field.ErrorList {
	return ValidatePodSpec(&pod.Spec, field.NewPath("spec"))
}

func validatePodCreate(pod *corev1.Pod) field.ErrorList {
	if len(pod.Spec.EphemeralContainers) > 0 {
		return field.ErrorList{field.Forbidden(field.NewPath("spec", "ephemeralContainers"), "cannot be set on create")}
	}
	return nil
}

// validatePodUpdate allows only upstream's mutable pod spec fields to change.
func validatePodUpdate(pod, old *corev1.Pod) field.ErrorList {
	specPath := field.NewPath("spec")
	var errs field.ErrorList
	if len(pod.Spec.Containers) != len(old.Spec.Containers) {
		return append(errs, field.Forbidden(specPath.Child("containers"), "pod updates may not add or remove containers"))
	}
	if len(pod.Spec.InitContainers) != len(old.Spec.InitContainers) {
		return append(errs, field.Forbidden(specPath.Child("initContainers"), "pod updates may not add or remove containers"))
	}
	if old.Spec.ActiveDeadlineSeconds != nil {
		p := specPath.Child("activeDeadlineSeconds")
		switch {
		case pod.Spec.ActiveDeadlineSeconds == nil:
			errs = append(errs, field.Invalid(p, pod.Spec.ActiveDeadlineSeconds, "must not update from a positive integer to nil value"))
		case *pod.Spec.ActiveDeadlineSeconds > *old.Spec.ActiveDeadlineSeconds:
			errs = append(errs, field.Invalid(p, *pod.Spec.ActiveDeadlineSeconds, "must be less than or equal to previous value"))
		}
	}
	errs = append(errs, validateOnlyAddedTolerations(pod.Spec.Tolerations, old.Spec.Tolerations, specPath.Child("tolerations"))...)
	errs = append(errs, validateSchedulingGatesUpdate(pod, old, specPath.Child("schedulingGates"))...)

	// Copy the mutable fields from the new spec into the old one; what is left
	// must be equal.
	munged := old.Spec.DeepCopy()
	for i := range munged.Containers {
		munged.Containers[i].Image = pod.Spec.Containers[i].Image
	}
	for i := range munged.InitContainers {
		munged.InitContainers[i].Image = pod.Spec.InitContainers[i].Image
	}
	munged.ActiveDeadlineSeconds = pod.Spec.ActiveDeadlineSeconds
	munged.Tolerations = pod.Spec.Tolerations
	munged.SchedulingGates = pod.Spec.SchedulingGates
	munged.EphemeralContainers = pod.Spec.EphemeralContainers
	if len(old.Spec.SchedulingGates) > 0 {
		// While scheduling is gated, node selectors and affinity may be narrowed.
		munged.NodeSelector = pod.Spec.NodeSelector
		munged.Affinity = pod.Spec.Affinity
	}
	if g := old.Spec.TerminationGracePeriodSeconds; g != nil && *g < 0 &&
		pod.Spec.TerminationGracePeriodSeconds != nil && *pod.Spec.TerminationGracePeriodSeconds == 1 {
		munged.TerminationGracePeriodSeconds = pod.Spec.TerminationGracePeriodSeconds
	}
	if !equality.Semantic.DeepEqual(munged, &pod.Spec) {
		errs = append(errs, field.Forbidden(specPath, "pod updates may not change fields other than "+podUpdatableFields+
			"\n"+describeSpecChanges(munged, &pod.Spec)))
	}
	return errs
}

// describeSpecChanges names the top-level pod spec fields that differ.
func describeSpecChanges(old, cur *corev1.PodSpec) string {
	ov, nv := reflect.ValueOf(old).Elem(), reflect.ValueOf(cur).Elem()
	var changed []string
	for i := 0; i < ov.NumField(); i++ {
		if !equality.Semantic.DeepEqual(ov.Field(i).Interface(), nv.Field(i).Interface()) {
			changed = append(changed, "spec."+jsonName(ov.Type().Field(i)))
		}
	}
	return "changed: " + strings.Join(changed, ", ")
}

func validateOnlyAddedTolerations(tolerations, old []corev1.Toleration, fldPath *field.Path) field.ErrorList {
	for _, o := range old {
		found := false
		for _, t := range tolerations {
			cmp := o
			cmp.TolerationSeconds = t.TolerationSeconds
			if equality.Semantic.DeepEqual(cmp, t) {
				found = true
				break
			}
		}
		if !found {
			return field.ErrorList{field.Forbidden(fldPath, "existing toleration can not be modified except its tolerationSeconds")}
		}
	}
	return nil
}

func validateSchedulingGatesUpdate(pod, old *corev1.Pod, fldPath *field.Path) field.ErrorList {
	if len(pod.Spec.SchedulingGates) == 0 {
		return nil
	}
	oldGates := map[string]bool{}
	for _, g := range old.Spec.SchedulingGates {
		oldGates[g.Name] = true
	}
	for _, g := range pod.Spec.SchedulingGates {
		if !oldGates[g.Name] {
			return field.ErrorList{field.Forbidden(fldPath, "only deletion is allowed, but found new scheduling gate '"+g.Name+"'")}
		}
	}
	return nil
}

func validatePodStatusUpdate(pod, old *corev1.Pod) field.ErrorList {
	var errs field.ErrorList
	statusPath := field.NewPath("status")
	if n := pod.Status.NominatedNodeName; n != "" {
		errs = append(errs, metavalidation.ValidateNameFunc(apivalidation.NameIsDNSSubdomain, n, statusPath.Child("nominatedNodeName"))...)
	}
	for i, c := range pod.Status.ContainerStatuses {
		if c.RestartCount < 0 {
			errs = append(errs, field.Invalid(statusPath.Child("containerStatuses").Index(i).Child("restartCount"), c.RestartCount, "must be greater than or equal to 0"))
		}
	}
	return errs
}

// podFields are the pod's selectable fields beyond name and namespace.
func podFields(obj runtime.Object) fields.Set {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return nil
	}
	podIP := ""
	if len(pod.Status.PodIPs) > 0 {
		podIP = pod.Status.PodIPs[0].IP
	} else {
		podIP = pod.Status.PodIP
	}
	return fields.Set{
		"spec.nodeName":            pod.Spec.NodeName,
		"spec.restartPolicy":       string(pod.Spec.RestartPolicy),
		"spec.schedulerName":       pod.Spec.SchedulerName,
		"spec.serviceAccountName":  pod.Spec.ServiceAccountName,
		"spec.hostNetwork":         strconv.FormatBool(pod.Spec.HostNetwork),
		"status.phase":             string(pod.Status.Phase),
		"status.podIP":             podIP,
		"status.nominatedNodeName": pod.Status.NominatedNodeName,
	}
}
