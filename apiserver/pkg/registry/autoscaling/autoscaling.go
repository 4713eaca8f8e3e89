// Package autoscaling describes HorizontalPodAutoscalers to the generic store,
// served as autoscaling/v2 (the stored version) and autoscaling/v1 (converted
// to and from v2, with v2-only fields kept in annotations as upstream does).
package autoscaling

import (
	"fmt"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/api/validation/path"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"navarch.dev/apiserver/pkg/registry"
	"navarch.dev/apiserver/pkg/registry/metavalidation"
	"navarch.dev/apiserver/pkg/registry/typedstrategy"
)

// Upstream's bounds on scaling behavior.
const (
	MaxPeriodSeconds              = 1800
	MaxStabilizationWindowSeconds = 3600
)

// Resources returns the autoscaling/v2 and autoscaling/v1
// horizontalpodautoscalers resources; v1 objects are stored as v2.
func Resources() []*registry.Resource {
	all := []string{"all"}
	return []*registry.Resource{
		{
			GroupVersion: autoscalingv2.SchemeGroupVersion, Plural: "horizontalpodautoscalers", Singular: "horizontalpodautoscaler",
			Kind: hpaKind, ListKind: "HorizontalPodAutoscalerList", Namespaced: true, ShortNames: []string{"hpa"}, Categories: all,
			New:      func() runtime.Object { return &autoscalingv2.HorizontalPodAutoscaler{} },
			NewList:  func() runtime.Object { return &autoscalingv2.HorizontalPodAutoscalerList{} },
			Strategy: hpaV2Strategy, Status: true, StatusStrategy: hpaV2Strategy,
		},
		{
			GroupVersion: autoscalingv1.SchemeGroupVersion, Plural: "horizontalpodautoscalers", Singular: "horizontalpodautoscaler",
			Kind: hpaKind, ListKind: "HorizontalPodAutoscalerList", Namespaced: true, ShortNames: []string{"hpa"}, Categories: all,
			New:      func() runtime.Object { return &autoscalingv1.HorizontalPodAutoscaler{} },
			NewList:  func() runtime.Object { return &autoscalingv1.HorizontalPodAutoscalerList{} },
			Strategy: hpaV1Strategy, Status: true, StatusStrategy: hpaV1Strategy,
			Storage: &registry.StorageVersion{
				GroupVersion: autoscalingv2.SchemeGroupVersion,
				Plural:       "horizontalpodautoscalers",
				ToStorage: func(obj runtime.Object) (runtime.Object, error) {
					hpa, ok := obj.(*autoscalingv1.HorizontalPodAutoscaler)
					if !ok {
						return nil, fmt.Errorf("autoscaling: convert to storage: got %T, want autoscaling/v1 HorizontalPodAutoscaler", obj)
					}
					return ToV2(hpa), nil
				},
				FromStorage: func(obj runtime.Object) (runtime.Object, error) {
					hpa, ok := obj.(*autoscalingv2.HorizontalPodAutoscaler)
					if !ok {
						return nil, fmt.Errorf("autoscaling: convert from storage: got %T, want autoscaling/v2 HorizontalPodAutoscaler", obj)
					}
					return FromV2(hpa)
				},
			},
		},
	}
}

func ptrTo[T any](v T) *T { return &v }

var hpaV2Strategy = typedstrategy.Funcs[*autoscalingv2.HorizontalPodAutoscaler]{
	Namespaced: true,
	PrepareCreate: func(h *autoscalingv2.HorizontalPodAutoscaler) {
		h.Status = autoscalingv2.HorizontalPodAutoscalerStatus{}
	},
	Defaults:    DefaultV2,
	Check:       func(h *autoscalingv2.HorizontalPodAutoscaler) field.ErrorList { return validateSpec(&h.Spec) },
	CheckStatus: func(h, _ *autoscalingv2.HorizontalPodAutoscaler) field.ErrorList { return validateStatus(&h.Status) },
}

// hpaV1Strategy defaults and validates v1 objects through their v2 form, so
// both versions obey the same rules and report v2 field paths, as upstream's
// validation of the internal type does.
var hpaV1Strategy = typedstrategy.Funcs[*autoscalingv1.HorizontalPodAutoscaler]{
	Namespaced: true,
	PrepareCreate: func(h *autoscalingv1.HorizontalPodAutoscaler) {
		h.Status = autoscalingv1.HorizontalPodAutoscalerStatus{}
		delete(h.Annotations, MetricStatusesAnnotation)
		delete(h.Annotations, ConditionsAnnotation)
	},
	PrepareUpdate: func(h, old *autoscalingv1.HorizontalPodAutoscaler) {
		// Status kept in annotations belongs to the status, not to the client.
		for _, k := range []string{MetricStatusesAnnotation, ConditionsAnnotation} {
			delete(h.Annotations, k)
			if v, ok := old.Annotations[k]; ok {
				if h.Annotations == nil {
					h.Annotations = map[string]string{}
				}
				h.Annotations[k] = v
			}
		}
	},
	Defaults: func(h *autoscalingv1.HorizontalPodAutoscaler) {
		v2 := ToV2(h)
		DefaultV2(v2)
		if v1, err := FromV2(v2); err == nil {
			*h = *v1
		}
	},
	Check: func(h *autoscalingv1.HorizontalPodAutoscaler) field.ErrorList {
		return validateSpec(&ToV2(h).Spec)
	},
	CheckStatus: func(h, _ *autoscalingv1.HorizontalPodAutoscaler) field.ErrorList {
		return validateStatus(&ToV2(h).Status)
	},
}

