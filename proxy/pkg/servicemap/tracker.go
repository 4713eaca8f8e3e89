package servicemap

import (
	"cmp"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"sync"

	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
)

// Tracker turns Service and EndpointSlice events into slim Services and
// remembers which services changed. Event handlers call the On* methods; the
// proxier's sync loop calls Snapshot. All methods are safe for concurrent use.
type Tracker struct {
	hostname string
	family   v1.IPFamily

	mu       sync.Mutex
	specs    map[ServiceName]*serviceSpec
	slices   map[ServiceName]map[string]*slimSlice // service → slice name → slice
	sliceSvc map[ServiceName]ServiceName           // slice → the service it belonged to
	services map[ServiceName]*Service
	byIP     map[string]ServiceName
	changed  map[ServiceName]struct{}
}

// NewTracker returns an empty Tracker of IPv4 services for the node named
// hostname, which decides which endpoints are local.
func NewTracker(hostname string) *Tracker { return NewFamilyTracker(hostname, v1.IPv4Protocol) }

// NewFamilyTracker returns an empty Tracker of one IP family: it keeps a
// service's cluster IP of that family (a dual-stack service has one of
// each), the external and load balancer IPs, source ranges and
// EndpointSlices of that family, and ignores services without a cluster IP
// of it. A dual-stack node runs one per family.
func NewFamilyTracker(hostname string, family v1.IPFamily) *Tracker {
	return &Tracker{
		hostname: hostname,
		family:   family,
		specs:    map[ServiceName]*serviceSpec{},
		slices:   map[ServiceName]map[string]*slimSlice{},
		sliceSvc: map[ServiceName]ServiceName{},
		services: map[ServiceName]*Service{},
		byIP:     map[string]ServiceName{},
		changed:  map[ServiceName]struct{}{},
	}
}

// ofFamily reports whether a belongs to the tracker's family.
func (t *Tracker) ofFamily(a netip.Addr) bool {
	if t.family == v1.IPv6Protocol {
		return a.Is6() && !a.Is4In6()
	}
	return a.Is4() || a.Is4In6()
}

// addr parses s and returns it in canonical form if it is of the family.
func (t *Tracker) addr(s string) (string, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || !t.ofFamily(a) {
		return "", false
	}
	return a.Unmap().String(), true
}

// serviceSpec is the part of a v1.Service the proxy reads.
type serviceSpec struct {
	clusterIP       string
	ports           []v1.ServicePort
	externalIPs     []string
	lbIPs           []string
	sourceRanges    []string
	affinityTimeout int32
	internalLocal   bool
	externalLocal   bool
	healthCheckPort int32
}

type slimSlice struct {
	ports     []slicePort
	endpoints []sliceEndpoint
}

type slicePort struct {
	name     string
	protocol v1.Protocol
	port     int32
}

type sliceEndpoint struct {
	ip                          string
	ready, serving, terminating bool
	local                       bool
}

// Snapshot is a consistent view of every proxied service.
type Snapshot struct {
	// Services holds every service that has a cluster IP, by name.
	Services map[ServiceName]*Service
	// Changed names the services added, removed or changed (spec or
	// endpoints) since the previous Snapshot.
	Changed map[ServiceName]struct{}
}

// Snapshot returns the current services and the names changed since the
// last call, and starts a new change set. The Services values are immutable.
func (t *Tracker) Snapshot() Snapshot {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := Snapshot{Services: make(map[ServiceName]*Service, len(t.services)), Changed: t.changed}
	for k, v := range t.services {
		s.Services[k] = v
	}
	t.changed = map[ServiceName]struct{}{}
	return s
}

// HasChanges reports whether anything changed since the last Snapshot.
func (t *Tracker) HasChanges() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.changed) > 0
}

// ServiceByIP returns the service whose cluster IP is ip.
func (t *Tracker) ServiceByIP(ip string) (*Service, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	name, ok := t.byIP[ip]
	if !ok {
		return nil, false
	}
	svc, ok := t.services[name]
	return svc, ok
}

// OnServiceUpdate records the current state of svc (added or updated).
func (t *Tracker) OnServiceUpdate(svc *v1.Service) {
	name := ServiceName{svc.Namespace, svc.Name}
	spec := t.convertService(svc)
	t.mu.Lock()
	defer t.mu.Unlock()
	if spec == nil {
		delete(t.specs, name)
	} else {
		t.specs[name] = spec
	}
	t.rebuildLocked(name)
}

// OnServiceDelete forgets svc.
func (t *Tracker) OnServiceDelete(svc *v1.Service) {
	name := ServiceName{svc.Namespace, svc.Name}
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.specs, name)
	t.rebuildLocked(name)
}

