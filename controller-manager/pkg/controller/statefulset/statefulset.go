// Package statefulset is the StatefulSet controller: pods with stable names
// <set>-<ordinal>, each with its own PersistentVolumeClaims
// <claim>-<set>-<ordinal> from the volumeClaimTemplates, created in ordinal
// order and removed in reverse, one at a time waiting for Running and Ready
// (OrderedReady) or all at once (Parallel); template changes are recorded as
// ControllerRevisions and rolled out from the highest ordinal down to the
// partition (RollingUpdate), or left for the user to delete (OnDelete).
package statefulset

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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

	"navarch.dev/controller-manager/pkg/controller/podstate"
	"navarch.dev/controller-manager/pkg/controller/revision"
)

// Name is the controller's name in the controller-manager's table.
const Name = "statefulset"

var controllerKind = appsv1.SchemeGroupVersion.WithKind("StatefulSet")

// Controller is the StatefulSet controller.
type Controller struct {
	client    kubernetes.Interface
	setLister appslisters.StatefulSetLister
	podLister corelisters.PodLister
	pvcLister corelisters.PersistentVolumeClaimLister
	revLister appslisters.ControllerRevisionLister
	synced    []cache.InformerSynced
	queue     workqueue.TypedRateLimitingInterface[string]
	recorder  record.EventRecorder
	clock     clock.Clock
}

// NewController wires the controller to its informers. clk may be nil (real time).
func NewController(client kubernetes.Interface, sets appsinformers.StatefulSetInformer, pods coreinformers.PodInformer,
	pvcs coreinformers.PersistentVolumeClaimInformer, revisions appsinformers.ControllerRevisionInformer, recorder record.EventRecorder, clk clock.Clock) *Controller {
	if clk == nil {
		clk = clock.RealClock{}
	}
	c := &Controller{
		client:    client,
		setLister: sets.Lister(),
		podLister: pods.Lister(),
		pvcLister: pvcs.Lister(),
		revLister: revisions.Lister(),
		synced: []cache.InformerSynced{sets.Informer().HasSynced, pods.Informer().HasSynced,
			pvcs.Informer().HasSynced, revisions.Informer().HasSynced},
		queue:    workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](), workqueue.TypedRateLimitingQueueConfig[string]{Name: Name}),
		recorder: recorder,
		clock:    clk,
	}
	sets.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: func(_, n any) { c.enqueue(n) },
		DeleteFunc: c.enqueue,
	})
	pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueueOwner,
		UpdateFunc: func(o, n any) { c.enqueueOwner(o); c.enqueueOwner(n) },
		DeleteFunc: c.enqueueOwner,
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

func (c *Controller) enqueueOwner(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if ref := metav1.GetControllerOf(p); ref != nil && ref.Kind == controllerKind.Kind && ref.APIVersion == controllerKind.GroupVersion().String() {
		c.queue.Add(p.Namespace + "/" + ref.Name)
	}
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
		utilruntime.HandleError(fmt.Errorf("sync statefulset %q: %w", key, err))
		c.queue.AddRateLimited(key)
		return true
	}
	c.queue.Forget(key)
	return true
}

// PodName is the name of the set's pod with ordinal.
func PodName(set *appsv1.StatefulSet, ordinal int) string {
	return fmt.Sprintf("%s-%d", set.Name, ordinal)
}

// ClaimName is the name of the PVC of claim template claim for ordinal.
func ClaimName(claim string, set *appsv1.StatefulSet, ordinal int) string {
	return fmt.Sprintf("%s-%s-%d", claim, set.Name, ordinal)
}

