package tables

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func podTemplate(images ...string) corev1.PodTemplateSpec {
	var cs []corev1.Container
	for i, im := range images {
		cs = append(cs, corev1.Container{Name: []string{"app", "sidecar", "extra"}[i], Image: im})
	}
	return corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: cs}}
}

func TestAppsCells(t *testing.T) {
	selector := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	tests := []struct {
		name string
		obj  runtime.Object
		want map[string]interface{}
	}{
		{
			name: "deployment",
			obj: &appsv1.Deployment{ObjectMeta: objectMeta("web"),
				Spec:   appsv1.DeploymentSpec{Replicas: int32Ptr(3), Selector: selector, Template: podTemplate("nginx:1.27", "envoy:1.30")},
				Status: appsv1.DeploymentStatus{ReadyReplicas: 2, UpdatedReplicas: 3, AvailableReplicas: 2}},
			want: map[string]interface{}{"NAME": "web", "READY": "2/3", "UP-TO-DATE": int64(3), "AVAILABLE": int64(2), "AGE": "10m",
				"CONTAINERS": "app,sidecar", "IMAGES": "nginx:1.27,envoy:1.30", "SELECTOR": "app=web"},
		},
		{
			name: "deployment with expression selector and unset replicas",
			obj: &appsv1.Deployment{ObjectMeta: objectMeta("web"), Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{
				MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"front", "back"}}}}}},
			want: map[string]interface{}{"READY": "0/1", "SELECTOR": "tier in (back,front)"},
		},
		{
			name: "deployment with invalid selector",
			obj: &appsv1.Deployment{ObjectMeta: objectMeta("web"), Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{
				MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: "Near"}}}}},
			want: map[string]interface{}{"SELECTOR": "<invalid>"},
		},
		{
			name: "replicaset",
			obj: &appsv1.ReplicaSet{ObjectMeta: objectMeta("web-5d9c"),
				Spec:   appsv1.ReplicaSetSpec{Replicas: int32Ptr(3), Selector: selector, Template: podTemplate("nginx")},
				Status: appsv1.ReplicaSetStatus{Replicas: 3, ReadyReplicas: 1}},
			want: map[string]interface{}{"DESIRED": int64(3), "CURRENT": int64(3), "READY": int64(1), "CONTAINERS": "app", "IMAGES": "nginx", "SELECTOR": "app=web"},
		},
		{
			name: "statefulset",
			obj: &appsv1.StatefulSet{ObjectMeta: objectMeta("db"),
				Spec:   appsv1.StatefulSetSpec{Replicas: int32Ptr(3), Template: podTemplate("postgres:17")},
				Status: appsv1.StatefulSetStatus{ReadyReplicas: 3}},
			want: map[string]interface{}{"NAME": "db", "READY": "3/3", "AGE": "10m", "CONTAINERS": "app", "IMAGES": "postgres:17"},
		},
		{
			name: "daemonset",
			obj: &appsv1.DaemonSet{ObjectMeta: objectMeta("proxy"),
				Spec: appsv1.DaemonSetSpec{Selector: selector, Template: func() corev1.PodTemplateSpec {
					t := podTemplate("proxy:1")
					t.Spec.NodeSelector = map[string]string{"kubernetes.io/os": "linux"}
					return t
				}()},
				Status: appsv1.DaemonSetStatus{DesiredNumberScheduled: 4, CurrentNumberScheduled: 4, NumberReady: 3, UpdatedNumberScheduled: 2, NumberAvailable: 3}},
			want: map[string]interface{}{"DESIRED": int64(4), "CURRENT": int64(4), "READY": int64(3), "UP-TO-DATE": int64(2), "AVAILABLE": int64(3),
				"NODE SELECTOR": "kubernetes.io/os=linux", "SELECTOR": "app=web"},
		},
		{
			name: "daemonset without node selector",
			obj:  &appsv1.DaemonSet{ObjectMeta: objectMeta("proxy")},
			want: map[string]interface{}{"NODE SELECTOR": "<none>", "SELECTOR": "<none>"},
		},
		{
			name: "controller revision of a statefulset",
			obj: &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: "db-7f8b", CreationTimestamp: ago(time.Hour),
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "db", Controller: boolPtr(true)}}},
				Revision: 2},
			want: map[string]interface{}{"NAME": "db-7f8b", "CONTROLLER": "statefulset.apps/db", "REVISION": int64(2), "AGE": "60m"},
		},
		{
			name: "controller revision of a core kind",
			obj: &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: "x-1",
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: "p", Controller: boolPtr(true)}}}},
			want: map[string]interface{}{"CONTROLLER": "pod/p"},
		},
		{
			name: "controller revision without controller",
			obj: &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: "x-1",
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "DaemonSet", Name: "d"}}}},
			want: map[string]interface{}{"CONTROLLER": "<none>"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assertCells(t, row(t, tc.obj), tc.want)
		})
	}
}

func jobCondition(t batchv1.JobConditionType) batchv1.JobCondition {
	return batchv1.JobCondition{Type: t, Status: corev1.ConditionTrue}
}

