// Package daemonset is the DaemonSet controller: it keeps one pod of each
// DaemonSet on every node the pod template fits (nodeSelector, required node
// affinity, taints against the template's tolerations plus upstream's
// default DaemonSet tolerations), pins each pod to its node through node
// affinity for the scheduler to bind, removes pods from nodes that no
// longer fit or no longer exist, and replaces pods of an old template with
// RollingUpdate (maxUnavailable) or leaves that to the user with OnDelete.
package daemonset

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"sync/atomic"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	appsinformers "k8s.io/client-go/informers/apps/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"navarch.dev/controller-manager/pkg/controller/expectations"
	"navarch.dev/controller-manager/pkg/controller/podcontrol"
	"navarch.dev/controller-manager/pkg/controller/podstate"
	"navarch.dev/controller-manager/pkg/controller/revision"
)

// Name is the controller's name in the controller-manager's table.
const Name = "daemonset"

// TemplateGenerationLabel is upstream's (deprecated, still set) label with
// the DaemonSet generation a pod was made from.
const TemplateGenerationLabel = "pod-template-generation"

var controllerKind = appsv1.SchemeGroupVersion.WithKind("DaemonSet")

// Controller is the DaemonSet controller.
type Controller struct {
	client     kubernetes.Interface
	dsLister   appslisters.DaemonSetLister
	podLister  corelisters.PodLister
	nodeLister corelisters.NodeLister
	revLister  appslisters.ControllerRevisionLister
	synced     []cache.InformerSynced
	queue      workqueue.TypedRateLimitingInterface[string]
	recorder   record.EventRecorder
	pods       podcontrol.Interface
	expect     *expectations.Expectations
	clock      clock.Clock
}

// NewController wires the controller to its informers. clk may be nil (real time).
func NewController(client kubernetes.Interface, daemonSets appsinformers.DaemonSetInformer, revisions appsinformers.ControllerRevisionInformer,
	pods coreinformers.PodInformer, nodes coreinformers.NodeInformer, recorder record.EventRecorder, clk clock.Clock) *Controller {
	if clk == nil {
		clk = clock.RealClock{}
	}
	c := &Controller{
		client:     client,
		dsLister:   daemonSets.Lister(),
		podLister:  pods.Lister(),
		nodeLister: nodes.Lister(),
		revLister:  revisions.Lister(),
		synced: []cache.InformerSynced{daemonSets.Informer().HasSynced, pods.Informer().HasSynced,
			nodes.Informer().HasSynced, revisions.Informer().HasSynced},
		queue:    workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](), workqueue.TypedRateLimitingQueueConfig[string]{Name: Name}),
		recorder: recorder,
		pods:     podcontrol.Real{Client: client, Recorder: recorder},
		expect:   expectations.New(clk),
		clock:    clk,
	}
	daemonSets.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: func(_, n any) { c.enqueue(n) },
		DeleteFunc: c.enqueue,
	})
	pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if key := c.ownerKey(obj); key != "" {
				c.expect.CreationObserved(key)
				c.queue.Add(key)
			}
		},
		UpdateFunc: func(o, n any) {
			oldPod, newPod := o.(*corev1.Pod), n.(*corev1.Pod)
			if key := c.ownerKey(newPod); key != "" {
				if newPod.DeletionTimestamp != nil && oldPod.DeletionTimestamp == nil {
					c.expect.DeletionObservedOf(key, newPod.Namespace+"/"+newPod.Name)
				}
				c.queue.Add(key)
			}
		},
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if key := c.ownerKey(obj); key != "" {
				p := obj.(*corev1.Pod)
				c.expect.DeletionObservedOf(key, p.Namespace+"/"+p.Name)
				c.queue.Add(key)
			}
		},
	})
	// Any node change can change where every DaemonSet belongs.
	nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { c.enqueueAll() },
		UpdateFunc: func(o, n any) { c.nodeUpdated(o.(*corev1.Node), n.(*corev1.Node)) },
		DeleteFunc: func(any) { c.enqueueAll() },
	})
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

