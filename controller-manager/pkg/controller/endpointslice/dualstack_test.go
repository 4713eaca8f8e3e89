package endpointslice

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// makeService is a Service as the apiserver stores it: clusterIPs and
// ipFamilies of one or two families.
func makeService(clusterIPs ...string) *v1.Service {
	svc := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "svc-uid"},
		Spec: v1.ServiceSpec{Selector: map[string]string{"app": "web"},
			Ports: []v1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: v1.ProtocolTCP}}},
	}
	if len(clusterIPs) > 0 {
		svc.Spec.ClusterIP, svc.Spec.ClusterIPs = clusterIPs[0], clusterIPs
	}
	for _, ip := range clusterIPs {
		if addressTypeOf(ip) == discovery.AddressTypeIPv6 {
			svc.Spec.IPFamilies = append(svc.Spec.IPFamilies, v1.IPv6Protocol)
		} else if ip != v1.ClusterIPNone {
			svc.Spec.IPFamilies = append(svc.Spec.IPFamilies, v1.IPv4Protocol)
		}
	}
	return svc
}

// podWithIPs is a ready pod with the given status.podIPs.
func podWithIPs(name string, ips ...string) *v1.Pod {
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"},
		Status: v1.PodStatus{Phase: v1.PodRunning, PodIP: ips[0],
			Conditions: []v1.PodCondition{{Type: v1.PodReady, Status: v1.ConditionTrue}}},
	}
	for _, ip := range ips {
		p.Status.PodIPs = append(p.Status.PodIPs, v1.PodIP{IP: ip})
	}
	return p
}

// summary is "TYPE:addr,addr" per slice, in order.
func summary(slices []*discovery.EndpointSlice) []string {
	var out []string
	for _, s := range slices {
		var addrs []string
		for _, e := range s.Endpoints {
			addrs = append(addrs, e.Addresses...)
		}
		out = append(out, fmt.Sprintf("%s:%v", s.AddressType, addrs))
	}
	return out
}

func TestDesiredPerAddressType(t *testing.T) {
	dualPods := []*v1.Pod{
		podWithIPs("a", "10.244.0.5", "fd00:244::5"),
		podWithIPs("b", "fd00:244::6", "10.244.0.6"),
		podWithIPs("v4only", "10.244.0.7"),
	}
	tests := []struct {
		name string
		svc  *v1.Service
		pods []*v1.Pod
		want []string
	}{
		{name: "IPv4 service lists IPv4 pod addresses", svc: makeService("10.96.0.10"), pods: dualPods,
			want: []string{"IPv4:[10.244.0.5 10.244.0.6 10.244.0.7]"}},
		{name: "IPv6 service lists IPv6 pod addresses", svc: makeService("fd00:10:96::10"), pods: dualPods,
			want: []string{"IPv6:[fd00:244::5 fd00:244::6]"}},
		{name: "dual-stack service gets a slice per family", svc: makeService("10.96.0.10", "fd00:10:96::10"), pods: dualPods,
			want: []string{"IPv4:[10.244.0.5 10.244.0.6 10.244.0.7]", "IPv6:[fd00:244::5 fd00:244::6]"}},
		{name: "IPv6-primary dual-stack service", svc: makeService("fd00:10:96::10", "10.96.0.10"), pods: dualPods,
			want: []string{"IPv4:[10.244.0.5 10.244.0.6 10.244.0.7]", "IPv6:[fd00:244::5 fd00:244::6]"}},
		{name: "dual-stack service without pods has an empty slice per family", svc: makeService("10.96.0.10", "fd00:10:96::10"),
			want: []string{"IPv4:[]", "IPv6:[]"}},
		{name: "dual-stack service with IPv4-only pods", svc: makeService("10.96.0.10", "fd00:10:96::10"),
			pods: []*v1.Pod{podWithIPs("v4only", "10.244.0.7")},
			want: []string{"IPv4:[10.244.0.7]", "IPv6:[]"}},
		{name: "headless service without families gets both", svc: makeService(v1.ClusterIPNone), pods: dualPods,
			want: []string{"IPv4:[10.244.0.5 10.244.0.6 10.244.0.7]", "IPv6:[fd00:244::5 fd00:244::6]"}},
		{name: "pod with only status.podIP", svc: makeService("fd00:10:96::10"),
			pods: []*v1.Pod{{ObjectMeta: metav1.ObjectMeta{Name: "old", Namespace: "ns"}, Status: v1.PodStatus{Phase: v1.PodRunning, PodIP: "fd00:244::9"}}},
			want: []string{"IPv6:[fd00:244::9]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Desired(tt.svc, tt.pods)
			if s := summary(got); !slices.Equal(s, tt.want) {
				t.Errorf("slices %v, want %v", s, tt.want)
			}
		})
	}
}

// newFakeController is a controller over a fake clientset that names
// slices created with generateName.
func newFakeController() (*Controller, *fake.Clientset) {
	cs := fake.NewSimpleClientset()
	n := 0
	cs.PrependReactor("create", "endpointslices", func(a k8stesting.Action) (bool, runtime.Object, error) {
		s := a.(k8stesting.CreateAction).GetObject().(*discovery.EndpointSlice)
		if s.Name == "" {
			n++
			s.Name = fmt.Sprintf("%s%05d", s.GenerateName, n)
		}
		return false, nil, nil
	})
	return &Controller{client: cs}, cs
}

func stored(t *testing.T, cs *fake.Clientset) []*discovery.EndpointSlice {
	t.Helper()
	l, err := cs.DiscoveryV1().EndpointSlices("ns").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []*discovery.EndpointSlice
	for i := range l.Items {
		out = append(out, &l.Items[i])
	}
	// "IPv4" sorts before "IPv6".
	slices.SortStableFunc(out, func(a, b *discovery.EndpointSlice) int {
		return strings.Compare(string(a.AddressType), string(b.AddressType))
	})
	return out
}

// TestReconcileFamilyChanges follows a Service upgraded to dual-stack and
// back: the IPv6 slice appears, then goes, and the IPv4 slice is kept.
func TestReconcileFamilyChanges(t *testing.T) {
	ctx := context.Background()
	c, cs := newFakeController()
	pods := []*v1.Pod{podWithIPs("a", "10.244.0.5", "fd00:244::5")}
	steps := []struct {
		name string
		svc  *v1.Service
		want []string
	}{
		{name: "single-stack", svc: makeService("10.96.0.10"), want: []string{"IPv4:[10.244.0.5]"}},
		{name: "upgraded to dual-stack", svc: makeService("10.96.0.10", "fd00:10:96::10"), want: []string{"IPv4:[10.244.0.5]", "IPv6:[fd00:244::5]"}},
		{name: "downgraded", svc: makeService("10.96.0.10"), want: []string{"IPv4:[10.244.0.5]"}},
	}
	var ipv4Slice string
	for _, st := range steps {
		if err := c.reconcile(ctx, st.svc, Desired(st.svc, pods), stored(t, cs)); err != nil {
			t.Fatalf("%s: reconcile: %v", st.name, err)
		}
		got := stored(t, cs)
		if s := summary(got); !slices.Equal(s, st.want) {
			t.Errorf("%s: stored slices %v, want %v", st.name, s, st.want)
		}
		if ipv4Slice == "" {
			ipv4Slice = got[0].Name
		} else if got[0].Name != ipv4Slice {
			t.Errorf("%s: IPv4 slice replaced: %s, was %s", st.name, got[0].Name, ipv4Slice)
		}
	}
}
