package cronjob

import (
	"context"
	"fmt"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"navarch.dev/controller-manager/pkg/controller/controllertest"
)

var now = time.Date(2025, 1, 1, 12, 0, 30, 0, time.UTC)

type cjOpt func(*batchv1.CronJob)

func makeCronJob(schedule string, opts ...cjOpt) *batchv1.CronJob {
	cj := &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "tick", Namespace: "default", UID: "cj-uid", CreationTimestamp: metav1.Time{Time: now.Add(-2 * time.Hour)}},
		Spec: batchv1.CronJobSpec{
			Schedule:                   schedule,
			ConcurrencyPolicy:          batchv1.AllowConcurrent,
			SuccessfulJobsHistoryLimit: ptr.To[int32](3),
			FailedJobsHistoryLimit:     ptr.To[int32](1),
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{
				Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
			}}},
		},
	}
	for _, o := range opts {
		o(cj)
	}
	return cj
}

func created(ago time.Duration) cjOpt {
	return func(cj *batchv1.CronJob) { cj.CreationTimestamp = metav1.Time{Time: now.Add(-ago)} }
}
func policy(p batchv1.ConcurrencyPolicy) cjOpt {
	return func(cj *batchv1.CronJob) { cj.Spec.ConcurrencyPolicy = p }
}
func withActive(jobs ...*batchv1.Job) cjOpt {
	return func(cj *batchv1.CronJob) {
		for _, j := range jobs {
			cj.Status.Active = append(cj.Status.Active, jobRef(j))
		}
	}
}
func lastScheduled(t time.Time) cjOpt {
	return func(cj *batchv1.CronJob) { cj.Status.LastScheduleTime = &metav1.Time{Time: t} }
}

func makeJob(name string, start time.Time, cond batchv1.JobConditionType) *batchv1.Job {
	cj := makeCronJob("@hourly")
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "default", UID: types.UID(name + "-uid"),
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(cj, controllerKind)},
		},
		Status: batchv1.JobStatus{StartTime: &metav1.Time{Time: start}},
	}
	if cond != "" {
		j.Status.Conditions = []batchv1.JobCondition{{Type: cond, Status: corev1.ConditionTrue}}
		if cond == batchv1.JobComplete {
			j.Status.CompletionTime = &metav1.Time{Time: start.Add(time.Minute)}
		}
	}
	return j
}

func names(actions []clienttesting.Action, verb string) []string {
	var out []string
	for _, a := range actions {
		if a.GetVerb() != verb || a.GetResource().Resource != "jobs" {
			continue
		}
		switch a := a.(type) {
		case clienttesting.CreateAction:
			out = append(out, a.GetObject().(*batchv1.Job).Name)
		case clienttesting.DeleteAction:
			out = append(out, a.GetName())
		}
	}
	return out
}

func jobNameAt(t time.Time) string { return fmt.Sprintf("tick-%d", t.Unix()/60) }

