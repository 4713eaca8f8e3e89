// Package persistentvolume is the PersistentVolume binder: it binds each
// pending PersistentVolumeClaim to the smallest available PersistentVolume
// of the same storage class and volume mode that offers the claim's access
// modes and at least its requested size (and matches its selector), moves
// both to phase Bound, and when a bound claim is deleted marks the volume
// Released and applies its reclaim policy (Retain keeps it, Delete deletes
// the PersistentVolume object).
package persistentvolume

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	coreinformers "k8s.io/client-go/informers/core/v1"
	storageinformers "k8s.io/client-go/informers/storage/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
)

// Name is the controller's name in the controller-manager's table.
const Name = "persistentvolume-binder"

// Annotations of upstream's binder.
const (
	AnnBindCompleted     = "pv.kubernetes.io/bind-completed"
	AnnBoundByController = "pv.kubernetes.io/bound-by-controller"
	AnnSelectedNode      = "volume.kubernetes.io/selected-node"
)

// Queue keys are "claim:<ns>/<name>" or "volume:<name>".
const (
	claimPrefix  = "claim:"
	volumePrefix = "volume:"
)

// Controller is the PersistentVolume binder.
type Controller struct {
	client      kubernetes.Interface
	pvLister    corelisters.PersistentVolumeLister
	pvcLister   corelisters.PersistentVolumeClaimLister
	classLister storagelisters.StorageClassLister
	synced      []cache.InformerSynced
	queue       workqueue.TypedRateLimitingInterface[string]
	recorder    record.EventRecorder
	period      time.Duration
}

// NewController wires the binder to its informers; every period all claims
// and volumes are looked at again.
func NewController(client kubernetes.Interface, pvs coreinformers.PersistentVolumeInformer, pvcs coreinformers.PersistentVolumeClaimInformer,
	classes storageinformers.StorageClassInformer, recorder record.EventRecorder, period time.Duration) *Controller {
	c := &Controller{
		client:      client,
		pvLister:    pvs.Lister(),
		pvcLister:   pvcs.Lister(),
		classLister: classes.Lister(),
		synced:      []cache.InformerSynced{pvs.Informer().HasSynced, pvcs.Informer().HasSynced, classes.Informer().HasSynced},
		queue:       workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](), workqueue.TypedRateLimitingQueueConfig[string]{Name: "persistentvolume"}),
		recorder:    recorder,
		period:      period,
	}
	pvcs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueueClaim,
		UpdateFunc: func(_, n any) { c.enqueueClaim(n) },
		DeleteFunc: c.claimDeleted,
	})
	pvs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueueVolume,
		UpdateFunc: func(_, n any) { c.enqueueVolume(n) },
	})
	return c
}

func (c *Controller) enqueueClaim(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		utilruntime.HandleError(err)
		return
	}
	c.queue.Add(claimPrefix + key)
}

// claimDeleted enqueues the volume the claim was bound to, to release it.
func (c *Controller) claimDeleted(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	if pvc, ok := obj.(*corev1.PersistentVolumeClaim); ok && pvc.Spec.VolumeName != "" {
		c.queue.Add(volumePrefix + pvc.Spec.VolumeName)
	}
}

func (c *Controller) enqueueVolume(obj any) {
	if pv, ok := obj.(*corev1.PersistentVolume); ok {
		c.queue.Add(volumePrefix + pv.Name)
		// A new or freed volume may be what a pending claim waits for.
		if pv.Spec.ClaimRef == nil {
			c.enqueuePendingClaims()
		}
	}
}

