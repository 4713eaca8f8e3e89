// Package servicemap keeps the proxy's view of Services and EndpointSlices as
// slim, immutable structs, converted on arrival from the API objects and
// indexed by service name and by virtual IP, and tracks which services
// changed since the last sync so a proxier can rewrite only their rules.
package servicemap

import (
	"net"
	"strconv"

	v1 "k8s.io/api/core/v1"
)

// ServiceName identifies a Service.
type ServiceName struct {
	Namespace, Name string
}

func (n ServiceName) String() string { return n.Namespace + "/" + n.Name }

// ServicePortName identifies one port of a Service, as upstream's
// proxy.ServicePortName does: "ns/name:port", or "ns/name" for an unnamed port.
type ServicePortName struct {
	ServiceName
	Port     string
	Protocol v1.Protocol
}

func (n ServicePortName) String() string {
	if n.Port == "" {
		return n.ServiceName.String()
	}
	return n.ServiceName.String() + ":" + n.Port
}

// ServicePort is everything the proxy needs to know about one Service port
// together with its endpoints. Values handed out by a Tracker are never
// modified afterwards; a change replaces the whole Service.
type ServicePort struct {
	Name      ServicePortName
	ClusterIP string // of the tracker's IP family
	Port      int32
	Protocol  v1.Protocol
	NodePort  int32
	// ExternalIPs and LoadBalancerIPs are the spec's externalIPs and the
	// IPs in status.loadBalancer.ingress.
	ExternalIPs     []string
	LoadBalancerIPs []string
	// LoadBalancerSourceRanges are the CIDRs allowed to reach the load
	// balancer IPs (spec.loadBalancerSourceRanges, else the
	// service.beta.kubernetes.io/load-balancer-source-ranges annotation);
	// empty allows every source.
	LoadBalancerSourceRanges []string
	// AffinityTimeout is the ClientIP session affinity timeout in seconds;
	// 0 means no session affinity.
	AffinityTimeout int32
	// InternalLocal and ExternalLocal are internalTrafficPolicy and
	// externalTrafficPolicy set to Local.
	InternalLocal bool
	ExternalLocal bool
	// HealthCheckNodePort is set for LoadBalancer services with
	// externalTrafficPolicy Local.
	HealthCheckNodePort int32
	// Endpoints are the endpoints of this port from every EndpointSlice of
	// the service, sorted by IP and port, without duplicates.
	Endpoints []Endpoint
}

// HasExternal reports whether the port is reachable from outside the
// cluster network: by NodePort, external IP or load balancer IP.
func (p *ServicePort) HasExternal() bool {
	return p.NodePort != 0 || len(p.ExternalIPs) > 0 || len(p.LoadBalancerIPs) > 0
}

// Endpoint is one backend of a service port.
type Endpoint struct {
	IP   string
	Port int32
	// Ready, Serving and Terminating are the EndpointSlice conditions (nil
	// Ready or Serving counts as true, as upstream reads them).
	Ready, Serving, Terminating bool
	// Local is true when the endpoint runs on this node.
	Local bool
}

// String is "ip:port" ("[ip]:port" for IPv6), the form used in rule
// comments, chain hashes and DNAT targets.
func (e Endpoint) String() string { return net.JoinHostPort(e.IP, strconv.Itoa(int(e.Port))) }

// Service is a Service with its ports, sorted by port name then protocol.
type Service struct {
	Name  ServiceName
	Ports []*ServicePort
}
