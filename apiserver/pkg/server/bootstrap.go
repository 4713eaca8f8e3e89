package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"reflect"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"

	"navarch.dev/apiserver/pkg/registry"
	"navarch.dev/apiserver/pkg/registry/scheduling"
)

var systemNamespaces = []string{"default", "kube-system", "kube-public", "kube-node-lease"}

func (s *Server) storeOf(group, version, resource string) *registry.Store {
	return s.stores[schema.GroupVersionResource{Group: group, Version: version, Resource: resource}]
}

// bootstrap creates what every cluster has: the system namespaces, the
// default/kubernetes Service, and its Endpoints and EndpointSlice pointing at
// this apiserver. It also reclaims service IPs and ports leaked by crashes.
func (s *Server) bootstrap(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	nsStore := s.storeOf("", "v1", "namespaces")
	for _, name := range systemNamespaces {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if _, err := nsStore.Create(ctx, "", ns, registry.WriteOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create namespace %s: %w", name, err)
		}
	}
	if pcStore := s.storeOf("scheduling.k8s.io", "v1", "priorityclasses"); pcStore != nil {
		for _, pc := range scheduling.SystemPriorityClasses() {
			if _, err := pcStore.Create(ctx, "", pc, registry.WriteOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				return fmt.Errorf("create priority class %s: %w", pc.Name, err)
			}
		}
	}
	if err := s.repairServices(ctx); err != nil {
		return err
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: "default", Labels: map[string]string{"component": "apiserver", "provider": "kubernetes"}},
		Spec: corev1.ServiceSpec{
			Type:            corev1.ServiceTypeClusterIP,
			ClusterIP:       firstIP(s.opts.ServiceClusterIPRange).String(),
			SessionAffinity: corev1.ServiceAffinityNone,
			Ports: []corev1.ServicePort{{
				Name: "https", Protocol: corev1.ProtocolTCP, Port: 443, TargetPort: intstr.FromInt32(int32(s.opts.SecurePort)),
			}},
		},
	}
	svcStore := s.storeOf("", "v1", "services")
	if _, err := svcStore.Get(ctx, "default", "kubernetes", ""); apierrors.IsNotFound(err) {
		if _, err := svcStore.Create(ctx, "default", svc, registry.WriteOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create default/kubernetes service: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("read default/kubernetes service: %w", err)
	}
	return s.reconcileKubernetesEndpoints(ctx)
}

// kubernetesEndpointsInterval is how often the default/kubernetes Endpoints
// and EndpointSlice are put back to this apiserver's address, as upstream's
// endpoint reconciler does: pods reach the API through 10.96.0.1 even after
// someone edits or deletes them.
const kubernetesEndpointsInterval = 10 * time.Second

// kubernetesEndpointsLoop runs reconcileKubernetesEndpoints until ctx ends.
func (s *Server) kubernetesEndpointsLoop(ctx context.Context) {
	if s.opts.AdvertiseAddress.IsLoopback() {
		return // bootstrap said why there are none
	}
	t := time.NewTicker(kubernetesEndpointsInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.reconcileKubernetesEndpoints(ctx); err != nil && ctx.Err() == nil {
				slog.Warn("reconcile default/kubernetes endpoints", "err", err)
			}
		}
	}
}

// reconcileKubernetesEndpoints points the default/kubernetes Endpoints and
// EndpointSlice at the advertise address and secure port.
func (s *Server) reconcileKubernetesEndpoints(ctx context.Context) error {
	if s.opts.AdvertiseAddress.IsLoopback() {
		// Endpoints may not hold loopback addresses; pods could not reach them.
		slog.Warn("advertise address is loopback: default/kubernetes gets no endpoints", "address", s.opts.AdvertiseAddress)
		return nil
	}
	addr := s.opts.AdvertiseAddress.String()
	port := int32(s.opts.SecurePort)
	ep := &corev1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: "default", Labels: map[string]string{"endpointslice.kubernetes.io/skip-mirror": "true"}},
		Subsets: []corev1.EndpointSubset{{
			Addresses: []corev1.EndpointAddress{{IP: addr}},
			Ports:     []corev1.EndpointPort{{Name: "https", Port: port, Protocol: corev1.ProtocolTCP}},
		}},
	}
	if err := s.reconcile(ctx, s.storeOf("", "v1", "endpoints"), "default", ep, func(cur runtime.Object) bool {
		return reflect.DeepEqual(cur.(*corev1.Endpoints).Subsets, ep.Subsets)
	}); err != nil {
		return err
	}
	addrType := discoveryv1.AddressTypeIPv4
	if ip := net.ParseIP(addr); ip != nil && ip.To4() == nil {
		addrType = discoveryv1.AddressTypeIPv6
	}
	ready := true
	name, proto := "https", corev1.ProtocolTCP
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: "default", Labels: map[string]string{
			discoveryv1.LabelServiceName: "kubernetes", discoveryv1.LabelManagedBy: "kube-apiserver",
		}},
		AddressType: addrType,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{addr}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
		Ports:       []discoveryv1.EndpointPort{{Name: &name, Port: &port, Protocol: &proto}},
	}
	return s.reconcile(ctx, s.storeOf("discovery.k8s.io", "v1", "endpointslices"), "default", slice, func(cur runtime.Object) bool {
		c := cur.(*discoveryv1.EndpointSlice)
		return reflect.DeepEqual(c.Endpoints, slice.Endpoints) && reflect.DeepEqual(c.Ports, slice.Ports)
	})
}