func TestSync(t *testing.T) {
	running := makeJob("running", now.Add(-time.Hour), "")
	tests := []struct {
		name            string
		cj              *batchv1.CronJob
		jobs            []*batchv1.Job
		wantCreated     []string
		wantDeleted     []string
		wantActive      int
		wantLastSched   *time.Time
		wantLastSuccess bool
	}{
		{
			name:          "@hourly starts the job of the latest hour",
			cj:            makeCronJob("@hourly"),
			wantCreated:   []string{jobNameAt(now.Truncate(time.Hour))},
			wantActive:    1,
			wantLastSched: ptr.To(now.Truncate(time.Hour)),
		},
		{
			name: "nothing due yet",
			cj:   makeCronJob("@hourly", created(10*time.Second)),
		},
		{
			name:          "already scheduled for this time",
			cj:            makeCronJob("@hourly", lastScheduled(now.Truncate(time.Hour))),
			wantLastSched: ptr.To(now.Truncate(time.Hour)),
		},
		{
			name:          "Forbid skips while a job runs",
			cj:            makeCronJob("@hourly", policy(batchv1.ForbidConcurrent), withActive(running), lastScheduled(now.Add(-time.Hour).Truncate(time.Hour))),
			jobs:          []*batchv1.Job{running},
			wantActive:    1,
			wantLastSched: ptr.To(now.Add(-time.Hour).Truncate(time.Hour)),
		},
		{
			name:          "Allow runs alongside",
			cj:            makeCronJob("@hourly", withActive(running), lastScheduled(now.Add(-time.Hour).Truncate(time.Hour))),
			jobs:          []*batchv1.Job{running},
			wantCreated:   []string{jobNameAt(now.Truncate(time.Hour))},
			wantActive:    2,
			wantLastSched: ptr.To(now.Truncate(time.Hour)),
		},
		{
			name:          "Replace deletes the running job",
			cj:            makeCronJob("@hourly", policy(batchv1.ReplaceConcurrent), withActive(running), lastScheduled(now.Add(-time.Hour).Truncate(time.Hour))),
			jobs:          []*batchv1.Job{running},
			wantCreated:   []string{jobNameAt(now.Truncate(time.Hour))},
			wantDeleted:   []string{"running"},
			wantActive:    1,
			wantLastSched: ptr.To(now.Truncate(time.Hour)),
		},
		{
			name: "suspended",
			cj:   makeCronJob("@hourly", func(cj *batchv1.CronJob) { cj.Spec.Suspend = ptr.To(true) }),
		},
		{
			name: "missed beyond startingDeadlineSeconds",
			cj:   makeCronJob("0 * * * *", func(cj *batchv1.CronJob) { cj.Spec.StartingDeadlineSeconds = ptr.To[int64](10) }),
		},
		{
			name:          "within startingDeadlineSeconds",
			cj:            makeCronJob("0 * * * *", func(cj *batchv1.CronJob) { cj.Spec.StartingDeadlineSeconds = ptr.To[int64](60) }),
			wantCreated:   []string{jobNameAt(now.Truncate(time.Hour))},
			wantActive:    1,
			wantLastSched: ptr.To(now.Truncate(time.Hour)),
		},
		{
			name:          "timeZone: 21:00 in Tokyo is 12:00 UTC",
			cj:            makeCronJob("0 21 * * *", func(cj *batchv1.CronJob) { cj.Spec.TimeZone = ptr.To("Asia/Tokyo") }),
			wantCreated:   []string{jobNameAt(now.Truncate(time.Hour))},
			wantActive:    1,
			wantLastSched: ptr.To(now.Truncate(time.Hour)),
		},
		{
			name: "timeZone: 12:00 in New York is not due",
			cj:   makeCronJob("0 12 * * *", func(cj *batchv1.CronJob) { cj.Spec.TimeZone = ptr.To("America/New_York") }),
		},
		{
			name: "unparseable schedule does nothing",
			cj:   makeCronJob("not a schedule"),
		},
		{
			name:          "a year of missed minutes starts only the latest",
			cj:            makeCronJob("* * * * *", created(365*24*time.Hour)),
			wantCreated:   []string{jobNameAt(now.Truncate(time.Minute))},
			wantActive:    1,
			wantLastSched: ptr.To(now.Truncate(time.Minute)),
		},
		{
			name:            "a finished job leaves active and sets lastSuccessfulTime",
			cj:              makeCronJob("@hourly", withActive(makeJob("done", now.Add(-30*time.Minute), batchv1.JobComplete)), lastScheduled(now.Truncate(time.Hour))),
			jobs:            []*batchv1.Job{makeJob("done", now.Add(-30*time.Minute), batchv1.JobComplete)},
			wantLastSched:   ptr.To(now.Truncate(time.Hour)),
			wantLastSuccess: true,
		},
		{
			name: "history limits delete the oldest finished jobs",
			cj:   makeCronJob("@hourly", lastScheduled(now.Truncate(time.Hour))),
			jobs: []*batchv1.Job{
				makeJob("s1", now.Add(-5*time.Hour), batchv1.JobComplete),
				makeJob("s2", now.Add(-4*time.Hour), batchv1.JobComplete),
				makeJob("s3", now.Add(-3*time.Hour), batchv1.JobComplete),
				makeJob("s4", now.Add(-2*time.Hour), batchv1.JobComplete),
				makeJob("s5", now.Add(-1*time.Hour), batchv1.JobComplete),
				makeJob("f1", now.Add(-5*time.Hour), batchv1.JobFailed),
				makeJob("f2", now.Add(-4*time.Hour), batchv1.JobFailed),
			},
			wantDeleted:   []string{"s1", "s2", "f1"},
			wantLastSched: ptr.To(now.Truncate(time.Hour)),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := []runtime.Object{tt.cj}
			for _, j := range tt.jobs {
				objs = append(objs, j)
			}
			client := fake.NewClientset(objs...)
			controllertest.GenerateNames(client)
			f := informers.NewSharedInformerFactory(client, 0)
			c := NewController(client, f.Batch().V1().CronJobs(), f.Batch().V1().Jobs(), record.NewFakeRecorder(100), clocktesting.NewFakeClock(now))
			_ = f.Batch().V1().CronJobs().Informer().GetIndexer().Add(tt.cj)
			for _, j := range tt.jobs {
				_ = f.Batch().V1().Jobs().Informer().GetIndexer().Add(j)
			}
			client.ClearActions()
			if _, err := c.sync(context.Background(), "default/tick"); err != nil {
				t.Fatalf("sync: %v", err)
			}
			if got := names(client.Actions(), "create"); fmt.Sprint(got) != fmt.Sprint(tt.wantCreated) {
				t.Errorf("created %v, want %v", got, tt.wantCreated)
			}
			if got := names(client.Actions(), "delete"); fmt.Sprint(got) != fmt.Sprint(tt.wantDeleted) {
				t.Errorf("deleted %v, want %v", got, tt.wantDeleted)
			}
			cj, err := client.BatchV1().CronJobs("default").Get(context.Background(), "tick", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(cj.Status.Active) != tt.wantActive {
				t.Errorf("active = %v, want %d", cj.Status.Active, tt.wantActive)
			}
			switch {
			case tt.wantLastSched == nil && cj.Status.LastScheduleTime != nil:
				t.Errorf("lastScheduleTime = %v, want none", cj.Status.LastScheduleTime)
			case tt.wantLastSched != nil && (cj.Status.LastScheduleTime == nil || !cj.Status.LastScheduleTime.Time.Equal(*tt.wantLastSched)):
				t.Errorf("lastScheduleTime = %v, want %v", cj.Status.LastScheduleTime, *tt.wantLastSched)
			}
			if (cj.Status.LastSuccessfulTime != nil) != tt.wantLastSuccess {
				t.Errorf("lastSuccessfulTime = %v, want set=%v", cj.Status.LastSuccessfulTime, tt.wantLastSuccess)
			}
		})
	}
}