// DefaultV2 applies upstream's autoscaling/v2 defaults: minReplicas 1, a cpu
// Utilization target of 80% when no metric is given, and, when behavior is
// set, the missing scale-up (0s window, Max of 4 pods or 100% per 15s) and
// scale-down (Max of 100% per 15s) rules.
func DefaultV2(h *autoscalingv2.HorizontalPodAutoscaler) {
	if h.Spec.MinReplicas == nil {
		h.Spec.MinReplicas = ptrTo(int32(1))
	}
	if len(h.Spec.Metrics) == 0 {
		h.Spec.Metrics = []autoscalingv2.MetricSpec{cpuUtilizationMetric(DefaultCPUUtilization)}
	}
	if b := h.Spec.Behavior; b != nil {
		b.ScaleUp = mergeRules(b.ScaleUp, autoscalingv2.HPAScalingRules{
			StabilizationWindowSeconds: ptrTo(int32(0)),
			SelectPolicy:               ptrTo(autoscalingv2.MaxChangePolicySelect),
			Policies: []autoscalingv2.HPAScalingPolicy{
				{Type: autoscalingv2.PodsScalingPolicy, Value: 4, PeriodSeconds: 15},
				{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15},
			},
		})
		b.ScaleDown = mergeRules(b.ScaleDown, autoscalingv2.HPAScalingRules{
			SelectPolicy: ptrTo(autoscalingv2.MaxChangePolicySelect),
			Policies:     []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15}},
		})
	}
}

func mergeRules(from *autoscalingv2.HPAScalingRules, defaults autoscalingv2.HPAScalingRules) *autoscalingv2.HPAScalingRules {
	out := defaults
	if from == nil {
		return &out
	}
	if from.SelectPolicy != nil {
		out.SelectPolicy = from.SelectPolicy
	}
	if from.StabilizationWindowSeconds != nil {
		out.StabilizationWindowSeconds = from.StabilizationWindowSeconds
	}
	if from.Policies != nil {
		out.Policies = from.Policies
	}
	out.Tolerance = from.Tolerance
	return &out
}

func validateSpec(spec *autoscalingv2.HorizontalPodAutoscalerSpec) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec")
	if spec.MinReplicas != nil && *spec.MinReplicas < 1 {
		errs = append(errs, field.Invalid(p.Child("minReplicas"), *spec.MinReplicas, "must be greater than or equal to 1"))
	}
	if spec.MaxReplicas < 1 {
		errs = append(errs, field.Invalid(p.Child("maxReplicas"), spec.MaxReplicas, "must be greater than 0"))
	}
	if spec.MinReplicas != nil && spec.MaxReplicas < *spec.MinReplicas {
		errs = append(errs, field.Invalid(p.Child("maxReplicas"), spec.MaxReplicas, "must be greater than or equal to `minReplicas`"))
	}
	errs = append(errs, validateObjectReference(spec.ScaleTargetRef, p.Child("scaleTargetRef"))...)
	for i := range spec.Metrics {
		errs = append(errs, validateMetricSpec(&spec.Metrics[i], p.Child("metrics").Index(i))...)
	}
	if b := spec.Behavior; b != nil {
		errs = append(errs, validateScalingRules(b.ScaleUp, p.Child("behavior", "scaleUp"))...)
		errs = append(errs, validateScalingRules(b.ScaleDown, p.Child("behavior", "scaleDown"))...)
	}
	return errs
}

func validateObjectReference(ref autoscalingv2.CrossVersionObjectReference, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, f := range []struct{ value, name string }{{ref.Kind, "kind"}, {ref.Name, "name"}} {
		if f.value == "" {
			errs = append(errs, field.Required(fldPath.Child(f.name), ""))
			continue
		}
		for _, msg := range path.IsValidPathSegmentName(f.value) {
			errs = append(errs, field.Invalid(fldPath.Child(f.name), f.value, msg))
		}
	}
	return errs
}

