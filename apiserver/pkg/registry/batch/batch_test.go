package batch

import (
	"fmt"
	"navarch.dev/apiserver/pkg/registry/resourcetest"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func podTemplate(restart corev1.RestartPolicy) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: restart, Containers: []corev1.Container{{Name: "pi", Image: "perl:5"}}}}
}

func job(name string) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: "0a1b", ResourceVersion: "1"},
		Spec:       batchv1.JobSpec{Template: podTemplate(corev1.RestartPolicyNever)},
	}
}

func TestJobDefaults(t *testing.T) {
	j := job("pi")
	if errs := resourcetest.Create(jobStrategy, j); len(errs) > 0 {
		t.Fatalf("valid job rejected: %v", errs)
	}
	wantLabels := map[string]string{
		"batch.kubernetes.io/controller-uid": "0a1b", "batch.kubernetes.io/job-name": "pi", "controller-uid": "0a1b", "job-name": "pi",
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"completions", *j.Spec.Completions, int32(1)},
		{"parallelism", *j.Spec.Parallelism, int32(1)},
		{"backoffLimit", *j.Spec.BackoffLimit, int32(6)},
		{"completionMode", *j.Spec.CompletionMode, batchv1.NonIndexedCompletion},
		{"suspend", *j.Spec.Suspend, false},
		{"podReplacementPolicy", *j.Spec.PodReplacementPolicy, batchv1.TerminatingOrFailed},
		{"template labels", fmt.Sprint(j.Spec.Template.Labels), fmt.Sprint(wantLabels)},
		{"job labels", fmt.Sprint(j.Labels), fmt.Sprint(wantLabels)},
		{"selector", fmt.Sprint(j.Spec.Selector.MatchLabels), fmt.Sprint(map[string]string{"batch.kubernetes.io/controller-uid": "0a1b"})},
		{"template pull policy", j.Spec.Template.Spec.Containers[0].ImagePullPolicy, corev1.PullIfNotPresent},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if c.got != c.want {
				t.Errorf("got %v, want %v", c.got, c.want)
			}
		})
	}
	t.Run("parallelism alone keeps completions unset", func(t *testing.T) {
		j := job("p")
		n := int32(3)
		j.Spec.Parallelism = &n
		jobStrategy.Default(j)
		if j.Spec.Completions != nil {
			t.Errorf("completions = %d", *j.Spec.Completions)
		}
	})
}

func TestJobValidation(t *testing.T) {
	yes := true
	tests := []struct {
		name   string
		mutate func(j *batchv1.Job)
		want   []string
	}{
		{name: "valid", mutate: func(j *batchv1.Job) {}},
		{name: "restartPolicy Always", mutate: func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways },
			want: []string{"spec.template.spec.restartPolicy: Unsupported value"}},
		{name: "defaulted restartPolicy is Always", mutate: func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = "" },
			want: []string{"spec.template.spec.restartPolicy: Unsupported value"}},
		{name: "negative backoffLimit", mutate: func(j *batchv1.Job) { n := int32(-1); j.Spec.BackoffLimit = &n },
			want: []string{"spec.backoffLimit: Invalid value"}},
		{name: "indexed needs completions", mutate: func(j *batchv1.Job) {
			m := batchv1.IndexedCompletion
			n := int32(2)
			j.Spec.CompletionMode, j.Spec.Parallelism = &m, &n
		}, want: []string{"spec.completions: Required value"}},
		{name: "user selector without manualSelector", mutate: func(j *batchv1.Job) {
			j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "pi"}}
			j.Spec.Template.Labels = map[string]string{"app": "pi"}
		}, want: []string{"spec.selector: Invalid value"}},
		{name: "conflicting generated label", mutate: func(j *batchv1.Job) {
			j.Spec.Template.Labels = map[string]string{"job-name": "other"}
		}, want: []string{"spec.template.metadata.labels[job-name]: Invalid value"}},
		{name: "manual selector", mutate: func(j *batchv1.Job) {
			j.Spec.ManualSelector = &yes
			j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "pi"}}
			j.Spec.Template.Labels = map[string]string{"app": "pi"}
		}},
		{name: "manual selector must match", mutate: func(j *batchv1.Job) {
			j.Spec.ManualSelector = &yes
			j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "pi"}}
		}, want: []string{"spec.template.metadata.labels: Invalid value"}},
		{name: "manual selector required", mutate: func(j *batchv1.Job) { j.Spec.ManualSelector = &yes },
			want: []string{"spec.selector: Required value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := job("pi")
			tt.mutate(j)
			resourcetest.SameErrs(t, resourcetest.Create(jobStrategy, j), tt.want)
		})
	}
}