func (c *Controller) enqueueAll() {
	all, err := c.dsLister.List(labels.Everything())
	if err != nil {
		utilruntime.HandleError(err)
		return
	}
	for _, ds := range all {
		c.enqueue(ds)
	}
}

// nodeUpdated enqueues every DaemonSet when something placement depends on
// changed (heartbeats alone do not).
func (c *Controller) nodeUpdated(o, n *corev1.Node) {
	if !equality.Semantic.DeepEqual(o.Labels, n.Labels) || !equality.Semantic.DeepEqual(o.Spec.Taints, n.Spec.Taints) {
		c.enqueueAll()
	}
}

func (c *Controller) ownerKey(obj any) string {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return ""
	}
	ref := metav1.GetControllerOf(p)
	if ref == nil || ref.Kind != controllerKind.Kind || ref.APIVersion != controllerKind.GroupVersion().String() {
		return ""
	}
	return p.Namespace + "/" + ref.Name
}

// Run starts workers and blocks until ctx is done.
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
		utilruntime.HandleError(fmt.Errorf("sync daemonset %q: %w", key, err))
		c.queue.AddRateLimited(key)
		return true
	}
	c.queue.Forget(key)
	return true
}

// nodeState is one node as one DaemonSet sees it.
type nodeState struct {
	node      *corev1.Node
	run, keep bool
	pods      []*corev1.Pod // live pods (not failed, not being deleted)
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return err
	}
	shared, err := c.dsLister.DaemonSets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.expect.Delete(key)
		return nil
	}
	if err != nil {
		return err
	}
	ds := shared.DeepCopy()
	if ds.DeletionTimestamp != nil {
		return nil
	}
	sel, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
	if err != nil {
		return fmt.Errorf("selector: %w", err)
	}
	owner := &revision.Owner{Object: ds, GVK: controllerKind, Selector: sel, Template: &ds.Spec.Template,
		CollisionCount: ds.Status.CollisionCount, HistoryLimit: 10}
	if ds.Spec.RevisionHistoryLimit != nil {
		owner.HistoryLimit = *ds.Spec.RevisionHistoryLimit
	}
	revs, err := revision.List(c.revLister, owner)
	if err != nil {
		return err
	}
	cur, revs, err := revision.Sync(ctx, c.client, revs, owner)
	if err != nil {
		return err
	}
	ds.Status.CollisionCount = owner.CollisionCount
	hash := cur.Labels[revision.HashLabel]

	nodes, err := c.nodeLister.List(labels.Everything())
	if err != nil {
		return err
	}
	all, err := c.podLister.Pods(ns).List(sel)
	if err != nil {
		return err
	}
	byNode := map[string][]*corev1.Pod{}
	for _, p := range all {
		if podstate.ControlledBy(p, string(ds.UID)) {
			byNode[nodeOf(p)] = append(byNode[nodeOf(p)], p)
		}
	}
	spec := ds.Spec.Template.Spec.DeepCopy()
	addDefaultTolerations(spec)

	now := c.clock.Now()
	minReady := time.Duration(ds.Spec.MinReadySeconds) * time.Second
	var states []*nodeState
	var toCreate []string
	var toDelete []*corev1.Pod
	for _, node := range nodes {
		run, keep, err := nodeShould(node, spec)
		if err != nil {
			c.recorder.Eventf(ds, corev1.EventTypeWarning, "FailedPlacement", "failed to place pod on %q: %v", node.Name, err)
			continue
		}
		st := &nodeState{node: node, run: run, keep: keep}
		for _, p := range byNode[node.Name] {
			switch {
			case p.DeletionTimestamp != nil:
			case p.Status.Phase == corev1.PodFailed:
				c.recorder.Eventf(ds, corev1.EventTypeWarning, "FailedDaemonPod", "Found failed daemon pod %s/%s on node %s, will try to kill it", p.Namespace, p.Name, node.Name)
				toDelete = append(toDelete, p)
			default:
				st.pods = append(st.pods, p)
			}
		}
		delete(byNode, node.Name)
		switch {
		case !keep:
			toDelete = append(toDelete, st.pods...)
			st.pods = nil
		case len(st.pods) > 1:
			// Keep the oldest (the one most likely running), drop the rest.
			sort.SliceStable(st.pods, func(i, k int) bool { return st.pods[i].CreationTimestamp.Before(&st.pods[k].CreationTimestamp) })
			toDelete = append(toDelete, st.pods[1:]...)
			st.pods = st.pods[:1]
		}
		if run && len(st.pods) == 0 && !hasTerminating(byNodeAll(all, ds, node.Name)) {
			toCreate = append(toCreate, node.Name)
		}
		states = append(states, st)
	}
	// Pods on nodes that are gone (or pinned to no node).
	for _, ps := range byNode {
		for _, p := range ps {
			if p.DeletionTimestamp == nil {
				toDelete = append(toDelete, p)
			}
		}
	}

	var requeue time.Duration
	if c.expect.Satisfied(key) {
		if ds.Spec.UpdateStrategy.Type != appsv1.OnDeleteDaemonSetStrategyType {
			toDelete = append(toDelete, c.rollingUpdateVictims(ds, states, hash, now, minReady)...)
		}
		if err := c.manage(ctx, ds, key, toCreate, toDelete, hash); err != nil {
			return err
		}
	}
	c.setStatus(ds, states, hash, now, minReady, &requeue)
	inUse := map[string]bool{hash: true}
	for _, p := range all {
		inUse[p.Labels[revision.HashLabel]] = true
	}
	if err := revision.Truncate(ctx, c.client, revs, owner, inUse); err != nil {
		return err
	}
	if !equality.Semantic.DeepEqual(shared.Status, ds.Status) {
		if _, err := c.client.AppsV1().DaemonSets(ns).UpdateStatus(ctx, ds, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("update status: %w", err)
		}
	}
	if requeue > 0 {
		c.queue.AddAfter(key, requeue)
	}
	return nil
}

