package core

import (
	"navarch.dev/apiserver/pkg/registry/resourcetest"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func makeService(name string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{ObjectMeta: objectMeta(name), Spec: corev1.ServiceSpec{Selector: map[string]string{"app": name}, Ports: ports}}
}

func port(name string, p int32) corev1.ServicePort { return corev1.ServicePort{Name: name, Port: p} }

func TestServiceDefaults(t *testing.T) {
	tests := []struct {
		name  string
		svc   *corev1.Service
		check func(t *testing.T, s *corev1.Service)
	}{
		{name: "cluster IP service", svc: makeService("web", port("", 80)), check: func(t *testing.T, s *corev1.Service) {
			p := s.Spec.Ports[0]
			if s.Spec.Type != corev1.ServiceTypeClusterIP || s.Spec.SessionAffinity != corev1.ServiceAffinityNone ||
				p.Protocol != corev1.ProtocolTCP || p.TargetPort != intstr.FromInt32(80) ||
				*s.Spec.InternalTrafficPolicy != corev1.ServiceInternalTrafficPolicyCluster || s.Spec.ExternalTrafficPolicy != "" ||
				*s.Spec.IPFamilyPolicy != corev1.IPFamilyPolicySingleStack {
				t.Errorf("defaults not applied: %+v", s.Spec)
			}
		}},
		{name: "named target port kept", svc: func() *corev1.Service {
			s := makeService("web", port("", 80))
			s.Spec.Ports[0].TargetPort = intstr.FromString("http")
			return s
		}(), check: func(t *testing.T, s *corev1.Service) {
			if s.Spec.Ports[0].TargetPort != intstr.FromString("http") {
				t.Errorf("targetPort = %v", s.Spec.Ports[0].TargetPort)
			}
		}},
		{name: "node port service", svc: func() *corev1.Service {
			s := makeService("web", port("", 80))
			s.Spec.Type = corev1.ServiceTypeNodePort
			return s
		}(), check: func(t *testing.T, s *corev1.Service) {
			if s.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyCluster {
				t.Errorf("externalTrafficPolicy = %q", s.Spec.ExternalTrafficPolicy)
			}
		}},
		{name: "load balancer", svc: func() *corev1.Service {
			s := makeService("web", port("", 80))
			s.Spec.Type = corev1.ServiceTypeLoadBalancer
			return s
		}(), check: func(t *testing.T, s *corev1.Service) {
			if s.Spec.AllocateLoadBalancerNodePorts == nil || !*s.Spec.AllocateLoadBalancerNodePorts {
				t.Errorf("allocateLoadBalancerNodePorts = %v", s.Spec.AllocateLoadBalancerNodePorts)
			}
		}},
		{name: "client IP affinity gets a timeout", svc: func() *corev1.Service {
			s := makeService("web", port("", 80))
			s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
			return s
		}(), check: func(t *testing.T, s *corev1.Service) {
			if *s.Spec.SessionAffinityConfig.ClientIP.TimeoutSeconds != 10800 {
				t.Errorf("timeout = %d", *s.Spec.SessionAffinityConfig.ClientIP.TimeoutSeconds)
			}
		}},
		{name: "IPv6 cluster IP", svc: func() *corev1.Service {
			s := makeService("web", port("", 80))
			s.Spec.ClusterIP = "fd00::10"
			return s
		}(), check: func(t *testing.T, s *corev1.Service) {
			// The families depend on the cluster's ranges: the allocator
			// sets them.
			if len(s.Spec.ClusterIPs) != 1 || s.Spec.ClusterIPs[0] != "fd00::10" || len(s.Spec.IPFamilies) != 0 {
				t.Errorf("clusterIPs %v families %v", s.Spec.ClusterIPs, s.Spec.IPFamilies)
			}
		}},
		{name: "headless without selector", svc: func() *corev1.Service {
			s := makeService("web")
			s.Spec.Selector = nil
			s.Spec.ClusterIP = corev1.ClusterIPNone
			return s
		}(), check: func(t *testing.T, s *corev1.Service) {
			if *s.Spec.IPFamilyPolicy != corev1.IPFamilyPolicyRequireDualStack {
				t.Errorf("ipFamilyPolicy = %v", *s.Spec.IPFamilyPolicy)
			}
		}},
		{name: "external name has no IP fields", svc: &corev1.Service{ObjectMeta: objectMeta("ext"),
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "example.com"}},
			check: func(t *testing.T, s *corev1.Service) {
				if s.Spec.IPFamilyPolicy != nil || s.Spec.IPFamilies != nil || s.Spec.InternalTrafficPolicy != nil {
					t.Errorf("IP fields set: %+v", s.Spec)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if errs := resourcetest.Create(serviceStrategy, tt.svc); len(errs) > 0 {
				t.Fatalf("valid service rejected: %v", errs)
			}
			tt.check(t, tt.svc)
		})
	}
}

func TestServiceValidation(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(s *corev1.Service)
		want   []string
	}{
		{name: "valid", mutate: func(s *corev1.Service) {}},
		{name: "name must start with a letter", mutate: func(s *corev1.Service) { s.Name = "1web" },
			want: []string{"metadata.name: Invalid value"}},
		{name: "no ports", mutate: func(s *corev1.Service) { s.Spec.Ports = nil },
			want: []string{"spec.ports: Required value"}},
		{name: "headless needs no ports", mutate: func(s *corev1.Service) { s.Spec.Ports = nil; s.Spec.ClusterIP = "None" }},
		{name: "two ports need names", mutate: func(s *corev1.Service) { s.Spec.Ports = []corev1.ServicePort{port("", 80), port("", 443)} },
			want: []string{"spec.ports[0].name: Required value", "spec.ports[1].name: Required value"}},
		{name: "duplicate port names", mutate: func(s *corev1.Service) { s.Spec.Ports = []corev1.ServicePort{port("web", 80), port("web", 443)} },
			want: []string{"spec.ports[1].name: Duplicate value"}},
		{name: "duplicate port numbers", mutate: func(s *corev1.Service) { s.Spec.Ports = []corev1.ServicePort{port("a", 80), port("b", 80)} },
			want: []string{"spec.ports[1]: Duplicate value"}},
		{name: "port zero", mutate: func(s *corev1.Service) { s.Spec.Ports[0].Port = 0; s.Spec.Ports[0].TargetPort = intstr.FromInt32(80) },
			want: []string{"spec.ports[0].port: Invalid value"}},
		{name: "nodePort on ClusterIP", mutate: func(s *corev1.Service) { s.Spec.Ports[0].NodePort = 30080 },
			want: []string{"spec.ports[0].nodePort: Forbidden"}},
		{name: "nodePort on NodePort", mutate: func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeNodePort; s.Spec.Ports[0].NodePort = 30080 }},
		{name: "unknown type", mutate: func(s *corev1.Service) { s.Spec.Type = "Magic" },
			want: []string{"spec.type: Unsupported value"}},
		{name: "external name required", mutate: func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeExternalName },
			want: []string{"spec.externalName: Required value"}},
		{name: "cluster IP must be an IP", mutate: func(s *corev1.Service) { s.Spec.ClusterIP = "10.0.0.300" },
			want: []string{"spec.clusterIPs[0]: Invalid value"}},
		{name: "None on NodePort", mutate: func(s *corev1.Service) { s.Spec.ClusterIP = "None"; s.Spec.Type = corev1.ServiceTypeNodePort },
			want: []string{"spec.clusterIPs[0]: Invalid value"}},
		{name: "externalTrafficPolicy on ClusterIP", mutate: func(s *corev1.Service) { s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal },
			want: []string{"spec.externalTrafficPolicy: Invalid value"}},
		{name: "bad selector", mutate: func(s *corev1.Service) { s.Spec.Selector = map[string]string{"app": "-x"} },
			want: []string{"spec.selector: Invalid value"}},
		{name: "dual-stack cluster IPs", mutate: func(s *corev1.Service) {
			s.Spec.IPFamilyPolicy = ptrTo(corev1.IPFamilyPolicyRequireDualStack)
			s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.96.0.10", []string{"10.96.0.10", "fd00::10"}
		}},
		{name: "SingleStack with two families", mutate: func(s *corev1.Service) {
			s.Spec.IPFamilyPolicy = ptrTo(corev1.IPFamilyPolicySingleStack)
			s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}
		}, want: []string{"spec.ipFamilyPolicy: Invalid value"}},
		{name: "SingleStack with two cluster IPs", mutate: func(s *corev1.Service) {
			s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.96.0.10", []string{"10.96.0.10", "fd00::10"}
		}, want: []string{"spec.ipFamilyPolicy: Invalid value"}},
		{name: "two cluster IPs of one family", mutate: func(s *corev1.Service) {
			s.Spec.IPFamilyPolicy = ptrTo(corev1.IPFamilyPolicyPreferDualStack)
			s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.96.0.10", []string{"10.96.0.10", "10.96.0.11"}
		}, want: []string{"spec.clusterIPs: Invalid value"}},
		{name: "three cluster IPs", mutate: func(s *corev1.Service) {
			s.Spec.IPFamilyPolicy = ptrTo(corev1.IPFamilyPolicyPreferDualStack)
			s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.96.0.10", []string{"10.96.0.10", "fd00::10", "10.96.0.11"}
		}, want: []string{"spec.clusterIPs: Invalid value"}},
		{name: "cluster IP of another family than asked", mutate: func(s *corev1.Service) {
			s.Spec.ClusterIP = "fd00::10"
			s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol}
		}, want: []string{"spec.clusterIPs[0]: Invalid value"}},
		{name: "duplicate family", mutate: func(s *corev1.Service) {
			s.Spec.IPFamilyPolicy = ptrTo(corev1.IPFamilyPolicyPreferDualStack)
			s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol, corev1.IPv6Protocol}
		}, want: []string{"spec.ipFamilies[1]: Duplicate value"}},
		{name: "unknown family", mutate: func(s *corev1.Service) { s.Spec.IPFamilies = []corev1.IPFamily{"IPv5"} },
			want: []string{"spec.ipFamilies[0]: Unsupported value"}},
		{name: "unknown policy", mutate: func(s *corev1.Service) { s.Spec.IPFamilyPolicy = ptrTo(corev1.IPFamilyPolicy("DualStackMaybe")) },
			want: []string{"spec.ipFamilyPolicy: Unsupported value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := makeService("web", port("", 80))
			tt.mutate(svc)
			resourcetest.SameErrs(t, resourcetest.Create(serviceStrategy, svc), tt.want)
		})
	}
}

