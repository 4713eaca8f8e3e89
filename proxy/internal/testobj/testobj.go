// Package testobj builds the Services and EndpointSlices tests feed the proxy.
package testobj

import (
	"strconv"

	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Service returns a ClusterIP service with the given TCP ports (named
// "p<port>"), changed by opts.
func Service(ns, name, clusterIP string, ports []int32, opts ...func(*v1.Service)) *v1.Service {
	svc := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       v1.ServiceSpec{Type: v1.ServiceTypeClusterIP, ClusterIP: clusterIP, ClusterIPs: []string{clusterIP}},
	}
	for _, p := range ports {
		svc.Spec.Ports = append(svc.Spec.Ports, v1.ServicePort{Name: "p" + strconv.Itoa(int(p)), Port: p, Protocol: v1.ProtocolTCP})
	}
	for _, o := range opts {
		o(svc)
	}
	return svc
}

// NodePort makes the service a NodePort service with these node ports, in
// port order.
func NodePort(nodePorts ...int32) func(*v1.Service) {
	return func(s *v1.Service) {
		s.Spec.Type = v1.ServiceTypeNodePort
		for i := range nodePorts {
			s.Spec.Ports[i].NodePort = nodePorts[i]
		}
	}
}

// LoadBalancer makes the service a LoadBalancer with node ports and
// ingress IPs.
func LoadBalancer(nodePort int32, ingress ...string) func(*v1.Service) {
	return func(s *v1.Service) {
		s.Spec.Type = v1.ServiceTypeLoadBalancer
		s.Spec.Ports[0].NodePort = nodePort
		for _, ip := range ingress {
			s.Status.LoadBalancer.Ingress = append(s.Status.LoadBalancer.Ingress, v1.LoadBalancerIngress{IP: ip})
		}
	}
}

// DualStack adds an IPv6 cluster IP after the IPv4 one.
func DualStack(ipv6 string) func(*v1.Service) {
	return func(s *v1.Service) {
		pol := v1.IPFamilyPolicyPreferDualStack
		s.Spec.ClusterIPs = append(s.Spec.ClusterIPs, ipv6)
		s.Spec.IPFamilies = []v1.IPFamily{v1.IPv4Protocol, v1.IPv6Protocol}
		s.Spec.IPFamilyPolicy = &pol
	}
}

// SourceRanges sets spec.loadBalancerSourceRanges.
func SourceRanges(cidrs ...string) func(*v1.Service) {
	return func(s *v1.Service) { s.Spec.LoadBalancerSourceRanges = cidrs }
}

// ExternalIPs sets spec.externalIPs.
func ExternalIPs(ips ...string) func(*v1.Service) {
	return func(s *v1.Service) { s.Spec.ExternalIPs = ips }
}

// ClientIPAffinity sets sessionAffinity ClientIP with a timeout.
func ClientIPAffinity(seconds int32) func(*v1.Service) {
	return func(s *v1.Service) {
		s.Spec.SessionAffinity = v1.ServiceAffinityClientIP
		s.Spec.SessionAffinityConfig = &v1.SessionAffinityConfig{ClientIP: &v1.ClientIPConfig{TimeoutSeconds: &seconds}}
	}
}

// ExternalLocal sets externalTrafficPolicy Local and a health check port.
func ExternalLocal(healthCheckNodePort int32) func(*v1.Service) {
	return func(s *v1.Service) {
		s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
		s.Spec.HealthCheckNodePort = healthCheckNodePort
	}
}

// InternalLocal sets internalTrafficPolicy Local.
func InternalLocal(s *v1.Service) {
	p := v1.ServiceInternalTrafficPolicyLocal
	s.Spec.InternalTrafficPolicy = &p
}

// UDP makes every port UDP.
func UDP(s *v1.Service) {
	for i := range s.Spec.Ports {
		s.Spec.Ports[i].Protocol = v1.ProtocolUDP
	}
}

// Endpoint is one endpoint of a slice.
type Endpoint struct {
	IP          string
	Node        string
	NotReady    bool
	Terminating bool
}

// Slice returns an IPv4 EndpointSlice of service svc whose endpoints all
// serve the given TCP ports (named "p<service port>") as port → target.
func Slice(ns, svc, name string, ports map[int32]int32, eps ...Endpoint) *discovery.EndpointSlice {
	es := &discovery.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{discovery.LabelServiceName: svc}},
		AddressType: discovery.AddressTypeIPv4,
	}
	for sp, tp := range ports {
		n, tp, proto := "p"+strconv.Itoa(int(sp)), tp, v1.ProtocolTCP
		es.Ports = append(es.Ports, discovery.EndpointPort{Name: &n, Port: &tp, Protocol: &proto})
	}
	for _, e := range eps {
		ready, serving, term := !e.NotReady && !e.Terminating, !e.NotReady, e.Terminating
		ep := discovery.Endpoint{Addresses: []string{e.IP}, Conditions: discovery.EndpointConditions{Ready: &ready, Serving: &serving, Terminating: &term}}
		if e.Node != "" {
			node := e.Node
			ep.NodeName = &node
		}
		es.Endpoints = append(es.Endpoints, ep)
	}
	return es
}

// Slice6 is Slice with IPv6 addresses.
func Slice6(ns, svc, name string, ports map[int32]int32, eps ...Endpoint) *discovery.EndpointSlice {
	es := Slice(ns, svc, name, ports, eps...)
	es.AddressType = discovery.AddressTypeIPv6
	return es
}

// UDPSlice is Slice with UDP ports.
func UDPSlice(ns, svc, name string, ports map[int32]int32, eps ...Endpoint) *discovery.EndpointSlice {
	es := Slice(ns, svc, name, ports, eps...)
	for i := range es.Ports {
		p := v1.ProtocolUDP
		es.Ports[i].Protocol = &p
	}
	return es
}

// UDPService is a ClusterIP service with one UDP port.
func UDPService(ns, name, clusterIP string, port int32) *v1.Service {
	return Service(ns, name, clusterIP, []int32{port}, UDP)
}