// ordinalOf parses <set>-<ordinal>; -1 when the name is not of the set.
func ordinalOf(set *appsv1.StatefulSet, name string) int {
	rest, ok := strings.CutPrefix(name, set.Name+"-")
	if !ok {
		return -1
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 0 || strconv.Itoa(n) != rest {
		return -1
	}
	return n
}

func startOrdinal(set *appsv1.StatefulSet) int {
	if set.Spec.Ordinals != nil {
		return int(set.Spec.Ordinals.Start)
	}
	return 0
}

func runningAndReady(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodRunning && podstate.Ready(p)
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return err
	}
	shared, err := c.setLister.StatefulSets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	set := shared.DeepCopy()
	sel, err := metav1.LabelSelectorAsSelector(set.Spec.Selector)
	if err != nil {
		return fmt.Errorf("selector: %w", err)
	}
	owner := &revision.Owner{Object: set, GVK: controllerKind, Selector: sel, Template: &set.Spec.Template,
		CollisionCount: set.Status.CollisionCount, HistoryLimit: 10}
	if set.Spec.RevisionHistoryLimit != nil {
		owner.HistoryLimit = *set.Spec.RevisionHistoryLimit
	}
	revs, err := revision.List(c.revLister, owner)
	if err != nil {
		return err
	}
	updateRev, revs, err := revision.Sync(ctx, c.client, revs, owner)
	if err != nil {
		return err
	}
	set.Status.CollisionCount = owner.CollisionCount
	currentRev := updateRev
	for _, r := range revs {
		if r.Name == set.Status.CurrentRevision {
			currentRev = r
		}
	}

	all, err := c.podLister.Pods(ns).List(sel)
	if err != nil {
		return err
	}
	replicas := int(1)
	if set.Spec.Replicas != nil {
		replicas = int(*set.Spec.Replicas)
	}
	start := startOrdinal(set)
	slots := make([]*corev1.Pod, replicas)
	var condemned []*corev1.Pod
	var owned []*corev1.Pod
	for _, p := range all {
		if !podstate.ControlledBy(p, string(set.UID)) {
			continue
		}
		ord := ordinalOf(set, p.Name)
		if ord < 0 {
			continue
		}
		owned = append(owned, p)
		if i := ord - start; i >= 0 && i < replicas {
			slots[i] = p
		} else {
			condemned = append(condemned, p)
		}
	}

	if set.DeletionTimestamp == nil {
		if err := c.reconcile(ctx, set, slots, condemned, currentRev, updateRev); err != nil {
			return err
		}
	}

	c.setStatus(set, owned, currentRev, updateRev)
	inUse := map[string]bool{currentRev.Name: true, updateRev.Name: true}
	for _, p := range owned {
		inUse[p.Labels[revision.HashLabel]] = true
	}
	if err := revision.Truncate(ctx, c.client, revs, owner, inUse); err != nil {
		return err
	}
	if !equality.Semantic.DeepEqual(shared.Status, set.Status) {
		if _, err := c.client.AppsV1().StatefulSets(ns).UpdateStatus(ctx, set, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("update status: %w", err)
		}
	}
	return nil
}

// reconcile makes one pass over the slots: create missing pods, replace
// failed ones, remove condemned ones, then roll the template; with
// OrderedReady it stops at the first pod that is not yet Running and Ready.
func (c *Controller) reconcile(ctx context.Context, set *appsv1.StatefulSet, slots, condemned []*corev1.Pod, currentRev, updateRev *appsv1.ControllerRevision) error {
	ordered := set.Spec.PodManagementPolicy != appsv1.ParallelPodManagement
	start := startOrdinal(set)
	for i, p := range slots {
		ord := start + i
		if p != nil && p.Status.Phase == corev1.PodFailed && p.DeletionTimestamp == nil {
			if err := c.deletePod(ctx, set, p); err != nil {
				return err
			}
			if ordered {
				return nil
			}
			continue
		}
		if p == nil {
			rev := updateRev
			if useCurrent(set, ord) {
				rev = currentRev
			}
			if err := c.createPod(ctx, set, ord, rev); err != nil {
				return err
			}
			if ordered {
				return nil
			}
			continue
		}
		if err := c.ensureClaims(ctx, set, ord); err != nil {
			return err
		}
		if ordered && (p.DeletionTimestamp != nil || !runningAndReady(p)) {
			// The next ordinal waits for this one.
			return nil
		}
	}
	// Scale down from the highest ordinal.
	sort.Slice(condemned, func(i, k int) bool { return ordinalOf(set, condemned[i].Name) < ordinalOf(set, condemned[k].Name) })
	for i := len(condemned) - 1; i >= 0; i-- {
		p := condemned[i]
		if p.DeletionTimestamp != nil {
			if ordered {
				return nil
			}
			continue
		}
		if err := c.deletePod(ctx, set, p); err != nil {
			return err
		}
		if ordered {
			return nil
		}
	}
	if len(condemned) > 0 && ordered {
		return nil
	}
	if set.Spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType {
		return nil
	}
	partition := 0
	if ru := set.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil {
		partition = int(*ru.Partition)
	}
	// Roll from the highest ordinal down to the partition, one pod at a
	// time, each replacement Running and Ready before the next.
	for i := len(slots) - 1; i >= 0; i-- {
		p := slots[i]
		if start+i < partition {
			break
		}
		if p == nil {
			return nil
		}
		if p.Labels[revision.HashLabel] != updateRev.Name {
			if p.DeletionTimestamp == nil {
				return c.deletePod(ctx, set, p)
			}
			return nil
		}
		if !runningAndReady(p) {
			return nil
		}
	}
	return nil
}

