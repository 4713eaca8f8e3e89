// Package replicaset runs the ReplicaSet controller: it keeps the number of
// active pods matching each ReplicaSet at spec.replicas, adopting orphans the
// selector matches and releasing pods it no longer matches, and reports the
// counts in status.
//
// The controller is written against ReplicaSets but manages any Workload:
// the ReplicationController controller is this controller over a Workload
// that converts ReplicationControllers at the boundary.
package replicaset

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	apps "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	appsinformers "k8s.io/client-go/informers/apps/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"

	"navarch.dev/controller-manager/pkg/controller/controllerref"
	"navarch.dev/controller-manager/pkg/controller/expectations"
	"navarch.dev/controller-manager/pkg/controller/podcontrol"
)

// BurstReplicas caps the pods created or deleted in one sync, so one
// ReplicaSet cannot monopolise the apiserver; the rest follow next sync.
const BurstReplicas = 500

// controllerKind is the kind of the ReplicaSet workload.
var controllerKind = apps.SchemeGroupVersion.WithKind("ReplicaSet")

// Controller is the ReplicaSet controller, or the controller of another
// Workload.
type Controller struct {
	client     kubernetes.Interface
	podControl podcontrol.Interface
	recorder   record.EventRecorder

	workload  Workload
	name      string
	kind      schema.GroupVersionKind
	podLister corelisters.PodLister
	podSynced cache.InformerSynced

	expectations *expectations.Expectations
	queue        workqueue.TypedRateLimitingInterface[string]
	burst        int
	now          func() time.Time
}

// New wires a ReplicaSet controller to its informers. Register it before
// the informer factory starts.
func New(rsInformer appsinformers.ReplicaSetInformer, podInformer coreinformers.PodInformer, client kubernetes.Interface, recorder record.EventRecorder) (*Controller, error) {
	return NewForWorkload(ReplicaSets(rsInformer, client), podInformer, client, recorder)
}

// NewForWorkload wires a controller of workload's objects to its informers.
// Register it before the informer factory starts.
func NewForWorkload(workload Workload, podInformer coreinformers.PodInformer, client kubernetes.Interface, recorder record.EventRecorder) (*Controller, error) {
	c := &Controller{
		client:       client,
		podControl:   podcontrol.Real{Client: client, Recorder: recorder},
		recorder:     recorder,
		workload:     workload,
		name:         workload.Name(),
		kind:         workload.Kind(),
		podLister:    podInformer.Lister(),
		podSynced:    podInformer.Informer().HasSynced,
		expectations: expectations.New(nil),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: workload.Name()}),
		burst: BurstReplicas,
		now:   time.Now,
	}
	if _, err := workload.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: func(_, obj any) { c.enqueue(obj) },
		DeleteFunc: c.deleteRS,
	}); err != nil {
		return nil, err
	}
	if _, err := podInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.addPod,
		UpdateFunc: c.updatePod,
		DeleteFunc: c.deletePod,
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// Run waits for the caches and runs workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	defer utilruntime.HandleCrash()
	defer c.queue.ShutDown()
	slog.Info("Starting controller", "controller", c.name)
	defer slog.Info("Shutting down controller", "controller", c.name)
	if !cache.WaitForNamedCacheSync(c.name, ctx.Done(), c.workload.Informer().HasSynced, c.podSynced) {
		return
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wait.UntilWithContext(ctx, c.worker, time.Second)
		}()
	}
	<-ctx.Done()
	c.queue.ShutDown()
	wg.Wait()
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
		utilruntime.HandleError(fmt.Errorf("sync %s %q: %w", c.name, key, err))
		c.queue.AddRateLimited(key)
		return true
	}
	c.queue.Forget(key)
	return true
}

func (c *Controller) enqueue(obj any) {
	key, err := cache.MetaNamespaceKeyFunc(obj)
	if err != nil {
		utilruntime.HandleError(err)
		return
	}
	c.queue.Add(key)
}

func (c *Controller) deleteRS(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		utilruntime.HandleError(err)
		return
	}
	c.expectations.Delete(key)
	c.queue.Add(key)
}

// resolveControllerRef returns the object ref points to, if it is of the
// workload's kind and still the same object.
func (c *Controller) resolveControllerRef(ns string, ref *metav1.OwnerReference) *apps.ReplicaSet {
	if ref.Kind != c.kind.Kind || ref.APIVersion != c.kind.GroupVersion().String() {
		return nil
	}
	rs, err := c.workload.Get(ns, ref.Name)
	if err != nil || rs.UID != ref.UID {
		return nil
	}
	return rs
}

