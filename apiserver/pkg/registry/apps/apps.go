// Package apps describes the apps/v1 resources (Deployments, ReplicaSets,
// StatefulSets, DaemonSets, ControllerRevisions) to the generic store, with
// upstream's defaults and validation.
package apps

import (
	"encoding/json"
	"fmt"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"navarch.dev/apiserver/pkg/registry"
	"navarch.dev/apiserver/pkg/registry/core"
	"navarch.dev/apiserver/pkg/registry/metavalidation"
	"navarch.dev/apiserver/pkg/registry/typedstrategy"
)

// Resources returns the apps/v1 resources.
func Resources() []*registry.Resource {
	gv := appsv1.SchemeGroupVersion
	all := []string{"all"}
	return []*registry.Resource{
		{
			GroupVersion: gv, Plural: "deployments", Singular: "deployment", Kind: "Deployment", ListKind: "DeploymentList",
			Namespaced: true, ShortNames: []string{"deploy"}, Categories: all,
			New:      func() runtime.Object { return &appsv1.Deployment{} },
			NewList:  func() runtime.Object { return &appsv1.DeploymentList{} },
			Strategy: deploymentStrategy, Status: true, StatusStrategy: deploymentStrategy, Scale: true,
		},
		{
			GroupVersion: gv, Plural: "replicasets", Singular: "replicaset", Kind: "ReplicaSet", ListKind: "ReplicaSetList",
			Namespaced: true, ShortNames: []string{"rs"}, Categories: all,
			New:      func() runtime.Object { return &appsv1.ReplicaSet{} },
			NewList:  func() runtime.Object { return &appsv1.ReplicaSetList{} },
			Strategy: replicaSetStrategy, Status: true, StatusStrategy: replicaSetStrategy, Scale: true,
			Fields: replicaSetFields,
		},
		{
			GroupVersion: gv, Plural: "statefulsets", Singular: "statefulset", Kind: "StatefulSet", ListKind: "StatefulSetList",
			Namespaced: true, ShortNames: []string{"sts"}, Categories: all,
			New:      func() runtime.Object { return &appsv1.StatefulSet{} },
			NewList:  func() runtime.Object { return &appsv1.StatefulSetList{} },
			Strategy: statefulSetStrategy, Status: true, StatusStrategy: statefulSetStrategy, Scale: true,
		},
		{
			GroupVersion: gv, Plural: "daemonsets", Singular: "daemonset", Kind: "DaemonSet", ListKind: "DaemonSetList",
			Namespaced: true, ShortNames: []string{"ds"}, Categories: all,
			New:      func() runtime.Object { return &appsv1.DaemonSet{} },
			NewList:  func() runtime.Object { return &appsv1.DaemonSetList{} },
			Strategy: daemonSetStrategy, Status: true, StatusStrategy: daemonSetStrategy,
		},
		{
			GroupVersion: gv, Plural: "controllerrevisions", Singular: "controllerrevision", Kind: "ControllerRevision",
			ListKind: "ControllerRevisionList", Namespaced: true,
			New:      func() runtime.Object { return &appsv1.ControllerRevision{} },
			NewList:  func() runtime.Object { return &appsv1.ControllerRevisionList{} },
			Strategy: controllerRevisionStrategy,
		},
	}
}

func ptrTo[T any](v T) *T { return &v }

// validateSelector checks a required workload selector: present, valid, and
// not empty. kind is the lower-case kind upstream names in the message.
func validateSelector(sel *metav1.LabelSelector, kind string, fldPath *field.Path) (labels.Selector, field.ErrorList) {
	if sel == nil {
		return nil, field.ErrorList{field.Required(fldPath, "")}
	}
	errs := metavalidation.ValidateLabelSelector(sel, fldPath)
	if len(sel.MatchLabels)+len(sel.MatchExpressions) == 0 {
		errs = append(errs, field.Invalid(fldPath, sel, fmt.Sprintf("empty selector is invalid for %s", kind)))
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		if len(errs) == 0 {
			errs = append(errs, field.Invalid(fldPath, sel, "invalid label selector"))
		}
		return nil, errs
	}
	return s, errs
}

