// Package resourcequota is the ResourceQuota controller: it keeps each
// quota's status.hard equal to spec.hard and status.used at what the
// namespace holds now (object counts, and the compute and storage requests
// and limits of its pods and claims), honouring the quota's scopes.
// Enforcement happens at admission in the apiserver.
package resourcequota

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"navarch.dev/controller-manager/pkg/controller/podstate"
)

// Name is the controller's name in the controller-manager's table.
const Name = "resourcequota"

// counter counts the objects of one resource in a namespace.
type counter func(ns string) (int, error)

// Controller is the ResourceQuota controller.
type Controller struct {
	client      kubernetes.Interface
	quotaLister corelisters.ResourceQuotaLister
	podLister   corelisters.PodLister
	svcLister   corelisters.ServiceLister
	pvcLister   corelisters.PersistentVolumeClaimLister
	// counters by the quota name of the resource ("count/jobs.batch"; the
	// core group has no suffix: "count/pods").
	counters map[string]counter
	synced   []cache.InformerSynced
	queue    workqueue.TypedRateLimitingInterface[string]
	period   time.Duration
}

// NewController counts through informers from f; every period all quotas
// are recomputed in case an event was missed.
func NewController(client kubernetes.Interface, f informers.SharedInformerFactory, period time.Duration) *Controller {
	core, apps, batch := f.Core().V1(), f.Apps().V1(), f.Batch().V1()
	c := &Controller{
		client:      client,
		quotaLister: core.ResourceQuotas().Lister(),
		podLister:   core.Pods().Lister(),
		svcLister:   core.Services().Lister(),
		pvcLister:   core.PersistentVolumeClaims().Lister(),
		queue:       workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](), workqueue.TypedRateLimitingQueueConfig[string]{Name: Name}),
		period:      period,
	}
	type source struct {
		name     string
		informer cache.SharedIndexInformer
		count    counter
	}
	count := func(list func(ns string) (int, error)) counter { return list }
	sources := []source{
		{"pods", core.Pods().Informer(), count(func(ns string) (int, error) {
			l, err := core.Pods().Lister().Pods(ns).List(labels.Everything())
			return len(l), err
		})},
		{"services", core.Services().Informer(), count(func(ns string) (int, error) {
			l, err := core.Services().Lister().Services(ns).List(labels.Everything())
			return len(l), err
		})},
		{"persistentvolumeclaims", core.PersistentVolumeClaims().Informer(), count(func(ns string) (int, error) {
			l, err := core.PersistentVolumeClaims().Lister().PersistentVolumeClaims(ns).List(labels.Everything())
			return len(l), err
		})},
		{"configmaps", core.ConfigMaps().Informer(), count(func(ns string) (int, error) {
			l, err := core.ConfigMaps().Lister().ConfigMaps(ns).List(labels.Everything())
			return len(l), err
		})},
		{"secrets", core.Secrets().Informer(), count(func(ns string) (int, error) {
			l, err := core.Secrets().Lister().Secrets(ns).List(labels.Everything())
			return len(l), err
		})},
		{"replicationcontrollers", core.ReplicationControllers().Informer(), count(func(ns string) (int, error) {
			l, err := core.ReplicationControllers().Lister().ReplicationControllers(ns).List(labels.Everything())
			return len(l), err
		})},
		{"resourcequotas", core.ResourceQuotas().Informer(), count(func(ns string) (int, error) {
			l, err := core.ResourceQuotas().Lister().ResourceQuotas(ns).List(labels.Everything())
			return len(l), err
		})},
		{"deployments.apps", apps.Deployments().Informer(), count(func(ns string) (int, error) {
			l, err := apps.Deployments().Lister().Deployments(ns).List(labels.Everything())
			return len(l), err
		})},
		{"replicasets.apps", apps.ReplicaSets().Informer(), count(func(ns string) (int, error) {
			l, err := apps.ReplicaSets().Lister().ReplicaSets(ns).List(labels.Everything())
			return len(l), err
		})},
		{"statefulsets.apps", apps.StatefulSets().Informer(), count(func(ns string) (int, error) {
			l, err := apps.StatefulSets().Lister().StatefulSets(ns).List(labels.Everything())
			return len(l), err
		})},
		{"daemonsets.apps", apps.DaemonSets().Informer(), count(func(ns string) (int, error) {
			l, err := apps.DaemonSets().Lister().DaemonSets(ns).List(labels.Everything())
			return len(l), err
		})},
		{"jobs.batch", batch.Jobs().Informer(), count(func(ns string) (int, error) {
			l, err := batch.Jobs().Lister().Jobs(ns).List(labels.Everything())
			return len(l), err
		})},
		{"cronjobs.batch", batch.CronJobs().Informer(), count(func(ns string) (int, error) {
			l, err := batch.CronJobs().Lister().CronJobs(ns).List(labels.Everything())
			return len(l), err
		})},
	}
	c.counters = map[string]counter{}
	for _, s := range sources {
		c.counters["count/"+s.name] = s.count
		c.synced = append(c.synced, s.informer.HasSynced)
		if s.name == "resourcequotas" {
			s.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
				AddFunc:    c.enqueue,
				UpdateFunc: func(_, n any) { c.enqueue(n) },
			})
			continue
		}
		s.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    c.enqueueNamespace,
			UpdateFunc: func(_, n any) { c.enqueueNamespace(n) },
			DeleteFunc: c.enqueueNamespace,
		})
	}
	return c
}

