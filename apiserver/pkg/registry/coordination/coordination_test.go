package coordination

import (
	"navarch.dev/apiserver/pkg/registry/resourcetest"
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestLeases(t *testing.T) {
	i32 := func(v int32) *int32 { return &v }
	holder := "node-1"
	tests := []struct {
		name string
		spec coordinationv1.LeaseSpec
		want []string
	}{
		{name: "valid", spec: coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: i32(40), LeaseTransitions: i32(0)}},
		{name: "zero duration", spec: coordinationv1.LeaseSpec{LeaseDurationSeconds: i32(0)}, want: []string{"spec.leaseDurationSeconds: Invalid value"}},
		{name: "negative transitions", spec: coordinationv1.LeaseSpec{LeaseTransitions: i32(-1)}, want: []string{"spec.leaseTransitions: Invalid value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "node-1", Namespace: "kube-node-lease"}, Spec: tt.spec}
			resourcetest.SameErrs(t, resourcetest.Create(leaseStrategy, l), tt.want)
		})
	}
}
