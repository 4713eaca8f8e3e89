// Package garbagecollector deletes objects whose owners are gone, across
// every resource the apiserver serves, and carries out the foreground and
// orphan deletion of owners: it watches all resources as metadata,
// keeps a graph of ownerReferences, and removes the foregroundDeletion and
// orphan finalizers once their work is done.
package garbagecollector

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// ResyncDiscoveryPeriod is how often new resources (CRDs, aggregated APIs)
// are looked for.
const ResyncDiscoveryPeriod = 30 * time.Second

// ignoredResources are never collected: events are many and owned by
// nothing.
var ignoredResources = map[schema.GroupResource]bool{
	{Group: "", Resource: "events"}:                    true,
	{Group: "events.k8s.io", Resource: "events"}:       true,
	{Group: "authentication.k8s.io", Resource: "*"}:    true,
	{Group: "authorization.k8s.io", Resource: "*"}:     true,
	{Group: "coordination.k8s.io", Resource: "leases"}: true,
}

// objRef names one object.
type objRef struct {
	APIVersion string
	Kind       string
	Namespace  string
	Name       string
	UID        types.UID
}

func (r objRef) String() string {
	return fmt.Sprintf("%s %s %s/%s (%s)", r.APIVersion, r.Kind, r.Namespace, r.Name, r.UID)
}

// node is an object in the graph.
type node struct {
	ref        objRef
	owners     []metav1.OwnerReference
	deleting   bool
	finalizers []string
}

// event is an informer notification waiting to be applied to the graph.
type event struct {
	gvk     schema.GroupVersionKind
	obj     *metav1.PartialObjectMetadata
	deleted bool
}

// item is work for the collector: decide whether ref should be deleted
// (its owners may be gone), or, with owner set, finish ref's foreground or
// orphan deletion.
type item struct {
	ref   objRef
	owner bool
}

type mapping struct {
	gvr        schema.GroupVersionResource
	namespaced bool
}

// Controller is the garbage collector.
type Controller struct {
	md        metadata.Interface
	discovery discovery.DiscoveryInterface
	factory   metadatainformer.SharedInformerFactory

	mu         sync.RWMutex
	nodes      map[types.UID]*node
	dependents map[types.UID]sets.Set[types.UID] // owner uid → dependents
	kinds      map[schema.GroupVersionKind]mapping
	watched    map[schema.GroupVersionResource]cache.InformerSynced

	changes workqueue.TypedInterface[*event]
	queue   workqueue.TypedRateLimitingInterface[item]
}

// New returns a collector that watches resources through factory.
func New(md metadata.Interface, disc discovery.DiscoveryInterface, factory metadatainformer.SharedInformerFactory) *Controller {
	return &Controller{
		md:         md,
		discovery:  disc,
		factory:    factory,
		nodes:      map[types.UID]*node{},
		dependents: map[types.UID]sets.Set[types.UID]{},
		kinds:      map[schema.GroupVersionKind]mapping{},
		watched:    map[schema.GroupVersionResource]cache.InformerSynced{},
		changes:    workqueue.NewTypedWithConfig(workqueue.TypedQueueConfig[*event]{Name: "garbage_collector_graph_changes"}),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[item](),
			workqueue.TypedRateLimitingQueueConfig[item]{Name: "garbage_collector_attempt_to_delete"}),
	}
}

