package metavalidation

import (
	"fmt"
	"strings"
	"testing"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func errStrings(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, fmt.Sprintf("%s: %s", e.Field, e.Type))
	}
	return out
}

func sameErrs(t *testing.T, errs field.ErrorList, want []string) {
	t.Helper()
	got := errStrings(errs)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n got %q\nwant %q\nfull: %v", got, want, errs)
	}
}

func TestValidateObjectMetaAccessor(t *testing.T) {
	big := strings.Repeat("x", TotalAnnotationSizeByte)
	tests := []struct {
		name       string
		meta       metav1.ObjectMeta
		namespaced bool
		nameFn     apivalidation.ValidateNameFunc
		want       []string
	}{
		{name: "valid namespaced", meta: metav1.ObjectMeta{Name: "web-1", Namespace: "default"}, namespaced: true, nameFn: apivalidation.NameIsDNSSubdomain},
		{name: "missing name", meta: metav1.ObjectMeta{Namespace: "default"}, namespaced: true, nameFn: apivalidation.NameIsDNSSubdomain,
			want: []string{"metadata.name: Required value"}},
		{name: "upper-case name", meta: metav1.ObjectMeta{Name: "Web", Namespace: "default"}, namespaced: true, nameFn: apivalidation.NameIsDNSSubdomain,
			want: []string{"metadata.name: Invalid value"}},
		{name: "dotted name is not a label", meta: metav1.ObjectMeta{Name: "a.b"}, nameFn: apivalidation.ValidateNamespaceName,
			want: []string{"metadata.name: Invalid value"}},
		{name: "missing namespace", meta: metav1.ObjectMeta{Name: "a"}, namespaced: true, nameFn: apivalidation.NameIsDNSSubdomain,
			want: []string{"metadata.namespace: Required value"}},
		{name: "namespace on cluster-scoped kind", meta: metav1.ObjectMeta{Name: "a", Namespace: "default"}, nameFn: apivalidation.NameIsDNSSubdomain,
			want: []string{"metadata.namespace: Forbidden"}},
		{name: "invalid label key and value", meta: metav1.ObjectMeta{Name: "a", Labels: map[string]string{"a b": "ok"}}, nameFn: apivalidation.NameIsDNSSubdomain,
			want: []string{"metadata.labels: Invalid value"}},
		{name: "annotations over 256KiB", meta: metav1.ObjectMeta{Name: "a", Annotations: map[string]string{"k": big}}, nameFn: apivalidation.NameIsDNSSubdomain,
			want: []string{"metadata.annotations: Too long"}},
		{name: "annotations exactly 256KiB", meta: metav1.ObjectMeta{Name: "a", Annotations: map[string]string{"k": big[1:]}}, nameFn: apivalidation.NameIsDNSSubdomain},
		{name: "path segment name with colon", meta: metav1.ObjectMeta{Name: "system:controller:x"}, nameFn: NameIsPathSegment},
		{name: "path segment name with slash", meta: metav1.ObjectMeta{Name: "a/b"}, nameFn: NameIsPathSegment,
			want: []string{"metadata.name: Invalid value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sameErrs(t, ValidateObjectMetaAccessor(&tt.meta, tt.namespaced, tt.nameFn), tt.want)
		})
	}
}

func TestValidateObjectMetaAccessorUpdate(t *testing.T) {
	deleting := metav1.Now()
	tests := []struct {
		name     string
		obj, old metav1.ObjectMeta
		want     []string
	}{
		{name: "no resourceVersion is left to the store", obj: metav1.ObjectMeta{Name: "a"}, old: metav1.ObjectMeta{Name: "a", ResourceVersion: "5"}},
		{name: "name change", obj: metav1.ObjectMeta{Name: "b"}, old: metav1.ObjectMeta{Name: "a"},
			want: []string{"metadata.name: Invalid value"}},
		{name: "new finalizer while deleting", obj: metav1.ObjectMeta{Name: "a", DeletionTimestamp: &deleting, Finalizers: []string{"x.io/f"}},
			old:  metav1.ObjectMeta{Name: "a", DeletionTimestamp: &deleting},
			want: []string{"metadata.finalizers: Forbidden"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sameErrs(t, ValidateObjectMetaAccessorUpdate(&tt.obj, &tt.old), tt.want)
		})
	}
}

func TestValidateLabelSelector(t *testing.T) {
	tests := []struct {
		name string
		sel  *metav1.LabelSelector
		want []string
	}{
		{name: "nil", sel: nil},
		{name: "valid", sel: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"},
			MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"a"}}}}},
		{name: "bad operator", sel: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: "Near"}}},
			want: []string{"spec.selector.matchExpressions[0].operator: Invalid value"}},
		{name: "In without values", sel: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn}}},
			want: []string{"spec.selector.matchExpressions[0].values: Required value"}},
		{name: "bad label value", sel: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "-web"}},
			want: []string{"spec.selector.matchLabels: Invalid value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sameErrs(t, ValidateLabelSelector(tt.sel, field.NewPath("spec", "selector")), tt.want)
		})
	}
}

func TestIntOrPercent(t *testing.T) {
	tests := []struct {
		name string
		v    intstr.IntOrString
		want []string
	}{
		{name: "int", v: intstr.FromInt32(3)},
		{name: "percent", v: intstr.FromString("25%")},
		{name: "100 percent", v: intstr.FromString("100%")},
		{name: "negative int", v: intstr.FromInt32(-1), want: []string{"f: Invalid value"}},
		{name: "not a percent", v: intstr.FromString("25"), want: []string{"f: Invalid value"}},
		{name: "over 100 percent", v: intstr.FromString("150%"), want: []string{"f: Invalid value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := field.NewPath("f")
			errs := append(ValidatePositiveIntOrPercent(tt.v, p), IsNotMoreThan100Percent(tt.v, p)...)
			sameErrs(t, errs, tt.want)
		})
	}
}