// OnEndpointSliceUpdate records the current state of es (added or updated).
func (t *Tracker) OnEndpointSliceUpdate(es *discovery.EndpointSlice) {
	key := ServiceName{es.Namespace, es.Name}
	svcName, ok := es.Labels[discovery.LabelServiceName]
	t.mu.Lock()
	defer t.mu.Unlock()
	if old, had := t.sliceSvc[key]; had && (!ok || old.Name != svcName) {
		t.removeSliceLocked(key, old)
	}
	want := discovery.AddressTypeIPv4
	if t.family == v1.IPv6Protocol {
		want = discovery.AddressTypeIPv6
	}
	if !ok || es.AddressType != want {
		return
	}
	svc := ServiceName{es.Namespace, svcName}
	m := t.slices[svc]
	if m == nil {
		m = map[string]*slimSlice{}
		t.slices[svc] = m
	}
	m[es.Name] = t.convertSlice(es)
	t.sliceSvc[key] = svc
	t.rebuildLocked(svc)
}

// OnEndpointSliceDelete forgets es.
func (t *Tracker) OnEndpointSliceDelete(es *discovery.EndpointSlice) {
	key := ServiceName{es.Namespace, es.Name}
	t.mu.Lock()
	defer t.mu.Unlock()
	if svc, ok := t.sliceSvc[key]; ok {
		t.removeSliceLocked(key, svc)
	}
}

func (t *Tracker) removeSliceLocked(key, svc ServiceName) {
	delete(t.sliceSvc, key)
	if m := t.slices[svc]; m != nil {
		delete(m, key.Name)
		if len(m) == 0 {
			delete(t.slices, svc)
		}
	}
	t.rebuildLocked(svc)
}

// rebuildLocked recomputes the slim Service name from its spec and slices
// and marks it changed when the result differs from what was there.
func (t *Tracker) rebuildLocked(name ServiceName) {
	old := t.services[name]
	var svc *Service
	if spec := t.specs[name]; spec != nil {
		svc = buildService(name, spec, t.slices[name])
	}
	if svc == nil && old == nil {
		return
	}
	if svc != nil && old != nil && reflect.DeepEqual(svc, old) {
		return
	}
	if old != nil {
		delete(t.byIP, old.Ports[0].ClusterIP)
		delete(t.services, name)
	}
	if svc != nil {
		t.services[name] = svc
		t.byIP[svc.Ports[0].ClusterIP] = name
	}
	t.changed[name] = struct{}{}
}

// convertService returns nil for services the proxy does not handle:
// headless, ExternalName, port-less ones and those without a cluster IP of
// the tracker's family.
func (t *Tracker) convertService(svc *v1.Service) *serviceSpec {
	if svc.Spec.Type == v1.ServiceTypeExternalName || len(svc.Spec.Ports) == 0 {
		return nil
	}
	ips := svc.Spec.ClusterIPs
	if len(ips) == 0 {
		ips = []string{svc.Spec.ClusterIP}
	}
	clusterIP := ""
	for _, c := range ips {
		if a, ok := t.addr(c); ok {
			clusterIP = a
			break
		}
	}
	if clusterIP == "" {
		return nil
	}
	s := &serviceSpec{
		clusterIP:     clusterIP,
		ports:         slices.Clone(svc.Spec.Ports),
		internalLocal: svc.Spec.InternalTrafficPolicy != nil && *svc.Spec.InternalTrafficPolicy == v1.ServiceInternalTrafficPolicyLocal,
	}
	for _, e := range svc.Spec.ExternalIPs {
		if a, ok := t.addr(e); ok {
			s.externalIPs = append(s.externalIPs, a)
		}
	}
	if svc.Spec.Type == v1.ServiceTypeLoadBalancer {
		for _, ing := range svc.Status.LoadBalancer.Ingress {
			if a, ok := t.addr(ing.IP); ok {
				s.lbIPs = append(s.lbIPs, a)
			}
		}
		s.sourceRanges = t.sourceRanges(svc)
	}
	external := svc.Spec.Type == v1.ServiceTypeNodePort || svc.Spec.Type == v1.ServiceTypeLoadBalancer || len(s.externalIPs) > 0
	s.externalLocal = external && svc.Spec.ExternalTrafficPolicy == v1.ServiceExternalTrafficPolicyLocal
	if s.externalLocal {
		s.healthCheckPort = svc.Spec.HealthCheckNodePort
	}
	if svc.Spec.SessionAffinity == v1.ServiceAffinityClientIP {
		s.affinityTimeout = v1.DefaultClientIPServiceAffinitySeconds
		if c := svc.Spec.SessionAffinityConfig; c != nil && c.ClientIP != nil && c.ClientIP.TimeoutSeconds != nil {
			s.affinityTimeout = *c.ClientIP.TimeoutSeconds
		}
	}
	return s
}

// sourceAnnotation is the older way to set loadBalancerSourceRanges, still
// honoured upstream when the field is empty.
const sourceAnnotation = "service.beta.kubernetes.io/load-balancer-source-ranges"