func nonNegative(v int32, fldPath *field.Path) field.ErrorList {
	return metavalidation.ValidateNonnegativeField(int64(v), fldPath)
}

func replicas(r *int32) int32 {
	if r == nil {
		return 0
	}
	return *r
}

// --- deployments -----------------------------------------------------------

var deploymentStrategy = typedstrategy.Funcs[*appsv1.Deployment]{
	Namespaced:    true,
	PrepareCreate: func(d *appsv1.Deployment) { d.Status = appsv1.DeploymentStatus{} },
	Defaults:      defaultDeployment,
	Check:         validateDeployment,
	CheckUpdate: func(d, old *appsv1.Deployment) field.ErrorList {
		return metavalidation.ValidateImmutableField(d.Spec.Selector, old.Spec.Selector, field.NewPath("spec", "selector"))
	},
	CheckStatus: func(d, _ *appsv1.Deployment) field.ErrorList { return validateDeploymentStatus(&d.Status) },
}

// defaultDeployment applies replicas 1, strategy RollingUpdate with 25%
// maxUnavailable and maxSurge, revisionHistoryLimit 10 and
// progressDeadlineSeconds 600, and the pod template defaults.
func defaultDeployment(d *appsv1.Deployment) {
	if d.Spec.Replicas == nil {
		d.Spec.Replicas = ptrTo(int32(1))
	}
	s := &d.Spec.Strategy
	if s.Type == "" {
		s.Type = appsv1.RollingUpdateDeploymentStrategyType
	}
	if s.Type == appsv1.RollingUpdateDeploymentStrategyType {
		if s.RollingUpdate == nil {
			s.RollingUpdate = &appsv1.RollingUpdateDeployment{}
		}
		if s.RollingUpdate.MaxUnavailable == nil {
			s.RollingUpdate.MaxUnavailable = ptrTo(intstr.FromString("25%"))
		}
		if s.RollingUpdate.MaxSurge == nil {
			s.RollingUpdate.MaxSurge = ptrTo(intstr.FromString("25%"))
		}
	}
	if d.Spec.RevisionHistoryLimit == nil {
		d.Spec.RevisionHistoryLimit = ptrTo(int32(10))
	}
	if d.Spec.ProgressDeadlineSeconds == nil {
		d.Spec.ProgressDeadlineSeconds = ptrTo(int32(600))
	}
	core.DefaultPodTemplateSpec(&d.Spec.Template)
}

func validateDeployment(d *appsv1.Deployment) field.ErrorList {
	var errs field.ErrorList
	spec := &d.Spec
	p := field.NewPath("spec")
	errs = append(errs, nonNegative(replicas(spec.Replicas), p.Child("replicas"))...)
	sel, selErrs := validateSelector(spec.Selector, "deployment", p.Child("selector"))
	errs = append(errs, selErrs...)
	errs = append(errs, core.ValidateControllerPodTemplate(&spec.Template, sel, "ReplicaSet", p.Child("template"))...)
	errs = append(errs, validateDeploymentStrategy(&spec.Strategy, p.Child("strategy"))...)
	errs = append(errs, nonNegative(spec.MinReadySeconds, p.Child("minReadySeconds"))...)
	if spec.RevisionHistoryLimit != nil {
		errs = append(errs, nonNegative(*spec.RevisionHistoryLimit, p.Child("revisionHistoryLimit"))...)
	}
	if pd := spec.ProgressDeadlineSeconds; pd != nil {
		errs = append(errs, nonNegative(*pd, p.Child("progressDeadlineSeconds"))...)
		if *pd <= spec.MinReadySeconds {
			errs = append(errs, field.Invalid(p.Child("progressDeadlineSeconds"), *pd, "must be greater than minReadySeconds"))
		}
	}
	return errs
}