func TestServiceUpdate(t *testing.T) {
	allocated := func() *corev1.Service {
		s := makeService("web", port("http", 80))
		s.Spec.Type = corev1.ServiceTypeNodePort
		s.Spec.ClusterIP = "10.96.0.10"
		s.Spec.Ports[0].NodePort = 30080
		if errs := resourcetest.Create(serviceStrategy, s); len(errs) > 0 {
			t.Fatalf("create: %v", errs)
		}
		return s
	}
	tests := []struct {
		name   string
		mutate func(s *corev1.Service)
		want   []string
		check  func(t *testing.T, s *corev1.Service)
	}{
		{name: "apply without allocated values keeps them", mutate: func(s *corev1.Service) {
			s.Spec.ClusterIP, s.Spec.ClusterIPs, s.Spec.IPFamilies, s.Spec.IPFamilyPolicy = "", nil, nil, nil
			s.Spec.Ports[0].NodePort = 0
		}, check: func(t *testing.T, s *corev1.Service) {
			if s.Spec.ClusterIP != "10.96.0.10" || len(s.Spec.ClusterIPs) != 1 || s.Spec.Ports[0].NodePort != 30080 {
				t.Errorf("allocated values lost: %+v", s.Spec)
			}
		}},
		{name: "cluster IP is immutable", mutate: func(s *corev1.Service) { s.Spec.ClusterIP = "10.96.0.11"; s.Spec.ClusterIPs = nil },
			want: []string{"spec.clusterIPs[0]: Invalid value"}},
		{name: "change to ClusterIP drops node ports", mutate: func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeClusterIP
		}, check: func(t *testing.T, s *corev1.Service) {
			if s.Spec.Ports[0].NodePort != 0 || s.Spec.ExternalTrafficPolicy != "" {
				t.Errorf("node port fields kept: %+v", s.Spec)
			}
		}},
		{name: "change to ExternalName drops cluster IPs", mutate: func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeExternalName
			s.Spec.ExternalName = "example.com"
		}, check: func(t *testing.T, s *corev1.Service) {
			if s.Spec.ClusterIP != "" || s.Spec.ClusterIPs != nil || s.Spec.IPFamilies != nil || s.Spec.IPFamilyPolicy != nil {
				t.Errorf("cluster IP fields kept: %+v", s.Spec)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := allocated()
			svc := old.DeepCopy()
			tt.mutate(svc)
			resourcetest.SameErrs(t, resourcetest.Update(serviceStrategy, svc, old), tt.want)
			if tt.check != nil {
				tt.check(t, svc)
			}
		})
	}
}