// matchingReplicaSets returns the ReplicaSets whose selector matches pod,
// candidates to adopt it.
func (c *Controller) matchingReplicaSets(pod *v1.Pod) []*apps.ReplicaSet {
	all, err := c.workload.List(pod.Namespace)
	if err != nil {
		return nil
	}
	var out []*apps.ReplicaSet
	for _, rs := range all {
		sel, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(pod.Labels)) {
			continue
		}
		out = append(out, rs)
	}
	return out
}

func keyOf(rs *apps.ReplicaSet) string { return rs.Namespace + "/" + rs.Name }

func podKey(pod *v1.Pod) string { return pod.Namespace + "/" + pod.Name }

func (c *Controller) addPod(obj any) {
	pod := obj.(*v1.Pod)
	if pod.DeletionTimestamp != nil {
		// Seen for the first time already terminating (e.g. after a
		// restart): count it as deleted.
		c.deletePod(pod)
		return
	}
	if ref := metav1.GetControllerOf(pod); ref != nil {
		rs := c.resolveControllerRef(pod.Namespace, ref)
		if rs == nil {
			return
		}
		c.expectations.CreationObserved(keyOf(rs))
		c.queue.Add(keyOf(rs))
		return
	}
	// An orphan: wake every ReplicaSet that may adopt it.
	for _, rs := range c.matchingReplicaSets(pod) {
		c.queue.Add(keyOf(rs))
	}
}

func (c *Controller) updatePod(oldObj, newObj any) {
	oldPod, curPod := oldObj.(*v1.Pod), newObj.(*v1.Pod)
	if curPod.ResourceVersion == oldPod.ResourceVersion {
		return // a resync
	}
	labelsChanged := !apiequality.Semantic.DeepEqual(curPod.Labels, oldPod.Labels)
	if curPod.DeletionTimestamp != nil {
		// A graceful delete shows first as an update; the ReplicaSet may
		// replace the pod now rather than after the grace period.
		c.deletePod(curPod)
		if labelsChanged {
			c.deletePod(oldPod)
		}
		return
	}
	curRef, oldRef := metav1.GetControllerOf(curPod), metav1.GetControllerOf(oldPod)
	if oldRef != nil && (curRef == nil || curRef.UID != oldRef.UID) {
		if rs := c.resolveControllerRef(oldPod.Namespace, oldRef); rs != nil {
			c.queue.Add(keyOf(rs))
		}
	}
	if curRef != nil {
		rs := c.resolveControllerRef(curPod.Namespace, curRef)
		if rs == nil {
			return
		}
		c.queue.Add(keyOf(rs))
		// A pod that just became ready counts as available only after
		// minReadySeconds: look again then.
		if !podReady(oldPod) && podReady(curPod) && rs.Spec.MinReadySeconds > 0 {
			c.queue.AddAfter(keyOf(rs), time.Duration(rs.Spec.MinReadySeconds)*time.Second+time.Second)
		}
		return
	}
	if labelsChanged || !apiequality.Semantic.DeepEqual(curRef, oldRef) {
		for _, rs := range c.matchingReplicaSets(curPod) {
			c.queue.Add(keyOf(rs))
		}
	}
}

func (c *Controller) deletePod(obj any) {
	pod, ok := obj.(*v1.Pod)
	if !ok {
		tombstone, ok := obj.(cache.DeletedFinalStateUnknown)
		if !ok {
			return
		}
		if pod, ok = tombstone.Obj.(*v1.Pod); !ok {
			return
		}
	}
	ref := metav1.GetControllerOf(pod)
	if ref == nil {
		return
	}
	rs := c.resolveControllerRef(pod.Namespace, ref)
	if rs == nil {
		return
	}
	c.expectations.DeletionObservedOf(keyOf(rs), podKey(pod))
	c.queue.Add(keyOf(rs))
}

// Sync processes key ("namespace/name") once, as a worker does with a key
// from the queue: tests and callers that drive the controller themselves
// use it. An error means the key should be retried.
func (c *Controller) Sync(ctx context.Context, key string) error { return c.sync(ctx, key) }