// reconcile creates obj, or replaces the stored one when same says it differs.
func (s *Server) reconcile(ctx context.Context, st *registry.Store, ns string, obj runtime.Object, same func(runtime.Object) bool) error {
	if st == nil {
		return nil
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	_, err = st.Create(ctx, ns, obj.DeepCopyObject(), registry.WriteOptions{})
	if err == nil || !apierrors.IsAlreadyExists(err) {
		return err
	}
	_, _, err = st.Update(ctx, ns, m.GetName(), func(cur runtime.Object) (runtime.Object, error) {
		if same(cur) {
			return cur, nil
		}
		next := obj.DeepCopyObject()
		nm, _ := meta.Accessor(next)
		nm.SetResourceVersion("")
		return next, nil
	}, registry.UpdateOptions{})
	return err
}

// namespaceLookup finds namespaces for admission: the watch cache first, etcd
// when the cache has not seen a namespace created a moment ago.
type namespaceLookup struct{ s *Server }

func (n namespaceLookup) Namespace(ctx context.Context, name string) (*corev1.Namespace, error) {
	st := n.s.storeOf("", "v1", "namespaces")
	// Reading at this server's last namespace write sees a deletion it just
	// made (a namespace turning Terminating) before admitting new objects.
	o, _, err := st.Cache().Get(ctx, st.Key("", name), st.LastWriteRevision())
	if err != nil {
		return nil, err
	}
	if o != nil {
		return o.Obj.(*corev1.Namespace), nil
	}
	obj, err := st.Get(ctx, "", name, "")
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return obj.(*corev1.Namespace), nil
}

func listServices(ctx context.Context, st *registry.Store) ([]*corev1.Service, error) {
	res, err := st.List(ctx, registry.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]*corev1.Service, 0, len(res.Items))
	for _, o := range res.Items {
		out = append(out, o.Obj.(*corev1.Service))
	}
	return out, nil
}

// admissionChain asks each plugin in order; the first error rejects.
type admissionChain []registry.Admission

func (c admissionChain) Admit(ctx context.Context, a *registry.AdmissionAttributes) error {
	for _, p := range c {
		if err := p.Admit(ctx, a); err != nil {
			return err
		}
	}
	return nil
}

// priorityClassLookup finds priority classes for the Priority admission
// plugin: the watch cache first, etcd for a class created a moment ago.
type priorityClassLookup struct{ s *Server }

func (l priorityClassLookup) PriorityClass(ctx context.Context, name string) (*schedulingv1.PriorityClass, error) {
	st := l.s.storeOf("scheduling.k8s.io", "v1", "priorityclasses")
	o, _, err := st.Cache().Get(ctx, st.Key("", name), st.LastWriteRevision())
	if err != nil {
		return nil, err
	}
	if o != nil {
		return o.Obj.(*schedulingv1.PriorityClass), nil
	}
	obj, err := st.Get(ctx, "", name, "")
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return obj.(*schedulingv1.PriorityClass), nil
}

func (l priorityClassLookup) PriorityClasses(ctx context.Context) ([]*schedulingv1.PriorityClass, error) {
	res, err := l.s.storeOf("scheduling.k8s.io", "v1", "priorityclasses").List(ctx, registry.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]*schedulingv1.PriorityClass, 0, len(res.Items))
	for _, o := range res.Items {
		out = append(out, o.Obj.(*schedulingv1.PriorityClass))
	}
	return out, nil
}
