package core

import (
	"path"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"navarch.dev/apiserver/pkg/registry/metavalidation"
	"navarch.dev/apiserver/pkg/registry/typedstrategy"
)

var (
	supportedAccessModes   = []corev1.PersistentVolumeAccessMode{corev1.ReadOnlyMany, corev1.ReadWriteMany, corev1.ReadWriteOnce, corev1.ReadWriteOncePod}
	supportedReclaimPolicy = []corev1.PersistentVolumeReclaimPolicy{corev1.PersistentVolumeReclaimDelete, corev1.PersistentVolumeReclaimRecycle, corev1.PersistentVolumeReclaimRetain}
	supportedVolumeModes   = []corev1.PersistentVolumeMode{corev1.PersistentVolumeBlock, corev1.PersistentVolumeFilesystem}
)

var persistentVolumeStrategy = typedstrategy.Funcs[*corev1.PersistentVolume]{
	Name: metavalidation.NameIsPathSegment,
	PrepareCreate: func(pv *corev1.PersistentVolume) {
		pv.Status = corev1.PersistentVolumeStatus{Phase: corev1.VolumePending}
	},
	Defaults: func(pv *corev1.PersistentVolume) {
		if pv.Status.Phase == "" {
			pv.Status.Phase = corev1.VolumePending
		}
		if pv.Spec.PersistentVolumeReclaimPolicy == "" {
			pv.Spec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimRetain
		}
		if pv.Spec.VolumeMode == nil {
			pv.Spec.VolumeMode = ptrTo(corev1.PersistentVolumeFilesystem)
		}
		roundResourceList(pv.Spec.Capacity)
		if s := pv.Spec.HostPath; s != nil && s.Type == nil {
			s.Type = ptrTo(corev1.HostPathUnset)
		}
		if s := pv.Spec.ISCSI; s != nil && s.ISCSIInterface == "" {
			s.ISCSIInterface = "default"
		}
	},
	Check:       validatePersistentVolume,
	CheckUpdate: validatePersistentVolumeUpdate,
	CheckStatus: func(pv, _ *corev1.PersistentVolume) field.ErrorList {
		return validatePhase(pv.Status.Phase, []corev1.PersistentVolumePhase{corev1.VolumePending, corev1.VolumeAvailable, corev1.VolumeBound, corev1.VolumeReleased, corev1.VolumeFailed}, field.NewPath("status", "phase"))
	},
}

func validatePhase[T ~string](phase T, supported []T, fldPath *field.Path) field.ErrorList {
	if phase != "" && !contains(supported, phase) {
		return field.ErrorList{field.NotSupported(fldPath, phase, supported)}
	}
	return nil
}

func validateAccessModes(modes []corev1.PersistentVolumeAccessMode, fldPath *field.Path, requiredMsg string) field.ErrorList {
	if len(modes) == 0 {
		return field.ErrorList{field.Required(fldPath, requiredMsg)}
	}
	var errs field.ErrorList
	for _, m := range modes {
		if !contains(supportedAccessModes, m) {
			errs = append(errs, field.NotSupported(fldPath, m, supportedAccessModes))
		}
	}
	if contains(modes, corev1.ReadWriteOncePod) && len(modes) > 1 {
		errs = append(errs, field.Forbidden(fldPath, "may not use ReadWriteOncePod with other access modes"))
	}
	return errs
}