func TestJobCells(t *testing.T) {
	start, end := ago(5*time.Minute), ago(3*time.Minute+20*time.Second)
	deleted := ago(time.Second)
	tests := []struct {
		name string
		job  *batchv1.Job
		want map[string]interface{}
	}{
		{
			name: "running with completions",
			job: &batchv1.Job{ObjectMeta: objectMeta("pi"),
				Spec:   batchv1.JobSpec{Completions: int32Ptr(5), Template: podTemplate("perl:5"), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"batch.kubernetes.io/job-name": "pi"}}},
				Status: batchv1.JobStatus{Succeeded: 2, StartTime: &start}},
			want: map[string]interface{}{"NAME": "pi", "STATUS": "Running", "COMPLETIONS": "2/5", "DURATION": "5m", "AGE": "10m",
				"CONTAINERS": "app", "IMAGES": "perl:5", "SELECTOR": "batch.kubernetes.io/job-name=pi"},
		},
		{
			name: "complete",
			job: &batchv1.Job{ObjectMeta: objectMeta("pi"), Spec: batchv1.JobSpec{Completions: int32Ptr(1)},
				Status: batchv1.JobStatus{Succeeded: 1, StartTime: &start, CompletionTime: &end, Conditions: []batchv1.JobCondition{jobCondition(batchv1.JobSuccessCriteriaMet), jobCondition(batchv1.JobComplete)}}},
			want: map[string]interface{}{"STATUS": "Complete", "COMPLETIONS": "1/1", "DURATION": "100s"},
		},
		{
			name: "work queue with parallelism",
			job:  &batchv1.Job{ObjectMeta: objectMeta("q"), Spec: batchv1.JobSpec{Parallelism: int32Ptr(3)}},
			want: map[string]interface{}{"COMPLETIONS": "0/1 of 3", "DURATION": "", "SELECTOR": "<none>"},
		},
		{
			name: "single pod without completions",
			job:  &batchv1.Job{ObjectMeta: objectMeta("q"), Spec: batchv1.JobSpec{Parallelism: int32Ptr(1)}},
			want: map[string]interface{}{"COMPLETIONS": "0/1"},
		},
		{
			name: "failed",
			job:  &batchv1.Job{ObjectMeta: objectMeta("q"), Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{jobCondition(batchv1.JobFailureTarget), jobCondition(batchv1.JobFailed)}}},
			want: map[string]interface{}{"STATUS": "Failed"},
		},
		{
			name: "failing",
			job:  &batchv1.Job{ObjectMeta: objectMeta("q"), Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{jobCondition(batchv1.JobFailureTarget)}}},
			want: map[string]interface{}{"STATUS": "FailureTarget"},
		},
		{
			name: "suspended",
			job:  &batchv1.Job{ObjectMeta: objectMeta("q"), Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{jobCondition(batchv1.JobSuspended)}}},
			want: map[string]interface{}{"STATUS": "Suspended"},
		},
		{
			name: "suspended condition false",
			job: &batchv1.Job{ObjectMeta: objectMeta("q"), Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{
				{Type: batchv1.JobSuspended, Status: corev1.ConditionFalse}}}},
			want: map[string]interface{}{"STATUS": "Running"},
		},
		{
			name: "terminating",
			job: &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "q", DeletionTimestamp: &deleted},
				Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{jobCondition(batchv1.JobSuspended)}}},
			want: map[string]interface{}{"STATUS": "Terminating"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assertCells(t, row(t, tc.job), tc.want)
		})
	}
}

func TestCronJobCells(t *testing.T) {
	last := ago(90 * time.Minute)
	tests := []struct {
		name string
		cj   *batchv1.CronJob
		want map[string]interface{}
	}{
		{
			name: "scheduled",
			cj: &batchv1.CronJob{ObjectMeta: objectMeta("backup"),
				Spec: batchv1.CronJobSpec{Schedule: "*/5 * * * *", TimeZone: stringPtr("Europe/Berlin"), Suspend: boolPtr(false),
					JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: podTemplate("backup:2")}}},
				Status: batchv1.CronJobStatus{Active: []corev1.ObjectReference{{Name: "backup-1"}, {Name: "backup-2"}}, LastScheduleTime: &last}},
			want: map[string]interface{}{"NAME": "backup", "SCHEDULE": "*/5 * * * *", "TIMEZONE": "Europe/Berlin", "SUSPEND": "False",
				"ACTIVE": int64(2), "LAST SCHEDULE": "90m", "AGE": "10m", "CONTAINERS": "app", "IMAGES": "backup:2", "SELECTOR": "<none>"},
		},
		{
			name: "never scheduled, suspended, no time zone",
			cj:   &batchv1.CronJob{ObjectMeta: objectMeta("backup"), Spec: batchv1.CronJobSpec{Schedule: "@daily", Suspend: boolPtr(true)}},
			want: map[string]interface{}{"TIMEZONE": "<none>", "SUSPEND": "True", "ACTIVE": int64(0), "LAST SCHEDULE": "<none>"},
		},
		{
			name: "suspend unset",
			cj:   &batchv1.CronJob{ObjectMeta: objectMeta("backup")},
			want: map[string]interface{}{"SUSPEND": "<unset>"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assertCells(t, row(t, tc.cj), tc.want)
		})
	}
}