// Sync discovers the served resources and registers an informer for each
// new one. Call it before the factory starts; Run calls it again
// periodically and starts the informers it adds.
func (c *Controller) Sync() error {
	_, lists, err := c.discovery.ServerGroupsAndResources()
	if err != nil && len(lists) == 0 {
		return fmt.Errorf("garbagecollector: discovery: %w", err)
	}
	preferred, perr := c.discovery.ServerPreferredResources()
	if perr != nil && len(preferred) == 0 {
		return fmt.Errorf("garbagecollector: discovery: %w", perr)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, list := range lists {
		gv, err := schema.ParseGroupVersion(list.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range list.APIResources {
			if containsSlash(r.Name) {
				continue
			}
			c.kinds[gv.WithKind(r.Kind)] = mapping{gvr: gv.WithResource(r.Name), namespaced: r.Namespaced}
		}
	}
	for _, list := range preferred {
		gv, err := schema.ParseGroupVersion(list.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range list.APIResources {
			gvr := gv.WithResource(r.Name)
			if containsSlash(r.Name) || ignoredResources[gvr.GroupResource()] || ignoredResources[schema.GroupResource{Group: gv.Group, Resource: "*"}] {
				continue
			}
			verbs := sets.New(r.Verbs...)
			if !verbs.HasAll("list", "watch", "delete", "get", "patch") {
				continue
			}
			if _, ok := c.watched[gvr]; ok {
				continue
			}
			gvk := gv.WithKind(r.Kind)
			inf := c.factory.ForResource(gvr).Informer()
			if _, err := inf.AddEventHandler(c.handler(gvk)); err != nil {
				return err
			}
			c.watched[gvr] = inf.HasSynced
		}
	}
	return nil
}

func containsSlash(s string) bool { return slices.Contains([]byte(s), '/') }

func (c *Controller) handler(gvk schema.GroupVersionKind) cache.ResourceEventHandler {
	add := func(obj any, deleted bool) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		m, ok := obj.(*metav1.PartialObjectMetadata)
		if !ok {
			return
		}
		c.changes.Add(&event{gvk: gvk, obj: m, deleted: deleted})
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { add(obj, false) },
		UpdateFunc: func(_, obj any) { add(obj, false) },
		DeleteFunc: func(obj any) { add(obj, true) },
	}
}

func (c *Controller) synced() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, s := range c.watched {
		if !s() {
			return false
		}
	}
	return true
}

// Run processes graph changes and deletions with workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	defer utilruntime.HandleCrash()
	defer c.queue.ShutDown()
	defer c.changes.ShutDown()
	slog.Info("Starting controller", "controller", "garbagecollector")
	defer slog.Info("Shutting down controller", "controller", "garbagecollector")

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for c.processGraphChange() {
		}
	}()
	if !cache.WaitForNamedCacheSync("garbagecollector", ctx.Done(), c.synced) {
		c.changes.ShutDown()
		wg.Wait()
		return
	}
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
	wg.Add(1)
	go func() {
		defer wg.Done()
		wait.UntilWithContext(ctx, func(ctx context.Context) {
			if err := c.Sync(); err != nil {
				utilruntime.HandleError(err)
				return
			}
			c.factory.Start(ctx.Done())
		}, ResyncDiscoveryPeriod)
	}()
	<-ctx.Done()
	c.queue.ShutDown()
	c.changes.ShutDown()
	wg.Wait()
}

// processGraphChange applies one informer event to the graph and queues
// the work it makes necessary.
func (c *Controller) processGraphChange() bool {
	ev, quit := c.changes.Get()
	if quit {
		return false
	}
	defer c.changes.Done(ev)

	obj := ev.obj
	ref := objRef{APIVersion: ev.gvk.GroupVersion().String(), Kind: ev.gvk.Kind, Namespace: obj.Namespace, Name: obj.Name, UID: obj.UID}
	c.mu.Lock()
	old := c.nodes[obj.UID]
	if ev.deleted {
		delete(c.nodes, obj.UID)
		if old != nil {
			c.unindexOwners(old)
		}
		deps := c.dependents[obj.UID].UnsortedList()
		c.mu.Unlock()
		// Dependents of a vanished owner may now be garbage.
		for _, d := range deps {
			c.enqueueDependent(d)
		}
		// An owner in foreground deletion may be waiting for this one.
		for _, o := range obj.OwnerReferences {
			c.enqueueOwner(o.UID)
		}
		return true
	}
	n := &node{
		ref:        ref,
		owners:     slices.Clone(obj.OwnerReferences),
		deleting:   obj.DeletionTimestamp != nil,
		finalizers: slices.Clone(obj.Finalizers),
	}
	if old != nil {
		c.unindexOwners(old)
	}
	c.nodes[obj.UID] = n
	for _, o := range n.owners {
		if c.dependents[o.UID] == nil {
			c.dependents[o.UID] = sets.New[types.UID]()
		}
		c.dependents[o.UID].Insert(obj.UID)
	}
	var ownersMissing bool
	for _, o := range n.owners {
		if on, ok := c.nodes[o.UID]; !ok || on.deleting {
			ownersMissing = true
		}
	}
	c.mu.Unlock()

	if ownersMissing {
		c.queue.Add(item{ref: ref})
	}
	if n.deleting && (slices.Contains(n.finalizers, metav1.FinalizerOrphanDependents) || slices.Contains(n.finalizers, metav1.FinalizerDeleteDependents)) {
		c.queue.Add(item{ref: ref, owner: true})
	}
	// Owners released by this update may be waiting for it.
	if old != nil {
		for _, o := range old.owners {
			if !slices.ContainsFunc(n.owners, func(r metav1.OwnerReference) bool { return r.UID == o.UID }) {
				c.enqueueOwner(o.UID)
			}
		}
	}
	return true
}

func (c *Controller) unindexOwners(n *node) {
	for _, o := range n.owners {
		if s := c.dependents[o.UID]; s != nil {
			s.Delete(n.ref.UID)
			if s.Len() == 0 {
				delete(c.dependents, o.UID)
			}
		}
	}
}

func (c *Controller) enqueueDependent(uid types.UID) {
	c.mu.RLock()
	n := c.nodes[uid]
	c.mu.RUnlock()
	if n != nil {
		c.queue.Add(item{ref: n.ref})
	}
}

