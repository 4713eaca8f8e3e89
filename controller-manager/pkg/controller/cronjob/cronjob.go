// Package cronjob is the CronJob controller: it creates a Job from a
// CronJob's template at each time its cron schedule (in spec.timeZone, else
// the controller's local zone) names, honouring startingDeadlineSeconds,
// suspend and concurrencyPolicy, tracks the running Jobs in status.active and
// deletes finished Jobs beyond the history limits.
package cronjob

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"time"

	"github.com/robfig/cron/v3"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	batchinformers "k8s.io/client-go/informers/batch/v1"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
)

// Name is the controller's name in the controller-manager's table.
const Name = "cronjob"

// ScheduledTimestampAnnotation records on each Job the schedule time it was
// created for (RFC 3339 in the CronJob's time zone), as upstream.
const ScheduledTimestampAnnotation = "batch.kubernetes.io/cronjob-scheduled-timestamp"

// nextScheduleDelta is added to requeue delays so the sync lands just after
// the scheduled time, not just before it.
const nextScheduleDelta = 100 * time.Millisecond

// maxMissed is how many missed start times a sync walks before it gives up
// counting and warns, as upstream.
const maxMissed = 100

var controllerKind = batchv1.SchemeGroupVersion.WithKind("CronJob")

// Controller is the CronJob controller.
type Controller struct {
	client    kubernetes.Interface
	cjLister  batchlisters.CronJobLister
	jobLister batchlisters.JobLister
	cjSynced  cache.InformerSynced
	jobSynced cache.InformerSynced
	queue     workqueue.TypedRateLimitingInterface[string]
	recorder  record.EventRecorder
	clock     clock.Clock
}

// NewController wires the controller to its informers. clk may be nil (real time).
func NewController(client kubernetes.Interface, cronJobs batchinformers.CronJobInformer, jobs batchinformers.JobInformer, recorder record.EventRecorder, clk clock.Clock) *Controller {
	if clk == nil {
		clk = clock.RealClock{}
	}
	c := &Controller{
		client:    client,
		cjLister:  cronJobs.Lister(),
		jobLister: jobs.Lister(),
		cjSynced:  cronJobs.Informer().HasSynced,
		jobSynced: jobs.Informer().HasSynced,
		queue:     workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](), workqueue.TypedRateLimitingQueueConfig[string]{Name: Name}),
		recorder:  recorder,
		clock:     clk,
	}
	cronJobs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: func(_, n any) { c.enqueue(n) },
		DeleteFunc: c.enqueue,
	})
	jobs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
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
	job, ok := obj.(*batchv1.Job)
	if !ok {
		return
	}
	if ref := metav1.GetControllerOf(job); ref != nil && ref.Kind == controllerKind.Kind {
		c.queue.Add(job.Namespace + "/" + ref.Name)
	}
}

// Run starts workers and blocks until ctx is done.
func (c *Controller) Run(ctx context.Context, workers int) {
	defer utilruntime.HandleCrash()
	defer c.queue.ShutDown()
	slog.Info("starting controller", "controller", Name)
	defer slog.Info("stopping controller", "controller", Name)
	if !cache.WaitForCacheSync(ctx.Done(), c.cjSynced, c.jobSynced) {
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
	requeueAfter, err := c.sync(ctx, key)
	if err != nil {
		utilruntime.HandleError(fmt.Errorf("sync cronjob %q: %w", key, err))
		c.queue.AddRateLimited(key)
		return true
	}
	c.queue.Forget(key)
	if requeueAfter > 0 {
		c.queue.AddAfter(key, requeueAfter)
	}
	return true
}

// Schedule parses a CronJob's schedule in its time zone (nil: the local
// zone). The standard five fields and the @yearly, @monthly, @weekly,
// @daily, @midnight, @hourly and @every descriptors are accepted.
func Schedule(spec string, timeZone *string) (cron.Schedule, error) {
	if timeZone != nil {
		if _, err := time.LoadLocation(*timeZone); err != nil {
			return nil, fmt.Errorf("unknown time zone %s: %w", *timeZone, err)
		}
		spec = "TZ=" + *timeZone + " " + spec
	}
	return cron.ParseStandard(spec)
}

func finished(j *batchv1.Job) (bool, batchv1.JobConditionType) {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return true, c.Type
		}
	}
	return false, ""
}