// byNodeAll returns every pod of ds on node, including those going away.
func byNodeAll(all []*corev1.Pod, ds *appsv1.DaemonSet, node string) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range all {
		if nodeOf(p) == node && podstate.ControlledBy(p, string(ds.UID)) {
			out = append(out, p)
		}
	}
	return out
}

// hasTerminating reports a pod still shutting down: the replacement waits
// for it, so two daemons never hold the node's ports at once.
func hasTerminating(pods []*corev1.Pod) bool {
	for _, p := range pods {
		if p.DeletionTimestamp != nil && !podstate.Terminal(p) {
			return true
		}
	}
	return false
}

// rollingUpdateVictims picks the old-template pods to delete now: all
// unavailable ones (they cost no availability), then available ones while
// the number of nodes without an available daemon stays within
// maxUnavailable.
func (c *Controller) rollingUpdateVictims(ds *appsv1.DaemonSet, states []*nodeState, hash string, now time.Time, minReady time.Duration) []*corev1.Pod {
	desired := 0
	unavailable := 0
	var oldAvailable, victims []*corev1.Pod
	for _, st := range states {
		if !st.run && !st.keep {
			continue
		}
		if st.run {
			desired++
		}
		if len(st.pods) == 0 {
			if st.run {
				unavailable++
			}
			continue
		}
		p := st.pods[0]
		available := podstate.AvailableAt(p, minReady, now)
		if !available {
			unavailable++
		}
		if p.Labels[revision.HashLabel] == hash {
			continue
		}
		if available {
			oldAvailable = append(oldAvailable, p)
		} else {
			victims = append(victims, p)
		}
	}
	maxUnavailable := 1
	if ru := ds.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.MaxUnavailable != nil {
		v, err := intstr.GetScaledValueFromIntOrPercent(ru.MaxUnavailable, desired, true)
		if err == nil {
			maxUnavailable = v
		}
		if maxUnavailable == 0 && (ru.MaxSurge == nil || ru.MaxSurge.IntValue() == 0 && ru.MaxSurge.Type == intstr.Int) {
			maxUnavailable = 1
		}
	}
	sort.SliceStable(oldAvailable, func(i, k int) bool { return oldAvailable[i].Name < oldAvailable[k].Name })
	for _, p := range oldAvailable {
		if unavailable >= maxUnavailable {
			break
		}
		victims = append(victims, p)
		unavailable++
	}
	return victims
}

