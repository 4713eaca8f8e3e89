// Package coordination describes coordination.k8s.io/v1 Leases to the generic
// store.
package coordination

import (
	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"navarch.dev/apiserver/pkg/registry"
	"navarch.dev/apiserver/pkg/registry/typedstrategy"
)

// Resources returns the coordination.k8s.io/v1 resources.
func Resources() []*registry.Resource {
	return []*registry.Resource{{
		GroupVersion: coordinationv1.SchemeGroupVersion, Plural: "leases", Singular: "lease", Kind: "Lease", ListKind: "LeaseList",
		Namespaced: true,
		New:        func() runtime.Object { return &coordinationv1.Lease{} },
		NewList:    func() runtime.Object { return &coordinationv1.LeaseList{} },
		Strategy:   leaseStrategy,
	}}
}

var leaseStrategy = typedstrategy.Funcs[*coordinationv1.Lease]{
	Namespaced: true,
	Check:      validateLease,
}

var supportedStrategies = []coordinationv1.CoordinatedLeaseStrategy{coordinationv1.OldestEmulationVersion}

func validateLease(l *coordinationv1.Lease) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec")
	if d := l.Spec.LeaseDurationSeconds; d != nil && *d <= 0 {
		errs = append(errs, field.Invalid(p.Child("leaseDurationSeconds"), *d, "must be greater than 0"))
	}
	if t := l.Spec.LeaseTransitions; t != nil && *t < 0 {
		errs = append(errs, field.Invalid(p.Child("leaseTransitions"), *t, "must be greater than or equal to 0"))
	}
	if s := l.Spec.Strategy; s != nil && *s != supportedStrategies[0] {
		errs = append(errs, field.NotSupported(p.Child("strategy"), *s, supportedStrategies))
	}
	if h := l.Spec.PreferredHolder; h != nil && *h != "" && (l.Spec.Strategy == nil || *l.Spec.Strategy == "") {
		errs = append(errs, field.Forbidden(p.Child("preferredHolder"), "preferredHolder can only be set when strategy is set"))
	}
	return errs
}