// sync reconciles one CronJob and says when it next needs a look.
func (c *Controller) sync(ctx context.Context, key string) (time.Duration, error) {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return 0, err
	}
	shared, err := c.cjLister.CronJobs(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	cj := shared.DeepCopy()
	all, err := c.jobLister.Jobs(ns).List(labels.Everything())
	if err != nil {
		return 0, err
	}
	var jobs []*batchv1.Job
	for _, j := range all {
		if ref := metav1.GetControllerOf(j); ref != nil && ref.UID == cj.UID {
			jobs = append(jobs, j)
		}
	}

	if err := c.reconcileActive(ctx, cj, jobs); err != nil {
		return 0, err
	}
	requeueAfter, syncErr := c.startDue(ctx, cj, jobs)
	if !equality.Semantic.DeepEqual(shared.Status, cj.Status) {
		if _, err := c.client.BatchV1().CronJobs(ns).UpdateStatus(ctx, cj, metav1.UpdateOptions{}); err != nil {
			return 0, fmt.Errorf("update status: %w", err)
		}
	}
	if syncErr != nil {
		return 0, syncErr
	}
	if cj.DeletionTimestamp == nil {
		if err := c.cleanupHistory(ctx, cj, jobs); err != nil {
			return 0, err
		}
	}
	return requeueAfter, nil
}

// reconcileActive brings status.active in line with the child Jobs: running
// children are listed, finished and vanished ones dropped.
func (c *Controller) reconcileActive(ctx context.Context, cj *batchv1.CronJob, jobs []*batchv1.Job) error {
	inActive := func(j *batchv1.Job) bool {
		return slices.ContainsFunc(cj.Status.Active, func(r corev1.ObjectReference) bool { return r.UID == j.UID })
	}
	byUID := map[string]*batchv1.Job{}
	for _, j := range jobs {
		byUID[string(j.UID)] = j
		done, ctype := finished(j)
		switch {
		case !done && !inActive(j):
			cj.Status.Active = append(cj.Status.Active, jobRef(j))
		case done && inActive(j):
			cj.Status.Active = slices.DeleteFunc(cj.Status.Active, func(r corev1.ObjectReference) bool { return r.UID == j.UID })
			c.recorder.Eventf(cj, corev1.EventTypeNormal, "SawCompletedJob", "Saw completed job: %s, condition: %v", j.Name, ctype)
			if ctype == batchv1.JobComplete && j.Status.CompletionTime != nil &&
				(cj.Status.LastSuccessfulTime == nil || cj.Status.LastSuccessfulTime.Before(j.Status.CompletionTime)) {
				cj.Status.LastSuccessfulTime = j.Status.CompletionTime.DeepCopy()
			}
		}
	}
	var keep []corev1.ObjectReference
	for _, r := range cj.Status.Active {
		if _, ok := byUID[string(r.UID)]; ok {
			keep = append(keep, r)
			continue
		}
		// Not in the cache: ask the apiserver before believing it gone.
		j, err := c.client.BatchV1().Jobs(r.Namespace).Get(ctx, r.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err) || err == nil && j.UID != r.UID:
			c.recorder.Eventf(cj, corev1.EventTypeNormal, "MissingJob", "Active job went missing: %v", r.Name)
		case err != nil:
			return fmt.Errorf("get job %s: %w", r.Name, err)
		default:
			keep = append(keep, r)
		}
	}
	cj.Status.Active = keep
	return nil
}

func jobRef(j *batchv1.Job) corev1.ObjectReference {
	return corev1.ObjectReference{
		Kind: "Job", APIVersion: "batch/v1", Namespace: j.Namespace, Name: j.Name,
		UID: j.UID, ResourceVersion: j.ResourceVersion,
	}
}

