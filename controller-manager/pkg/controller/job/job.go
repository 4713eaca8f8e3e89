// Package job is the Job controller: it runs pods from a Job's template until
// the requested number succeed, counts failures against backoffLimit, enforces
// activeDeadlineSeconds, honours suspend, and marks the Job Complete or Failed.
//
// Finished pods are counted exactly once with upstream's tracking scheme: each
// pod is created with the batch.kubernetes.io/job-tracking finalizer; a
// finished pod's UID is first written to status.uncountedTerminatedPods, only
// then is its finalizer removed, and once the pod has no finalizer (or is
// gone) it moves from the uncounted lists into status.succeeded/failed.
package job

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/wait"
	batchinformers "k8s.io/client-go/informers/batch/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"navarch.dev/controller-manager/pkg/controller/expectations"
	"navarch.dev/controller-manager/pkg/controller/podcontrol"
	"navarch.dev/controller-manager/pkg/controller/podstate"
)

// Name is the controller's name in the controller-manager's table.
const Name = "job"

// Upstream's pod failure backoff: 10s doubling per failure, capped at 6m.
const (
	DefaultBackoffBase = 10 * time.Second
	DefaultBackoffMax  = 6 * time.Minute
)

var controllerKind = batchv1.SchemeGroupVersion.WithKind("Job")

// Controller is the Job controller.
type Controller struct {
	client     kubernetes.Interface
	jobLister  batchlisters.JobLister
	podLister  corelisters.PodLister
	jobsSynced cache.InformerSynced
	podsSynced cache.InformerSynced
	queue      workqueue.TypedRateLimitingInterface[string]
	recorder   record.EventRecorder
	expect     *expectations.Expectations
	clock      clock.Clock

	// BackoffBase is the delay before a pod is recreated after the first
	// failure; it doubles with every further failure up to BackoffMax.
	BackoffBase time.Duration
	BackoffMax  time.Duration
}

// NewController wires the controller to its informers. clk may be nil (real time).
func NewController(client kubernetes.Interface, jobs batchinformers.JobInformer, pods coreinformers.PodInformer, recorder record.EventRecorder, clk clock.Clock) *Controller {
	if clk == nil {
		clk = clock.RealClock{}
	}
	c := &Controller{
		client:      client,
		jobLister:   jobs.Lister(),
		podLister:   pods.Lister(),
		jobsSynced:  jobs.Informer().HasSynced,
		podsSynced:  pods.Informer().HasSynced,
		queue:       workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](), workqueue.TypedRateLimitingQueueConfig[string]{Name: Name}),
		recorder:    recorder,
		expect:      expectations.New(clk),
		clock:       clk,
		BackoffBase: DefaultBackoffBase,
		BackoffMax:  DefaultBackoffMax,
	}
	jobs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: func(_, n any) { c.enqueue(n) },
		DeleteFunc: c.enqueue,
	})
	pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.addPod,
		UpdateFunc: c.updatePod,
		DeleteFunc: c.deletePod,
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

// jobKeyFor returns the key of the Job controlling pod, or "".
func (c *Controller) jobKeyFor(pod *corev1.Pod) string {
	ref := metav1.GetControllerOf(pod)
	if ref == nil || ref.Kind != controllerKind.Kind || ref.APIVersion != controllerKind.GroupVersion().String() {
		return ""
	}
	j, err := c.jobLister.Jobs(pod.Namespace).Get(ref.Name)
	if err != nil || j.UID != ref.UID {
		return ""
	}
	return pod.Namespace + "/" + ref.Name
}

func (c *Controller) addPod(obj any) {
	pod := obj.(*corev1.Pod)
	if key := c.jobKeyFor(pod); key != "" {
		c.expect.CreationObserved(key)
		c.queue.Add(key)
	}
}

func (c *Controller) updatePod(oldObj, newObj any) {
	oldPod, newPod := oldObj.(*corev1.Pod), newObj.(*corev1.Pod)
	if oldPod.ResourceVersion == newPod.ResourceVersion {
		return
	}
	key := c.jobKeyFor(newPod)
	if key != "" {
		if newPod.DeletionTimestamp != nil && oldPod.DeletionTimestamp == nil {
			c.expect.DeletionObservedOf(key, podKey(newPod))
		}
		c.queue.Add(key)
	}
	if oldKey := c.jobKeyFor(oldPod); oldKey != "" && oldKey != key {
		c.queue.Add(oldKey)
	}
}