func (c *Controller) enqueuePendingClaims() {
	claims, err := c.pvcLister.List(labels.Everything())
	if err != nil {
		utilruntime.HandleError(err)
		return
	}
	for _, pvc := range claims {
		if pvc.Spec.VolumeName == "" {
			c.enqueueClaim(pvc)
		}
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
			pvs, _ := c.pvLister.List(labels.Everything())
			for _, pv := range pvs {
				c.queue.Add(volumePrefix + pv.Name)
			}
			pvcs, _ := c.pvcLister.List(labels.Everything())
			for _, pvc := range pvcs {
				c.enqueueClaim(pvc)
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
		utilruntime.HandleError(fmt.Errorf("%s: sync %q: %w", Name, key, err))
		c.queue.AddRateLimited(key)
		return true
	}
	c.queue.Forget(key)
	return true
}

func (c *Controller) sync(ctx context.Context, key string) error {
	if name, ok := strings.CutPrefix(key, volumePrefix); ok {
		return c.syncVolume(ctx, name)
	}
	ns, name, err := cache.SplitMetaNamespaceKey(strings.TrimPrefix(key, claimPrefix))
	if err != nil {
		return err
	}
	return c.syncClaim(ctx, ns, name)
}

func className(pvc *corev1.PersistentVolumeClaim) string {
	if pvc.Spec.StorageClassName != nil {
		return *pvc.Spec.StorageClassName
	}
	return ""
}

func (c *Controller) syncClaim(ctx context.Context, ns, name string) error {
	pvc, err := c.pvcLister.PersistentVolumeClaims(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil || pvc.DeletionTimestamp != nil {
		return err
	}
	if pvc.Spec.VolumeName == "" {
		return c.syncUnboundClaim(ctx, pvc)
	}
	pv, err := c.pvLister.Get(pvc.Spec.VolumeName)
	if apierrors.IsNotFound(err) {
		if pvc.Status.Phase == corev1.ClaimBound {
			c.recorder.Event(pvc, corev1.EventTypeWarning, "ClaimLost", "Bound claim has lost its PersistentVolume. Data on the volume is lost!")
			return c.setClaimPhase(ctx, pvc, corev1.ClaimLost, nil)
		}
		return nil
	}
	if err != nil {
		return err
	}
	switch {
	case pv.Spec.ClaimRef == nil:
		// Pre-bound by the user: bind the volume side.
		return c.bind(ctx, pv, pvc)
	case refersTo(pv.Spec.ClaimRef, pvc):
		return c.bind(ctx, pv, pvc)
	default:
		if pvc.Status.Phase == corev1.ClaimBound {
			c.recorder.Event(pvc, corev1.EventTypeWarning, "ClaimMisbound", "Two claims are bound to the same volume, this one is bound incorrectly")
			return c.setClaimPhase(ctx, pvc, corev1.ClaimLost, nil)
		}
		return nil
	}
}

// refersTo reports whether ref names the claim (any UID when ref has none,
// as on a volume pre-bound by name).
func refersTo(ref *corev1.ObjectReference, pvc *corev1.PersistentVolumeClaim) bool {
	return ref != nil && ref.Namespace == pvc.Namespace && ref.Name == pvc.Name && (ref.UID == "" || ref.UID == pvc.UID)
}

func (c *Controller) syncUnboundClaim(ctx context.Context, pvc *corev1.PersistentVolumeClaim) error {
	class := className(pvc)
	var sc *storagev1.StorageClass
	if class != "" {
		if got, err := c.classLister.Get(class); err == nil {
			sc = got
		}
	}
	delayed := sc != nil && sc.VolumeBindingMode != nil && *sc.VolumeBindingMode == storagev1.VolumeBindingWaitForFirstConsumer
	pvs, err := c.pvLister.List(labels.Everything())
	if err != nil {
		return err
	}
	pv, err := FindBest(pvc, pvs)
	if err != nil {
		return err
	}
	if delayed && pv != nil && !refersTo(pv.Spec.ClaimRef, pvc) {
		// The scheduler picks the volumes of WaitForFirstConsumer claims,
		// on the pod's node; this controller only completes a binding the
		// scheduler started (the volume's claimRef names the claim).
		pv = nil
	}
	if pv == nil {
		switch {
		case delayed && pvc.Annotations[AnnSelectedNode] == "":
			c.recorder.Event(pvc, corev1.EventTypeNormal, "WaitForFirstConsumer", "waiting for first consumer to be created before binding")
		case sc != nil && sc.Provisioner != "":
			c.recorder.Eventf(pvc, corev1.EventTypeNormal, "ExternalProvisioning",
				"Waiting for a volume to be created either by the external provisioner '%s' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.", sc.Provisioner)
		case class == "":
			c.recorder.Event(pvc, corev1.EventTypeNormal, "FailedBinding", "no persistent volumes available for this claim and no storage class is set")
		default:
			c.recorder.Eventf(pvc, corev1.EventTypeWarning, "ProvisioningFailed", "storageclass.storage.k8s.io %q not found", class)
		}
		return c.setClaimPhase(ctx, pvc, corev1.ClaimPending, nil)
	}
	return c.bind(ctx, pv, pvc)
}

// FindBest returns the volume the claim should bind to: one pre-bound to
// it, else the smallest available volume that satisfies it; nil if none.
func FindBest(pvc *corev1.PersistentVolumeClaim, pvs []*corev1.PersistentVolume) (*corev1.PersistentVolume, error) {
	var sel labels.Selector
	if pvc.Spec.Selector != nil {
		s, err := metav1.LabelSelectorAsSelector(pvc.Spec.Selector)
		if err != nil {
			return nil, err
		}
		sel = s
	}
	request := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	claimMode := corev1.PersistentVolumeFilesystem
	if pvc.Spec.VolumeMode != nil {
		claimMode = *pvc.Spec.VolumeMode
	}
	var best *corev1.PersistentVolume
	for _, pv := range pvs {
		if pv.DeletionTimestamp != nil || pv.Status.Phase == corev1.VolumeReleased || pv.Status.Phase == corev1.VolumeFailed {
			continue
		}
		if ref := pv.Spec.ClaimRef; ref != nil {
			if refersTo(ref, pvc) {
				return pv, nil
			}
			continue
		}
		if pv.Spec.StorageClassName != className(pvc) {
			continue
		}
		pvMode := corev1.PersistentVolumeFilesystem
		if pv.Spec.VolumeMode != nil {
			pvMode = *pv.Spec.VolumeMode
		}
		if pvMode != claimMode {
			continue
		}
		if !hasModes(pv.Spec.AccessModes, pvc.Spec.AccessModes) {
			continue
		}
		size := pv.Spec.Capacity[corev1.ResourceStorage]
		if size.Cmp(request) < 0 {
			continue
		}
		if sel != nil && !sel.Matches(labels.Set(pv.Labels)) {
			continue
		}
		if best == nil {
			best = pv
			continue
		}
		bestSize := best.Spec.Capacity[corev1.ResourceStorage]
		if size.Cmp(bestSize) < 0 {
			best = pv
		}
	}
	return best, nil
}

func hasModes(have, want []corev1.PersistentVolumeAccessMode) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			if h == w {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// bind writes the binding on both sides, volume first (so a crash leaves a
// volume reserved for the claim, which the next sync completes), then the
// phases.
func (c *Controller) bind(ctx context.Context, pv *corev1.PersistentVolume, pvc *corev1.PersistentVolumeClaim) error {
	if pv.Spec.ClaimRef == nil || pv.Spec.ClaimRef.UID != pvc.UID {
		v := pv.DeepCopy()
		v.Spec.ClaimRef = &corev1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1",
			Namespace: pvc.Namespace, Name: pvc.Name, UID: pvc.UID, ResourceVersion: pvc.ResourceVersion}
		if pv.Spec.ClaimRef == nil {
			setAnnotation(&v.ObjectMeta, AnnBoundByController, "yes")
		}
		updated, err := c.client.CoreV1().PersistentVolumes().Update(ctx, v, metav1.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("bind volume %s to claim %s/%s: %w", pv.Name, pvc.Namespace, pvc.Name, err)
		}
		pv = updated
	}
	if pv.Status.Phase != corev1.VolumeBound {
		v := pv.DeepCopy()
		v.Status.Phase = corev1.VolumeBound
		v.Status.Message, v.Status.Reason = "", ""
		updated, err := c.client.CoreV1().PersistentVolumes().UpdateStatus(ctx, v, metav1.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("set volume %s bound: %w", pv.Name, err)
		}
		pv = updated
	}
	if pvc.Spec.VolumeName != pv.Name || pvc.Annotations[AnnBindCompleted] != "yes" {
		claim := pvc.DeepCopy()
		if claim.Spec.VolumeName == "" {
			setAnnotation(&claim.ObjectMeta, AnnBoundByController, "yes")
		}
		claim.Spec.VolumeName = pv.Name
		setAnnotation(&claim.ObjectMeta, AnnBindCompleted, "yes")
		updated, err := c.client.CoreV1().PersistentVolumeClaims(pvc.Namespace).Update(ctx, claim, metav1.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("bind claim %s/%s to volume %s: %w", pvc.Namespace, pvc.Name, pv.Name, err)
		}
		pvc = updated
	}
	return c.setClaimPhase(ctx, pvc, corev1.ClaimBound, pv)
}

func setAnnotation(m *metav1.ObjectMeta, k, v string) {
	if m.Annotations == nil {
		m.Annotations = map[string]string{}
	}
	m.Annotations[k] = v
}

// setClaimPhase sets the claim's phase and, when bound, the access modes
// and capacity it got from pv.
func (c *Controller) setClaimPhase(ctx context.Context, pvc *corev1.PersistentVolumeClaim, phase corev1.PersistentVolumeClaimPhase, pv *corev1.PersistentVolume) error {
	claim := pvc.DeepCopy()
	claim.Status.Phase = phase
	if pv != nil {
		claim.Status.AccessModes = pv.Spec.AccessModes
		claim.Status.Capacity = pv.Spec.Capacity.DeepCopy()
	}
	if pvc.Status.Phase == phase && (pv == nil || len(pvc.Status.Capacity) > 0) {
		return nil
	}
	if _, err := c.client.CoreV1().PersistentVolumeClaims(pvc.Namespace).UpdateStatus(ctx, claim, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("set claim %s/%s %s: %w", pvc.Namespace, pvc.Name, phase, err)
	}
	return nil
}

func (c *Controller) syncVolume(ctx context.Context, name string) error {
	pv, err := c.pvLister.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil || pv.DeletionTimestamp != nil {
		return err
	}
	ref := pv.Spec.ClaimRef
	if ref == nil {
		return c.setVolumePhase(ctx, pv, corev1.VolumeAvailable, "")
	}
	pvc, err := c.pvcLister.PersistentVolumeClaims(ref.Namespace).Get(ref.Name)
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	if err == nil && (ref.UID == "" || ref.UID == pvc.UID) {
		switch pvc.Spec.VolumeName {
		case "":
			// Binding in progress, or a volume pre-bound to a claim that
			// has not picked it yet.
			c.enqueueClaim(pvc)
			if ref.UID == "" {
				return c.setVolumePhase(ctx, pv, corev1.VolumeAvailable, "")
			}
			return nil
		case pv.Name:
			return c.setVolumePhase(ctx, pv, corev1.VolumeBound, "")
		default:
			// The claim went to another volume: free ours if we bound it.
			if pv.Annotations[AnnBoundByController] == "yes" {
				return c.unbind(ctx, pv)
			}
			return nil
		}
	}
	if ref.UID == "" {
		// Pre-bound to a claim that does not exist yet.
		return c.setVolumePhase(ctx, pv, corev1.VolumeAvailable, "")
	}
	// The claim is gone: release the volume and reclaim it.
	if pv.Status.Phase != corev1.VolumeReleased && pv.Status.Phase != corev1.VolumeFailed {
		if err := c.setVolumePhase(ctx, pv, corev1.VolumeReleased, ""); err != nil {
			return err
		}
	}
	switch pv.Spec.PersistentVolumeReclaimPolicy {
	case corev1.PersistentVolumeReclaimDelete:
		if pv.Annotations["pv.kubernetes.io/provisioned-by"] != "" {
			// The external provisioner that made it deletes it.
			return nil
		}
		err := c.client.CoreV1().PersistentVolumes().Delete(ctx, pv.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &pv.UID}})
		if err != nil && !apierrors.IsNotFound(err) {
			c.recorder.Eventf(pv, corev1.EventTypeWarning, "VolumeFailedDelete", "%v", err)
			return fmt.Errorf("delete released volume %s: %w", pv.Name, err)
		}
	case corev1.PersistentVolumeReclaimRecycle:
		c.recorder.Event(pv, corev1.EventTypeWarning, "VolumeFailedRecycle", "recycling is not supported; use Delete or Retain")
		return c.setVolumePhase(ctx, pv, corev1.VolumeFailed, "recycling is not supported")
	}
	return nil
}

func (c *Controller) unbind(ctx context.Context, pv *corev1.PersistentVolume) error {
	v := pv.DeepCopy()
	v.Spec.ClaimRef = nil
	delete(v.Annotations, AnnBoundByController)
	updated, err := c.client.CoreV1().PersistentVolumes().Update(ctx, v, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("unbind volume %s: %w", pv.Name, err)
	}
	return c.setVolumePhase(ctx, updated, corev1.VolumeAvailable, "")
}

func (c *Controller) setVolumePhase(ctx context.Context, pv *corev1.PersistentVolume, phase corev1.PersistentVolumePhase, message string) error {
	if pv.Status.Phase == phase && pv.Status.Message == message {
		return nil
	}
	v := pv.DeepCopy()
	v.Status.Phase, v.Status.Message = phase, message
	if _, err := c.client.CoreV1().PersistentVolumes().UpdateStatus(ctx, v, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("set volume %s %s: %w", pv.Name, phase, err)
	}
	return nil
}