func (c *Controller) enqueueOwner(uid types.UID) {
	c.mu.RLock()
	n := c.nodes[uid]
	c.mu.RUnlock()
	if n != nil && n.deleting {
		c.queue.Add(item{ref: n.ref, owner: true})
	}
}

func (c *Controller) processNextWorkItem(ctx context.Context) bool {
	it, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(it)
	var err error
	if it.owner {
		err = c.processDeletingOwner(ctx, it.ref)
	} else {
		err = c.attemptToDelete(ctx, it.ref)
	}
	if err != nil {
		utilruntime.HandleError(fmt.Errorf("garbagecollector: %s: %w", it.ref, err))
		c.queue.AddRateLimited(it)
		return true
	}
	c.queue.Forget(it)
	return true
}

func (c *Controller) mappingFor(apiVersion, kind string) (mapping, error) {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return mapping{}, err
	}
	c.mu.RLock()
	m, ok := c.kinds[gv.WithKind(kind)]
	c.mu.RUnlock()
	if !ok {
		return mapping{}, fmt.Errorf("no resource serves %s %s", apiVersion, kind)
	}
	return m, nil
}

func (c *Controller) client(ref objRef) (metadata.ResourceInterface, error) {
	m, err := c.mappingFor(ref.APIVersion, ref.Kind)
	if err != nil {
		return nil, err
	}
	if m.namespaced {
		return c.md.Resource(m.gvr).Namespace(ref.Namespace), nil
	}
	return c.md.Resource(m.gvr), nil
}