// useCurrent says whether a recreated pod keeps the current revision: below
// the partition of a RollingUpdate it does.
func useCurrent(set *appsv1.StatefulSet, ord int) bool {
	if set.Spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType {
		return false
	}
	ru := set.Spec.UpdateStrategy.RollingUpdate
	if ru == nil || ru.Partition == nil {
		return false
	}
	return ord < int(*ru.Partition)
}

func (c *Controller) createPod(ctx context.Context, set *appsv1.StatefulSet, ord int, rev *appsv1.ControllerRevision) error {
	if err := c.ensureClaims(ctx, set, ord); err != nil {
		return err
	}
	pod, err := newPod(set, ord, rev)
	if err != nil {
		return err
	}
	_, err = c.client.CoreV1().Pods(set.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	if err != nil {
		c.recorder.Eventf(set, corev1.EventTypeWarning, "FailedCreate", "create Pod %s in StatefulSet %s failed error: %v", pod.Name, set.Name, err)
		return fmt.Errorf("create pod %s: %w", pod.Name, err)
	}
	c.recorder.Eventf(set, corev1.EventTypeNormal, "SuccessfulCreate", "create Pod %s in StatefulSet %s successful", pod.Name, set.Name)
	return nil
}

func (c *Controller) deletePod(ctx context.Context, set *appsv1.StatefulSet, p *corev1.Pod) error {
	err := c.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &p.UID}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	if err != nil {
		c.recorder.Eventf(set, corev1.EventTypeWarning, "FailedDelete", "delete Pod %s in StatefulSet %s failed error: %v", p.Name, set.Name, err)
		return fmt.Errorf("delete pod %s: %w", p.Name, err)
	}
	c.recorder.Eventf(set, corev1.EventTypeNormal, "SuccessfulDelete", "delete Pod %s in StatefulSet %s successful", p.Name, set.Name)
	return nil
}

// ensureClaims creates the PVCs of ordinal that do not exist yet. With
// persistentVolumeClaimRetentionPolicy.whenDeleted=Delete they are owned by
// the set so the garbage collector removes them with it.
func (c *Controller) ensureClaims(ctx context.Context, set *appsv1.StatefulSet, ord int) error {
	for _, tmpl := range set.Spec.VolumeClaimTemplates {
		name := ClaimName(tmpl.Name, set, ord)
		if _, err := c.pvcLister.PersistentVolumeClaims(set.Namespace).Get(name); err == nil {
			continue
		} else if !apierrors.IsNotFound(err) {
			return err
		}
		pvc := &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{
				Name:        name,
				Namespace:   set.Namespace,
				Labels:      map[string]string{},
				Annotations: tmpl.Annotations,
			},
			Spec: *tmpl.Spec.DeepCopy(),
		}
		for k, v := range tmpl.Labels {
			pvc.Labels[k] = v
		}
		if set.Spec.Selector != nil {
			for k, v := range set.Spec.Selector.MatchLabels {
				pvc.Labels[k] = v
			}
		}
		if p := set.Spec.PersistentVolumeClaimRetentionPolicy; p != nil && p.WhenDeleted == appsv1.DeletePersistentVolumeClaimRetentionPolicyType {
			ref := metav1.NewControllerRef(set, controllerKind)
			ref.Controller = nil
			pvc.OwnerReferences = []metav1.OwnerReference{*ref}
		}
		_, err := c.client.CoreV1().PersistentVolumeClaims(set.Namespace).Create(ctx, pvc, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			continue
		}
		podName := PodName(set, ord)
		if err != nil {
			c.recorder.Eventf(set, corev1.EventTypeWarning, "FailedCreate", "create Claim %s for Pod %s in StatefulSet %s failed error: %v", name, podName, set.Name, err)
			return fmt.Errorf("create claim %s: %w", name, err)
		}
		c.recorder.Eventf(set, corev1.EventTypeNormal, "SuccessfulCreate", "create Claim %s Pod %s in StatefulSet %s success", name, podName, set.Name)
	}
	return nil
}