var metricSourceTypes = []autoscalingv2.MetricSourceType{
	autoscalingv2.ContainerResourceMetricSourceType, autoscalingv2.ExternalMetricSourceType, autoscalingv2.ObjectMetricSourceType,
	autoscalingv2.PodsMetricSourceType, autoscalingv2.ResourceMetricSourceType,
}

// validateMetricSpec requires the source named by type, and only it.
func validateMetricSpec(m *autoscalingv2.MetricSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if m.Type == "" {
		errs = append(errs, field.Required(fldPath.Child("type"), "must specify a metric source type"))
	}
	present := map[string]bool{}
	if m.Object != nil {
		present["object"] = true
		errs = append(errs, validateObjectReference(m.Object.DescribedObject, fldPath.Child("object", "describedObject"))...)
		errs = append(errs, validateMetricIdentifier(m.Object.Metric, fldPath.Child("object", "metric"))...)
		errs = append(errs, validateMetricTarget(m.Object.Target, fldPath.Child("object", "target"))...)
		if m.Object.Target.Value == nil && m.Object.Target.AverageValue == nil {
			errs = append(errs, field.Required(fldPath.Child("object", "target", "averageValue"), "must set either a target value or averageValue"))
		}
	}
	if m.Pods != nil {
		present["pods"] = true
		errs = append(errs, validateMetricIdentifier(m.Pods.Metric, fldPath.Child("pods", "metric"))...)
		errs = append(errs, validateMetricTarget(m.Pods.Target, fldPath.Child("pods", "target"))...)
		if m.Pods.Target.AverageValue == nil {
			errs = append(errs, field.Required(fldPath.Child("pods", "target", "averageValue"), "must specify a positive target averageValue"))
		}
	}
	if m.Resource != nil {
		present["resource"] = true
		errs = append(errs, validateResourceSource(m.Resource.Name, m.Resource.Target, fldPath.Child("resource"))...)
	}
	if m.ContainerResource != nil {
		present["containerResource"] = true
		cp := fldPath.Child("containerResource")
		if m.ContainerResource.Container == "" {
			errs = append(errs, field.Required(cp.Child("container"), "must specify a container"))
		} else {
			errs = append(errs, metavalidation.ValidateDNS1123Label(m.ContainerResource.Container, cp.Child("container"))...)
		}
		errs = append(errs, validateResourceSource(m.ContainerResource.Name, m.ContainerResource.Target, cp)...)
	}
	if m.External != nil {
		present["external"] = true
		ep := fldPath.Child("external")
		errs = append(errs, validateMetricIdentifier(m.External.Metric, ep.Child("metric"))...)
		errs = append(errs, validateMetricTarget(m.External.Target, ep.Child("target"))...)
		t := m.External.Target
		if t.Value == nil && t.AverageValue == nil {
			errs = append(errs, field.Required(ep.Child("target", "averageValue"), "must set either a target value for metric or a per-pod target"))
		}
		if t.Value != nil && t.AverageValue != nil {
			errs = append(errs, field.Forbidden(ep.Child("target", "value"), "may not set both a target value for metric and a per-pod target"))
		}
	}
	expected := ""
	switch m.Type {
	case autoscalingv2.ObjectMetricSourceType:
		expected = "object"
	case autoscalingv2.PodsMetricSourceType:
		expected = "pods"
	case autoscalingv2.ResourceMetricSourceType:
		expected = "resource"
	case autoscalingv2.ContainerResourceMetricSourceType:
		expected = "containerResource"
	case autoscalingv2.ExternalMetricSourceType:
		expected = "external"
	default:
		if m.Type != "" {
			errs = append(errs, field.NotSupported(fldPath.Child("type"), m.Type, metricSourceTypes))
		}
	}
	if expected != "" && !present[expected] {
		errs = append(errs, field.Required(fldPath.Child(expected), "must populate information for the given metric source"))
	}
	if len(present) != 1 {
		for _, name := range []string{"object", "pods", "resource", "containerResource", "external"} {
			if present[name] && name != expected {
				errs = append(errs, field.Forbidden(fldPath.Child(name), "must populate the given metric source only"))
			}
		}
	}
	return errs
}

func validateResourceSource(name corev1.ResourceName, target autoscalingv2.MetricTarget, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if name == "" {
		errs = append(errs, field.Required(fldPath.Child("name"), "must specify a resource name"))
	} else {
		for _, msg := range validation.IsQualifiedName(string(name)) {
			errs = append(errs, field.Invalid(fldPath.Child("name"), name, msg))
		}
	}
	tp := fldPath.Child("target")
	errs = append(errs, validateMetricTarget(target, tp)...)
	if target.AverageUtilization == nil && target.AverageValue == nil {
		errs = append(errs, field.Required(tp.Child("averageUtilization"), "must set either a target raw value or a target utilization"))
	}
	if target.AverageUtilization != nil && target.AverageValue != nil {
		errs = append(errs, field.Forbidden(tp.Child("averageValue"), "may not set both a target raw value and a target utilization"))
	}
	return errs
}