func (c *Controller) manage(ctx context.Context, ds *appsv1.DaemonSet, key string, toCreate []string, toDelete []*corev1.Pod, hash string) error {
	delKeys := make([]string, len(toDelete))
	for i, p := range toDelete {
		delKeys[i] = p.Namespace + "/" + p.Name
	}
	c.expect.ExpectCreations(key, len(toCreate))
	c.expect.ExpectDeletionsOf(key, delKeys)
	ref := metav1.NewControllerRef(ds, controllerKind)
	var errs []error
	next := make(chan string, len(toCreate))
	for _, n := range toCreate {
		next <- n
	}
	close(next)
	var attempted atomic.Int32
	_, err := podcontrol.SlowStartBatch(len(toCreate), podcontrol.SlowStartInitialBatchSize, func() error {
		attempted.Add(1)
		node := <-next
		t := ds.Spec.Template.DeepCopy()
		if t.Labels == nil {
			t.Labels = map[string]string{}
		}
		t.Labels[revision.HashLabel] = hash
		t.Labels[TemplateGenerationLabel] = strconv.FormatInt(ds.Generation, 10)
		addDefaultTolerations(&t.Spec)
		pinToNode(&t.Spec, node)
		err := c.pods.CreatePod(ctx, ds.Namespace, t, ds, ref)
		if err != nil {
			c.expect.CreationObserved(key)
			if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
				return nil
			}
		}
		return err
	})
	// Creations never attempted after a failed batch are not coming.
	for range len(toCreate) - int(attempted.Load()) {
		c.expect.CreationObserved(key)
	}
	if err != nil {
		errs = append(errs, err)
	}
	for _, p := range toDelete {
		if err := c.pods.DeletePod(ctx, p.Namespace, p.Name, ds); err != nil {
			c.expect.DeletionObservedOf(key, p.Namespace+"/"+p.Name)
			if !apierrors.IsNotFound(err) {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("manage daemon pods: %v", errs)
	}
	return nil
}

// setStatus counts what the nodes show; when a ready pod is waiting out
// minReadySeconds, *requeue says when to count again.
func (c *Controller) setStatus(ds *appsv1.DaemonSet, states []*nodeState, hash string, now time.Time, minReady time.Duration, requeue *time.Duration) {
	var desired, current, misscheduled, ready, available, updated int32
	for _, st := range states {
		if st.run {
			desired++
		}
		if len(st.pods) == 0 {
			continue
		}
		if !st.run {
			misscheduled++
			continue
		}
		current++
		p := st.pods[0]
		if podstate.Ready(p) {
			ready++
			if podstate.AvailableAt(p, minReady, now) {
				available++
			} else if cond := podstate.Condition(p, corev1.PodReady); cond != nil {
				if d := cond.LastTransitionTime.Add(minReady).Sub(now) + time.Second; *requeue == 0 || d < *requeue {
					*requeue = d
				}
			}
		}
		if p.Labels[revision.HashLabel] == hash {
			updated++
		}
	}
	s := &ds.Status
	s.DesiredNumberScheduled, s.CurrentNumberScheduled, s.NumberMisscheduled = desired, current, misscheduled
	s.NumberReady, s.NumberAvailable, s.UpdatedNumberScheduled = ready, available, updated
	s.NumberUnavailable = max(0, desired-available)
	s.ObservedGeneration = ds.Generation
}
