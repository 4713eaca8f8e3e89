package endpointslice

import (
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func makePod(i int, ready bool) *v1.Pod {
	status := v1.ConditionFalse
	if ready {
		status = v1.ConditionTrue
	}
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%d", i), Namespace: "ns"},
		Status: v1.PodStatus{Phase: v1.PodRunning, PodIP: fmt.Sprintf("10.0.%d.%d", i/250, i%250+1),
			Conditions: []v1.PodCondition{{Type: v1.PodReady, Status: status}}},
	}
}

func TestDesired(t *testing.T) {
	svc := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "svc-uid"},
		Spec: v1.ServiceSpec{Selector: map[string]string{"app": "web"},
			ClusterIP: "10.96.0.10", ClusterIPs: []string{"10.96.0.10"}, IPFamilies: []v1.IPFamily{v1.IPv4Protocol},
			Ports: []v1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: v1.ProtocolTCP}}},
	}
	terminating := makePod(1, true)
	now := metav1.Now()
	terminating.DeletionTimestamp = &now
	many := make([]*v1.Pod, 250)
	for i := range many {
		many[i] = makePod(i, true)
	}
	tests := []struct {
		name       string
		pods       []*v1.Pod
		wantSlices int
		check      func(t *testing.T, s []*discovery.EndpointSlice)
	}{
		{name: "no pods keeps one empty slice", wantSlices: 1},
		{name: "ready, not ready and terminating conditions", pods: []*v1.Pod{makePod(0, true), terminating, makePod(2, false)}, wantSlices: 1,
			check: func(t *testing.T, s []*discovery.EndpointSlice) {
				eps := s[0].Endpoints
				want := []struct{ ready, serving, terminating bool }{{true, true, false}, {false, true, true}, {false, false, false}}
				for i, w := range want {
					c := eps[i].Conditions
					if *c.Ready != w.ready || *c.Serving != w.serving || *c.Terminating != w.terminating {
						t.Errorf("endpoint %s conditions = %v/%v/%v, want %+v", eps[i].Addresses[0], *c.Ready, *c.Serving, *c.Terminating, w)
					}
				}
			}},
		{name: "at most 100 endpoints per slice", pods: many, wantSlices: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Desired(svc, tt.pods)
			if len(got) != tt.wantSlices {
				t.Fatalf("%d slices, want %d", len(got), tt.wantSlices)
			}
			for _, s := range got {
				if s.Labels[discovery.LabelServiceName] != "web" || s.Labels[discovery.LabelManagedBy] != ManagedBy {
					t.Errorf("labels = %v", s.Labels)
				}
				if ref := metav1.GetControllerOf(s); ref == nil || ref.UID != "svc-uid" {
					t.Errorf("owner = %+v", s.OwnerReferences)
				}
			}
			if tt.check != nil {
				tt.check(t, got)
			}
		})
	}
}
