// Package endpointslice runs the EndpointSlice controller: for every Service
// with a selector it keeps discovery.k8s.io/v1 EndpointSlices listing the
// matching pods, at most MaxEndpointsPerSlice per slice, one group of slices
// per address type (IPv4, IPv6: both for a dual-stack Service) and distinct
// set of resolved ports, owned by the Service.
package endpointslice

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	coreinformers "k8s.io/client-go/informers/core/v1"
	discoveryinformers "k8s.io/client-go/informers/discovery/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"navarch.dev/controller-manager/pkg/controller/controllerref"
	"navarch.dev/controller-manager/pkg/controller/servicepods"
)

const (
	// ManagedBy is the endpointslice.kubernetes.io/managed-by value of the
	// slices this controller owns, upstream's, so consumers treat them alike.
	ManagedBy = "endpointslice-controller.k8s.io"
	// MaxEndpointsPerSlice is upstream's default --max-endpoints-per-slice.
	MaxEndpointsPerSlice = 100
)

var serviceKind = v1.SchemeGroupVersion.WithKind("Service")

// Controller is the EndpointSlice controller.
type Controller struct {
	client kubernetes.Interface

	serviceLister corelisters.ServiceLister
	serviceSynced cache.InformerSynced
	podLister     corelisters.PodLister
	podSynced     cache.InformerSynced
	sliceLister   discoverylisters.EndpointSliceLister
	sliceSynced   cache.InformerSynced

	queue workqueue.TypedRateLimitingInterface[string]
}

// New wires a controller to its informers.
func New(services coreinformers.ServiceInformer, pods coreinformers.PodInformer, slices discoveryinformers.EndpointSliceInformer, client kubernetes.Interface) (*Controller, error) {
	c := &Controller{
		client:        client,
		serviceLister: services.Lister(),
		serviceSynced: services.Informer().HasSynced,
		podLister:     pods.Lister(),
		podSynced:     pods.Informer().HasSynced,
		sliceLister:   slices.Lister(),
		sliceSynced:   slices.Informer().HasSynced,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "endpoint_slice"}),
	}
	if _, err := services.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: func(_, obj any) { c.enqueue(obj) },
		DeleteFunc: c.enqueue,
	}); err != nil {
		return nil, err
	}
	if _, err := pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.podChanged,
		UpdateFunc: func(oldObj, newObj any) {
			c.podChanged(oldObj)
			c.podChanged(newObj)
		},
		DeleteFunc: c.podChanged,
	}); err != nil {
		return nil, err
	}
	sliceChanged := func(obj any) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		s, ok := obj.(*discovery.EndpointSlice)
		if !ok || s.Labels[discovery.LabelManagedBy] != ManagedBy || s.Labels[discovery.LabelServiceName] == "" {
			return
		}
		c.queue.Add(s.Namespace + "/" + s.Labels[discovery.LabelServiceName])
	}
	if _, err := slices.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    sliceChanged,
		UpdateFunc: func(_, obj any) { sliceChanged(obj) },
		DeleteFunc: sliceChanged,
	}); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Controller) enqueue(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		utilruntime.HandleError(err)
		return
	}
	c.queue.Add(key)
}

func (c *Controller) podChanged(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	pod, ok := obj.(*v1.Pod)
	if !ok {
		return
	}
	for _, key := range servicepods.ServicesFor(c.serviceLister, pod) {
		c.queue.Add(key)
	}
}

// Run waits for the caches and runs workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	defer utilruntime.HandleCrash()
	defer c.queue.ShutDown()
	slog.Info("Starting controller", "controller", "endpointslice")
	defer slog.Info("Shutting down controller", "controller", "endpointslice")
	if !cache.WaitForNamedCacheSync("endpointslice", ctx.Done(), c.serviceSynced, c.podSynced, c.sliceSynced) {
		return
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wait.UntilWithContext(ctx, func(ctx context.Context) {
				for c.processNextWorkItem(ctx) {
				}
			}, time.Second)
		}()
	}
	<-ctx.Done()
	c.queue.ShutDown()
	wg.Wait()
}

func (c *Controller) processNextWorkItem(ctx context.Context) bool {
	key, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(key)
	if err := c.sync(ctx, key); err != nil {
		utilruntime.HandleError(fmt.Errorf("sync endpoint slices of %q: %w", key, err))
		c.queue.AddRateLimited(key)
		return true
	}
	c.queue.Forget(key)
	return true
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	svc, err := c.serviceLister.Services(ns).Get(name)
	if apierrors.IsNotFound(err) {
		// The garbage collector deletes the slices of a deleted Service
		// through their owner reference.
		return nil
	}
	if err != nil {
		return err
	}
	if !servicepods.Managed(svc) {
		return nil
	}
	pods, err := c.podLister.Pods(ns).List(labels.SelectorFromValidatedSet(svc.Spec.Selector))
	if err != nil {
		return err
	}
	existing, err := c.sliceLister.EndpointSlices(ns).List(labels.SelectorFromSet(labels.Set{
		discovery.LabelServiceName: name,
		discovery.LabelManagedBy:   ManagedBy,
	}))
	if err != nil {
		return err
	}
	return c.reconcile(ctx, svc, Desired(svc, pods), existing)
}