// sync brings one ReplicaSet to its desired pod count and writes its status.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	rs, err := c.workload.Get(ns, name)
	if apierrors.IsNotFound(err) {
		c.expectations.Delete(key)
		return nil
	}
	if err != nil {
		return err
	}
	selector, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
	if err != nil {
		// An invalid selector never becomes valid by retrying.
		utilruntime.HandleError(fmt.Errorf("%s %s: invalid selector: %w", c.name, key, err))
		return nil
	}
	// Read expectations before listing pods, so pods created after this
	// point are either in the list or still expected.
	needsSync := c.expectations.Satisfied(key) && rs.DeletionTimestamp == nil

	all, err := c.podLister.Pods(ns).List(labels.Everything())
	if err != nil {
		return err
	}
	var candidates []*v1.Pod
	for _, p := range all {
		if isActive(p) {
			candidates = append(candidates, p)
		}
	}
	pods, err := c.claimPods(ctx, rs, selector, candidates)
	if err != nil {
		return err
	}

	var manageErr error
	if needsSync {
		manageErr = c.manageReplicas(ctx, pods, rs)
	}
	status := c.calculateStatus(rs, pods, manageErr)
	updated, err := c.updateStatus(ctx, rs, status)
	if err != nil {
		return err
	}
	if manageErr == nil && updated.Spec.MinReadySeconds > 0 &&
		updated.Status.ReadyReplicas == *updated.Spec.Replicas &&
		updated.Status.AvailableReplicas != *updated.Spec.Replicas {
		c.queue.AddAfter(key, time.Duration(updated.Spec.MinReadySeconds)*time.Second)
	}
	return manageErr
}

func (c *Controller) claimPods(ctx context.Context, rs *apps.ReplicaSet, selector labels.Selector, pods []*v1.Pod) ([]*v1.Pod, error) {
	m := &controllerref.Manager[*v1.Pod]{
		Owner:    rs,
		OwnerGVK: c.kind,
		Selector: selector,
		CanAdopt: controllerref.RecheckDeletionTimestamp(rs.UID, func(ctx context.Context) (metav1.Object, error) {
			return c.workload.Fetch(ctx, rs.Namespace, rs.Name)
		}),
		Patch: func(ctx context.Context, ns, name string, patch []byte) error {
			_, err := c.client.CoreV1().Pods(ns).Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
			return err
		},
	}
	return m.Claim(ctx, pods)
}

