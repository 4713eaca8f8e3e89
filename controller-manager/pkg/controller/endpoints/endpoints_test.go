package endpoints

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func makePod(name, ip string, ready bool, opts ...func(*v1.Pod)) *v1.Pod {
	status := v1.ConditionFalse
	if ready {
		status = v1.ConditionTrue
	}
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"},
		Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c",
			Ports: []v1.ContainerPort{{Name: "http", ContainerPort: 8080}}}}},
		Status: v1.PodStatus{Phase: v1.PodRunning, PodIP: ip, Conditions: []v1.PodCondition{{Type: v1.PodReady, Status: status}}},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func makeService(opts ...func(*v1.Service)) *v1.Service {
	s := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"},
		Spec: v1.ServiceSpec{Selector: map[string]string{"app": "web"},
			Ports: []v1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), Protocol: v1.ProtocolTCP}}},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// dualStack gives a pod a second address: podIPs lists podIP, then ip.
func dualStack(ip string) func(*v1.Pod) {
	return func(p *v1.Pod) {
		p.Status.PodIPs = []v1.PodIP{{IP: p.Status.PodIP}, {IP: ip}}
	}
}

func ips(a []v1.EndpointAddress) []string {
	var out []string
	for _, x := range a {
		out = append(out, x.IP)
	}
	return out
}

func TestSubsets(t *testing.T) {
	tests := []struct {
		name         string
		svc          *v1.Service
		pods         []*v1.Pod
		wantReady    []string
		wantNotReady []string
		wantPort     int32
		wantSubsets  int
	}{
		{name: "ready and not ready", svc: makeService(),
			pods:      []*v1.Pod{makePod("a", "10.0.0.2", true), makePod("b", "10.0.0.1", false)},
			wantReady: []string{"10.0.0.2"}, wantNotReady: []string{"10.0.0.1"}, wantPort: 8080, wantSubsets: 1},
		{name: "publishNotReadyAddresses lists all as ready",
			svc:  makeService(func(s *v1.Service) { s.Spec.PublishNotReadyAddresses = true }),
			pods: []*v1.Pod{makePod("a", "10.0.0.2", true), makePod("b", "10.0.0.1", false)}, wantReady: []string{"10.0.0.1", "10.0.0.2"},
			wantPort: 8080, wantSubsets: 1},
		{name: "pods without IP, finished or terminating are left out", svc: makeService(),
			pods: []*v1.Pod{makePod("noip", "", true), makePod("done", "10.0.0.3", true, func(p *v1.Pod) { p.Status.Phase = v1.PodSucceeded }),
				makePod("going", "10.0.0.4", true, func(p *v1.Pod) { now := metav1.Now(); p.DeletionTimestamp = &now })},
			wantSubsets: 0},
		{name: "numeric target port", svc: makeService(func(s *v1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromInt32(9090) }),
			pods: []*v1.Pod{makePod("a", "10.0.0.1", true)}, wantReady: []string{"10.0.0.1"}, wantPort: 9090, wantSubsets: 1},
		{name: "a pod without the named port is skipped",
			svc:  makeService(func(s *v1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromString("grpc") }),
			pods: []*v1.Pod{makePod("a", "10.0.0.1", true)}, wantSubsets: 0},
		{name: "a dual-stack pod backs an IPv6 Service with its IPv6 address",
			svc:       makeService(func(s *v1.Service) { s.Spec.IPFamilies = []v1.IPFamily{v1.IPv6Protocol, v1.IPv4Protocol} }),
			pods:      []*v1.Pod{makePod("a", "10.0.0.1", true, dualStack("fd00::1")), makePod("v4only", "10.0.0.2", true)},
			wantReady: []string{"fd00::1"}, wantPort: 8080, wantSubsets: 1},
		{name: "a dual-stack pod backs an IPv4 Service with its IPv4 address",
			svc:       makeService(func(s *v1.Service) { s.Spec.ClusterIP = "10.96.0.9" }),
			pods:      []*v1.Pod{makePod("a", "10.0.0.1", true, dualStack("fd00::1"))},
			wantReady: []string{"10.0.0.1"}, wantPort: 8080, wantSubsets: 1},
		{name: "headless without ports lists bare addresses",
			svc:  makeService(func(s *v1.Service) { s.Spec.ClusterIP = v1.ClusterIPNone; s.Spec.Ports = nil }),
			pods: []*v1.Pod{makePod("a", "10.0.0.1", true)}, wantReady: []string{"10.0.0.1"}, wantSubsets: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Subsets(tt.svc, tt.pods)
			if len(got) != tt.wantSubsets {
				t.Fatalf("subsets = %+v, want %d", got, tt.wantSubsets)
			}
			if len(got) == 0 {
				return
			}
			if g := ips(got[0].Addresses); len(g) != len(tt.wantReady) || (len(g) > 0 && g[0] != tt.wantReady[0]) {
				t.Errorf("addresses = %v, want %v", g, tt.wantReady)
			}
			if g := ips(got[0].NotReadyAddresses); len(g) != len(tt.wantNotReady) {
				t.Errorf("notReadyAddresses = %v, want %v", g, tt.wantNotReady)
			}
			if tt.wantPort != 0 && (len(got[0].Ports) != 1 || got[0].Ports[0].Port != tt.wantPort) {
				t.Errorf("ports = %+v, want %d", got[0].Ports, tt.wantPort)
			}
		})
	}
}