// reconcile turns existing into desired, one address type at a time: it
// reuses the slices of a type in name order, updating those that differ,
// creates what is missing and deletes the rest, and deletes the slices of an
// address type the Service no longer has (the type of a slice is immutable).
func (c *Controller) reconcile(ctx context.Context, svc *v1.Service, desired, existing []*discovery.EndpointSlice) error {
	sort.Slice(existing, func(i, j int) bool { return existing[i].Name < existing[j].Name })
	client := c.client.DiscoveryV1().EndpointSlices(svc.Namespace)
	byType := func(slices []*discovery.EndpointSlice) map[discovery.AddressType][]*discovery.EndpointSlice {
		m := map[discovery.AddressType][]*discovery.EndpointSlice{}
		for _, s := range slices {
			m[s.AddressType] = append(m[s.AddressType], s)
		}
		return m
	}
	want, have := byType(desired), byType(existing)
	var stale []*discovery.EndpointSlice
	for t, slices := range have {
		if _, ok := want[t]; !ok {
			stale = append(stale, slices...)
		}
	}
	for _, t := range addressTypeOrder {
		if _, ok := want[t]; !ok {
			continue
		}
		extra, err := c.reconcileType(ctx, client, want[t], have[t])
		if err != nil {
			return err
		}
		stale = append(stale, extra...)
	}
	for _, s := range stale {
		if err := client.Delete(ctx, s.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	return nil
}

type sliceClient interface {
	Create(ctx context.Context, s *discovery.EndpointSlice, opts metav1.CreateOptions) (*discovery.EndpointSlice, error)
	Update(ctx context.Context, s *discovery.EndpointSlice, opts metav1.UpdateOptions) (*discovery.EndpointSlice, error)
}

// reconcileType makes existing (slices of one address type, in name order)
// hold desired, and returns the existing slices left over.
func (c *Controller) reconcileType(ctx context.Context, client sliceClient, desired, existing []*discovery.EndpointSlice) ([]*discovery.EndpointSlice, error) {
	for i, want := range desired {
		if i < len(existing) {
			cur := existing[i]
			if apiequality.Semantic.DeepEqual(cur.Endpoints, want.Endpoints) && apiequality.Semantic.DeepEqual(cur.Ports, want.Ports) &&
				apiequality.Semantic.DeepEqual(cur.Labels, want.Labels) && len(cur.OwnerReferences) > 0 {
				continue
			}
			upd := cur.DeepCopy()
			upd.Endpoints, upd.Ports, upd.Labels, upd.OwnerReferences = want.Endpoints, want.Ports, want.Labels, want.OwnerReferences
			if _, err := client.Update(ctx, upd, metav1.UpdateOptions{}); err != nil {
				return nil, err
			}
			continue
		}
		if _, err := client.Create(ctx, want, metav1.CreateOptions{}); err != nil {
			if apierrors.HasStatusCause(err, v1.NamespaceTerminatingCause) {
				return nil, nil
			}
			return nil, err
		}
	}
	if len(existing) > len(desired) {
		return existing[len(desired):], nil
	}
	return nil, nil
}

// addressTypeOrder is the order slices of a dual-stack Service are written in.
var addressTypeOrder = []discovery.AddressType{discovery.AddressTypeIPv4, discovery.AddressTypeIPv6}

// AddressTypes returns the address types svc's slices have, as upstream: one
// per entry of spec.ipFamilies; for an object without them, the family of
// its clusterIP, or both for a headless Service.
func AddressTypes(svc *v1.Service) []discovery.AddressType {
	has := map[discovery.AddressType]bool{}
	for _, f := range svc.Spec.IPFamilies {
		switch f {
		case v1.IPv4Protocol:
			has[discovery.AddressTypeIPv4] = true
		case v1.IPv6Protocol:
			has[discovery.AddressTypeIPv6] = true
		}
	}
	if len(has) == 0 {
		if ip := svc.Spec.ClusterIP; ip != "" && ip != v1.ClusterIPNone {
			has[addressTypeOf(ip)] = true
		} else {
			has[discovery.AddressTypeIPv4], has[discovery.AddressTypeIPv6] = true, true
		}
	}
	var out []discovery.AddressType
	for _, t := range addressTypeOrder {
		if has[t] {
			out = append(out, t)
		}
	}
	return out
}

func addressTypeOf(ip string) discovery.AddressType {
	if servicepods.FamilyOf(ip) == v1.IPv6Protocol {
		return discovery.AddressTypeIPv6
	}
	return discovery.AddressTypeIPv4
}

// podIP returns pod's address of the address type t, or "" when it has none.
func podIP(pod *v1.Pod, t discovery.AddressType) string {
	if t == discovery.AddressTypeIPv6 {
		return servicepods.IP(pod, v1.IPv6Protocol)
	}
	return servicepods.IP(pod, v1.IPv4Protocol)
}

// Desired computes the slices svc should have (named by generateName) from
// the pods its selector matches: per address type of the Service (a
// dual-stack Service has IPv4 and IPv6 slices, listing each pod's address of
// that family), one group of slices per distinct set of resolved ports. An
// address type without endpoints keeps one empty slice, as upstream, so
// consumers see the Service exists.
func Desired(svc *v1.Service, pods []*v1.Pod) []*discovery.EndpointSlice {
	var out []*discovery.EndpointSlice
	for _, t := range AddressTypes(svc) {
		out = append(out, desiredOfType(svc, pods, t)...)
	}
	return out
}

func desiredOfType(svc *v1.Service, pods []*v1.Pod, addrType discovery.AddressType) []*discovery.EndpointSlice {
	type group struct {
		ports     []discovery.EndpointPort
		endpoints []discovery.Endpoint
	}
	groups := map[string]*group{}
	for _, pod := range pods {
		// Terminating pods stay listed, marked terminating, so proxies
		// can drain them.
		if !servicepods.Include(pod, true) {
			continue
		}
		addr := podIP(pod, addrType)
		if addr == "" {
			continue
		}
		var ports []discovery.EndpointPort
		for i := range svc.Spec.Ports {
			sp := &svc.Spec.Ports[i]
			port, err := servicepods.FindPort(pod, sp)
			if err != nil {
				continue
			}
			name, proto, num := sp.Name, sp.Protocol, port
			ports = append(ports, discovery.EndpointPort{Name: &name, Protocol: &proto, Port: &num, AppProtocol: sp.AppProtocol})
		}
		if len(svc.Spec.Ports) > 0 && len(ports) == 0 {
			continue
		}
		terminating := pod.DeletionTimestamp != nil
		serving := servicepods.Ready(pod)
		ready := serving && !terminating
		if svc.Spec.PublishNotReadyAddresses {
			ready = true
		}
		ep := discovery.Endpoint{
			Addresses:  []string{addr},
			Conditions: discovery.EndpointConditions{Ready: &ready, Serving: &serving, Terminating: &terminating},
			TargetRef:  &v1.ObjectReference{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		}
		if h := servicepods.Hostname(pod, svc); h != "" {
			ep.Hostname = &h
		}
		if pod.Spec.NodeName != "" {
			node := pod.Spec.NodeName
			ep.NodeName = &node
		}
		k := portsKey(ports)
		g := groups[k]
		if g == nil {
			g = &group{ports: ports}
			groups[k] = g
		}
		g.endpoints = append(g.endpoints, ep)
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)

	var out []*discovery.EndpointSlice
	for _, k := range keys {
		g := groups[k]
		sort.Slice(g.endpoints, func(i, j int) bool { return g.endpoints[i].Addresses[0] < g.endpoints[j].Addresses[0] })
		for start := 0; start < len(g.endpoints); start += MaxEndpointsPerSlice {
			end := min(start+MaxEndpointsPerSlice, len(g.endpoints))
			out = append(out, newSlice(svc, addrType, g.ports, g.endpoints[start:end]))
		}
	}
	if len(out) == 0 {
		var ports []discovery.EndpointPort
		out = append(out, newSlice(svc, addrType, ports, nil))
	}
	return out
}

func newSlice(svc *v1.Service, addrType discovery.AddressType, ports []discovery.EndpointPort, endpoints []discovery.Endpoint) *discovery.EndpointSlice {
	lbls := map[string]string{}
	for k, v := range svc.Labels {
		lbls[k] = v
	}
	lbls[discovery.LabelServiceName] = svc.Name
	lbls[discovery.LabelManagedBy] = ManagedBy
	if svc.Spec.ClusterIP == v1.ClusterIPNone {
		lbls[v1.IsHeadlessService] = ""
	}
	return &discovery.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:    svc.Name + "-",
			Namespace:       svc.Namespace,
			Labels:          lbls,
			OwnerReferences: []metav1.OwnerReference{*controllerref.NewControllerRef(svc, serviceKind)},
		},
		AddressType: addrType,
		Endpoints:   endpoints,
		Ports:       ports,
	}
}

func portsKey(ports []discovery.EndpointPort) string {
	parts := make([]string, len(ports))
	for i, p := range ports {
		parts[i] = fmt.Sprintf("%s/%d/%s", *p.Name, *p.Port, *p.Protocol)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}