func validateDeploymentStrategy(s *appsv1.DeploymentStrategy, fldPath *field.Path) field.ErrorList {
	switch s.Type {
	case appsv1.RecreateDeploymentStrategyType:
		if s.RollingUpdate != nil {
			return field.ErrorList{field.Forbidden(fldPath.Child("rollingUpdate"), fmt.Sprintf("may not be specified when strategy `type` is '%s'", appsv1.RecreateDeploymentStrategyType))}
		}
	case appsv1.RollingUpdateDeploymentStrategyType:
		if s.RollingUpdate == nil {
			return field.ErrorList{field.Required(fldPath.Child("rollingUpdate"), "this should be defaulted and never be nil")}
		}
		p := fldPath.Child("rollingUpdate")
		var errs field.ErrorList
		maxUnavailable, maxSurge := intOrZero(s.RollingUpdate.MaxUnavailable), intOrZero(s.RollingUpdate.MaxSurge)
		errs = append(errs, metavalidation.ValidatePositiveIntOrPercent(maxUnavailable, p.Child("maxUnavailable"))...)
		errs = append(errs, metavalidation.ValidatePositiveIntOrPercent(maxSurge, p.Child("maxSurge"))...)
		u, _ := metavalidation.IntOrPercentValue(maxUnavailable)
		sg, _ := metavalidation.IntOrPercentValue(maxSurge)
		if u == 0 && sg == 0 {
			errs = append(errs, field.Invalid(p.Child("maxUnavailable"), maxUnavailable, "may not be 0 when `maxSurge` is 0"))
		}
		errs = append(errs, metavalidation.IsNotMoreThan100Percent(maxUnavailable, p.Child("maxUnavailable"))...)
		return errs
	default:
		return field.ErrorList{field.NotSupported(fldPath.Child("type"), s.Type,
			[]appsv1.DeploymentStrategyType{appsv1.RecreateDeploymentStrategyType, appsv1.RollingUpdateDeploymentStrategyType})}
	}
	return nil
}

func intOrZero(v *intstr.IntOrString) intstr.IntOrString {
	if v == nil {
		return intstr.FromInt32(0)
	}
	return *v
}

func validateDeploymentStatus(s *appsv1.DeploymentStatus) field.ErrorList {
	p := field.NewPath("status")
	var errs field.ErrorList
	errs = append(errs, metavalidation.ValidateNonnegativeField(s.ObservedGeneration, p.Child("observedGeneration"))...)
	errs = append(errs, metavalidation.ValidateNonnegativeCounts(p, []metavalidation.Count{{Value: s.Replicas, Name: "replicas"}, {Value: s.UpdatedReplicas, Name: "updatedReplicas"}, {Value: s.ReadyReplicas, Name: "readyReplicas"},
		{Value: s.AvailableReplicas, Name: "availableReplicas"}, {Value: s.UnavailableReplicas, Name: "unavailableReplicas"}})...)
	if s.TerminatingReplicas != nil {
		errs = append(errs, nonNegative(*s.TerminatingReplicas, p.Child("terminatingReplicas"))...)
	}
	if s.CollisionCount != nil {
		errs = append(errs, nonNegative(*s.CollisionCount, p.Child("collisionCount"))...)
	}
	const msg = "cannot be greater than status.replicas"
	if s.UpdatedReplicas > s.Replicas {
		errs = append(errs, field.Invalid(p.Child("updatedReplicas"), s.UpdatedReplicas, msg))
	}
	if s.ReadyReplicas > s.Replicas {
		errs = append(errs, field.Invalid(p.Child("readyReplicas"), s.ReadyReplicas, msg))
	}
	if s.AvailableReplicas > s.Replicas {
		errs = append(errs, field.Invalid(p.Child("availableReplicas"), s.AvailableReplicas, msg))
	}
	if s.AvailableReplicas > s.ReadyReplicas {
		errs = append(errs, field.Invalid(p.Child("availableReplicas"), s.AvailableReplicas, "cannot be greater than readyReplicas"))
	}
	return errs
}