func (c *Controller) deletePod(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		tomb, ok := obj.(cache.DeletedFinalStateUnknown)
		if !ok {
			return
		}
		if pod, ok = tomb.Obj.(*corev1.Pod); !ok {
			return
		}
	}
	ref := metav1.GetControllerOf(pod)
	if ref == nil || ref.Kind != controllerKind.Kind {
		return
	}
	key := pod.Namespace + "/" + ref.Name
	c.expect.DeletionObservedOf(key, podKey(pod))
	c.queue.Add(key)
}

// Run starts workers and blocks until ctx is done.
func (c *Controller) Run(ctx context.Context, workers int) {
	defer utilruntime.HandleCrash()
	defer c.queue.ShutDown()
	slog.Info("starting controller", "controller", Name)
	defer slog.Info("stopping controller", "controller", Name)
	if !cache.WaitForCacheSync(ctx.Done(), c.jobsSynced, c.podsSynced) {
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
		utilruntime.HandleError(fmt.Errorf("sync job %q: %w", key, err))
		c.queue.AddRateLimited(key)
		return true
	}
	c.queue.Forget(key)
	return true
}

func finishedCondition(j *batchv1.Job) *batchv1.JobCondition {
	for i := range j.Status.Conditions {
		c := &j.Status.Conditions[i]
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return c
		}
	}
	return nil
}

func podKey(p *corev1.Pod) string { return p.Namespace + "/" + p.Name }

func hasTrackingFinalizer(p *corev1.Pod) bool {
	return slices.Contains(p.Finalizers, batchv1.JobTrackingFinalizer)
}

