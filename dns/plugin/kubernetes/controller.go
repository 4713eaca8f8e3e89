package kubernetes

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// apiIndex is the Index fed by informers on Services, EndpointSlices,
// Namespaces and (optionally) Pods. Event handlers convert each object to
// its slim record and update the maps; queries read the maps.
type apiIndex struct {
	factory informers.SharedInformerFactory
	synced  []cache.InformerSynced
	serial  atomic.Uint32

	mu          sync.RWMutex
	services    map[string]*Service                  // ns/name
	svcByIP     map[netip.Addr][]*Service            //
	slices      map[string]*EndpointSlice            // ns/slice
	slicesBySvc map[string]map[string]*EndpointSlice // ns/svc → slice name →
	epByIP      map[netip.Addr][]sliceRef
	namespaces  map[string]bool
	pods        map[string]*Pod // ns/name
	podsByIP    map[netip.Addr][]*Pod
}

type sliceRef struct {
	slice string // ns/slice
	ref   EndpointRef
}

var _ Index = (*apiIndex)(nil)

// newAPIIndex builds the informers; call run to start them. Pods are
// watched only for watchPods, EndpointSlices only for watchEndpoints.
func newAPIIndex(client kubernetes.Interface, watchPods, watchEndpoints bool) (*apiIndex, error) {
	x := &apiIndex{
		factory:     informers.NewSharedInformerFactory(client, 0),
		services:    map[string]*Service{},
		svcByIP:     map[netip.Addr][]*Service{},
		slices:      map[string]*EndpointSlice{},
		slicesBySvc: map[string]map[string]*EndpointSlice{},
		epByIP:      map[netip.Addr][]sliceRef{},
		namespaces:  map[string]bool{},
		pods:        map[string]*Pod{},
		podsByIP:    map[netip.Addr][]*Pod{},
	}
	x.serial.Store(uint32(time.Now().Unix()))
	add := func(inf cache.SharedIndexInformer, set func(obj any), del func(obj any)) error {
		// Keep only what the conversion reads: the cache holds every object.
		inf.SetTransform(func(obj any) (any, error) {
			if m, ok := obj.(metav1.Object); ok {
				m.SetManagedFields(nil)
				m.SetAnnotations(nil)
			}
			return obj, nil
		})
		reg, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    set,
			UpdateFunc: func(_, obj any) { set(obj) },
			DeleteFunc: func(obj any) {
				if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
					obj = t.Obj
				}
				del(obj)
			},
		})
		if err != nil {
			return err
		}
		x.synced = append(x.synced, reg.HasSynced)
		return nil
	}
	f := x.factory
	if err := add(f.Core().V1().Services().Informer(), x.setService, x.deleteService); err != nil {
		return nil, err
	}
	if watchEndpoints {
		if err := add(f.Discovery().V1().EndpointSlices().Informer(), x.setSlice, x.deleteSlice); err != nil {
			return nil, err
		}
	}
	if err := add(f.Core().V1().Namespaces().Informer(), x.setNamespace, x.deleteNamespace); err != nil {
		return nil, err
	}
	if watchPods {
		if err := add(f.Core().V1().Pods().Informer(), x.setPod, x.deletePod); err != nil {
			return nil, err
		}
	}
	return x, nil
}

// run starts the informers; they stop when ctx is done.
func (x *apiIndex) run(ctx context.Context) { x.factory.Start(ctx.Done()) }

// shutdown waits for the informers to stop (after ctx is done).
func (x *apiIndex) shutdown() { x.factory.Shutdown() }

func (x *apiIndex) HasSynced() bool {
	for _, s := range x.synced {
		if !s() {
			return false
		}
	}
	return true
}

func (x *apiIndex) Serial() uint32 { return x.serial.Load() }

func (x *apiIndex) touch() { x.serial.Store(uint32(time.Now().Unix())) }

func (x *apiIndex) Service(ns, name string) *Service {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.services[ns+"/"+name]
}