// --- replicasets -----------------------------------------------------------

var replicaSetStrategy = typedstrategy.Funcs[*appsv1.ReplicaSet]{
	Namespaced:    true,
	PrepareCreate: func(rs *appsv1.ReplicaSet) { rs.Status = appsv1.ReplicaSetStatus{} },
	Defaults: func(rs *appsv1.ReplicaSet) {
		if rs.Spec.Replicas == nil {
			rs.Spec.Replicas = ptrTo(int32(1))
		}
		core.DefaultPodTemplateSpec(&rs.Spec.Template)
	},
	Check: func(rs *appsv1.ReplicaSet) field.ErrorList {
		var errs field.ErrorList
		p := field.NewPath("spec")
		errs = append(errs, nonNegative(replicas(rs.Spec.Replicas), p.Child("replicas"))...)
		errs = append(errs, nonNegative(rs.Spec.MinReadySeconds, p.Child("minReadySeconds"))...)
		sel, selErrs := validateSelector(rs.Spec.Selector, "deployment", p.Child("selector"))
		errs = append(errs, selErrs...)
		errs = append(errs, core.ValidateControllerPodTemplate(&rs.Spec.Template, sel, "ReplicaSet", p.Child("template"))...)
		return errs
	},
	CheckUpdate: func(rs, old *appsv1.ReplicaSet) field.ErrorList {
		return metavalidation.ValidateImmutableField(rs.Spec.Selector, old.Spec.Selector, field.NewPath("spec", "selector"))
	},
	CheckStatus: func(rs, _ *appsv1.ReplicaSet) field.ErrorList {
		s := rs.Status
		errs := core.ValidateReplicaStatus(field.NewPath("status"), s.Replicas, s.FullyLabeledReplicas, s.ReadyReplicas, s.AvailableReplicas, s.ObservedGeneration)
		if s.TerminatingReplicas != nil {
			errs = append(errs, nonNegative(*s.TerminatingReplicas, field.NewPath("status", "terminatingReplicas"))...)
		}
		return errs
	},
}

func replicaSetFields(obj runtime.Object) fields.Set {
	if rs, ok := obj.(*appsv1.ReplicaSet); ok {
		return fields.Set{"status.replicas": strconv.FormatInt(int64(rs.Status.Replicas), 10)}
	}
	return nil
}

// --- statefulsets ----------------------------------------------------------

var statefulSetStrategy = typedstrategy.Funcs[*appsv1.StatefulSet]{
	Namespaced:    true,
	Name:          apivalidation.NameIsDNSLabel,
	PrepareCreate: func(s *appsv1.StatefulSet) { s.Status = appsv1.StatefulSetStatus{} },
	Defaults:      defaultStatefulSet,
	Check:         validateStatefulSet,
	CheckUpdate:   validateStatefulSetUpdate,
	CheckStatus:   func(s, _ *appsv1.StatefulSet) field.ErrorList { return validateStatefulSetStatus(&s.Status) },
}

// defaultStatefulSet applies podManagementPolicy OrderedReady, updateStrategy
// RollingUpdate with partition 0, PVC retention Retain/Retain, replicas 1,
// revisionHistoryLimit 10, and the pod template and claim template defaults.
func defaultStatefulSet(s *appsv1.StatefulSet) {
	spec := &s.Spec
	if spec.PodManagementPolicy == "" {
		spec.PodManagementPolicy = appsv1.OrderedReadyPodManagement
	}
	if spec.UpdateStrategy.Type == "" {
		spec.UpdateStrategy.Type = appsv1.RollingUpdateStatefulSetStrategyType
		if spec.UpdateStrategy.RollingUpdate == nil {
			spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{}
		}
	}
	if spec.UpdateStrategy.Type == appsv1.RollingUpdateStatefulSetStrategyType && spec.UpdateStrategy.RollingUpdate != nil &&
		spec.UpdateStrategy.RollingUpdate.Partition == nil {
		spec.UpdateStrategy.RollingUpdate.Partition = ptrTo(int32(0))
	}
	if spec.PersistentVolumeClaimRetentionPolicy == nil {
		spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{}
	}
	if spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted == "" {
		spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted = appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	}
	if spec.PersistentVolumeClaimRetentionPolicy.WhenScaled == "" {
		spec.PersistentVolumeClaimRetentionPolicy.WhenScaled = appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	}
	if spec.Replicas == nil {
		spec.Replicas = ptrTo(int32(1))
	}
	if spec.RevisionHistoryLimit == nil {
		spec.RevisionHistoryLimit = ptrTo(int32(10))
	}
	core.DefaultPodTemplateSpec(&spec.Template)
	for i := range spec.VolumeClaimTemplates {
		c := &spec.VolumeClaimTemplates[i]
		if c.Status.Phase == "" {
			c.Status.Phase = corev1.ClaimPending
		}
		core.DefaultPersistentVolumeClaimSpec(&c.Spec)
	}
}

