package integration

import (
	"context"
	"slices"
	"testing"

	batch "k8s.io/api/batch/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"navarch.dev/apiserver/testserver"
	"navarch.dev/controller-manager/pkg/controller/cronjob"
)

// A CronJob starts a Job at its schedule time, lists it as active, and
// records the success when the Job completes. The "@every 2s" descriptor
// (a schedule upstream accepts too) keeps the wait to seconds where a
// five-field schedule would take up to a minute; the controllers run on
// real time, as in production.
func TestCronJobStartsJobs(t *testing.T) {
	ts := testserver.Start(t)
	startControllers(t, ts, "cronjob", "job")
	const ns = "cron"
	createNamespace(t, ts.Client, ns)
	ctx := context.Background()

	cj := &batch.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "tick"},
		Spec: batch.CronJobSpec{
			Schedule:          "@every 2s",
			ConcurrencyPolicy: batch.ForbidConcurrent,
			JobTemplate: batch.JobTemplateSpec{Spec: batch.JobSpec{
				Template: v1.PodTemplateSpec{Spec: v1.PodSpec{RestartPolicy: v1.RestartPolicyNever, Containers: container()}},
			}},
		},
	}
	cj, err := ts.Client.BatchV1().CronJobs(ns).Create(ctx, cj, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	var job batch.Job
	poll(t, "a Job started by the CronJob", func(ctx context.Context) (bool, error) {
		jobs, err := ts.Client.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
		if err != nil || len(jobs.Items) == 0 {
			return false, err
		}
		job = jobs.Items[0]
		return true, nil
	})
	if ref := metav1.GetControllerOf(&job); ref == nil || ref.Kind != "CronJob" || ref.UID != cj.UID {
		t.Errorf("job %s has controller reference %+v, want the CronJob", job.Name, ref)
	}
	if job.Annotations[cronjob.ScheduledTimestampAnnotation] == "" {
		t.Errorf("job %s has no %s annotation", job.Name, cronjob.ScheduledTimestampAnnotation)
	}
	poll(t, "the Job in the CronJob's status", func(ctx context.Context) (bool, error) {
		cur, err := ts.Client.BatchV1().CronJobs(ns).Get(ctx, "tick", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		active := slices.ContainsFunc(cur.Status.Active, func(r v1.ObjectReference) bool { return r.UID == job.UID })
		return active && cur.Status.LastScheduleTime != nil, nil
	})

	// Play the kubelet: the Job's pod succeeds, the Job controller
	// completes the Job, and the CronJob records the success.
	poll(t, "the CronJob's last successful time", func(ctx context.Context) (bool, error) {
		if err := finishPods(ctx, ts.Client, ns, job.Name, v1.PodSucceeded); err != nil {
			return false, err
		}
		cur, err := ts.Client.BatchV1().CronJobs(ns).Get(ctx, "tick", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		stillActive := slices.ContainsFunc(cur.Status.Active, func(r v1.ObjectReference) bool { return r.UID == job.UID })
		return !stillActive && cur.Status.LastSuccessfulTime != nil, nil
	})

	// Forbid: never two unfinished Jobs of the CronJob at once.
	jobs, err := ts.Client.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	running := 0
	for _, j := range jobs.Items {
		if jobCondition(&j, batch.JobComplete) == nil && jobCondition(&j, batch.JobFailed) == nil {
			running++
		}
	}
	if running > 1 {
		t.Errorf("%d unfinished Jobs under concurrencyPolicy Forbid", running)
	}
}
