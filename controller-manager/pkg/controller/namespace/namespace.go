// Package namespace runs the Namespace controller: when a namespace is
// deleted it deletes everything in it, of every namespaced kind the
// apiserver serves, and then removes the "kubernetes" finalizer so the
// apiserver can remove the namespace.
package namespace

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// errContentRemaining means the namespace still holds objects (pods
// finishing, objects held by finalizers): look again after a backoff.
var errContentRemaining = errors.New("namespace: content remaining")

// Controller is the Namespace controller.
type Controller struct {
	client    kubernetes.Interface
	md        metadata.Interface
	discovery discovery.DiscoveryInterface

	lister corelisters.NamespaceLister
	synced cache.InformerSynced
	queue  workqueue.TypedRateLimitingInterface[string]
}

// New wires a controller to the namespace informer; resync is the
// informer's resync period (--namespace-sync-period).
func New(namespaces coreinformers.NamespaceInformer, client kubernetes.Interface, md metadata.Interface, disc discovery.DiscoveryInterface, resync time.Duration) (*Controller, error) {
	c := &Controller{
		client:    client,
		md:        md,
		discovery: disc,
		lister:    namespaces.Lister(),
		synced:    namespaces.Informer().HasSynced,
		// Content goes away on its own schedule; retry quickly at first
		// and at most every ten seconds.
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](100*time.Millisecond, 10*time.Second),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "namespace"}),
	}
	enqueue := func(obj any) {
		ns, ok := obj.(*v1.Namespace)
		if !ok || ns.DeletionTimestamp == nil {
			return
		}
		c.queue.Add(ns.Name)
	}
	if _, err := namespaces.Informer().AddEventHandlerWithResyncPeriod(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
	}, resync); err != nil {
		return nil, err
	}
	return c, nil
}

// Run waits for the cache and runs workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	defer utilruntime.HandleCrash()
	defer c.queue.ShutDown()
	slog.Info("Starting controller", "controller", "namespace")
	defer slog.Info("Shutting down controller", "controller", "namespace")
	if !cache.WaitForNamedCacheSync("namespace", ctx.Done(), c.synced) {
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
	err := c.sync(ctx, key)
	switch {
	case err == nil:
		c.queue.Forget(key)
	case errors.Is(err, errContentRemaining):
		c.queue.AddRateLimited(key)
	default:
		utilruntime.HandleError(fmt.Errorf("sync namespace %q: %w", key, err))
		c.queue.AddRateLimited(key)
	}
	return true
}

func (c *Controller) sync(ctx context.Context, name string) error {
	cached, err := c.lister.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if cached.DeletionTimestamp == nil {
		return nil
	}
	if !slices.Contains(cached.Spec.Finalizers, v1.FinalizerKubernetes) {
		return nil
	}
	remaining, err := c.deleteContent(ctx, name)
	if err != nil {
		return err
	}
	if remaining > 0 {
		return fmt.Errorf("%w: %d objects in %s", errContentRemaining, remaining, name)
	}
	return c.finalize(ctx, name)
}

// deleteContent deletes every object of every namespaced, deletable kind in
// ns and returns how many remain.
func (c *Controller) deleteContent(ctx context.Context, ns string) (int, error) {
	lists, err := c.discovery.ServerPreferredNamespacedResources()
	if err != nil && len(lists) == 0 {
		return 0, fmt.Errorf("discover namespaced resources: %w", err)
	}
	var partialDiscovery error
	if err != nil {
		// Some group failed discovery: its objects may remain, so the
		// namespace must not be finalized yet.
		partialDiscovery = fmt.Errorf("discover namespaced resources: %w", err)
	}
	remaining := 0
	var errs []error
	for _, list := range lists {
		gv, err := schema.ParseGroupVersion(list.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range list.APIResources {
			verbs := sets.New(r.Verbs...)
			if !r.Namespaced || slices.Contains([]byte(r.Name), '/') || !verbs.Has("list") || !verbs.Has("delete") && !verbs.Has("deletecollection") {
				continue
			}
			n, err := c.deleteResource(ctx, gv.WithResource(r.Name), ns, verbs.Has("deletecollection"))
			if err != nil {
				errs = append(errs, err)
				continue
			}
			remaining += n
		}
	}
	if partialDiscovery != nil {
		errs = append(errs, partialDiscovery)
	}
	return remaining, errors.Join(errs...)
}

func (c *Controller) deleteResource(ctx context.Context, gvr schema.GroupVersionResource, ns string, collection bool) (int, error) {
	rc := c.md.Resource(gvr).Namespace(ns)
	background := metav1.DeletePropagationBackground
	opts := metav1.DeleteOptions{PropagationPolicy: &background}
	if collection {
		err := rc.DeleteCollection(ctx, opts, metav1.ListOptions{})
		if err == nil || apierrors.IsNotFound(err) {
			collection = true
		} else if apierrors.IsMethodNotSupported(err) {
			collection = false
		} else {
			return 0, fmt.Errorf("delete all %s in %s: %w", gvr, ns, err)
		}
	}
	list := func() (*metav1.PartialObjectMetadataList, error) {
		l, err := rc.List(ctx, metav1.ListOptions{})
		if apierrors.IsNotFound(err) {
			return &metav1.PartialObjectMetadataList{}, nil
		}
		if err != nil {
			return nil, fmt.Errorf("list %s in %s: %w", gvr, ns, err)
		}
		return l, nil
	}
	if !collection {
		l, err := list()
		if err != nil {
			return 0, err
		}
		for _, item := range l.Items {
			if item.DeletionTimestamp != nil {
				continue
			}
			if err := rc.Delete(ctx, item.Name, opts); err != nil && !apierrors.IsNotFound(err) {
				return 0, fmt.Errorf("delete %s %s/%s: %w", gvr, ns, item.Name, err)
			}
		}
	}
	// Count what is left after deleting, not what was there before.
	l, err := list()
	if err != nil {
		return 0, err
	}
	return len(l.Items), nil
}

// finalize removes the "kubernetes" finalizer through namespaces/finalize.
func (c *Controller) finalize(ctx context.Context, name string) error {
	ns, err := c.client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	ns.Spec.Finalizers = slices.DeleteFunc(ns.Spec.Finalizers, func(f v1.FinalizerName) bool { return f == v1.FinalizerKubernetes })
	_, err = c.client.CoreV1().Namespaces().Finalize(ctx, ns, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err == nil {
		slog.Info("Namespace emptied and finalized", "namespace", name)
	}
	return err
}