func validateStatefulSet(s *appsv1.StatefulSet) field.ErrorList {
	var errs field.ErrorList
	spec := &s.Spec
	p := field.NewPath("spec")
	switch spec.PodManagementPolicy {
	case "":
		errs = append(errs, field.Required(p.Child("podManagementPolicy"), ""))
	case appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement:
	default:
		errs = append(errs, field.Invalid(p.Child("podManagementPolicy"), spec.PodManagementPolicy,
			fmt.Sprintf("must be '%s' or '%s'", appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement)))
	}
	switch spec.UpdateStrategy.Type {
	case "":
		errs = append(errs, field.Required(p.Child("updateStrategy"), ""))
	case appsv1.OnDeleteStatefulSetStrategyType:
		if spec.UpdateStrategy.RollingUpdate != nil {
			errs = append(errs, field.Invalid(p.Child("updateStrategy", "rollingUpdate"), spec.UpdateStrategy.RollingUpdate,
				fmt.Sprintf("only allowed for updateStrategy '%s'", appsv1.RollingUpdateStatefulSetStrategyType)))
		}
	case appsv1.RollingUpdateStatefulSetStrategyType:
		if ru := spec.UpdateStrategy.RollingUpdate; ru != nil {
			rp := p.Child("updateStrategy", "rollingUpdate")
			if ru.Partition != nil {
				errs = append(errs, nonNegative(*ru.Partition, rp.Child("partition"))...)
			}
			if ru.MaxUnavailable != nil {
				errs = append(errs, metavalidation.ValidatePositiveIntOrPercent(*ru.MaxUnavailable, rp.Child("maxUnavailable"))...)
				if n, _ := metavalidation.IntOrPercentValue(*ru.MaxUnavailable); n == 0 {
					errs = append(errs, field.Invalid(rp.Child("maxUnavailable"), *ru.MaxUnavailable, "cannot be 0"))
				}
				errs = append(errs, metavalidation.IsNotMoreThan100Percent(*ru.MaxUnavailable, rp.Child("maxUnavailable"))...)
			}
		}
	default:
		errs = append(errs, field.Invalid(p.Child("updateStrategy"), spec.UpdateStrategy,
			fmt.Sprintf("must be '%s' or '%s'", appsv1.RollingUpdateStatefulSetStrategyType, appsv1.OnDeleteStatefulSetStrategyType)))
	}
	if rp := spec.PersistentVolumeClaimRetentionPolicy; rp != nil {
		valid := []appsv1.PersistentVolumeClaimRetentionPolicyType{appsv1.RetainPersistentVolumeClaimRetentionPolicyType, appsv1.DeletePersistentVolumeClaimRetentionPolicyType}
		pp := p.Child("persistentVolumeClaimRetentionPolicy")
		for _, f := range []struct {
			v    appsv1.PersistentVolumeClaimRetentionPolicyType
			name string
		}{{rp.WhenDeleted, "whenDeleted"}, {rp.WhenScaled, "whenScaled"}} {
			if f.v != valid[0] && f.v != valid[1] {
				errs = append(errs, field.NotSupported(pp.Child(f.name), f.v, valid))
			}
		}
	}
	if spec.RevisionHistoryLimit != nil {
		errs = append(errs, nonNegative(*spec.RevisionHistoryLimit, p.Child("revisionHistoryLimit"))...)
	}
	errs = append(errs, nonNegative(replicas(spec.Replicas), p.Child("replicas"))...)
	errs = append(errs, nonNegative(spec.MinReadySeconds, p.Child("minReadySeconds"))...)
	if spec.Ordinals != nil {
		errs = append(errs, nonNegative(spec.Ordinals.Start, p.Child("ordinals.start"))...)
	}
	sel, selErrs := validateSelector(spec.Selector, "statefulset", p.Child("selector"))
	errs = append(errs, selErrs...)
	errs = append(errs, core.ValidateControllerPodTemplate(withClaimVolumes(spec), sel, "StatefulSet", p.Child("template"))...)
	for i := range spec.VolumeClaimTemplates {
		c := &spec.VolumeClaimTemplates[i]
		cp := p.Child("volumeClaimTemplates").Index(i)
		if c.Name == "" {
			errs = append(errs, field.Required(cp.Child("metadata", "name"), ""))
		} else {
			errs = append(errs, metavalidation.ValidateNameFunc(apivalidation.NameIsDNSSubdomain, c.Name, cp.Child("metadata", "name"))...)
		}
		errs = append(errs, metavalidation.ValidateLabels(c.Labels, cp.Child("metadata", "labels"))...)
		errs = append(errs, core.ValidatePersistentVolumeClaimSpec(&c.Spec, cp.Child("spec"))...)
	}
	return errs
}