func (x *apiIndex) EndpointSlices(ns, service string) []*EndpointSlice {
	x.mu.RLock()
	defer x.mu.RUnlock()
	m := x.slicesBySvc[ns+"/"+service]
	out := make([]*EndpointSlice, 0, len(m))
	for _, s := range m {
		out = append(out, s)
	}
	return out
}

func (x *apiIndex) ServicesByIP(ip netip.Addr) []*Service {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.svcByIP[ip]
}

func (x *apiIndex) EndpointsByIP(ip netip.Addr) []EndpointRef {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []EndpointRef
	for _, r := range x.epByIP[ip] {
		out = append(out, r.ref)
	}
	return out
}

func (x *apiIndex) PodsByIP(ip netip.Addr) []*Pod {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.podsByIP[ip]
}

func (x *apiIndex) NamespaceExists(ns string) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.namespaces[ns]
}

// ToService converts a Service.
func ToService(s *corev1.Service) *Service {
	out := &Service{
		Name:            s.Name,
		Namespace:       s.Namespace,
		PublishNotReady: s.Spec.PublishNotReadyAddresses,
	}
	switch {
	case s.Spec.Type == corev1.ServiceTypeExternalName:
		out.ExternalName = strings.ToLower(strings.TrimSuffix(s.Spec.ExternalName, ".")) + "."
	case s.Spec.ClusterIP == corev1.ClusterIPNone:
		out.Headless = true
	default:
		ips := s.Spec.ClusterIPs
		if len(ips) == 0 && s.Spec.ClusterIP != "" {
			ips = []string{s.Spec.ClusterIP}
		}
		for _, ip := range ips {
			if a, err := netip.ParseAddr(ip); err == nil {
				out.ClusterIPs = append(out.ClusterIPs, a)
			}
		}
	}
	for _, p := range s.Spec.Ports {
		out.Ports = append(out.Ports, Port{Name: p.Name, Protocol: strings.ToLower(string(p.Protocol)), Port: p.Port})
	}
	return out
}

// ToEndpointSlice converts an EndpointSlice (nil for FQDN slices and slices
// of no service).
func ToEndpointSlice(s *discoveryv1.EndpointSlice) *EndpointSlice {
	svc := s.Labels[discoveryv1.LabelServiceName]
	if svc == "" || s.AddressType == discoveryv1.AddressTypeFQDN {
		return nil
	}
	out := &EndpointSlice{Name: s.Name, Namespace: s.Namespace, Service: svc}
	for _, p := range s.Ports {
		port := Port{Protocol: "tcp"}
		if p.Name != nil {
			port.Name = *p.Name
		}
		if p.Protocol != nil {
			port.Protocol = strings.ToLower(string(*p.Protocol))
		}
		if p.Port != nil {
			port.Port = *p.Port
		}
		out.Ports = append(out.Ports, port)
	}
	for _, e := range s.Endpoints {
		ready := e.Conditions.Ready == nil || *e.Conditions.Ready
		var hostname, pod string
		if e.Hostname != nil {
			hostname = *e.Hostname
		}
		if e.TargetRef != nil && e.TargetRef.Kind == "Pod" {
			pod = e.TargetRef.Name
		}
		for _, a := range e.Addresses {
			if ip, err := netip.ParseAddr(a); err == nil {
				out.Endpoints = append(out.Endpoints, Endpoint{Addr: ip, Hostname: hostname, PodName: pod, Ready: ready})
			}
		}
	}
	return out
}

func (x *apiIndex) setService(obj any) {
	s, ok := obj.(*corev1.Service)
	if !ok {
		return
	}
	svc := ToService(s)
	x.mu.Lock()
	defer x.mu.Unlock()
	key := svc.Namespace + "/" + svc.Name
	if old := x.services[key]; old != nil {
		x.unindexService(old)
	}
	x.services[key] = svc
	for _, ip := range svc.ClusterIPs {
		x.svcByIP[ip] = append(x.svcByIP[ip], svc)
	}
	x.touch()
}

