// Package endpoints runs the Endpoints controller: for every Service with a
// selector it writes an Endpoints object of the same name listing the
// matching pods' IPs, ready and not ready, with each Service port resolved
// per pod.
package endpoints

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"navarch.dev/controller-manager/pkg/controller/servicepods"
)

// headlessLabel marks the Endpoints of a headless Service, as upstream.
const headlessLabel = "service.kubernetes.io/headless"

// Controller is the Endpoints controller.
type Controller struct {
	client kubernetes.Interface

	serviceLister   corelisters.ServiceLister
	serviceSynced   cache.InformerSynced
	podLister       corelisters.PodLister
	podSynced       cache.InformerSynced
	endpointsLister corelisters.EndpointsLister
	endpointsSynced cache.InformerSynced

	queue workqueue.TypedRateLimitingInterface[string]
}

// New wires a controller to its informers.
func New(services coreinformers.ServiceInformer, pods coreinformers.PodInformer, endpoints coreinformers.EndpointsInformer, client kubernetes.Interface) (*Controller, error) {
	c := &Controller{
		client:          client,
		serviceLister:   services.Lister(),
		serviceSynced:   services.Informer().HasSynced,
		podLister:       pods.Lister(),
		podSynced:       pods.Informer().HasSynced,
		endpointsLister: endpoints.Lister(),
		endpointsSynced: endpoints.Informer().HasSynced,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "endpoint"}),
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
	if _, err := endpoints.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		// Someone deleted the Endpoints of a Service: write them again.
		DeleteFunc: c.enqueue,
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
	slog.Info("Starting controller", "controller", "endpoint")
	defer slog.Info("Shutting down controller", "controller", "endpoint")
	if !cache.WaitForNamedCacheSync("endpoint", ctx.Done(), c.serviceSynced, c.podSynced, c.endpointsSynced) {
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
		utilruntime.HandleError(fmt.Errorf("sync endpoints %q: %w", key, err))
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
		// The Service is gone: so are its Endpoints.
		err := c.client.CoreV1().Endpoints(ns).Delete(ctx, name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
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
	subsets := Subsets(svc, pods)

	cur, err := c.endpointsLister.Endpoints(ns).Get(name)
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	want := &v1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: endpointsLabels(svc)},
		Subsets:    subsets,
	}
	if cur == nil {
		_, err := c.client.CoreV1().Endpoints(ns).Create(ctx, want, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("endpoints %s/%s appeared meanwhile", ns, name)
		}
		if apierrors.HasStatusCause(err, v1.NamespaceTerminatingCause) {
			return nil
		}
		return err
	}
	if apiequality.Semantic.DeepEqual(cur.Subsets, want.Subsets) && apiequality.Semantic.DeepEqual(cur.Labels, want.Labels) {
		return nil
	}
	upd := cur.DeepCopy()
	upd.Subsets = want.Subsets
	upd.Labels = want.Labels
	_, err = c.client.CoreV1().Endpoints(ns).Update(ctx, upd, metav1.UpdateOptions{})
	return err
}

func endpointsLabels(svc *v1.Service) map[string]string {
	out := map[string]string{}
	for k, v := range svc.Labels {
		out[k] = v
	}
	if svc.Spec.ClusterIP == v1.ClusterIPNone {
		out[headlessLabel] = ""
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// Subsets computes svc's endpoint subsets from the pods its selector
// matches: one subset per distinct set of resolved ports, addresses sorted
// by IP, ready ones in addresses and the rest in notReadyAddresses (all
// ready with publishNotReadyAddresses).
func Subsets(svc *v1.Service, pods []*v1.Pod) []v1.EndpointSubset {
	type group struct {
		ports    []v1.EndpointPort
		ready    []v1.EndpointAddress
		notReady []v1.EndpointAddress
	}
	groups := map[string]*group{}
	for _, pod := range pods {
		if !servicepods.Include(pod, svc.Spec.PublishNotReadyAddresses) {
			continue
		}
		ip := pod.Status.PodIP
		if f := servicepods.EndpointsFamily(svc); f != "" {
			// A dual-stack pod backs the Service with its address of the
			// Service's primary family; a pod without one does not.
			if ip = servicepods.IP(pod, f); ip == "" {
				continue
			}
		}
		addr := v1.EndpointAddress{
			IP:       ip,
			Hostname: servicepods.Hostname(pod, svc),
			TargetRef: &v1.ObjectReference{
				Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID,
			},
		}
		if pod.Spec.NodeName != "" {
			node := pod.Spec.NodeName
			addr.NodeName = &node
		}
		var ports []v1.EndpointPort
		for i := range svc.Spec.Ports {
			sp := &svc.Spec.Ports[i]
			port, err := servicepods.FindPort(pod, sp)
			if err != nil {
				continue
			}
			ports = append(ports, v1.EndpointPort{Name: sp.Name, Port: port, Protocol: sp.Protocol, AppProtocol: sp.AppProtocol})
		}
		// A Service with ports whose pod resolves none of them has no
		// endpoint on that pod; a headless Service without ports lists
		// bare addresses.
		if len(svc.Spec.Ports) > 0 && len(ports) == 0 {
			continue
		}
		k := portsKey(ports)
		g := groups[k]
		if g == nil {
			g = &group{ports: ports}
			groups[k] = g
		}
		if servicepods.Ready(pod) && pod.DeletionTimestamp == nil || svc.Spec.PublishNotReadyAddresses {
			g.ready = append(g.ready, addr)
		} else {
			g.notReady = append(g.notReady, addr)
		}
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var subsets []v1.EndpointSubset
	for _, k := range keys {
		g := groups[k]
		sortAddresses(g.ready)
		sortAddresses(g.notReady)
		subsets = append(subsets, v1.EndpointSubset{Addresses: g.ready, NotReadyAddresses: g.notReady, Ports: g.ports})
	}
	return subsets
}

func portsKey(ports []v1.EndpointPort) string {
	parts := make([]string, len(ports))
	for i, p := range ports {
		parts[i] = fmt.Sprintf("%s/%d/%s", p.Name, p.Port, p.Protocol)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func sortAddresses(a []v1.EndpointAddress) {
	sort.Slice(a, func(i, j int) bool {
		if a[i].IP != a[j].IP {
			return a[i].IP < a[j].IP
		}
		return a[i].TargetRef.Name < a[j].TargetRef.Name
	})
}
