package registry

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// validateObjectMeta checks what every kind shares: a namespace where the kind
// is namespaced. Name formats, labels and annotations are the strategies' part.
func validateObjectMeta(m metav1.Object, namespaced bool) field.ErrorList {
	var errs field.ErrorList
	if namespaced && m.GetNamespace() == "" {
		errs = append(errs, field.Required(field.NewPath("metadata", "namespace"), ""))
	}
	return errs
}

// validateObjectMetaUpdate checks metadata changes every kind forbids.
func validateObjectMetaUpdate(m, old metav1.Object) field.ErrorList {
	return nil
}