func (x *apiIndex) deleteService(obj any) {
	s, ok := obj.(*corev1.Service)
	if !ok {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	key := s.Namespace + "/" + s.Name
	if old := x.services[key]; old != nil {
		x.unindexService(old)
		delete(x.services, key)
	}
	x.touch()
}

func (x *apiIndex) unindexService(old *Service) {
	for _, ip := range old.ClusterIPs {
		list := x.svcByIP[ip][:0:0]
		for _, s := range x.svcByIP[ip] {
			if s != old {
				list = append(list, s)
			}
		}
		if len(list) == 0 {
			delete(x.svcByIP, ip)
		} else {
			x.svcByIP[ip] = list
		}
	}
}

func (x *apiIndex) setSlice(obj any) {
	s, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok {
		return
	}
	es := ToEndpointSlice(s)
	key := s.Namespace + "/" + s.Name
	x.mu.Lock()
	defer x.mu.Unlock()
	x.removeSlice(key)
	if es == nil {
		x.touch()
		return
	}
	x.slices[key] = es
	svcKey := es.Namespace + "/" + es.Service
	if x.slicesBySvc[svcKey] == nil {
		x.slicesBySvc[svcKey] = map[string]*EndpointSlice{}
	}
	x.slicesBySvc[svcKey][es.Name] = es
	for _, e := range es.Endpoints {
		x.epByIP[e.Addr] = append(x.epByIP[e.Addr], sliceRef{slice: key, ref: EndpointRef{Namespace: es.Namespace, Service: es.Service, Endpoint: e}})
	}
	x.touch()
}

func (x *apiIndex) deleteSlice(obj any) {
	s, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.removeSlice(s.Namespace + "/" + s.Name)
	x.touch()
}

// removeSlice unindexes the slice stored under key; x.mu is held.
func (x *apiIndex) removeSlice(key string) {
	old := x.slices[key]
	if old == nil {
		return
	}
	delete(x.slices, key)
	svcKey := old.Namespace + "/" + old.Service
	delete(x.slicesBySvc[svcKey], old.Name)
	if len(x.slicesBySvc[svcKey]) == 0 {
		delete(x.slicesBySvc, svcKey)
	}
	for _, e := range old.Endpoints {
		list := x.epByIP[e.Addr][:0:0]
		for _, r := range x.epByIP[e.Addr] {
			if r.slice != key {
				list = append(list, r)
			}
		}
		if len(list) == 0 {
			delete(x.epByIP, e.Addr)
		} else {
			x.epByIP[e.Addr] = list
		}
	}
}

func (x *apiIndex) setNamespace(obj any) {
	if ns, ok := obj.(*corev1.Namespace); ok {
		x.mu.Lock()
		x.namespaces[ns.Name] = true
		x.mu.Unlock()
		x.touch()
	}
}

func (x *apiIndex) deleteNamespace(obj any) {
	if ns, ok := obj.(*corev1.Namespace); ok {
		x.mu.Lock()
		delete(x.namespaces, ns.Name)
		x.mu.Unlock()
		x.touch()
	}
}

func (x *apiIndex) setPod(obj any) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	key := p.Namespace + "/" + p.Name
	x.mu.Lock()
	defer x.mu.Unlock()
	x.removePod(key)
	ip, err := netip.ParseAddr(p.Status.PodIP)
	if err != nil {
		return
	}
	pod := &Pod{Name: p.Name, Namespace: p.Namespace, IP: ip}
	x.pods[key] = pod
	x.podsByIP[ip] = append(x.podsByIP[ip], pod)
}

func (x *apiIndex) deletePod(obj any) {
	if p, ok := obj.(*corev1.Pod); ok {
		x.mu.Lock()
		x.removePod(p.Namespace + "/" + p.Name)
		x.mu.Unlock()
	}
}

func (x *apiIndex) removePod(key string) {
	old := x.pods[key]
	if old == nil {
		return
	}
	delete(x.pods, key)
	list := x.podsByIP[old.IP][:0:0]
	for _, p := range x.podsByIP[old.IP] {
		if p != old {
			list = append(list, p)
		}
	}
	if len(list) == 0 {
		delete(x.podsByIP, old.IP)
	} else {
		x.podsByIP[old.IP] = list
	}
}