func (c *Controller) enqueue(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		utilruntime.HandleError(err)
		return
	}
	c.queue.Add(key)
}

// enqueueNamespace enqueues the quotas of the namespace obj lives in.
func (c *Controller) enqueueNamespace(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	m, ok := obj.(metav1.Object)
	if !ok {
		return
	}
	quotas, err := c.quotaLister.ResourceQuotas(m.GetNamespace()).List(labels.Everything())
	if err != nil {
		utilruntime.HandleError(err)
		return
	}
	for _, q := range quotas {
		c.enqueue(q)
	}
}

// Run starts workers and the periodic resync; it blocks until ctx is done.
func (c *Controller) Run(ctx context.Context, workers int) {
	defer utilruntime.HandleCrash()
	defer c.queue.ShutDown()
	slog.Info("starting controller", "controller", Name)
	defer slog.Info("stopping controller", "controller", Name)
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return
	}
	for range workers {
		go wait.UntilWithContext(ctx, c.worker, time.Second)
	}
	if c.period > 0 {
		go wait.UntilWithContext(ctx, func(context.Context) {
			quotas, err := c.quotaLister.List(labels.Everything())
			if err != nil {
				utilruntime.HandleError(err)
				return
			}
			for _, q := range quotas {
				c.enqueue(q)
			}
		}, c.period)
	}
	<-ctx.Done()
}

func (c *Controller) worker(ctx context.Context) {
	for c.processNextWorkItem(ctx) {
	}
}

func (c *Controller) processNextWorkItem(ctx context.Context) bool {
	key, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(key)
	if err := c.sync(ctx, key); err != nil {
		utilruntime.HandleError(fmt.Errorf("sync resourcequota %q: %w", key, err))
		c.queue.AddRateLimited(key)
		return true
	}
	c.queue.Forget(key)
	return true
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return err
	}
	shared, err := c.quotaLister.ResourceQuotas(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	q := shared.DeepCopy()
	used, err := c.usage(q)
	if err != nil {
		return err
	}
	q.Status.Hard = q.Spec.Hard.DeepCopy()
	q.Status.Used = used
	if equality.Semantic.DeepEqual(shared.Status, q.Status) {
		return nil
	}
	if _, err := c.client.CoreV1().ResourceQuotas(ns).UpdateStatus(ctx, q, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update status: %w", err)
	}
	return nil
}

// podMatchesScopes reports whether the quota's scopes select the pod.
func podMatchesScopes(p *corev1.Pod, scopes []corev1.ResourceQuotaScope) bool {
	for _, s := range scopes {
		switch s {
		case corev1.ResourceQuotaScopeTerminating:
			if p.Spec.ActiveDeadlineSeconds == nil {
				return false
			}
		case corev1.ResourceQuotaScopeNotTerminating:
			if p.Spec.ActiveDeadlineSeconds != nil {
				return false
			}
		case corev1.ResourceQuotaScopeBestEffort:
			if !bestEffort(p) {
				return false
			}
		case corev1.ResourceQuotaScopeNotBestEffort:
			if bestEffort(p) {
				return false
			}
		}
	}
	return true
}

func bestEffort(p *corev1.Pod) bool {
	for _, cs := range [][]corev1.Container{p.Spec.InitContainers, p.Spec.Containers} {
		for _, ct := range cs {
			if len(ct.Resources.Requests) > 0 || len(ct.Resources.Limits) > 0 {
				return false
			}
		}
	}
	return true
}