func validatePersistentVolume(pv *corev1.PersistentVolume) field.ErrorList {
	var errs field.ErrorList
	spec := &pv.Spec
	specPath := field.NewPath("spec")
	errs = append(errs, validateAccessModes(spec.AccessModes, specPath.Child("accessModes"), "")...)
	capPath := specPath.Child("capacity")
	if len(spec.Capacity) == 0 {
		errs = append(errs, field.Required(capPath, ""))
	}
	if _, ok := spec.Capacity[corev1.ResourceStorage]; len(spec.Capacity) > 0 && (!ok || len(spec.Capacity) > 1) {
		errs = append(errs, field.NotSupported(capPath, spec.Capacity, []corev1.ResourceName{corev1.ResourceStorage}))
	}
	for name, q := range spec.Capacity {
		errs = append(errs, metavalidation.ValidatePositiveQuantity(q, capPath.Key(string(name)))...)
	}
	if p := spec.PersistentVolumeReclaimPolicy; p != "" && !contains(supportedReclaimPolicy, p) {
		errs = append(errs, field.NotSupported(specPath.Child("persistentVolumeReclaimPolicy"), p, supportedReclaimPolicy))
	}
	if spec.StorageClassName != "" {
		errs = append(errs, metavalidation.ValidateNameFunc(apivalidation.NameIsDNSSubdomain, spec.StorageClassName, specPath.Child("storageClassName"))...)
	}
	if m := spec.VolumeMode; m != nil && !contains(supportedVolumeModes, *m) {
		errs = append(errs, field.NotSupported(specPath.Child("volumeMode"), *m, supportedVolumeModes))
	}
	set := setPointerFields(&spec.PersistentVolumeSource)
	if len(set) == 0 {
		errs = append(errs, field.Required(specPath, "must specify a volume type"))
	}
	if len(set) > 1 {
		for _, extra := range set[1:] {
			errs = append(errs, field.Forbidden(specPath.Child(extra), "may not specify more than 1 volume type"))
		}
		return errs
	}
	switch {
	case spec.HostPath != nil:
		p := specPath.Child("hostPath", "path")
		if spec.HostPath.Path == "" {
			errs = append(errs, field.Required(p, ""))
		} else {
			errs = append(errs, validatePathNoBacksteps(spec.HostPath.Path, p)...)
		}
	case spec.Local != nil:
		p := specPath.Child("local", "path")
		if spec.Local.Path == "" {
			errs = append(errs, field.Required(p, ""))
		} else {
			errs = append(errs, validatePathNoBacksteps(spec.Local.Path, p)...)
		}
		if spec.NodeAffinity == nil {
			errs = append(errs, field.Required(specPath.Child("nodeAffinity"), "Local volumes require node affinity"))
		}
	case spec.NFS != nil:
		p := specPath.Child("nfs")
		if spec.NFS.Server == "" {
			errs = append(errs, field.Required(p.Child("server"), ""))
		}
		if spec.NFS.Path == "" {
			errs = append(errs, field.Required(p.Child("path"), ""))
		} else if !path.IsAbs(spec.NFS.Path) {
			errs = append(errs, field.Invalid(p.Child("path"), spec.NFS.Path, "must be an absolute path"))
		}
	case spec.CSI != nil:
		p := specPath.Child("csi")
		if spec.CSI.Driver == "" {
			errs = append(errs, field.Required(p.Child("driver"), ""))
		}
		if spec.CSI.VolumeHandle == "" {
			errs = append(errs, field.Required(p.Child("volumeHandle"), ""))
		}
	}
	if na := spec.NodeAffinity; na != nil {
		p := specPath.Child("nodeAffinity")
		if na.Required == nil {
			errs = append(errs, field.Required(p.Child("required"), "must specify required node constraints"))
		} else {
			errs = append(errs, ValidateNodeSelector(na.Required, p.Child("required"))...)
		}
	}
	return errs
}

func validatePersistentVolumeUpdate(pv, old *corev1.PersistentVolume) field.ErrorList {
	var errs field.ErrorList
	specPath := field.NewPath("spec")
	if !equality.Semantic.DeepEqual(pv.Spec.PersistentVolumeSource, old.Spec.PersistentVolumeSource) {
		errs = append(errs, field.Forbidden(specPath.Child("persistentvolumesource"), "spec.persistentvolumesource is immutable after creation"))
	}
	errs = append(errs, metavalidation.ValidateImmutableField(pv.Spec.VolumeMode, old.Spec.VolumeMode, specPath.Child("volumeMode"))...)
	if old.Spec.NodeAffinity != nil {
		errs = append(errs, metavalidation.ValidateImmutableField(pv.Spec.NodeAffinity, old.Spec.NodeAffinity, specPath.Child("nodeAffinity"))...)
	}
	return errs
}

func persistentVolumeFields(obj runtime.Object) fields.Set {
	if pv, ok := obj.(*corev1.PersistentVolume); ok {
		return fields.Set{"name": pv.Name}
	}
	return nil
}

// DefaultPersistentVolumeClaimSpec applies upstream's claim spec defaults
// (volumeMode Filesystem); it is shared by PVCs, ephemeral volumes and
// StatefulSet claim templates.
func DefaultPersistentVolumeClaimSpec(spec *corev1.PersistentVolumeClaimSpec) {
	if spec.VolumeMode == nil {
		spec.VolumeMode = ptrTo(corev1.PersistentVolumeFilesystem)
	}
	roundResourceList(spec.Resources.Requests)
	roundResourceList(spec.Resources.Limits)
}

