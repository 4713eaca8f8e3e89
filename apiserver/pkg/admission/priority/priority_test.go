package priority

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"navarch.dev/apiserver/pkg/registry"
	"navarch.dev/apiserver/pkg/registry/core"
	"navarch.dev/apiserver/pkg/registry/scheduling"
)

type classes []*schedulingv1.PriorityClass

func (c classes) PriorityClass(_ context.Context, name string) (*schedulingv1.PriorityClass, error) {
	for _, pc := range c {
		if pc.Name == name {
			return pc, nil
		}
	}
	return nil, nil
}

func (c classes) PriorityClasses(context.Context) ([]*schedulingv1.PriorityClass, error) {
	return c, nil
}

func class(name string, value int32, def bool, policy corev1.PreemptionPolicy) *schedulingv1.PriorityClass {
	pc := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Value: value, GlobalDefault: def}
	if policy != "" {
		pc.PreemptionPolicy = &policy
	}
	return pc
}

func resource(plural string) *registry.Resource {
	for _, r := range append(core.Resources(), scheduling.Resources()...) {
		if r.Plural == plural {
			return r
		}
	}
	panic(plural)
}

func TestPods(t *testing.T) {
	i32 := func(v int32) *int32 { return &v }
	tests := []struct {
		name       string
		classes    classes
		className  string
		priority   *int32
		wantErr    string
		wantClass  string
		wantValue  int32
		wantPolicy corev1.PreemptionPolicy
	}{
		{name: "custom class", classes: classes{class("high", 1000, false, "")}, className: "high", wantClass: "high", wantValue: 1000, wantPolicy: corev1.PreemptLowerPriority},
		{name: "class with Never", classes: classes{class("batch", 5, false, corev1.PreemptNever)}, className: "batch", wantClass: "batch", wantValue: 5, wantPolicy: corev1.PreemptNever},
		{name: "missing class", className: "nope", wantErr: "no PriorityClass with name nope was found"},
		{name: "global default", classes: classes{class("default", 7, true, "")}, priority: i32(0), wantClass: "default", wantValue: 7, wantPolicy: corev1.PreemptLowerPriority},
		{name: "no default: priority stays 0", priority: i32(0), wantValue: 0},
		{name: "explicit mismatching value", classes: classes{class("high", 1000, false, "")}, className: "high", priority: i32(3), wantErr: "must not be provided"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Plugin{Classes: tt.classes}
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"}, Spec: corev1.PodSpec{PriorityClassName: tt.className, Priority: tt.priority}}
			err := p.Admit(context.Background(), &registry.AdmissionAttributes{Operation: "CREATE", Resource: resource("pods"), Object: pod})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if pod.Spec.PriorityClassName != tt.wantClass || pod.Spec.Priority == nil || *pod.Spec.Priority != tt.wantValue {
				t.Errorf("class %q priority %v, want %q %d", pod.Spec.PriorityClassName, pod.Spec.Priority, tt.wantClass, tt.wantValue)
			}
			if tt.wantPolicy != "" && (pod.Spec.PreemptionPolicy == nil || *pod.Spec.PreemptionPolicy != tt.wantPolicy) {
				t.Errorf("preemptionPolicy %v, want %s", pod.Spec.PreemptionPolicy, tt.wantPolicy)
			}
		})
	}
}

func TestOneGlobalDefault(t *testing.T) {
	p := &Plugin{Classes: classes{class("a", 1, true, "")}}
	err := p.Admit(context.Background(), &registry.AdmissionAttributes{Operation: "CREATE", Resource: resource("priorityclasses"), Object: class("b", 2, true, "")})
	if err == nil || !strings.Contains(err.Error(), "PriorityClass a is already marked as default") {
		t.Errorf("second default: %v", err)
	}
	if err := p.Admit(context.Background(), &registry.AdmissionAttributes{Operation: "UPDATE", Resource: resource("priorityclasses"), Object: class("a", 1, true, "")}); err != nil {
		t.Errorf("updating the default itself: %v", err)
	}
}