// podResources returns the pod's effective requests and limits: the sum
// over its containers or the largest init container, whichever is larger,
// plus the pod overhead.
func podResources(p *corev1.Pod) (requests, limits corev1.ResourceList) {
	sum := func(get func(*corev1.Container) corev1.ResourceList) corev1.ResourceList {
		out := corev1.ResourceList{}
		for i := range p.Spec.Containers {
			for k, v := range get(&p.Spec.Containers[i]) {
				q := out[k]
				q.Add(v)
				out[k] = q
			}
		}
		for i := range p.Spec.InitContainers {
			for k, v := range get(&p.Spec.InitContainers[i]) {
				if q, ok := out[k]; !ok || v.Cmp(q) > 0 {
					out[k] = v.DeepCopy()
				}
			}
		}
		for k, v := range p.Spec.Overhead {
			q := out[k]
			q.Add(v)
			out[k] = q
		}
		return out
	}
	return sum(func(c *corev1.Container) corev1.ResourceList { return c.Resources.Requests }),
		sum(func(c *corev1.Container) corev1.ResourceList { return c.Resources.Limits })
}

// usage computes used for every resource named in the quota's hard.
func (c *Controller) usage(q *corev1.ResourceQuota) (corev1.ResourceList, error) {
	ns := q.Namespace
	used := corev1.ResourceList{}
	add := func(name corev1.ResourceName, v resource.Quantity) {
		cur := used[name]
		cur.Add(v)
		used[name] = cur
	}
	for name := range q.Spec.Hard {
		used[name] = resource.MustParse("0")
	}

	pods, err := c.podLister.Pods(ns).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	for _, p := range pods {
		// Finished pods no longer hold resources.
		if podstate.Terminal(p) || !podMatchesScopes(p, q.Spec.Scopes) {
			continue
		}
		add(corev1.ResourcePods, *resource.NewQuantity(1, resource.DecimalSI))
		add("count/pods", *resource.NewQuantity(1, resource.DecimalSI))
		requests, limits := podResources(p)
		for k, v := range requests {
			add(corev1.ResourceName("requests."+string(k)), v)
			if k == corev1.ResourceCPU || k == corev1.ResourceMemory || k == corev1.ResourceEphemeralStorage {
				add(k, v)
			}
		}
		for k, v := range limits {
			add(corev1.ResourceName("limits."+string(k)), v)
		}
	}
	if len(q.Spec.Scopes) == 0 {
		svcs, err := c.svcLister.Services(ns).List(labels.Everything())
		if err != nil {
			return nil, err
		}
		for _, s := range svcs {
			one := *resource.NewQuantity(1, resource.DecimalSI)
			add(corev1.ResourceServices, one)
			switch s.Spec.Type {
			case corev1.ServiceTypeLoadBalancer:
				add(corev1.ResourceServicesLoadBalancers, one)
				fallthrough
			case corev1.ServiceTypeNodePort:
				for range s.Spec.Ports {
					add(corev1.ResourceServicesNodePorts, one)
				}
			}
		}
		pvcs, err := c.pvcLister.PersistentVolumeClaims(ns).List(labels.Everything())
		if err != nil {
			return nil, err
		}
		for _, pvc := range pvcs {
			one := *resource.NewQuantity(1, resource.DecimalSI)
			add(corev1.ResourcePersistentVolumeClaims, one)
			size := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
			add(corev1.ResourceRequestsStorage, size)
			if cls := pvc.Spec.StorageClassName; cls != nil && *cls != "" {
				add(corev1.ResourceName(*cls+".storageclass.storage.k8s.io/persistentvolumeclaims"), one)
				add(corev1.ResourceName(*cls+".storageclass.storage.k8s.io/requests.storage"), size)
			}
		}
		for name := range q.Spec.Hard {
			if !strings.HasPrefix(string(name), "count/") || name == "count/pods" {
				continue
			}
			count, ok := c.counters[string(name)]
			if !ok {
				continue
			}
			n, err := count(ns)
			if err != nil {
				return nil, err
			}
			used[name] = *resource.NewQuantity(int64(n), resource.DecimalSI)
		}
		for _, legacy := range []corev1.ResourceName{corev1.ResourceConfigMaps, corev1.ResourceSecrets, corev1.ResourceReplicationControllers, corev1.ResourceQuotas} {
			if _, ok := q.Spec.Hard[legacy]; ok {
				n, err := c.counters["count/"+string(legacy)](ns)
				if err != nil {
					return nil, err
				}
				used[legacy] = *resource.NewQuantity(int64(n), resource.DecimalSI)
			}
		}
	}
	// Report only what the quota limits, as upstream.
	out := corev1.ResourceList{}
	for name := range q.Spec.Hard {
		out[name] = used[name]
	}
	return out, nil
}