// startDue starts the Job of the most recent missed schedule time, if any is
// due, and returns the delay until the next schedule time.
func (c *Controller) startDue(ctx context.Context, cj *batchv1.CronJob, jobs []*batchv1.Job) (time.Duration, error) {
	if cj.DeletionTimestamp != nil {
		return 0, nil
	}
	sched, err := Schedule(cj.Spec.Schedule, cj.Spec.TimeZone)
	if err != nil {
		reason := "UnparseableSchedule"
		if cj.Spec.TimeZone != nil {
			if _, tzErr := time.LoadLocation(*cj.Spec.TimeZone); tzErr != nil {
				reason = "UnknownTimeZone"
			}
		}
		// Retrying will not fix the spec; its next update will requeue it.
		c.recorder.Eventf(cj, corev1.EventTypeWarning, reason, "invalid schedule: %s : %v", cj.Spec.Schedule, err)
		return 0, nil
	}
	if cj.Spec.Suspend != nil && *cj.Spec.Suspend {
		return 0, nil
	}
	now := c.clock.Now()
	scheduled, missed, next := mostRecentScheduleTime(cj, sched, now)
	requeue := next.Sub(now) + nextScheduleDelta
	if scheduled == nil {
		return requeue, nil
	}
	if missed > maxMissed {
		c.recorder.Eventf(cj, corev1.EventTypeWarning, "TooManyMissedTimes", "too many missed start times: %d. Set or decrease .spec.startingDeadlineSeconds or check clock skew", missed)
	}
	if sds := cj.Spec.StartingDeadlineSeconds; sds != nil && scheduled.Add(time.Duration(*sds)*time.Second).Before(now) {
		c.recorder.Eventf(cj, corev1.EventTypeWarning, "MissSchedule", "Missed scheduled time to start a job: %s", scheduled.UTC().Format(time.RFC1123Z))
		return requeue, nil
	}
	jobName := JobName(cj, *scheduled)
	for _, j := range jobs {
		if j.Name == jobName {
			// Already started for this time (the status write was lost).
			if cj.Status.LastScheduleTime == nil || cj.Status.LastScheduleTime.Time.Before(*scheduled) {
				cj.Status.LastScheduleTime = &metav1.Time{Time: *scheduled}
			}
			return requeue, nil
		}
	}
	switch cj.Spec.ConcurrencyPolicy {
	case batchv1.ForbidConcurrent:
		if len(cj.Status.Active) > 0 {
			c.recorder.Eventf(cj, corev1.EventTypeNormal, "JobAlreadyActive", "Not starting job because prior execution is running and concurrency policy is Forbid")
			return requeue, nil
		}
	case batchv1.ReplaceConcurrent:
		for _, r := range cj.Status.Active {
			err := c.client.BatchV1().Jobs(r.Namespace).Delete(ctx, r.Name, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)})
			if err != nil && !apierrors.IsNotFound(err) {
				c.recorder.Eventf(cj, corev1.EventTypeWarning, "FailedDelete", "Deleted job: %v", err)
				return 0, fmt.Errorf("replace job %s: %w", r.Name, err)
			}
			c.recorder.Eventf(cj, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted job %v", r.Name)
		}
		cj.Status.Active = nil
	}
	job, err := newJob(cj, *scheduled, jobName)
	if err != nil {
		return 0, err
	}
	created, err := c.client.BatchV1().Jobs(cj.Namespace).Create(ctx, job, metav1.CreateOptions{})
	switch {
	case apierrors.IsAlreadyExists(err):
		existing, getErr := c.client.BatchV1().Jobs(cj.Namespace).Get(ctx, jobName, metav1.GetOptions{})
		if getErr != nil {
			return 0, getErr
		}
		if ref := metav1.GetControllerOf(existing); ref == nil || ref.UID != cj.UID {
			c.recorder.Eventf(cj, corev1.EventTypeWarning, "FailedCreate", "Error creating job: %v", err)
			return requeue, nil
		}
		created = existing
	case err != nil:
		c.recorder.Eventf(cj, corev1.EventTypeWarning, "FailedCreate", "Error creating job: %v", err)
		return 0, fmt.Errorf("create job: %w", err)
	default:
		c.recorder.Eventf(cj, corev1.EventTypeNormal, "SuccessfulCreate", "Created job %v", created.Name)
	}
	if !slices.ContainsFunc(cj.Status.Active, func(r corev1.ObjectReference) bool { return r.UID == created.UID }) {
		cj.Status.Active = append(cj.Status.Active, jobRef(created))
	}
	cj.Status.LastScheduleTime = &metav1.Time{Time: *scheduled}
	return requeue, nil
}