// finishedForAccounting reports whether the pod will run no more: it
// terminated, or it is being deleted (a deleted pod that did not succeed
// counts as a failure, as upstream counts it).
func finishedForAccounting(p *corev1.Pod) bool {
	return podstate.Terminal(p) || p.DeletionTimestamp != nil
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return err
	}
	shared, err := c.jobLister.Jobs(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.expect.Delete(key)
		return nil
	}
	if err != nil {
		return err
	}
	job := shared.DeepCopy()
	satisfied := c.expect.Satisfied(key)

	pods, err := c.podsOf(job)
	if err != nil {
		return err
	}
	now := c.clock.Now()
	finished := finishedCondition(job) != nil

	// Account for finished pods: record newly finished ones as uncounted,
	// and move uncounted ones whose finalizer is gone into the totals.
	uncounted := job.Status.UncountedTerminatedPods
	if uncounted == nil {
		uncounted = &batchv1.UncountedTerminatedPods{}
	}
	inUncounted := sets.New[types.UID](uncounted.Succeeded...).Insert(uncounted.Failed...)
	byUID := map[types.UID]*corev1.Pod{}
	var releasable []*corev1.Pod
	var failedPods []*corev1.Pod
	for _, p := range pods {
		byUID[p.UID] = p
		if !finishedForAccounting(p) {
			continue
		}
		if p.Status.Phase != corev1.PodSucceeded {
			failedPods = append(failedPods, p)
		}
		if !hasTrackingFinalizer(p) {
			continue
		}
		if !finished && !inUncounted.Has(p.UID) {
			if p.Status.Phase == corev1.PodSucceeded {
				uncounted.Succeeded = append(uncounted.Succeeded, p.UID)
			} else {
				uncounted.Failed = append(uncounted.Failed, p.UID)
			}
			inUncounted.Insert(p.UID)
		}
		releasable = append(releasable, p)
	}
	settled := func(uid types.UID) bool {
		p, ok := byUID[uid]
		return !ok || !hasTrackingFinalizer(p)
	}
	var keepSucceeded, keepFailed []types.UID
	for _, uid := range uncounted.Succeeded {
		if settled(uid) {
			job.Status.Succeeded++
		} else {
			keepSucceeded = append(keepSucceeded, uid)
		}
	}
	for _, uid := range uncounted.Failed {
		if settled(uid) {
			job.Status.Failed++
		} else {
			keepFailed = append(keepFailed, uid)
		}
	}
	uncounted.Succeeded, uncounted.Failed = keepSucceeded, keepFailed
	job.Status.UncountedTerminatedPods = uncounted
	succeeded := job.Status.Succeeded + int32(len(uncounted.Succeeded))
	failed := job.Status.Failed + int32(len(uncounted.Failed))

	var active []*corev1.Pod
	terminating := int32(0)
	for _, p := range pods {
		if podstate.Active(p) {
			active = append(active, p)
		} else if !podstate.Terminal(p) {
			terminating++
		}
	}

	suspended := job.Spec.Suspend != nil && *job.Spec.Suspend
	var requeueAfter time.Duration
	var manageErr error
	if !finished {
		c.updateSuspended(job, suspended, now)
		if !suspended && job.Status.StartTime == nil {
			job.Status.StartTime = &metav1.Time{Time: now}
		}
		var reason, message string
		switch {
		case job.Spec.BackoffLimit != nil && failed > *job.Spec.BackoffLimit:
			reason, message = "BackoffLimitExceeded", "Job has reached the specified backoff limit"
		case !suspended && job.Spec.ActiveDeadlineSeconds != nil && job.Status.StartTime != nil:
			deadline := job.Status.StartTime.Add(time.Duration(*job.Spec.ActiveDeadlineSeconds) * time.Second)
			if !now.Before(deadline) {
				reason, message = "DeadlineExceeded", "Job was active longer than specified deadline"
			} else {
				requeueAfter = deadline.Sub(now)
			}
		}
		complete := false
		if reason == "" {
			if job.Spec.Completions != nil {
				complete = succeeded >= *job.Spec.Completions
			} else {
				complete = succeeded > 0 && len(active) == 0
			}
		}
		switch {
		case reason != "":
			finished = true
			setCondition(job, batchv1.JobFailureTarget, reason, message, now)
			setCondition(job, batchv1.JobFailed, reason, message, now)
			c.recorder.Event(job, corev1.EventTypeWarning, reason, message)
			manageErr = c.deletePods(ctx, job, active)
			active = nil
		case complete:
			finished = true
			setCondition(job, batchv1.JobSuccessCriteriaMet, "CompletionsReached", "Reached expected number of succeeded pods", now)
			setCondition(job, batchv1.JobComplete, "CompletionsReached", "Reached expected number of succeeded pods", now)
			job.Status.CompletionTime = &metav1.Time{Time: now}
			c.recorder.Event(job, corev1.EventTypeNormal, "Completed", "Job completed")
			manageErr = c.deletePods(ctx, job, active)
			active = nil
		case satisfied:
			var after time.Duration
			active, after, manageErr = c.manage(ctx, job, active, succeeded, failed, failedPods, suspended, now)
			if after > 0 && (requeueAfter == 0 || after < requeueAfter) {
				requeueAfter = after
			}
		}
	}

	job.Status.Active = int32(len(active))
	ready := int32(0)
	for _, p := range active {
		if podstate.Ready(p) {
			ready++
		}
	}
	job.Status.Ready = &ready
	job.Status.Terminating = &terminating
	if !equality.Semantic.DeepEqual(shared.Status, job.Status) {
		if _, err := c.client.BatchV1().Jobs(ns).UpdateStatus(ctx, job, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("update status: %w", err)
		}
	}
	// Only now that the uncounted UIDs are stored may the pods go.
	for _, p := range releasable {
		if err := c.removeFinalizer(ctx, p); err != nil {
			return err
		}
	}
	if requeueAfter > 0 {
		c.queue.AddAfter(key, requeueAfter)
	}
	return manageErr
}

func (c *Controller) podsOf(job *batchv1.Job) ([]*corev1.Pod, error) {
	sel, err := metav1.LabelSelectorAsSelector(job.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("selector: %w", err)
	}
	if job.Spec.Selector == nil {
		sel = labels.Nothing()
	}
	all, err := c.podLister.Pods(job.Namespace).List(sel)
	if err != nil {
		return nil, err
	}
	var out []*corev1.Pod
	for _, p := range all {
		if podstate.ControlledBy(p, string(job.UID)) {
			out = append(out, p)
		}
	}
	return out, nil
}

