// Package policy describes policy/v1 PodDisruptionBudgets to the generic store.
package policy

import (
	policyv1 "k8s.io/api/policy/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"navarch.dev/apiserver/pkg/registry"
	"navarch.dev/apiserver/pkg/registry/metavalidation"
	"navarch.dev/apiserver/pkg/registry/typedstrategy"
)

// Resources returns the policy/v1 resources.
func Resources() []*registry.Resource {
	return []*registry.Resource{{
		GroupVersion: policyv1.SchemeGroupVersion, Plural: "poddisruptionbudgets", Singular: "poddisruptionbudget",
		Kind: "PodDisruptionBudget", ListKind: "PodDisruptionBudgetList", Namespaced: true, ShortNames: []string{"pdb"},
		New:      func() runtime.Object { return &policyv1.PodDisruptionBudget{} },
		NewList:  func() runtime.Object { return &policyv1.PodDisruptionBudgetList{} },
		Strategy: pdbStrategy, Status: true, StatusStrategy: pdbStrategy,
	}}
}

var supportedEvictionPolicies = []policyv1.UnhealthyPodEvictionPolicyType{policyv1.AlwaysAllow, policyv1.IfHealthyBudget}

var pdbStrategy = typedstrategy.Funcs[*policyv1.PodDisruptionBudget]{
	Namespaced:    true,
	PrepareCreate: func(pdb *policyv1.PodDisruptionBudget) { pdb.Status = policyv1.PodDisruptionBudgetStatus{} },
	Check:         validatePDB,
	CheckStatus:   validatePDBStatus,
}

// validatePDB allows at most one of minAvailable and maxUnavailable, each a
// non-negative integer or a percentage up to 100%.
func validatePDB(pdb *policyv1.PodDisruptionBudget) field.ErrorList {
	var errs field.ErrorList
	spec := &pdb.Spec
	p := field.NewPath("spec")
	if spec.MinAvailable != nil && spec.MaxUnavailable != nil {
		errs = append(errs, field.Invalid(p, spec, "minAvailable and maxUnavailable cannot be both set"))
	}
	if spec.MinAvailable != nil {
		errs = append(errs, metavalidation.ValidatePositiveIntOrPercent(*spec.MinAvailable, p.Child("minAvailable"))...)
		errs = append(errs, metavalidation.IsNotMoreThan100Percent(*spec.MinAvailable, p.Child("minAvailable"))...)
	}
	if spec.MaxUnavailable != nil {
		errs = append(errs, metavalidation.ValidatePositiveIntOrPercent(*spec.MaxUnavailable, p.Child("maxUnavailable"))...)
		errs = append(errs, metavalidation.IsNotMoreThan100Percent(*spec.MaxUnavailable, p.Child("maxUnavailable"))...)
	}
	errs = append(errs, metavalidation.ValidateLabelSelector(spec.Selector, p.Child("selector"))...)
	if u := spec.UnhealthyPodEvictionPolicy; u != nil && *u != supportedEvictionPolicies[0] && *u != supportedEvictionPolicies[1] {
		errs = append(errs, field.NotSupported(p.Child("unhealthyPodEvictionPolicy"), *u, supportedEvictionPolicies))
	}
	return errs
}

func validatePDBStatus(pdb, _ *policyv1.PodDisruptionBudget) field.ErrorList {
	s := &pdb.Status
	p := field.NewPath("status")
	var errs field.ErrorList
	errs = append(errs, metavalidation.ValidateNonnegativeField(s.ObservedGeneration, p.Child("observedGeneration"))...)
	errs = append(errs, metavalidation.ValidateNonnegativeCounts(p, []metavalidation.Count{{Value: s.DisruptionsAllowed, Name: "disruptionsAllowed"}, {Value: s.CurrentHealthy, Name: "currentHealthy"}, {Value: s.DesiredHealthy, Name: "desiredHealthy"}, {Value: s.ExpectedPods, Name: "expectedPods"}})...)
	errs = append(errs, metav1validation.ValidateConditions(s.Conditions, p.Child("conditions"))...)
	return errs
}