func validateMetricIdentifier(id autoscalingv2.MetricIdentifier, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if id.Name == "" {
		errs = append(errs, field.Required(fldPath.Child("name"), "must specify a metric name"))
	} else {
		errs = append(errs, metavalidation.ValidateNameFunc(path.ValidatePathSegmentName, id.Name, fldPath.Child("name"))...)
	}
	return append(errs, metavalidation.ValidateLabelSelector(id.Selector, fldPath.Child("selector"))...)
}

func validateMetricTarget(t autoscalingv2.MetricTarget, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if t.Type == "" {
		errs = append(errs, field.Required(fldPath.Child("type"), "must specify a metric target type"))
	}
	if t.Type != autoscalingv2.UtilizationMetricType && t.Type != autoscalingv2.ValueMetricType && t.Type != autoscalingv2.AverageValueMetricType {
		errs = append(errs, field.Invalid(fldPath.Child("type"), t.Type, "must be either Utilization, Value, or AverageValue"))
	}
	positive := func(q *resource.Quantity, name string) {
		if q != nil && q.Sign() != 1 {
			errs = append(errs, field.Invalid(fldPath.Child(name), q.String(), "must be positive"))
		}
	}
	positive(t.Value, "value")
	positive(t.AverageValue, "averageValue")
	if u := t.AverageUtilization; u != nil && *u < 1 {
		errs = append(errs, field.Invalid(fldPath.Child("averageUtilization"), *u, "must be greater than 0"))
	}
	return errs
}

var selectPolicies = []autoscalingv2.ScalingPolicySelect{autoscalingv2.DisabledPolicySelect, autoscalingv2.MaxChangePolicySelect, autoscalingv2.MinChangePolicySelect}

func validateScalingRules(r *autoscalingv2.HPAScalingRules, fldPath *field.Path) field.ErrorList {
	if r == nil {
		return nil
	}
	var errs field.ErrorList
	if w := r.StabilizationWindowSeconds; w != nil {
		if *w < 0 {
			errs = append(errs, field.Invalid(fldPath.Child("stabilizationWindowSeconds"), *w, "must be greater than or equal to zero"))
		}
		if *w > MaxStabilizationWindowSeconds {
			errs = append(errs, field.Invalid(fldPath.Child("stabilizationWindowSeconds"), *w, fmt.Sprintf("must be less than or equal to %v", MaxStabilizationWindowSeconds)))
		}
	}
	if s := r.SelectPolicy; s != nil && *s != selectPolicies[0] && *s != selectPolicies[1] && *s != selectPolicies[2] {
		errs = append(errs, field.NotSupported(fldPath.Child("selectPolicy"), *s, selectPolicies))
	}
	pp := fldPath.Child("policies")
	if len(r.Policies) == 0 {
		errs = append(errs, field.Required(pp, "must specify at least one Policy"))
	}
	for i, policy := range r.Policies {
		ip := pp.Index(i)
		if policy.Type != autoscalingv2.PodsScalingPolicy && policy.Type != autoscalingv2.PercentScalingPolicy {
			errs = append(errs, field.NotSupported(ip.Child("type"), policy.Type, []autoscalingv2.HPAScalingPolicyType{autoscalingv2.PercentScalingPolicy, autoscalingv2.PodsScalingPolicy}))
		}
		if policy.Value <= 0 {
			errs = append(errs, field.Invalid(ip.Child("value"), policy.Value, "must be greater than zero"))
		}
		if policy.PeriodSeconds <= 0 {
			errs = append(errs, field.Invalid(ip.Child("periodSeconds"), policy.PeriodSeconds, "must be greater than zero"))
		}
		if policy.PeriodSeconds > MaxPeriodSeconds {
			errs = append(errs, field.Invalid(ip.Child("periodSeconds"), policy.PeriodSeconds, fmt.Sprintf("must be less than or equal to %v", MaxPeriodSeconds)))
		}
	}
	if t := r.Tolerance; t != nil && t.Sign() < 0 {
		errs = append(errs, field.Invalid(fldPath.Child("tolerance"), t.String(), "must be greater than or equal to zero"))
	}
	return errs
}

func validateStatus(s *autoscalingv2.HorizontalPodAutoscalerStatus) field.ErrorList {
	p := field.NewPath("status")
	var errs field.ErrorList
	errs = append(errs, metavalidation.ValidateNonnegativeField(int64(s.CurrentReplicas), p.Child("currentReplicas"))...)
	errs = append(errs, metavalidation.ValidateNonnegativeField(int64(s.DesiredReplicas), p.Child("desiredReplicas"))...)
	return errs
}