// getLive reads ref from the API, reporting a missing or replaced object
// as nil.
func (c *Controller) getLive(ctx context.Context, ref objRef) (*metav1.PartialObjectMetadata, error) {
	rc, err := c.client(ref)
	if err != nil {
		return nil, err
	}
	obj, err := rc.Get(ctx, ref.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if obj.UID != ref.UID {
		return nil, nil
	}
	return obj, nil
}

// ownerState classifies one owner of a dependent.
type ownerState int

const (
	ownerSolid   ownerState = iota // exists and is not waiting for dependents
	ownerGone                      // absent or replaced: the reference dangles
	ownerWaiting                   // in foreground deletion, waiting for its dependents
)

func (c *Controller) classifyOwner(ctx context.Context, dependent objRef, o metav1.OwnerReference) (ownerState, error) {
	m, err := c.mappingFor(o.APIVersion, o.Kind)
	if err != nil {
		// The kind may be served but not discovered yet (a CRD just
		// established): retry until discovery knows it rather than
		// delete a dependent whose owner may well exist.
		return ownerSolid, err
	}
	ns := ""
	if m.namespaced {
		ns = dependent.Namespace
	}
	live, err := c.getLive(ctx, objRef{APIVersion: o.APIVersion, Kind: o.Kind, Namespace: ns, Name: o.Name, UID: o.UID})
	if err != nil {
		return ownerSolid, err
	}
	switch {
	case live == nil:
		return ownerGone, nil
	case live.DeletionTimestamp != nil && slices.Contains(live.Finalizers, metav1.FinalizerDeleteDependents):
		return ownerWaiting, nil
	}
	return ownerSolid, nil
}

// attemptToDelete deletes ref when none of its owners remains, drops
// references to owners that are gone while others remain, and deletes it
// in the foreground when an owner waits for it.
func (c *Controller) attemptToDelete(ctx context.Context, ref objRef) error {
	live, err := c.getLive(ctx, ref)
	if err != nil || live == nil {
		return err
	}
	if live.DeletionTimestamp != nil && !slices.Contains(live.Finalizers, metav1.FinalizerDeleteDependents) {
		return nil // already going
	}
	if len(live.OwnerReferences) == 0 {
		return nil
	}
	var solid, gone, waiting []metav1.OwnerReference
	for _, o := range live.OwnerReferences {
		state, err := c.classifyOwner(ctx, ref, o)
		if err != nil {
			return err
		}
		switch state {
		case ownerSolid:
			solid = append(solid, o)
		case ownerGone:
			gone = append(gone, o)
		case ownerWaiting:
			waiting = append(waiting, o)
		}
	}
	rc, err := c.client(ref)
	if err != nil {
		return err
	}
	switch {
	case len(solid) > 0:
		if len(gone)+len(waiting) == 0 {
			return nil
		}
		// Keep the object for its remaining owners; forget the others.
		return c.patchOwnerRefs(ctx, rc, live, solid)
	case len(waiting) > 0:
		if live.DeletionTimestamp != nil {
			return nil
		}
		// An owner deletes in the foreground: so does this dependent when
		// it has dependents of its own.
		policy := metav1.DeletePropagationBackground
		c.mu.RLock()
		if c.dependents[ref.UID].Len() > 0 {
			policy = metav1.DeletePropagationForeground
		}
		c.mu.RUnlock()
		return c.deleteObject(ctx, rc, ref, policy)
	default:
		policy := metav1.DeletePropagationBackground
		switch {
		case slices.Contains(live.Finalizers, metav1.FinalizerOrphanDependents):
			policy = metav1.DeletePropagationOrphan
		case slices.Contains(live.Finalizers, metav1.FinalizerDeleteDependents):
			policy = metav1.DeletePropagationForeground
		}
		slog.Info("Deleting object whose owners are gone", "object", ref.String(), "policy", policy)
		return c.deleteObject(ctx, rc, ref, policy)
	}
}

func (c *Controller) deleteObject(ctx context.Context, rc metadata.ResourceInterface, ref objRef, policy metav1.DeletionPropagation) error {
	uid := ref.UID
	err := rc.Delete(ctx, ref.Name, metav1.DeleteOptions{
		Preconditions:     &metav1.Preconditions{UID: &uid},
		PropagationPolicy: &policy,
	})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}

// patchOwnerRefs sets obj's ownerReferences to keep, failing if obj changed
// since it was read.
func (c *Controller) patchOwnerRefs(ctx context.Context, rc metadata.ResourceInterface, obj *metav1.PartialObjectMetadata, keep []metav1.OwnerReference) error {
	if keep == nil {
		keep = []metav1.OwnerReference{}
	}
	patch, err := json.Marshal([]map[string]any{
		{"op": "test", "path": "/metadata/uid", "value": obj.UID},
		{"op": "test", "path": "/metadata/resourceVersion", "value": obj.ResourceVersion},
		{"op": "replace", "path": "/metadata/ownerReferences", "value": keep},
	})
	if err != nil {
		return err
	}
	_, err = rc.Patch(ctx, obj.Name, types.JSONPatchType, patch, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// processDeletingOwner finishes an owner's orphan or foreground deletion.
func (c *Controller) processDeletingOwner(ctx context.Context, ref objRef) error {
	live, err := c.getLive(ctx, ref)
	if err != nil || live == nil || live.DeletionTimestamp == nil {
		return err
	}
	rc, err := c.client(ref)
	if err != nil {
		return err
	}
	c.mu.RLock()
	var deps []*node
	for uid := range c.dependents[ref.UID] {
		if n := c.nodes[uid]; n != nil {
			deps = append(deps, n)
		}
	}
	c.mu.RUnlock()

	switch {
	case slices.Contains(live.Finalizers, metav1.FinalizerOrphanDependents):
		for _, d := range deps {
			if err := c.orphan(ctx, d.ref, ref.UID); err != nil {
				return err
			}
		}
		return c.removeFinalizer(ctx, rc, live, metav1.FinalizerOrphanDependents)
	case slices.Contains(live.Finalizers, metav1.FinalizerDeleteDependents):
		blocking := 0
		for _, d := range deps {
			for _, o := range d.owners {
				if o.UID == ref.UID && o.BlockOwnerDeletion != nil && *o.BlockOwnerDeletion {
					blocking++
				}
			}
			if !d.deleting {
				c.queue.Add(item{ref: d.ref})
			}
		}
		if blocking > 0 {
			// Dependents' deletions will requeue this owner.
			return nil
		}
		return c.removeFinalizer(ctx, rc, live, metav1.FinalizerDeleteDependents)
	}
	return nil
}

// orphan removes dependent's reference to owner.
func (c *Controller) orphan(ctx context.Context, dependent objRef, owner types.UID) error {
	live, err := c.getLive(ctx, dependent)
	if err != nil || live == nil {
		return err
	}
	var keep []metav1.OwnerReference
	for _, o := range live.OwnerReferences {
		if o.UID != owner {
			keep = append(keep, o)
		}
	}
	if len(keep) == len(live.OwnerReferences) {
		return nil
	}
	rc, err := c.client(dependent)
	if err != nil {
		return err
	}
	return c.patchOwnerRefs(ctx, rc, live, keep)
}

func (c *Controller) removeFinalizer(ctx context.Context, rc metadata.ResourceInterface, obj *metav1.PartialObjectMetadata, finalizer string) error {
	keep := slices.DeleteFunc(slices.Clone(obj.Finalizers), func(f string) bool { return f == finalizer })
	if keep == nil {
		keep = []string{}
	}
	patch, err := json.Marshal([]map[string]any{
		{"op": "test", "path": "/metadata/uid", "value": obj.UID},
		{"op": "test", "path": "/metadata/resourceVersion", "value": obj.ResourceVersion},
		{"op": "replace", "path": "/metadata/finalizers", "value": keep},
	})
	if err != nil {
		return err
	}
	_, err = rc.Patch(ctx, obj.Name, types.JSONPatchType, patch, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
