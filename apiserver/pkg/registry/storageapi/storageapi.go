// Package storageapi describes storage.k8s.io/v1 StorageClasses to the generic
// store.
package storageapi

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"navarch.dev/apiserver/pkg/registry"
	"navarch.dev/apiserver/pkg/registry/metavalidation"
	"navarch.dev/apiserver/pkg/registry/typedstrategy"
)

// Upstream's limits on provisioner parameters.
const (
	maxProvisionerParameterSize = 256 * (1 << 10)
	maxProvisionerParameterLen  = 512
)

var (
	supportedReclaimPolicies = []corev1.PersistentVolumeReclaimPolicy{corev1.PersistentVolumeReclaimDelete, corev1.PersistentVolumeReclaimRetain}
	supportedBindingModes    = []storagev1.VolumeBindingMode{storagev1.VolumeBindingImmediate, storagev1.VolumeBindingWaitForFirstConsumer}
)

// Resources returns the storage.k8s.io/v1 resources.
func Resources() []*registry.Resource {
	return []*registry.Resource{{
		GroupVersion: storagev1.SchemeGroupVersion, Plural: "storageclasses", Singular: "storageclass",
		Kind: "StorageClass", ListKind: "StorageClassList", ShortNames: []string{"sc"},
		New:      func() runtime.Object { return &storagev1.StorageClass{} },
		NewList:  func() runtime.Object { return &storagev1.StorageClassList{} },
		Strategy: storageClassStrategy,
	}}
}

func ptrTo[T any](v T) *T { return &v }

var storageClassStrategy = typedstrategy.Funcs[*storagev1.StorageClass]{
	Defaults: func(sc *storagev1.StorageClass) {
		if sc.ReclaimPolicy == nil {
			sc.ReclaimPolicy = ptrTo(corev1.PersistentVolumeReclaimDelete)
		}
		if sc.VolumeBindingMode == nil {
			sc.VolumeBindingMode = ptrTo(storagev1.VolumeBindingImmediate)
		}
	},
	Check:       validateStorageClass,
	CheckUpdate: validateStorageClassUpdate,
}

func validateStorageClass(sc *storagev1.StorageClass) field.ErrorList {
	var errs field.ErrorList
	pp := field.NewPath("provisioner")
	if sc.Provisioner == "" {
		errs = append(errs, field.Required(pp, ""))
	} else {
		errs = append(errs, metavalidation.ValidateQualifiedName(strings.ToLower(sc.Provisioner), pp)...)
	}
	params := field.NewPath("parameters")
	if len(sc.Parameters) > maxProvisionerParameterLen {
		errs = append(errs, field.TooLong(params, "Provisioner Parameters exceeded max allowed", maxProvisionerParameterLen))
	} else {
		size := 0
		for k, v := range sc.Parameters {
			if k == "" {
				errs = append(errs, field.Invalid(params, k, "field can not be empty."))
			}
			size += len(k) + len(v)
		}
		if size > maxProvisionerParameterSize {
			errs = append(errs, field.TooLong(params, "", maxProvisionerParameterSize))
		}
	}
	if rp := sc.ReclaimPolicy; rp != nil && *rp != "" && *rp != supportedReclaimPolicies[0] && *rp != supportedReclaimPolicies[1] {
		errs = append(errs, field.NotSupported(field.NewPath("reclaimPolicy"), *rp, supportedReclaimPolicies))
	}
	bp := field.NewPath("volumeBindingMode")
	if m := sc.VolumeBindingMode; m == nil {
		errs = append(errs, field.Required(bp, ""))
	} else if *m != supportedBindingModes[0] && *m != supportedBindingModes[1] {
		errs = append(errs, field.NotSupported(bp, *m, supportedBindingModes))
	}
	for i, term := range sc.AllowedTopologies {
		tp := field.NewPath("allowedTopologies").Index(i).Child("matchLabelExpressions")
		if len(term.MatchLabelExpressions) == 0 {
			errs = append(errs, field.Required(tp, "must contain at least one requirement"))
		}
		for j, req := range term.MatchLabelExpressions {
			rp := tp.Index(j)
			errs = append(errs, metavalidation.ValidateQualifiedName(req.Key, rp.Child("key"))...)
			if len(req.Values) == 0 {
				errs = append(errs, field.Required(rp.Child("values"), "must contain at least one value"))
			}
		}
	}
	return errs
}

// validateStorageClassUpdate forbids changes to provisioner, parameters,
// reclaimPolicy and volumeBindingMode.
func validateStorageClassUpdate(sc, old *storagev1.StorageClass) field.ErrorList {
	var errs field.ErrorList
	if !equality.Semantic.DeepEqual(sc.Parameters, old.Parameters) && len(sc.Parameters)+len(old.Parameters) > 0 {
		errs = append(errs, field.Forbidden(field.NewPath("parameters"), "updates to parameters are forbidden."))
	}
	if sc.Provisioner != old.Provisioner {
		errs = append(errs, field.Forbidden(field.NewPath("provisioner"), "updates to provisioner are forbidden."))
	}
	if !equality.Semantic.DeepEqual(sc.ReclaimPolicy, old.ReclaimPolicy) {
		errs = append(errs, field.Forbidden(field.NewPath("reclaimPolicy"), "updates to reclaimPolicy are forbidden."))
	}
	errs = append(errs, metavalidation.ValidateImmutableField(sc.VolumeBindingMode, old.VolumeBindingMode, field.NewPath("volumeBindingMode"))...)
	return errs
}