// mostRecentScheduleTime returns the latest schedule time in (earliest,
// now], how many such times there were (capped just past maxMissed), and the
// first schedule time after now. earliest is the last schedule time, else
// the creation time, but never before now - startingDeadlineSeconds.
func mostRecentScheduleTime(cj *batchv1.CronJob, sched cron.Schedule, now time.Time) (*time.Time, int, time.Time) {
	earliest := cj.CreationTimestamp.Time
	if cj.Status.LastScheduleTime != nil {
		earliest = cj.Status.LastScheduleTime.Time
	}
	if sds := cj.Spec.StartingDeadlineSeconds; sds != nil {
		if limit := now.Add(-time.Duration(*sds) * time.Second); limit.After(earliest) {
			earliest = limit
		}
	}
	var latest *time.Time
	missed := 0
	t := sched.Next(earliest)
	for !t.IsZero() && !t.After(now) {
		tt := t
		latest = &tt
		missed++
		if missed > maxMissed {
			// Jump near now instead of walking years of minutes: the
			// schedule's period estimated from two steps, then walk on.
			step := sched.Next(t).Sub(t)
			if step > 0 && now.Sub(t) > 2*step {
				skip := now.Sub(t)/step - 1
				t = sched.Next(t.Add(time.Duration(skip) * step).Add(-time.Second))
				if !t.After(*latest) {
					t = sched.Next(*latest)
				}
				for !t.IsZero() && !t.After(now) {
					tt := t
					latest = &tt
					t = sched.Next(t)
				}
				break
			}
		}
		t = sched.Next(t)
	}
	return latest, missed, t
}

// JobName is the name of the Job started for scheduled: the CronJob's name
// and the schedule time in minutes since the epoch, as upstream, so a
// repeated sync for the same time collides instead of starting twice.
func JobName(cj *batchv1.CronJob, scheduled time.Time) string {
	return fmt.Sprintf("%s-%d", cj.Name, scheduled.Unix()/60)
}

func newJob(cj *batchv1.CronJob, scheduled time.Time, name string) (*batchv1.Job, error) {
	t := cj.Spec.JobTemplate.DeepCopy()
	annotations := t.Annotations
	if annotations == nil {
		annotations = map[string]string{}
	}
	loc := time.Local
	if cj.Spec.TimeZone != nil {
		l, err := time.LoadLocation(*cj.Spec.TimeZone)
		if err != nil {
			return nil, err
		}
		loc = l
	}
	annotations[ScheduledTimestampAnnotation] = scheduled.In(loc).Format(time.RFC3339)
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name:            name,
			Namespace:       cj.Namespace,
			Labels:          t.Labels,
			Annotations:     annotations,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(cj, controllerKind)},
		},
		Spec: t.Spec,
	}, nil
}

// cleanupHistory deletes the oldest finished Jobs beyond
// successfulJobsHistoryLimit and failedJobsHistoryLimit.
func (c *Controller) cleanupHistory(ctx context.Context, cj *batchv1.CronJob, jobs []*batchv1.Job) error {
	var succeeded, failed []*batchv1.Job
	for _, j := range jobs {
		if j.DeletionTimestamp != nil {
			continue
		}
		switch _, t := finished(j); t {
		case batchv1.JobComplete:
			succeeded = append(succeeded, j)
		case batchv1.JobFailed:
			failed = append(failed, j)
		}
	}
	if err := c.trim(ctx, cj, succeeded, cj.Spec.SuccessfulJobsHistoryLimit); err != nil {
		return err
	}
	return c.trim(ctx, cj, failed, cj.Spec.FailedJobsHistoryLimit)
}

func (c *Controller) trim(ctx context.Context, cj *batchv1.CronJob, jobs []*batchv1.Job, limit *int32) error {
	if limit == nil || len(jobs) <= int(*limit) {
		return nil
	}
	sort.Slice(jobs, func(i, k int) bool { return startTime(jobs[i]).Before(startTime(jobs[k])) })
	for _, j := range jobs[:len(jobs)-int(*limit)] {
		err := c.client.BatchV1().Jobs(j.Namespace).Delete(ctx, j.Name, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)})
		if err != nil && !apierrors.IsNotFound(err) {
			c.recorder.Eventf(cj, corev1.EventTypeWarning, "FailedDelete", "Deleted job: %v", err)
			return fmt.Errorf("delete old job %s: %w", j.Name, err)
		}
		c.recorder.Eventf(cj, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted job %v", j.Name)
	}
	return nil
}

func startTime(j *batchv1.Job) time.Time {
	if j.Status.StartTime != nil {
		return j.Status.StartTime.Time
	}
	return j.CreationTimestamp.Time
}
