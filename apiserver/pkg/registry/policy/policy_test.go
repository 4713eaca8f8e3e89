package policy

import (
	"navarch.dev/apiserver/pkg/registry/resourcetest"
	"testing"

	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestPodDisruptionBudgets(t *testing.T) {
	v := func(s intstr.IntOrString) *intstr.IntOrString { return &s }
	tests := []struct {
		name string
		spec policyv1.PodDisruptionBudgetSpec
		want []string
	}{
		{name: "minAvailable", spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: v(intstr.FromInt32(2))}},
		{name: "maxUnavailable percent", spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: v(intstr.FromString("50%"))}},
		{name: "both", spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: v(intstr.FromInt32(1)), MaxUnavailable: v(intstr.FromInt32(1))},
			want: []string{"spec: Invalid value"}},
		{name: "negative", spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: v(intstr.FromInt32(-1))},
			want: []string{"spec.minAvailable: Invalid value"}},
		{name: "over 100 percent", spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: v(intstr.FromString("120%"))},
			want: []string{"spec.maxUnavailable: Invalid value"}},
		{name: "bad selector", spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: v(intstr.FromInt32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"a": "-"}}}, want: []string{"spec.selector.matchLabels: Invalid value"}},
		{name: "eviction policy", spec: policyv1.PodDisruptionBudgetSpec{UnhealthyPodEvictionPolicy: func() *policyv1.UnhealthyPodEvictionPolicyType {
			p := policyv1.UnhealthyPodEvictionPolicyType("Never")
			return &p
		}()}, want: []string{"spec.unhealthyPodEvictionPolicy: Unsupported value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pdb := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}, Spec: tt.spec}
			resourcetest.SameErrs(t, resourcetest.Create(pdbStrategy, pdb), tt.want)
		})
	}
	t.Run("status counters", func(t *testing.T) {
		old := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}}
		pdb := old.DeepCopy()
		pdb.Status.DisruptionsAllowed = -1
		resourcetest.SameErrs(t, pdbStrategy.ValidateStatusUpdate(pdb, old), []string{"status.disruptionsAllowed: Invalid value"})
	})
}