func TestJobUpdate(t *testing.T) {
	tests := []struct {
		name    string
		suspend bool
		mutate  func(j *batchv1.Job)
		want    []string
	}{
		{name: "parallelism may change", mutate: func(j *batchv1.Job) { n := int32(4); j.Spec.Parallelism = &n }},
		{name: "completions are immutable", mutate: func(j *batchv1.Job) { n := int32(4); j.Spec.Completions = &n },
			want: []string{"spec.completions: Invalid value"}},
		{name: "template is immutable", mutate: func(j *batchv1.Job) { j.Spec.Template.Spec.Containers[0].Image = "perl:6" },
			want: []string{"spec.template: Invalid value"}},
		{name: "suspended job may change scheduling directives", suspend: true, mutate: func(j *batchv1.Job) {
			j.Spec.Template.Spec.NodeSelector = map[string]string{"zone": "a"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := job("pi")
			old.Spec.Suspend = &tt.suspend
			if errs := resourcetest.Create(jobStrategy, old); len(errs) > 0 {
				t.Fatal(errs)
			}
			j := old.DeepCopy()
			tt.mutate(j)
			resourcetest.SameErrs(t, resourcetest.Update(jobStrategy, j, old), tt.want)
		})
	}
	if f := jobFields(&batchv1.Job{Status: batchv1.JobStatus{Succeeded: 2}}); f["status.successful"] != "2" {
		t.Errorf("fields = %v", f)
	}
}

func cronJob(schedule string) *batchv1.CronJob {
	return &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "nightly", Namespace: "default", UID: "u", ResourceVersion: "1"},
		Spec: batchv1.CronJobSpec{Schedule: schedule, JobTemplate: batchv1.JobTemplateSpec{
			Spec: batchv1.JobSpec{Template: podTemplate(corev1.RestartPolicyOnFailure)},
		}},
	}
}

func TestCronJobs(t *testing.T) {
	cj := cronJob("0 3 * * *")
	if errs := resourcetest.Create(cronJobStrategy, cj); len(errs) > 0 {
		t.Fatalf("valid cronjob rejected: %v", errs)
	}
	if cj.Spec.ConcurrencyPolicy != batchv1.AllowConcurrent || *cj.Spec.Suspend || *cj.Spec.SuccessfulJobsHistoryLimit != 3 ||
		*cj.Spec.FailedJobsHistoryLimit != 1 || cj.Spec.JobTemplate.Spec.Template.Spec.DNSPolicy != corev1.DNSClusterFirst {
		t.Errorf("defaults not applied: %+v", cj.Spec)
	}
	tz := func(s string) *string { return &s }
	tests := []struct {
		name     string
		schedule string
		timeZone *string
		mutate   func(c *batchv1.CronJob)
		want     []string
	}{
		{name: "steps", schedule: "*/5 * * * *"},
		{name: "descriptor", schedule: "@hourly"},
		{name: "every", schedule: "@every 1h30m"},
		{name: "names and ranges", schedule: "0 9 1-15/2 jan,jul mon-fri"},
		{name: "question mark", schedule: "0 0 ? * *"},
		{name: "time zone", schedule: "0 9 * * *", timeZone: tz("Europe/Berlin")},
		{name: "missing schedule", schedule: "", want: []string{"spec.schedule: Required value"}},
		{name: "four fields", schedule: "* * * *", want: []string{"spec.schedule: Invalid value"}},
		{name: "minute 60", schedule: "60 * * * *", want: []string{"spec.schedule: Invalid value"}},
		{name: "day 0", schedule: "0 0 0 * *", want: []string{"spec.schedule: Invalid value"}},
		{name: "reversed range", schedule: "0 5-3 * * *", want: []string{"spec.schedule: Invalid value"}},
		{name: "zero step", schedule: "*/0 * * * *", want: []string{"spec.schedule: Invalid value"}},
		{name: "unknown descriptor", schedule: "@fortnightly", want: []string{"spec.schedule: Invalid value"}},
		{name: "not a number", schedule: "x * * * *", want: []string{"spec.schedule: Invalid value"}},
		{name: "TZ in schedule", schedule: "TZ=UTC 0 * * * *", want: []string{"spec.schedule: Invalid value"}},
		{name: "unknown time zone", schedule: "0 * * * *", timeZone: tz("Mars/Olympus"), want: []string{"spec.timeZone: Invalid value"}},
		{name: "Local time zone", schedule: "0 * * * *", timeZone: tz("Local"), want: []string{"spec.timeZone: Invalid value"}},
		{name: "bad concurrency policy", schedule: "0 * * * *", mutate: func(c *batchv1.CronJob) { c.Spec.ConcurrencyPolicy = "Sometimes" },
			want: []string{"spec.concurrencyPolicy: Unsupported value"}},
		{name: "job template selector", schedule: "0 * * * *", mutate: func(c *batchv1.CronJob) {
			c.Spec.JobTemplate.Spec.Selector = &metav1.LabelSelector{}
		}, want: []string{"spec.jobTemplate.spec.selector: Invalid value"}},
		{name: "job template restartPolicy", schedule: "0 * * * *", mutate: func(c *batchv1.CronJob) {
			c.Spec.JobTemplate.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways
		}, want: []string{"spec.jobTemplate.spec.template.spec.restartPolicy: Unsupported value"}},
		{name: "name longer than 52", schedule: "0 * * * *", mutate: func(c *batchv1.CronJob) { c.Name = strings.Repeat("a", 53) },
			want: []string{"metadata.name: Invalid value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cronJob(tt.schedule)
			c.Spec.TimeZone = tt.timeZone
			if tt.mutate != nil {
				tt.mutate(c)
			}
			resourcetest.SameErrs(t, resourcetest.Create(cronJobStrategy, c), tt.want)
		})
	}
}

func TestCronJobUpdateKeepsLegacyTZ(t *testing.T) {
	old := cronJob("0 * * * *")
	resourcetest.Create(cronJobStrategy, old)
	old.Spec.Schedule = "TZ=UTC 0 * * * *"
	tests := []struct {
		name, schedule string
		want           []string
	}{
		{name: "TZ kept", schedule: "TZ=UTC 30 * * * *"},
		{name: "TZ removed", schedule: "30 * * * *"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := old.DeepCopy()
			c.Spec.Schedule = tt.schedule
			resourcetest.SameErrs(t, resourcetest.Update(cronJobStrategy, c, old), tt.want)
		})
	}
}
