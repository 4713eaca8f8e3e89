// Package typedstrategy builds a registry.Strategy from typed hook functions, so
// that a kind's strategy is written against its own Go type (*corev1.Pod) and
// the shared parts of validation (object metadata) happen in one place.
package typedstrategy

import (
	"fmt"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"navarch.dev/apiserver/pkg/registry"
	"navarch.dev/apiserver/pkg/registry/metavalidation"
)

// Object is an API object with standard object metadata, as every kind served
// through the generic store is.
type Object interface {
	runtime.Object
	metav1.Object
}

// Funcs is a registry.Strategy and registry.StatusStrategy for objects of type
// T. Every hook may be nil, meaning "nothing to do".
//
// Validate checks the metadata (name with Name, namespace presence per
// Namespaced, labels, annotations, owner references, finalizers) and then calls
// Check and CheckCreate (rules for new objects only). ValidateUpdate checks the metadata update (no new finalizers once
// deleting, labels and annotations), then Check on the new object, then
// CheckUpdate for what may not change. ValidateStatusUpdate checks the metadata
// update and then CheckStatus.
//
// Objects of another type than T are a programming error in the caller: the
// mutating hooks leave them alone and the validating hooks report an internal
// error.
type Funcs[T Object] struct {
	// Namespaced must match the Resource's Namespaced flag.
	Namespaced bool
	// Name validates metadata.name and metadata.generateName; nil means
	// DNS-1123 subdomain (apivalidation.NameIsDNSSubdomain).
	Name apivalidation.ValidateNameFunc

	PrepareCreate func(obj T)
	PrepareUpdate func(obj, old T)
	Defaults      func(obj T)
	Check         func(obj T) field.ErrorList
	CheckCreate   func(obj T) field.ErrorList
	CheckUpdate   func(obj, old T) field.ErrorList
	CheckStatus   func(obj, old T) field.ErrorList
}

var (
	_ registry.Strategy       = Funcs[*metav1.PartialObjectMetadata]{}
	_ registry.StatusStrategy = Funcs[*metav1.PartialObjectMetadata]{}
)

// PrepareForCreate implements registry.Strategy.
func (f Funcs[T]) PrepareForCreate(obj runtime.Object) {
	if t, ok := obj.(T); ok && f.PrepareCreate != nil {
		f.PrepareCreate(t)
	}
}

// PrepareForUpdate implements registry.Strategy.
func (f Funcs[T]) PrepareForUpdate(obj, old runtime.Object) {
	t, ok := obj.(T)
	o, okOld := old.(T)
	if ok && okOld && f.PrepareUpdate != nil {
		f.PrepareUpdate(t, o)
	}
}

// Default implements registry.Strategy.
func (f Funcs[T]) Default(obj runtime.Object) {
	if t, ok := obj.(T); ok && f.Defaults != nil {
		f.Defaults(t)
	}
}

// Validate implements registry.Strategy.
func (f Funcs[T]) Validate(obj runtime.Object) field.ErrorList {
	t, ok := obj.(T)
	if !ok {
		return wrongType[T](obj)
	}
	nameFn := f.Name
	if nameFn == nil {
		nameFn = apivalidation.NameIsDNSSubdomain
	}
	errs := metavalidation.ValidateObjectMetaAccessor(t, f.Namespaced, nameFn)
	if f.Check != nil {
		errs = append(errs, f.Check(t)...)
	}
	if f.CheckCreate != nil {
		errs = append(errs, f.CheckCreate(t)...)
	}
	return errs
}

// ValidateUpdate implements registry.Strategy.
func (f Funcs[T]) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	t, ok := obj.(T)
	if !ok {
		return wrongType[T](obj)
	}
	o, ok := old.(T)
	if !ok {
		return wrongType[T](old)
	}
	errs := metavalidation.ValidateObjectMetaAccessorUpdate(t, o)
	if f.Check != nil {
		errs = append(errs, f.Check(t)...)
	}
	if f.CheckUpdate != nil {
		errs = append(errs, f.CheckUpdate(t, o)...)
	}
	return errs
}

// ValidateStatusUpdate implements registry.StatusStrategy.
func (f Funcs[T]) ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList {
	t, ok := obj.(T)
	if !ok {
		return wrongType[T](obj)
	}
	o, ok := old.(T)
	if !ok {
		return wrongType[T](old)
	}
	errs := metavalidation.ValidateObjectMetaAccessorUpdate(t, o)
	if f.CheckStatus != nil {
		errs = append(errs, f.CheckStatus(t, o)...)
	}
	return errs
}

func wrongType[T Object](obj runtime.Object) field.ErrorList {
	var want T
	return field.ErrorList{field.InternalError(nil, fmt.Errorf("typedstrategy: got object of type %T, want %T", obj, want))}
}
