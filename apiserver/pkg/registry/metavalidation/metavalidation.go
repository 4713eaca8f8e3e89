// Package metavalidation holds the validation rules that many API kinds share:
// object metadata, names, label selectors and quantities. Messages and field
// paths are upstream's, so clients see the same 422 bodies.
package metavalidation

import (
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/api/validation/path"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Upstream's messages for numeric range checks.
const (
	IsNegativeErrorMsg      = "must be greater than or equal to 0"
	IsNotPositiveErrorMsg   = "must be greater than zero"
	FieldImmutableErrorMsg  = apivalidation.FieldImmutableErrorMsg
	TotalAnnotationSizeByte = apivalidation.TotalAnnotationSizeLimitB
)

// MetadataPath is the path of every object's metadata.
var MetadataPath = field.NewPath("metadata")

// ValidateObjectMetaAccessor validates a new object's metadata under
// "metadata": name (or generateName) with nameFn, namespace required for
// namespaced kinds and forbidden otherwise, labels, annotations (at most 256 KiB
// in total), owner references and finalizers.
func ValidateObjectMetaAccessor(obj metav1.Object, namespaced bool, nameFn apivalidation.ValidateNameFunc) field.ErrorList {
	return apivalidation.ValidateObjectMetaAccessor(obj, namespaced, nameFn, MetadataPath)
}

// ValidateObjectMetaAccessorUpdate validates an updated object's metadata
// against the stored one: identity fields unchanged, no new finalizers once
// deletion started, labels and annotations valid. A missing resourceVersion is
// not reported here: the store decides whether an update is conditional.
func ValidateObjectMetaAccessorUpdate(obj, old metav1.Object) field.ErrorList {
	var errs field.ErrorList
	rvPath := MetadataPath.Child("resourceVersion").String()
	for _, err := range apivalidation.ValidateObjectMetaAccessorUpdate(obj, old, MetadataPath) {
		if err.Field == rvPath && err.Type == field.ErrorTypeInvalid {
			continue
		}
		errs = append(errs, err)
	}
	return errs
}

// NameIsPathSegment accepts any name that can be a URL path segment (not "."
// or "..", no "/" or "%"): the rule for RBAC object names.
func NameIsPathSegment(name string, prefix bool) []string {
	return path.ValidatePathSegmentName(name, prefix)
}

// ValidateLabelSelector validates a label selector's keys, values and
// operators. A nil selector is valid here; callers that require one check that
// themselves.
func ValidateLabelSelector(sel *metav1.LabelSelector, fldPath *field.Path) field.ErrorList {
	return metav1validation.ValidateLabelSelector(sel, metav1validation.LabelSelectorValidationOptions{}, fldPath)
}

// ValidateLabels validates label keys and values.
func ValidateLabels(labels map[string]string, fldPath *field.Path) field.ErrorList {
	return metav1validation.ValidateLabels(labels, fldPath)
}

// ValidateDNS1123Label reports value if it is not a DNS-1123 label.
func ValidateDNS1123Label(value string, fldPath *field.Path) field.ErrorList {
	return messages(value, validation.IsDNS1123Label(value), fldPath)
}

// ValidateDNS1123Subdomain reports value if it is not a DNS-1123 subdomain.
func ValidateDNS1123Subdomain(value string, fldPath *field.Path) field.ErrorList {
	return messages(value, validation.IsDNS1123Subdomain(value), fldPath)
}

// ValidateQualifiedName reports value if it is not a qualified name
// ("prefix/name" or "name", as label keys).
func ValidateQualifiedName(value string, fldPath *field.Path) field.ErrorList {
	return messages(value, validation.IsQualifiedName(value), fldPath)
}

// ValidateNameFunc runs a name rule (such as apivalidation.NameIsDNSSubdomain)
// on a reference to another object's name.
func ValidateNameFunc(nameFn apivalidation.ValidateNameFunc, value string, fldPath *field.Path) field.ErrorList {
	return messages(value, nameFn(value, false), fldPath)
}

func messages(value string, msgs []string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range msgs {
		errs = append(errs, field.Invalid(fldPath, value, msg))
	}
	return errs
}

// ValidateNonnegativeField reports a negative integer.
func ValidateNonnegativeField(value int64, fldPath *field.Path) field.ErrorList {
	if value < 0 {
		return field.ErrorList{field.Invalid(fldPath, value, IsNegativeErrorMsg)}
	}
	return nil
}

// Count is one integer field of a status, by its JSON name.
type Count struct {
	Value int32
	Name  string
}

// ValidateNonnegativeCounts reports each count below zero, at parent.<name>.
func ValidateNonnegativeCounts(parent *field.Path, counts []Count) field.ErrorList {
	var errs field.ErrorList
	for _, c := range counts {
		errs = append(errs, ValidateNonnegativeField(int64(c.Value), parent.Child(c.Name))...)
	}
	return errs
}

// ValidatePositiveField reports an integer that is not greater than zero.
func ValidatePositiveField(value int64, fldPath *field.Path) field.ErrorList {
	if value <= 0 {
		return field.ErrorList{field.Invalid(fldPath, value, IsNotPositiveErrorMsg)}
	}
	return nil
}

// ValidateNonnegativeQuantity reports a negative quantity.
func ValidateNonnegativeQuantity(value resource.Quantity, fldPath *field.Path) field.ErrorList {
	if value.Sign() < 0 {
		return field.ErrorList{field.Invalid(fldPath, value.String(), IsNegativeErrorMsg)}
	}
	return nil
}

// ValidatePositiveQuantity reports a quantity that is not greater than zero.
func ValidatePositiveQuantity(value resource.Quantity, fldPath *field.Path) field.ErrorList {
	if value.Sign() <= 0 {
		return field.ErrorList{field.Invalid(fldPath, value.String(), IsNotPositiveErrorMsg)}
	}
	return nil
}

// ValidateImmutableField reports a change of a field that may not change,
// comparing with semantic equality (quantities by value).
func ValidateImmutableField(newVal, oldVal any, fldPath *field.Path) field.ErrorList {
	return apivalidation.ValidateImmutableField(newVal, oldVal, fldPath)
}

// ValidatePositiveIntOrPercent reports an int-or-string that is neither a
// non-negative integer nor a percentage ("25%").
func ValidatePositiveIntOrPercent(v intstr.IntOrString, fldPath *field.Path) field.ErrorList {
	switch v.Type {
	case intstr.String:
		var errs field.ErrorList
		for _, msg := range validation.IsValidPercent(v.StrVal) {
			errs = append(errs, field.Invalid(fldPath, v, msg))
		}
		return errs
	case intstr.Int:
		return ValidateNonnegativeField(int64(v.IntValue()), fldPath)
	}
	return field.ErrorList{field.Invalid(fldPath, v, "must be an integer or percentage (e.g '5%')")}
}

// IntOrPercentValue returns the number in an int-or-string and whether it was
// a percentage; a malformed percentage yields 0.
func IntOrPercentValue(v intstr.IntOrString) (int, bool) {
	if v.Type != intstr.String {
		return v.IntValue(), false
	}
	n, err := strconv.Atoi(strings.TrimSuffix(v.StrVal, "%"))
	if err != nil {
		return 0, true
	}
	return n, true
}

// IsNotMoreThan100Percent reports a percentage above 100%.
func IsNotMoreThan100Percent(v intstr.IntOrString, fldPath *field.Path) field.ErrorList {
	if n, pct := IntOrPercentValue(v); pct && n > 100 {
		return field.ErrorList{field.Invalid(fldPath, v, "must not be greater than 100%")}
	}
	return nil
}
