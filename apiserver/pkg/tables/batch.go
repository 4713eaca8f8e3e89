package tables

import (
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
)

// jobCells renders a job: NAME STATUS COMPLETIONS DURATION AGE | CONTAINERS IMAGES SELECTOR.
// COMPLETIONS is "succeeded/completions"; a job without a completion count needs one success
// ("0/1", or "0/1 of 3" with parallelism 3). DURATION runs until the job completes.
func jobCells(job *batchv1.Job, now time.Time) []interface{} {
	var completions string
	switch {
	case job.Spec.Completions != nil:
		completions = fmt.Sprintf("%d/%d", job.Status.Succeeded, *job.Spec.Completions)
	case job.Spec.Parallelism != nil && *job.Spec.Parallelism > 1:
		completions = fmt.Sprintf("%d/1 of %d", job.Status.Succeeded, *job.Spec.Parallelism)
	default:
		completions = fmt.Sprintf("%d/1", job.Status.Succeeded)
	}

	var took string
	switch start, end := job.Status.StartTime, job.Status.CompletionTime; {
	case start == nil:
	case end == nil:
		took = duration.HumanDuration(now.Sub(start.Time))
	default:
		took = duration.HumanDuration(end.Sub(start.Time))
	}

	names, images := containerCells(job.Spec.Template.Spec.Containers)
	return []interface{}{
		job.Name,
		jobStatus(job),
		completions,
		took,
		since(job.CreationTimestamp, now),
		names,
		images,
		metav1.FormatLabelSelector(job.Spec.Selector),
	}
}

// jobStatus is the first that applies of Complete, Failed, Terminating, Suspended,
// FailureTarget and Running.
func jobStatus(job *batchv1.Job) string {
	switch {
	case jobConditionTrue(job, batchv1.JobComplete):
		return "Complete"
	case jobConditionTrue(job, batchv1.JobFailed):
		return "Failed"
	case job.DeletionTimestamp != nil:
		return "Terminating"
	case jobConditionTrue(job, batchv1.JobSuspended):
		return "Suspended"
	case jobConditionTrue(job, batchv1.JobFailureTarget):
		return "FailureTarget"
	}
	return "Running"
}

// jobConditionTrue reports whether the job's first condition of type t is True.
func jobConditionTrue(job *batchv1.Job, t batchv1.JobConditionType) bool {
	for _, c := range job.Status.Conditions {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// cronJobCells renders a cron job: NAME SCHEDULE TIMEZONE SUSPEND ACTIVE LAST SCHEDULE AGE |
// CONTAINERS IMAGES SELECTOR.
func cronJobCells(cj *batchv1.CronJob, now time.Time) []interface{} {
	lastSchedule := "<none>"
	if cj.Status.LastScheduleTime != nil {
		lastSchedule = since(*cj.Status.LastScheduleTime, now)
	}
	timeZone := "<none>"
	if cj.Spec.TimeZone != nil {
		timeZone = *cj.Spec.TimeZone
	}
	tmpl := cj.Spec.JobTemplate.Spec
	names, images := containerCells(tmpl.Template.Spec.Containers)
	return []interface{}{
		cj.Name,
		cj.Spec.Schedule,
		timeZone,
		boolPtrString(cj.Spec.Suspend),
		int64(len(cj.Status.Active)),
		lastSchedule,
		since(cj.CreationTimestamp, now),
		names,
		images,
		metav1.FormatLabelSelector(tmpl.Selector),
	}
}