// dualStack is a service as the allocator stored it on a dual-stack cluster.
func dualStack(t *testing.T) *corev1.Service {
	t.Helper()
	s := makeService("web", port("http", 80))
	s.Spec.IPFamilyPolicy = ptrTo(corev1.IPFamilyPolicyPreferDualStack)
	s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.96.0.10", []string{"10.96.0.10", "fd00::10"}
	s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}
	if errs := resourcetest.Create(serviceStrategy, s); len(errs) > 0 {
		t.Fatalf("create: %v", errs)
	}
	return s
}

func TestServiceDualStackUpdate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(s *corev1.Service)
		want   []string
		check  func(t *testing.T, s *corev1.Service)
	}{
		{name: "SingleStack releases the secondary IP and family", mutate: func(s *corev1.Service) {
			s.Spec.IPFamilyPolicy = ptrTo(corev1.IPFamilyPolicySingleStack)
		}, check: func(t *testing.T, s *corev1.Service) {
			if !sameStrings(s.Spec.ClusterIPs, []string{"10.96.0.10"}) || len(s.Spec.IPFamilies) != 1 || s.Spec.IPFamilies[0] != corev1.IPv4Protocol {
				t.Errorf("clusterIPs %v families %v, want the IPv4 ones only", s.Spec.ClusterIPs, s.Spec.IPFamilies)
			}
		}},
		{name: "apply with SingleStack only releases them too", mutate: func(s *corev1.Service) {
			s.Spec.IPFamilyPolicy = ptrTo(corev1.IPFamilyPolicySingleStack)
			s.Spec.ClusterIP, s.Spec.ClusterIPs, s.Spec.IPFamilies = "", nil, nil
		}, check: func(t *testing.T, s *corev1.Service) {
			if !sameStrings(s.Spec.ClusterIPs, []string{"10.96.0.10"}) || s.Spec.ClusterIP != "10.96.0.10" || len(s.Spec.IPFamilies) != 1 {
				t.Errorf("clusterIP %q clusterIPs %v families %v", s.Spec.ClusterIP, s.Spec.ClusterIPs, s.Spec.IPFamilies)
			}
		}},
		{name: "dropping the secondary IP needs SingleStack", mutate: func(s *corev1.Service) {
			s.Spec.ClusterIPs = s.Spec.ClusterIPs[:1]
		}, want: []string{"spec.clusterIPs[0]: Invalid value"}},
		{name: "dropping the secondary family needs SingleStack", mutate: func(s *corev1.Service) {
			s.Spec.IPFamilies = s.Spec.IPFamilies[:1]
		}, want: []string{"spec.ipFamilies: Invalid value"}},
		{name: "the primary family is immutable", mutate: func(s *corev1.Service) {
			s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol, corev1.IPv4Protocol}
		}, want: []string{
			"spec.clusterIPs[0]: Invalid value", "spec.clusterIPs[1]: Invalid value",
			"spec.ipFamilies[0]: Invalid value", "spec.ipFamilies[1]: Invalid value",
		}},
		{name: "the secondary IP is immutable", mutate: func(s *corev1.Service) {
			s.Spec.ClusterIPs[1] = "fd00::11"
		}, want: []string{"spec.clusterIPs[1]: Invalid value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := dualStack(t)
			svc := old.DeepCopy()
			tt.mutate(svc)
			resourcetest.SameErrs(t, resourcetest.Update(serviceStrategy, svc, old), tt.want)
			if tt.check != nil {
				tt.check(t, svc)
			}
		})
	}
}