// updateSuspended keeps the Suspended condition in step with spec.suspend;
// resuming restarts the clock of activeDeadlineSeconds, as upstream does.
func (c *Controller) updateSuspended(job *batchv1.Job, suspended bool, now time.Time) {
	cond := getCondition(job, batchv1.JobSuspended)
	switch {
	case suspended && (cond == nil || cond.Status != corev1.ConditionTrue):
		setCondition(job, batchv1.JobSuspended, "JobSuspended", "Job suspended", now)
		c.recorder.Event(job, corev1.EventTypeNormal, "Suspended", "Job suspended")
	case !suspended && cond != nil && cond.Status == corev1.ConditionTrue:
		cond.Status = corev1.ConditionFalse
		cond.Reason, cond.Message = "JobResumed", "Job resumed"
		cond.LastProbeTime, cond.LastTransitionTime = metav1.Time{Time: now}, metav1.Time{Time: now}
		job.Status.StartTime = &metav1.Time{Time: now}
		c.recorder.Event(job, corev1.EventTypeNormal, "Resumed", "Job resumed")
	}
}

// manage creates or deletes pods so the Job has as many active as it wants.
// It returns the active pods it leaves and, when failures hold creation
// back, how long until the backoff ends.
func (c *Controller) manage(ctx context.Context, job *batchv1.Job, active []*corev1.Pod, succeeded, failed int32, failedPods []*corev1.Pod, suspended bool, now time.Time) ([]*corev1.Pod, time.Duration, error) {
	parallelism := int32(1)
	if job.Spec.Parallelism != nil {
		parallelism = *job.Spec.Parallelism
	}
	want := parallelism
	switch {
	case suspended:
		want = 0
	case job.Spec.Completions != nil:
		want = min(parallelism, max(0, *job.Spec.Completions-succeeded))
	case succeeded > 0:
		// A work queue Job: once one pod succeeded, start no more, let the
		// rest finish.
		want = min(parallelism, int32(len(active)))
	}
	key := job.Namespace + "/" + job.Name
	n := int32(len(active))
	if n > want {
		victims := slices.Clone(active)
		sort.SliceStable(victims, func(i, k int) bool { return deletionOrder(victims[i], victims[k]) })
		victims = victims[:n-want]
		err := c.deletePods(ctx, job, victims)
		return slices.DeleteFunc(active, func(p *corev1.Pod) bool { return slices.Contains(victims, p) }), 0, err
	}
	if n == want {
		return active, 0, nil
	}
	if failed > 0 {
		if wait := c.backoffRemaining(failed, failedPods, now); wait > 0 {
			return active, wait, nil
		}
	}
	diff := int(want - n)
	c.expect.ExpectCreations(key, diff)
	var mu sync.Mutex
	var attempted atomic.Int32
	_, err := podcontrol.SlowStartBatch(diff, podcontrol.SlowStartInitialBatchSize, func() error {
		attempted.Add(1)
		pod, err := c.client.CoreV1().Pods(job.Namespace).Create(ctx, newPod(job), metav1.CreateOptions{})
		if err != nil {
			c.expect.CreationObserved(key)
			if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
				return nil
			}
			c.recorder.Eventf(job, corev1.EventTypeWarning, "FailedCreate", "Error creating: %v", err)
			return err
		}
		c.recorder.Eventf(job, corev1.EventTypeNormal, "SuccessfulCreate", "Created pod: %v", pod.Name)
		mu.Lock()
		active = append(active, pod)
		mu.Unlock()
		return nil
	})
	// Pods never attempted after a failed batch are not coming either.
	for range diff - int(attempted.Load()) {
		c.expect.CreationObserved(key)
	}
	return active, 0, err
}