func TestCreatedJobCarriesScheduleAndOwner(t *testing.T) {
	cj := makeCronJob("@hourly", func(cj *batchv1.CronJob) { cj.Spec.TimeZone = ptr.To("UTC") })
	j, err := newJob(cj, now.Truncate(time.Hour), "tick-1")
	if err != nil {
		t.Fatal(err)
	}
	if got := j.Annotations[ScheduledTimestampAnnotation]; got != "2025-01-01T12:00:00Z" {
		t.Errorf("scheduled timestamp = %q", got)
	}
	if ref := metav1.GetControllerOf(j); ref == nil || ref.UID != cj.UID || ref.Kind != "CronJob" {
		t.Errorf("controller ref = %+v", ref)
	}
}

func TestSchedule(t *testing.T) {
	tests := []struct {
		name     string
		spec     string
		tz       *string
		from     time.Time
		wantNext time.Time
		wantErr  bool
	}{
		{name: "@hourly", spec: "@hourly", from: now, wantNext: time.Date(2025, 1, 1, 13, 0, 0, 0, time.UTC)},
		{name: "@daily", spec: "@daily", from: now, wantNext: time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)},
		{name: "@weekly", spec: "@weekly", from: now, wantNext: time.Date(2025, 1, 5, 0, 0, 0, 0, time.UTC)},
		{name: "step", spec: "*/15 * * * *", from: now, wantNext: time.Date(2025, 1, 1, 12, 15, 0, 0, time.UTC)},
		{name: "zone", spec: "30 9 * * *", tz: ptr.To("Europe/Paris"), from: now, wantNext: time.Date(2025, 1, 2, 8, 30, 0, 0, time.UTC)},
		{name: "bad zone", spec: "@hourly", tz: ptr.To("Mars/Olympus"), wantErr: true},
		{name: "bad field", spec: "61 * * * *", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Schedule(tt.spec, tt.tz)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if got := s.Next(tt.from.In(time.UTC)); !got.Equal(tt.wantNext) {
				t.Errorf("next = %v, want %v", got, tt.wantNext)
			}
		})
	}
}
