package kubernetes

import (
	"net/netip"
)

// The slim records the plugin answers from. They are built once when an
// object arrives from the API and never changed afterwards (an update
// replaces them), so readers may keep pointers without locking.

// Port is a service or endpoint port.
type Port struct {
	Name     string
	Protocol string // lower case: tcp, udp, sctp
	Port     int32
}

// Service is what DNS needs of a Service.
type Service struct {
	Name, Namespace string
	// ClusterIPs is empty for headless and ExternalName services.
	ClusterIPs   []netip.Addr
	Headless     bool
	ExternalName string
	Ports        []Port
	// PublishNotReady serves endpoints that are not ready too.
	PublishNotReady bool
}

// Endpoint is one address of an EndpointSlice.
type Endpoint struct {
	Addr     netip.Addr
	Hostname string // spec hostname (StatefulSet pods), may be empty
	PodName  string // targetRef name when it is a Pod
	Ready    bool
}

// EndpointSlice is what DNS needs of an EndpointSlice.
type EndpointSlice struct {
	Name, Namespace string
	Service         string
	Ports           []Port
	Endpoints       []Endpoint
}

// Pod is what DNS needs of a Pod.
type Pod struct {
	Name, Namespace string
	IP              netip.Addr
}

// EndpointRef is an endpoint with the service it belongs to.
type EndpointRef struct {
	Namespace, Service string
	Endpoint           Endpoint
}

// Index is what the plugin reads. The API-backed implementation keeps it
// up to date from informers; tests hand in a fake. All methods are safe for
// concurrent use and return records the caller must not modify.
type Index interface {
	// HasSynced reports whether the first full list has arrived; before
	// that, answers would be false NXDOMAINs.
	HasSynced() bool
	// Service returns the service ns/name, or nil.
	Service(ns, name string) *Service
	// EndpointSlices returns the slices of service ns/name.
	EndpointSlices(ns, service string) []*EndpointSlice
	// ServicesByIP returns the services with ip as a cluster IP.
	ServicesByIP(ip netip.Addr) []*Service
	// EndpointsByIP returns the endpoints with address ip.
	EndpointsByIP(ip netip.Addr) []EndpointRef
	// PodsByIP returns the pods with ip (empty unless pods are watched).
	PodsByIP(ip netip.Addr) []*Pod
	// NamespaceExists reports whether namespace ns exists.
	NamespaceExists(ns string) bool
	// Serial changes whenever the index does (the SOA serial).
	Serial() uint32
}