// withClaimVolumes is the pod template as the StatefulSet's pods get it: each
// volumeClaimTemplate becomes a volume of the same name, so containers may
// mount it.
func withClaimVolumes(spec *appsv1.StatefulSetSpec) *corev1.PodTemplateSpec {
	if len(spec.VolumeClaimTemplates) == 0 {
		return &spec.Template
	}
	t := spec.Template.DeepCopy()
	have := map[string]bool{}
	for _, v := range t.Spec.Volumes {
		have[v.Name] = true
	}
	for _, c := range spec.VolumeClaimTemplates {
		if c.Name == "" || have[c.Name] {
			continue
		}
		t.Spec.Volumes = append(t.Spec.Volumes, corev1.Volume{Name: c.Name, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: c.Name},
		}})
	}
	return t
}

// validateStatefulSetUpdate allows only replicas, ordinals, template,
// updateStrategy, revisionHistoryLimit, the PVC retention policy and
// minReadySeconds to change.
func validateStatefulSetUpdate(s, old *appsv1.StatefulSet) field.ErrorList {
	clone := s.Spec.DeepCopy()
	clone.Replicas = old.Spec.Replicas
	clone.Template = old.Spec.Template
	clone.UpdateStrategy = old.Spec.UpdateStrategy
	clone.MinReadySeconds = old.Spec.MinReadySeconds
	clone.Ordinals = old.Spec.Ordinals
	clone.RevisionHistoryLimit = old.Spec.RevisionHistoryLimit
	clone.PersistentVolumeClaimRetentionPolicy = old.Spec.PersistentVolumeClaimRetentionPolicy
	if !equality.Semantic.DeepEqual(clone, &old.Spec) {
		return field.ErrorList{field.Forbidden(field.NewPath("spec"), "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden")}
	}
	return nil
}