// manageReplicas creates or deletes pods so that len(pods) approaches
// spec.replicas, at most burst per call.
func (c *Controller) manageReplicas(ctx context.Context, pods []*v1.Pod, rs *apps.ReplicaSet) error {
	key := keyOf(rs)
	diff := len(pods) - int(*rs.Spec.Replicas)
	switch {
	case diff < 0:
		n := min(-diff, c.burst)
		// Expect all n before the first create: the informer may report
		// a new pod before the create call returns.
		c.expectations.ExpectCreations(key, n)
		ref := controllerref.NewControllerRef(rs, c.kind)
		owner := c.workload.Original(rs)
		created, err := podcontrol.SlowStartBatch(n, podcontrol.SlowStartInitialBatchSize, func() error {
			err := c.podControl.CreatePod(ctx, rs.Namespace, &rs.Spec.Template, owner, ref)
			if apierrors.HasStatusCause(err, v1.NamespaceTerminatingCause) {
				// The namespace is going away: nothing to do.
				return nil
			}
			return err
		})
		// Creations never attempted or failed will not be observed.
		for range n - created {
			c.expectations.CreationObserved(key)
		}
		return err
	case diff > 0:
		n := min(diff, c.burst)
		victims := PodsToDelete(pods, n)
		keys := make([]string, len(victims))
		for i, p := range victims {
			keys[i] = podKey(p)
		}
		c.expectations.ExpectDeletionsOf(key, keys)
		owner := c.workload.Original(rs)
		errCh := make(chan error, len(victims))
		var wg sync.WaitGroup
		for _, p := range victims {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := c.podControl.DeletePod(ctx, p.Namespace, p.Name, owner); err != nil {
					// The delete will not be observed; stop waiting for it.
					c.expectations.DeletionObservedOf(key, podKey(p))
					if !apierrors.IsNotFound(err) {
						errCh <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errCh)
		return <-errCh
	}
	return nil
}

// PodsToDelete picks the n pods a scale-down removes first: unscheduled
// before scheduled, pending before unknown before running, not ready before
// ready, ready for less time before longer, more restarts before fewer,
// younger before older.
func PodsToDelete(pods []*v1.Pod, n int) []*v1.Pod {
	sorted := slices.Clone(pods)
	sort.SliceStable(sorted, func(i, j int) bool { return deleteFirst(sorted[i], sorted[j]) })
	return sorted[:n]
}

func deleteFirst(a, b *v1.Pod) bool {
	if (a.Spec.NodeName == "") != (b.Spec.NodeName == "") {
		return a.Spec.NodeName == ""
	}
	phaseRank := map[v1.PodPhase]int{v1.PodPending: 0, v1.PodUnknown: 1, v1.PodRunning: 2}
	if phaseRank[a.Status.Phase] != phaseRank[b.Status.Phase] {
		return phaseRank[a.Status.Phase] < phaseRank[b.Status.Phase]
	}
	if podReady(a) != podReady(b) {
		return !podReady(a)
	}
	if podReady(a) {
		ta, tb := readySince(a), readySince(b)
		if !ta.Equal(tb) {
			return ta.After(tb)
		}
	}
	if ra, rb := restarts(a), restarts(b); ra != rb {
		return ra > rb
	}
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.After(b.CreationTimestamp.Time)
	}
	return a.Name > b.Name
}

func restarts(p *v1.Pod) int32 {
	var n int32
	for _, s := range p.Status.ContainerStatuses {
		n = max(n, s.RestartCount)
	}
	return n
}

func readyCondition(p *v1.Pod) *v1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == v1.PodReady {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

func podReady(p *v1.Pod) bool {
	c := readyCondition(p)
	return c != nil && c.Status == v1.ConditionTrue
}

func readySince(p *v1.Pod) time.Time {
	if c := readyCondition(p); c != nil {
		return c.LastTransitionTime.Time
	}
	return time.Time{}
}

// podAvailable reports whether p has been ready for minReadySeconds at now.
func podAvailable(p *v1.Pod, minReadySeconds int32, now time.Time) bool {
	if !podReady(p) {
		return false
	}
	if minReadySeconds == 0 {
		return true
	}
	since := readySince(p)
	return !since.IsZero() && !since.Add(time.Duration(minReadySeconds)*time.Second).After(now)
}

// isActive reports whether p counts toward replicas: not finished and not
// being deleted.
func isActive(p *v1.Pod) bool {
	return p.Status.Phase != v1.PodSucceeded && p.Status.Phase != v1.PodFailed && p.DeletionTimestamp == nil
}

func (c *Controller) calculateStatus(rs *apps.ReplicaSet, pods []*v1.Pod, manageErr error) apps.ReplicaSetStatus {
	status := *rs.Status.DeepCopy()
	templateLabels := labels.Set(rs.Spec.Template.Labels).AsSelectorPreValidated()
	var fully, ready, available int32
	now := c.now()
	for _, p := range pods {
		if templateLabels.Matches(labels.Set(p.Labels)) {
			fully++
		}
		if podReady(p) {
			ready++
			if podAvailable(p, rs.Spec.MinReadySeconds, now) {
				available++
			}
		}
	}
	status.Replicas = int32(len(pods))
	status.FullyLabeledReplicas = fully
	status.ReadyReplicas = ready
	status.AvailableReplicas = available
	status.ObservedGeneration = rs.Generation

	cond := replicaFailureCondition(status.Conditions)
	switch {
	case manageErr != nil && cond == nil:
		reason := "FailedCreate"
		if len(pods) > int(*rs.Spec.Replicas) {
			reason = "FailedDelete"
		}
		status.Conditions = append(status.Conditions, apps.ReplicaSetCondition{
			Type:               apps.ReplicaSetReplicaFailure,
			Status:             v1.ConditionTrue,
			LastTransitionTime: metav1.NewTime(now),
			Reason:             reason,
			Message:            manageErr.Error(),
		})
	case manageErr == nil && cond != nil:
		status.Conditions = slices.DeleteFunc(status.Conditions, func(c apps.ReplicaSetCondition) bool {
			return c.Type == apps.ReplicaSetReplicaFailure
		})
	}
	return status
}

func replicaFailureCondition(conds []apps.ReplicaSetCondition) *apps.ReplicaSetCondition {
	for i := range conds {
		if conds[i].Type == apps.ReplicaSetReplicaFailure {
			return &conds[i]
		}
	}
	return nil
}

// updateStatus writes status if it changed, retrying once on a conflict
// with a fresh read. It returns the ReplicaSet as last written or read.
func (c *Controller) updateStatus(ctx context.Context, rs *apps.ReplicaSet, status apps.ReplicaSetStatus) (*apps.ReplicaSet, error) {
	if apiequality.Semantic.DeepEqual(rs.Status, status) {
		return rs, nil
	}
	cur := rs.DeepCopy()
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		cur.Status = status
		var updated *apps.ReplicaSet
		updated, err = c.workload.UpdateStatus(ctx, cur)
		if err == nil {
			return updated, nil
		}
		if !apierrors.IsConflict(err) {
			break
		}
		if cur, err = c.workload.Fetch(ctx, rs.Namespace, rs.Name); err != nil {
			break
		}
		status.ObservedGeneration = min(status.ObservedGeneration, cur.Generation)
	}
	return nil, fmt.Errorf("update status of %s %s/%s: %w", c.kind.Kind, rs.Namespace, rs.Name, err)
}