// newPod builds pod ordinal from the template recorded in rev: stable name,
// hostname and subdomain, identity labels, and its claims as volumes.
func newPod(set *appsv1.StatefulSet, ord int, rev *appsv1.ControllerRevision) (*corev1.Pod, error) {
	t, err := revision.Template(rev)
	if err != nil {
		return nil, err
	}
	name := PodName(set, ord)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:            name,
			Namespace:       set.Namespace,
			Labels:          map[string]string{},
			Annotations:     t.Annotations,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(set, controllerKind)},
		},
		Spec: t.Spec,
	}
	for k, v := range t.Labels {
		pod.Labels[k] = v
	}
	pod.Labels[appsv1.StatefulSetPodNameLabel] = name
	pod.Labels[appsv1.PodIndexLabel] = strconv.Itoa(ord)
	pod.Labels[revision.HashLabel] = rev.Name
	pod.Spec.Hostname = name
	pod.Spec.Subdomain = set.Spec.ServiceName
	for _, tmpl := range set.Spec.VolumeClaimTemplates {
		vol := corev1.Volume{Name: tmpl.Name, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: ClaimName(tmpl.Name, set, ord)},
		}}
		replaced := false
		for i := range pod.Spec.Volumes {
			if pod.Spec.Volumes[i].Name == tmpl.Name {
				pod.Spec.Volumes[i] = vol
				replaced = true
			}
		}
		if !replaced {
			pod.Spec.Volumes = append(pod.Spec.Volumes, vol)
		}
	}
	return pod, nil
}

func (c *Controller) setStatus(set *appsv1.StatefulSet, pods []*corev1.Pod, currentRev, updateRev *appsv1.ControllerRevision) {
	now := c.clock.Now()
	minReady := time.Duration(set.Spec.MinReadySeconds) * time.Second
	var replicas, ready, available, current, updated int32
	for _, p := range pods {
		replicas++
		if podstate.Ready(p) && p.DeletionTimestamp == nil {
			ready++
			if podstate.AvailableAt(p, minReady, now) {
				available++
			} else if cond := podstate.Condition(p, corev1.PodReady); cond != nil {
				c.queue.AddAfter(set.Namespace+"/"+set.Name, cond.LastTransitionTime.Add(minReady).Sub(now)+time.Second)
			}
		}
		switch p.Labels[revision.HashLabel] {
		case currentRev.Name:
			current++
			if updateRev.Name == currentRev.Name {
				updated++
			}
		case updateRev.Name:
			updated++
		}
	}
	s := &set.Status
	s.ObservedGeneration = set.Generation
	s.Replicas, s.ReadyReplicas, s.AvailableReplicas = replicas, ready, available
	s.CurrentReplicas, s.UpdatedReplicas = current, updated
	s.CurrentRevision, s.UpdateRevision = currentRev.Name, updateRev.Name
	want := int32(1)
	if set.Spec.Replicas != nil {
		want = *set.Spec.Replicas
	}
	// The rollout is done when every wanted pod runs the update revision.
	if updated == want && replicas == want {
		s.CurrentRevision = updateRev.Name
		s.CurrentReplicas = updated
	}
}