func validateStatefulSetStatus(s *appsv1.StatefulSetStatus) field.ErrorList {
	p := field.NewPath("status")
	var errs field.ErrorList
	errs = append(errs, metavalidation.ValidateNonnegativeField(s.ObservedGeneration, p.Child("observedGeneration"))...)
	for _, f := range []struct {
		v    int32
		name string
	}{{s.Replicas, "replicas"}, {s.ReadyReplicas, "readyReplicas"}, {s.CurrentReplicas, "currentReplicas"},
		{s.UpdatedReplicas, "updatedReplicas"}, {s.AvailableReplicas, "availableReplicas"}} {
		errs = append(errs, nonNegative(f.v, p.Child(f.name))...)
		if f.name != "replicas" && f.v > s.Replicas {
			errs = append(errs, field.Invalid(p.Child(f.name), f.v, "cannot be greater than status.replicas"))
		}
	}
	if s.CollisionCount != nil {
		errs = append(errs, nonNegative(*s.CollisionCount, p.Child("collisionCount"))...)
	}
	if s.AvailableReplicas > s.ReadyReplicas {
		errs = append(errs, field.Invalid(p.Child("availableReplicas"), s.AvailableReplicas, "cannot be greater than status.readyReplicas"))
	}
	return errs
}

// --- daemonsets ------------------------------------------------------------

var daemonSetStrategy = typedstrategy.Funcs[*appsv1.DaemonSet]{
	Namespaced:    true,
	PrepareCreate: func(ds *appsv1.DaemonSet) { ds.Status = appsv1.DaemonSetStatus{} },
	Defaults:      defaultDaemonSet,
	Check:         validateDaemonSet,
	CheckUpdate: func(ds, old *appsv1.DaemonSet) field.ErrorList {
		return metavalidation.ValidateImmutableField(ds.Spec.Selector, old.Spec.Selector, field.NewPath("spec", "selector"))
	},
	CheckStatus: func(ds, _ *appsv1.DaemonSet) field.ErrorList {
		s := &ds.Status
		p := field.NewPath("status")
		var errs field.ErrorList
		errs = append(errs, metavalidation.ValidateNonnegativeField(s.ObservedGeneration, p.Child("observedGeneration"))...)
		errs = append(errs, metavalidation.ValidateNonnegativeCounts(p, []metavalidation.Count{{Value: s.CurrentNumberScheduled, Name: "currentNumberScheduled"}, {Value: s.NumberMisscheduled, Name: "numberMisscheduled"},
			{Value: s.DesiredNumberScheduled, Name: "desiredNumberScheduled"}, {Value: s.NumberReady, Name: "numberReady"},
			{Value: s.UpdatedNumberScheduled, Name: "updatedNumberScheduled"}, {Value: s.NumberAvailable, Name: "numberAvailable"},
			{Value: s.NumberUnavailable, Name: "numberUnavailable"}})...)
		if s.CollisionCount != nil {
			errs = append(errs, nonNegative(*s.CollisionCount, p.Child("collisionCount"))...)
		}
		return errs
	},
}

// defaultDaemonSet applies updateStrategy RollingUpdate with maxUnavailable 1
// and maxSurge 0, revisionHistoryLimit 10, and the pod template defaults.
func defaultDaemonSet(ds *appsv1.DaemonSet) {
	us := &ds.Spec.UpdateStrategy
	if us.Type == "" {
		us.Type = appsv1.RollingUpdateDaemonSetStrategyType
	}
	if us.Type == appsv1.RollingUpdateDaemonSetStrategyType {
		if us.RollingUpdate == nil {
			us.RollingUpdate = &appsv1.RollingUpdateDaemonSet{}
		}
		if us.RollingUpdate.MaxUnavailable == nil {
			us.RollingUpdate.MaxUnavailable = ptrTo(intstr.FromInt32(1))
		}
		if us.RollingUpdate.MaxSurge == nil {
			us.RollingUpdate.MaxSurge = ptrTo(intstr.FromInt32(0))
		}
	}
	if ds.Spec.RevisionHistoryLimit == nil {
		ds.Spec.RevisionHistoryLimit = ptrTo(int32(10))
	}
	core.DefaultPodTemplateSpec(&ds.Spec.Template)
}