// ValidatePersistentVolumeClaimSpec validates a claim spec at fldPath: access
// modes, a positive storage request, selector, storage class and volume mode.
func ValidatePersistentVolumeClaimSpec(spec *corev1.PersistentVolumeClaimSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateAccessModes(spec.AccessModes, fldPath.Child("accessModes"), "at least 1 access mode is required")...)
	errs = append(errs, metavalidation.ValidateLabelSelector(spec.Selector, fldPath.Child("selector"))...)
	storagePath := fldPath.Child("resources").Key(string(corev1.ResourceStorage))
	if q, ok := spec.Resources.Requests[corev1.ResourceStorage]; !ok {
		errs = append(errs, field.Required(storagePath, ""))
	} else {
		errs = append(errs, metavalidation.ValidatePositiveQuantity(q, storagePath)...)
	}
	if c := spec.StorageClassName; c != nil && *c != "" {
		errs = append(errs, metavalidation.ValidateNameFunc(apivalidation.NameIsDNSSubdomain, *c, fldPath.Child("storageClassName"))...)
	}
	if m := spec.VolumeMode; m != nil && !contains(supportedVolumeModes, *m) {
		errs = append(errs, field.NotSupported(fldPath.Child("volumeMode"), *m, supportedVolumeModes))
	}
	if ds := spec.DataSource; ds != nil {
		if ds.Name == "" {
			errs = append(errs, field.Required(fldPath.Child("dataSource", "name"), ""))
		}
		if ds.Kind == "" {
			errs = append(errs, field.Required(fldPath.Child("dataSource", "kind"), ""))
		}
	}
	return errs
}

var persistentVolumeClaimStrategy = typedstrategy.Funcs[*corev1.PersistentVolumeClaim]{
	Namespaced: true,
	PrepareCreate: func(pvc *corev1.PersistentVolumeClaim) {
		pvc.Status = corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}
	},
	Defaults: func(pvc *corev1.PersistentVolumeClaim) {
		if pvc.Status.Phase == "" {
			pvc.Status.Phase = corev1.ClaimPending
		}
		DefaultPersistentVolumeClaimSpec(&pvc.Spec)
	},
	Check: func(pvc *corev1.PersistentVolumeClaim) field.ErrorList {
		return ValidatePersistentVolumeClaimSpec(&pvc.Spec, field.NewPath("spec"))
	},
	CheckUpdate: validatePersistentVolumeClaimUpdate,
	CheckStatus: func(pvc, _ *corev1.PersistentVolumeClaim) field.ErrorList {
		return validatePhase(pvc.Status.Phase, []corev1.PersistentVolumeClaimPhase{corev1.ClaimPending, corev1.ClaimBound, corev1.ClaimLost}, field.NewPath("status", "phase"))
	},
}

// validatePersistentVolumeClaimUpdate allows the binder to set volumeName once
// and, for bound claims, the storage request to change (not below the
// capacity already provisioned); everything else in spec is immutable.
func validatePersistentVolumeClaimUpdate(pvc, old *corev1.PersistentVolumeClaim) field.ErrorList {
	var errs field.ErrorList
	oldSpec, newSpec := old.Spec.DeepCopy(), pvc.Spec.DeepCopy()
	if oldSpec.VolumeName == "" {
		oldSpec.VolumeName = newSpec.VolumeName
	}
	if oldSpec.StorageClassName == nil && old.Annotations[corev1.BetaStorageClassAnnotation] == "" {
		// A claim without a class may be given one once (the default class).
		oldSpec.StorageClassName = newSpec.StorageClassName
	}
	if pvc.Status.Phase == corev1.ClaimBound || old.Status.Phase == corev1.ClaimBound {
		oldSpec.Resources.Requests = newSpec.Resources.Requests
		oldSpec.VolumeAttributesClassName = newSpec.VolumeAttributesClassName
	}
	if !equality.Semantic.DeepEqual(oldSpec, newSpec) {
		errs = append(errs, field.Forbidden(field.NewPath("spec"), "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"))
	}
	oldSize := old.Spec.Resources.Requests[corev1.ResourceStorage]
	newSize := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	statusSize := old.Status.Capacity[corev1.ResourceStorage]
	if newSize.Cmp(oldSize) < 0 && newSize.Cmp(statusSize) <= 0 {
		msg := "field can not be less than status.capacity"
		if statusSize.IsZero() {
			msg = "field can not be less than previous value"
		}
		errs = append(errs, field.Forbidden(field.NewPath("spec", "resources", "requests", "storage"), msg))
	}
	errs = append(errs, metavalidation.ValidateImmutableField(pvc.Spec.VolumeMode, old.Spec.VolumeMode, field.NewPath("volumeMode"))...)
	return errs
}

func persistentVolumeClaimFields(obj runtime.Object) fields.Set {
	if pvc, ok := obj.(*corev1.PersistentVolumeClaim); ok {
		return fields.Set{"name": pvc.Name}
	}
	return nil
}
