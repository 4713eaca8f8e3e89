// Package ttlafterfinished is the TTL-after-finished controller: a Job with
// spec.ttlSecondsAfterFinished is deleted (with its pods, in the
// foreground) that many seconds after it completed or failed.
package ttlafterfinished

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	batchinformers "k8s.io/client-go/informers/batch/v1"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
)

// Name is the controller's name in the controller-manager's table.
const Name = "ttl-after-finished"

// Controller is the TTL-after-finished controller.
type Controller struct {
	client    kubernetes.Interface
	jobLister batchlisters.JobLister
	jobSynced cache.InformerSynced
	queue     workqueue.TypedRateLimitingInterface[string]
	clock     clock.Clock
}

// NewController wires the controller to its informer. clk may be nil (real time).
func NewController(client kubernetes.Interface, jobs batchinformers.JobInformer, clk clock.Clock) *Controller {
	if clk == nil {
		clk = clock.RealClock{}
	}
	c := &Controller{
		client:    client,
		jobLister: jobs.Lister(),
		jobSynced: jobs.Informer().HasSynced,
		queue:     workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](), workqueue.TypedRateLimitingQueueConfig[string]{Name: "ttl_jobs_to_delete"}),
		clock:     clk,
	}
	jobs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: func(_, n any) { c.enqueue(n) },
	})
	return c
}

func (c *Controller) enqueue(obj any) {
	j, ok := obj.(*batchv1.Job)
	if !ok || !needsCleanup(j) {
		return
	}
	key, err := cache.MetaNamespaceKeyFunc(j)
	if err != nil {
		utilruntime.HandleError(err)
		return
	}
	c.queue.Add(key)
}

// Run starts workers and blocks until ctx is done.
func (c *Controller) Run(ctx context.Context, workers int) {
	defer utilruntime.HandleCrash()
	defer c.queue.ShutDown()
	slog.Info("starting controller", "controller", Name)
	defer slog.Info("stopping controller", "controller", Name)
	if !cache.WaitForCacheSync(ctx.Done(), c.jobSynced) {
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
		utilruntime.HandleError(fmt.Errorf("%s: sync %q: %w", Name, key, err))
		c.queue.AddRateLimited(key)
		return true
	}
	c.queue.Forget(key)
	return true
}

func needsCleanup(j *batchv1.Job) bool {
	_, ok := finishedAt(j)
	return j.Spec.TTLSecondsAfterFinished != nil && j.DeletionTimestamp == nil && ok
}

// finishedAt is when the Job completed or failed.
func finishedAt(j *batchv1.Job) (time.Time, bool) {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			if c.Type == batchv1.JobComplete && j.Status.CompletionTime != nil {
				return j.Status.CompletionTime.Time, true
			}
			return c.LastTransitionTime.Time, true
		}
	}
	return time.Time{}, false
}

// expiresIn is how long until the Job's TTL runs out (<= 0: now).
func (c *Controller) expiresIn(j *batchv1.Job) time.Duration {
	done, _ := finishedAt(j)
	return done.Add(time.Duration(*j.Spec.TTLSecondsAfterFinished) * time.Second).Sub(c.clock.Now())
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return err
	}
	j, err := c.jobLister.Jobs(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if !needsCleanup(j) {
		return nil
	}
	if d := c.expiresIn(j); d > 0 {
		c.queue.AddAfter(key, d)
		return nil
	}
	// The cache may be behind a user who just changed the TTL: decide on a
	// fresh read, and delete only that version.
	fresh, err := c.client.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if !needsCleanup(fresh) {
		return nil
	}
	if d := c.expiresIn(fresh); d > 0 {
		c.queue.AddAfter(key, d)
		return nil
	}
	slog.Info("deleting job after its TTL", "controller", Name, "job", key)
	err = c.client.BatchV1().Jobs(ns).Delete(ctx, name, metav1.DeleteOptions{
		PropagationPolicy: ptr.To(metav1.DeletePropagationForeground),
		Preconditions:     &metav1.Preconditions{UID: &fresh.UID, ResourceVersion: &fresh.ResourceVersion},
	})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