func validateDaemonSet(ds *appsv1.DaemonSet) field.ErrorList {
	var errs field.ErrorList
	spec := &ds.Spec
	p := field.NewPath("spec")
	sel, selErrs := validateSelector(spec.Selector, "daemonset", p.Child("selector"))
	errs = append(errs, selErrs...)
	errs = append(errs, core.ValidateControllerPodTemplate(&spec.Template, sel, "DaemonSet", p.Child("template"))...)
	errs = append(errs, nonNegative(spec.MinReadySeconds, p.Child("minReadySeconds"))...)
	if spec.RevisionHistoryLimit != nil {
		errs = append(errs, nonNegative(*spec.RevisionHistoryLimit, p.Child("revisionHistoryLimit"))...)
	}
	us := &spec.UpdateStrategy
	up := p.Child("updateStrategy")
	switch us.Type {
	case appsv1.OnDeleteDaemonSetStrategyType:
	case appsv1.RollingUpdateDaemonSetStrategyType:
		if us.RollingUpdate == nil {
			errs = append(errs, field.Required(up.Child("rollingUpdate"), ""))
			break
		}
		rp := up.Child("rollingUpdate")
		mu, ms := intOrZero(us.RollingUpdate.MaxUnavailable), intOrZero(us.RollingUpdate.MaxSurge)
		errs = append(errs, metavalidation.ValidatePositiveIntOrPercent(mu, rp.Child("maxUnavailable"))...)
		errs = append(errs, metavalidation.ValidatePositiveIntOrPercent(ms, rp.Child("maxSurge"))...)
		errs = append(errs, metavalidation.IsNotMoreThan100Percent(mu, rp.Child("maxUnavailable"))...)
		errs = append(errs, metavalidation.IsNotMoreThan100Percent(ms, rp.Child("maxSurge"))...)
		u, _ := metavalidation.IntOrPercentValue(mu)
		s, _ := metavalidation.IntOrPercentValue(ms)
		switch {
		case u != 0 && s != 0:
			errs = append(errs, field.Invalid(rp.Child("maxSurge"), ms, "may not be set when maxUnavailable is non-zero"))
		case u == 0 && s == 0:
			errs = append(errs, field.Required(rp.Child("maxUnavailable"), "cannot be 0 when maxSurge is 0"))
		}
	default:
		errs = append(errs, field.NotSupported(up.Child("type"), us.Type,
			[]appsv1.DaemonSetUpdateStrategyType{appsv1.RollingUpdateDaemonSetStrategyType, appsv1.OnDeleteDaemonSetStrategyType}))
	}
	return errs
}

// --- controllerrevisions ---------------------------------------------------

var controllerRevisionStrategy = typedstrategy.Funcs[*appsv1.ControllerRevision]{
	Namespaced: true,
	Check: func(cr *appsv1.ControllerRevision) field.ErrorList {
		var errs field.ErrorList
		if cr.Data.Raw == nil && cr.Data.Object == nil {
			errs = append(errs, field.Required(field.NewPath("data"), "data is mandatory"))
		}
		errs = append(errs, metavalidation.ValidateNonnegativeField(cr.Revision, field.NewPath("revision"))...)
		return errs
	},
	CheckUpdate: func(cr, old *appsv1.ControllerRevision) field.ErrorList {
		if !sameJSON(cr.Data, old.Data) {
			return field.ErrorList{field.Invalid(field.NewPath("data"), cr.Data, metavalidation.FieldImmutableErrorMsg)}
		}
		return nil
	},
}

// sameJSON compares two raw extensions by their JSON value, so that
// re-encoding (key order, spacing) does not count as a change.
func sameJSON(a, b runtime.RawExtension) bool {
	decode := func(r runtime.RawExtension) (any, bool) {
		raw := r.Raw
		if raw == nil && r.Object != nil {
			var err error
			if raw, err = json.Marshal(r.Object); err != nil {
				return nil, false
			}
		}
		if raw == nil {
			return nil, true
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return string(raw), true
		}
		return v, true
	}
	av, okA := decode(a)
	bv, okB := decode(b)
	return okA && okB && equality.Semantic.DeepEqual(av, bv)
}