// sourceRanges returns the service's load balancer source ranges of the
// tracker's family in canonical form. Invalid entries are dropped (the
// apiserver validates the field; the annotation is free text).
func (t *Tracker) sourceRanges(svc *v1.Service) []string {
	ranges := svc.Spec.LoadBalancerSourceRanges
	if len(ranges) == 0 {
		if a := svc.Annotations[sourceAnnotation]; a != "" {
			ranges = strings.Split(a, ",")
		}
	}
	var out []string
	for _, r := range ranges {
		p, err := netip.ParsePrefix(strings.TrimSpace(r))
		if err != nil || !t.ofFamily(p.Addr()) {
			continue
		}
		out = append(out, p.Masked().String())
	}
	return out
}

func (t *Tracker) convertSlice(es *discovery.EndpointSlice) *slimSlice {
	s := &slimSlice{}
	for _, p := range es.Ports {
		sp := slicePort{protocol: v1.ProtocolTCP}
		if p.Name != nil {
			sp.name = *p.Name
		}
		if p.Protocol != nil {
			sp.protocol = *p.Protocol
		}
		if p.Port == nil {
			continue
		}
		sp.port = *p.Port
		s.ports = append(s.ports, sp)
	}
	for _, e := range es.Endpoints {
		if len(e.Addresses) == 0 {
			continue
		}
		a, ok := t.addr(e.Addresses[0])
		if !ok {
			continue
		}
		s.endpoints = append(s.endpoints, sliceEndpoint{
			ip:          a,
			ready:       e.Conditions.Ready == nil || *e.Conditions.Ready,
			serving:     e.Conditions.Serving == nil || *e.Conditions.Serving,
			terminating: e.Conditions.Terminating != nil && *e.Conditions.Terminating,
			local:       e.NodeName != nil && *e.NodeName == t.hostname,
		})
	}
	return s
}

func buildService(name ServiceName, spec *serviceSpec, sl map[string]*slimSlice) *Service {
	svc := &Service{Name: name}
	for _, p := range spec.ports {
		proto := p.Protocol
		if proto == "" {
			proto = v1.ProtocolTCP
		}
		sp := &ServicePort{
			Name:                     ServicePortName{ServiceName: name, Port: p.Name, Protocol: proto},
			ClusterIP:                spec.clusterIP,
			Port:                     p.Port,
			Protocol:                 proto,
			NodePort:                 p.NodePort,
			ExternalIPs:              spec.externalIPs,
			LoadBalancerIPs:          spec.lbIPs,
			LoadBalancerSourceRanges: spec.sourceRanges,
			AffinityTimeout:          spec.affinityTimeout,
			InternalLocal:            spec.internalLocal,
			ExternalLocal:            spec.externalLocal,
			HealthCheckNodePort:      spec.healthCheckPort,
		}
		seen := map[string]bool{}
		for _, s := range sl {
			for _, pp := range s.ports {
				if pp.name != p.Name || pp.protocol != proto {
					continue
				}
				for _, e := range s.endpoints {
					ep := Endpoint{IP: e.ip, Port: pp.port, Ready: e.ready, Serving: e.serving, Terminating: e.terminating, Local: e.local}
					if k := ep.String(); !seen[k] {
						seen[k] = true
						sp.Endpoints = append(sp.Endpoints, ep)
					}
				}
			}
		}
		slices.SortFunc(sp.Endpoints, compareEndpoints)
		svc.Ports = append(svc.Ports, sp)
	}
	slices.SortFunc(svc.Ports, func(a, b *ServicePort) int {
		return cmp.Or(cmp.Compare(a.Name.Port, b.Name.Port), cmp.Compare(a.Protocol, b.Protocol))
	})
	return svc
}

func compareEndpoints(a, b Endpoint) int {
	aa, _ := netip.ParseAddr(a.IP)
	bb, _ := netip.ParseAddr(b.IP)
	return cmp.Or(aa.Compare(bb), cmp.Compare(a.Port, b.Port))
}

// ClusterEndpoints are the endpoints for traffic under the Cluster policy:
// the ready ones or, when none is ready, the serving terminating ones (so
// connections drain during a rollout instead of failing, as upstream does).
func (p *ServicePort) ClusterEndpoints() []Endpoint { return usable(p.Endpoints, false) }

// LocalEndpoints are ClusterEndpoints restricted to this node.
func (p *ServicePort) LocalEndpoints() []Endpoint { return usable(p.Endpoints, true) }

// InternalEndpoints are the endpoints cluster-IP traffic may go to.
func (p *ServicePort) InternalEndpoints() []Endpoint {
	if p.InternalLocal {
		return p.LocalEndpoints()
	}
	return p.ClusterEndpoints()
}

// ExternalEndpoints are the endpoints external traffic may go to.
func (p *ServicePort) ExternalEndpoints() []Endpoint {
	if p.ExternalLocal {
		return p.LocalEndpoints()
	}
	return p.ClusterEndpoints()
}

func usable(eps []Endpoint, localOnly bool) []Endpoint {
	var ready, terminating []Endpoint
	for _, e := range eps {
		if localOnly && !e.Local {
			continue
		}
		switch {
		case e.Ready:
			ready = append(ready, e)
		case e.Serving && e.Terminating:
			terminating = append(terminating, e)
		}
	}
	if len(ready) > 0 {
		return ready
	}
	return terminating
}