// backoffRemaining is how long creation must still wait after the latest
// failure: BackoffBase doubled for each failure beyond the first, capped.
func (c *Controller) backoffRemaining(failed int32, failedPods []*corev1.Pod, now time.Time) time.Duration {
	var last time.Time
	for _, p := range failedPods {
		if t := finishTime(p); t.After(last) {
			last = t
		}
	}
	if last.IsZero() || c.BackoffBase <= 0 {
		return 0
	}
	delay := c.BackoffBase
	for i := int32(1); i < failed && delay < c.BackoffMax; i++ {
		delay *= 2
	}
	delay = min(delay, c.BackoffMax)
	return last.Add(delay).Sub(now)
}

// finishTime is when the pod stopped: its latest container termination,
// else when it was deleted; zero when the pod says nothing.
func finishTime(p *corev1.Pod) time.Time {
	var t time.Time
	for _, s := range p.Status.ContainerStatuses {
		if s.State.Terminated != nil && s.State.Terminated.FinishedAt.After(t) {
			t = s.State.Terminated.FinishedAt.Time
		}
	}
	if t.IsZero() && p.DeletionTimestamp != nil {
		t = p.DeletionTimestamp.Time
	}
	return t
}

// deletionOrder puts the pods least worth keeping first: unscheduled, then
// not ready, then the youngest.
func deletionOrder(a, b *corev1.Pod) bool {
	if (a.Spec.NodeName == "") != (b.Spec.NodeName == "") {
		return a.Spec.NodeName == ""
	}
	if podstate.Ready(a) != podstate.Ready(b) {
		return !podstate.Ready(a)
	}
	return b.CreationTimestamp.Before(&a.CreationTimestamp)
}

func (c *Controller) deletePods(ctx context.Context, job *batchv1.Job, pods []*corev1.Pod) error {
	if len(pods) == 0 {
		return nil
	}
	key := job.Namespace + "/" + job.Name
	podKeys := make([]string, len(pods))
	for i, p := range pods {
		podKeys[i] = podKey(p)
	}
	c.expect.ExpectDeletionsOf(key, podKeys)
	var first error
	for _, p := range pods {
		err := c.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{})
		if err != nil {
			c.expect.DeletionObservedOf(key, podKey(p))
			if !apierrors.IsNotFound(err) && first == nil {
				c.recorder.Eventf(job, corev1.EventTypeWarning, "FailedDelete", "Error deleting: %v", err)
				first = fmt.Errorf("delete pod %s: %w", p.Name, err)
			}
			continue
		}
		c.recorder.Eventf(job, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted pod: %v", p.Name)
	}
	return first
}

func (c *Controller) removeFinalizer(ctx context.Context, p *corev1.Pod) error {
	var keep []string
	for _, f := range p.Finalizers {
		if f != batchv1.JobTrackingFinalizer {
			keep = append(keep, f)
		}
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"finalizers":      keep,
		"resourceVersion": p.ResourceVersion,
	}})
	if err != nil {
		return err
	}
	_, err = c.client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("remove tracking finalizer from pod %s: %w", p.Name, err)
	}
	return nil
}

func newPod(job *batchv1.Job) *corev1.Pod {
	t := job.Spec.Template.DeepCopy()
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:    job.Name + "-",
			Namespace:       job.Namespace,
			Labels:          t.Labels,
			Annotations:     t.Annotations,
			Finalizers:      []string{batchv1.JobTrackingFinalizer},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(job, controllerKind)},
		},
		Spec: t.Spec,
	}
}

func getCondition(job *batchv1.Job, t batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range job.Status.Conditions {
		if job.Status.Conditions[i].Type == t {
			return &job.Status.Conditions[i]
		}
	}
	return nil
}

// setCondition sets condition t to True with reason and message.
func setCondition(job *batchv1.Job, t batchv1.JobConditionType, reason, message string, now time.Time) {
	ts := metav1.Time{Time: now}
	if c := getCondition(job, t); c != nil {
		if c.Status != corev1.ConditionTrue {
			c.LastTransitionTime = ts
		}
		c.Status, c.Reason, c.Message, c.LastProbeTime = corev1.ConditionTrue, reason, message, ts
		return
	}
	job.Status.Conditions = append(job.Status.Conditions, batchv1.JobCondition{
		Type: t, Status: corev1.ConditionTrue, Reason: reason, Message: message,
		LastProbeTime: ts, LastTransitionTime: ts,
	})
}
