// Package podgc is the pod garbage collector. Every pass it force-deletes
// pods bound to nodes that no longer exist and terminating pods that were
// never scheduled, and deletes the oldest terminated (Succeeded or Failed)
// pods beyond --terminated-pod-gc-threshold.
package podgc

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"

	"navarch.dev/controller-manager/pkg/controller/podstate"
)

// Name is the controller's name in the controller-manager's table.
const Name = "podgc"

// CheckPeriod is how often a pass runs, as upstream.
const CheckPeriod = 20 * time.Second

// Controller is the pod garbage collector.
type Controller struct {
	client     kubernetes.Interface
	podLister  corelisters.PodLister
	nodeLister corelisters.NodeLister
	synced     []cache.InformerSynced
	threshold  int
	clock      clock.Clock
	// Period is the time between passes (CheckPeriod by default).
	Period time.Duration
}

// NewController collects terminated pods beyond threshold (<= 0 disables
// that part). clk may be nil (real time).
func NewController(client kubernetes.Interface, pods coreinformers.PodInformer, nodes coreinformers.NodeInformer, threshold int, clk clock.Clock) *Controller {
	if clk == nil {
		clk = clock.RealClock{}
	}
	return &Controller{
		client:     client,
		podLister:  pods.Lister(),
		nodeLister: nodes.Lister(),
		synced:     []cache.InformerSynced{pods.Informer().HasSynced, nodes.Informer().HasSynced},
		threshold:  threshold,
		clock:      clk,
		Period:     CheckPeriod,
	}
}

// Run runs a pass every Period until ctx is done. The collector works on
// the whole cluster at once, so it has no per-object queue.
func (c *Controller) Run(ctx context.Context) {
	defer utilruntime.HandleCrash()
	slog.Info("starting controller", "controller", Name)
	defer slog.Info("stopping controller", "controller", Name)
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return
	}
	wait.UntilWithContext(ctx, func(ctx context.Context) {
		if err := c.gc(ctx); err != nil {
			utilruntime.HandleError(fmt.Errorf("%s: %w", Name, err))
		}
	}, c.Period)
}

func (c *Controller) gc(ctx context.Context) error {
	pods, err := c.podLister.List(labels.Everything())
	if err != nil {
		return err
	}
	var errs []error
	var terminated []*corev1.Pod
	for _, p := range pods {
		switch {
		case p.Spec.NodeName != "" && !c.nodeExists(ctx, p.Spec.NodeName):
			errs = append(errs, c.forceDelete(ctx, p, "PodGC: node no longer exists"))
		case p.Spec.NodeName == "" && p.DeletionTimestamp != nil:
			errs = append(errs, c.forceDelete(ctx, p, ""))
		case podstate.Terminal(p) && p.DeletionTimestamp == nil:
			terminated = append(terminated, p)
		}
	}
	if excess := len(terminated) - c.threshold; c.threshold > 0 && excess > 0 {
		sort.SliceStable(terminated, func(i, k int) bool {
			return terminated[i].CreationTimestamp.Before(&terminated[k].CreationTimestamp)
		})
		for _, p := range terminated[:excess] {
			err := c.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
			if err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("delete terminated pod %s/%s: %w", p.Namespace, p.Name, err))
			}
		}
	}
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("%d errors, first: %w", len(errs), err)
		}
	}
	return nil
}

// nodeExists asks the cache, and the apiserver before trusting a miss (the
// node may be newer than the cache).
func (c *Controller) nodeExists(ctx context.Context, name string) bool {
	if _, err := c.nodeLister.Get(name); err == nil {
		return true
	}
	_, err := c.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	return !apierrors.IsNotFound(err)
}

// forceDelete marks an orphaned pod Failed with a DisruptionTarget
// condition (when message is set), then deletes it with no grace, since
// no kubelet is left to finish a graceful deletion.
func (c *Controller) forceDelete(ctx context.Context, pod *corev1.Pod, message string) error {
	if message != "" && !podstate.Terminal(pod) {
		p := pod.DeepCopy()
		p.Status.Phase = corev1.PodFailed
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{
			Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "DeletionByPodGC",
			Message: message, LastTransitionTime: metav1.Time{Time: c.clock.Now()},
		})
		if _, err := c.client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("mark orphaned pod %s/%s failed: %w", p.Namespace, p.Name, err)
		}
	}
	slog.Info("garbage collecting pod", "controller", Name, "pod", pod.Namespace+"/"+pod.Name, "reason", message)
	err := c.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("force delete pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}
