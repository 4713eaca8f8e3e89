package scheduling

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"navarch.dev/apiserver/pkg/registry/resourcetest"
)

func class(name string, value int32) *schedulingv1.PriorityClass {
	return &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Value: value}
}

func TestPriorityClasses(t *testing.T) {
	never := corev1.PreemptNever
	bogus := corev1.PreemptionPolicy("Sometimes")
	tests := []struct {
		name string
		pc   *schedulingv1.PriorityClass
		want []string
	}{
		{name: "valid", pc: class("high", 1000)},
		{name: "negative is fine", pc: class("low", -10)},
		{name: "highest user value", pc: class("top", HighestUserDefinablePriority)},
		{name: "above user range", pc: class("too-high", HighestUserDefinablePriority+1), want: []string{"value: Forbidden"}},
		{name: "reserved prefix", pc: class("system-mine", 10), want: []string{"metadata.name: Forbidden"}},
		{name: "system class with its value", pc: class(SystemNodeCritical, 2000001000)},
		{name: "system class with another value", pc: class(SystemClusterCritical, 5), want: []string{"metadata.name: Forbidden"}},
		{name: "preemption Never", pc: func() *schedulingv1.PriorityClass { c := class("batch", 1); c.PreemptionPolicy = &never; return c }()},
		{name: "unknown preemption policy", pc: func() *schedulingv1.PriorityClass { c := class("batch", 1); c.PreemptionPolicy = &bogus; return c }(), want: []string{"preemptionPolicy: Unsupported value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resourcetest.SameErrs(t, resourcetest.Create(priorityClassStrategy, tt.pc), tt.want)
		})
	}
}

func TestValueImmutable(t *testing.T) {
	old := class("high", 1000)
	priorityClassStrategy.Default(old)
	changed := old.DeepCopy()
	changed.Value = 2000
	resourcetest.SameErrs(t, resourcetest.Update(priorityClassStrategy, changed, old), []string{"value: Forbidden"})
	desc := old.DeepCopy()
	desc.Description = "new"
	resourcetest.SameErrs(t, resourcetest.Update(priorityClassStrategy, desc, old), nil)
}

func TestSystemClasses(t *testing.T) {
	for _, pc := range SystemPriorityClasses() {
		resourcetest.SameErrs(t, resourcetest.Create(priorityClassStrategy, pc), nil)
	}
}
