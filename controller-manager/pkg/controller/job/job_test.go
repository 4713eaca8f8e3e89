package job

import (
	"context"
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

var now = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

type jobOpt func(*batchv1.Job)

func makeJob(opts ...jobOpt) *batchv1.Job {
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "pi", Namespace: "default", UID: "job-uid"},
		Spec: batchv1.JobSpec{
			Completions:  ptr.To[int32](1),
			Parallelism:  ptr.To[int32](1),
			BackoffLimit: ptr.To[int32](6),
			Selector:     &metav1.LabelSelector{MatchLabels: map[string]string{batchv1.ControllerUidLabel: "job-uid"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{batchv1.ControllerUidLabel: "job-uid", batchv1.JobNameLabel: "pi"}},
				Spec:       corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
			},
		},
	}
	for _, o := range opts {
		o(j)
	}
	return j
}

func completions(c, p int32) jobOpt {
	return func(j *batchv1.Job) { j.Spec.Completions, j.Spec.Parallelism = ptr.To(c), ptr.To(p) }
}
func backoffLimit(n int32) jobOpt { return func(j *batchv1.Job) { j.Spec.BackoffLimit = ptr.To(n) } }
func started(ago time.Duration) jobOpt {
	return func(j *batchv1.Job) { j.Status.StartTime = &metav1.Time{Time: now.Add(-ago)} }
}
func deadline(s int64) jobOpt {
	return func(j *batchv1.Job) { j.Spec.ActiveDeadlineSeconds = ptr.To(s) }
}
func suspend() jobOpt { return func(j *batchv1.Job) { j.Spec.Suspend = ptr.To(true) } }
func uncountedSucceeded(uids ...types.UID) jobOpt {
	return func(j *batchv1.Job) {
		j.Status.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{Succeeded: uids}
	}
}

type podOpt func(*corev1.Pod)

func makePod(name string, phase corev1.PodPhase, opts ...podOpt) *corev1.Pod {
	j := makeJob()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "default", UID: types.UID(name + "-uid"),
			Labels:          j.Spec.Template.Labels,
			Finalizers:      []string{batchv1.JobTrackingFinalizer},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(j, controllerKind)},
		},
		Status: corev1.PodStatus{Phase: phase},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func noFinalizer(p *corev1.Pod) { p.Finalizers = nil }
func finishedAt(t time.Time) podOpt {
	return func(p *corev1.Pod) {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "c", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{FinishedAt: metav1.Time{Time: t}}}}}
	}
}

func newTestController(t *testing.T, objs ...runtime.Object) (*Controller, *fake.Clientset) {
	t.Helper()
	client := fake.NewClientset(objs...)
	controllertest.GenerateNames(client)
	f := informers.NewSharedInformerFactory(client, 0)
	c := NewController(client, f.Batch().V1().Jobs(), f.Core().V1().Pods(), record.NewFakeRecorder(100), clocktesting.NewFakeClock(now))
	for _, o := range objs {
		switch o := o.(type) {
		case *batchv1.Job:
			_ = f.Batch().V1().Jobs().Informer().GetIndexer().Add(o)
		case *corev1.Pod:
			_ = f.Core().V1().Pods().Informer().GetIndexer().Add(o)
		}
	}
	return c, client
}

func count(actions []clienttesting.Action, verb, resource string) int {
	n := 0
	for _, a := range actions {
		if a.GetVerb() == verb && a.GetResource().Resource == resource && (verb != "update" || a.GetSubresource() == "status") {
			n++
		}
	}
	return n
}

func TestSync(t *testing.T) {
	tests := []struct {
		name          string
		job           *batchv1.Job
		pods          []*corev1.Pod
		wantCreates   int
		wantDeletes   int
		wantPatches   int
		wantActive    int32
		wantSucceeded int32
		wantFailed    int32
		wantCondition batchv1.JobConditionType
		wantReason    string
	}{
		{
			name:        "new job starts parallelism pods",
			job:         makeJob(completions(5, 2)),
			wantCreates: 2, wantActive: 2,
		},
		{
			name:        "parallelism capped by remaining completions",
			job:         makeJob(completions(3, 3), func(j *batchv1.Job) { j.Status.Succeeded = 2 }),
			wantCreates: 1, wantActive: 1, wantSucceeded: 2,
		},
		{
			name:        "running pods are left alone",
			job:         makeJob(completions(2, 2)),
			pods:        []*corev1.Pod{makePod("a", corev1.PodRunning), makePod("b", corev1.PodPending)},
			wantActive:  2,
			wantCreates: 0,
		},
		{
			name:          "a succeeded pod is recorded uncounted, then released",
			job:           makeJob(),
			pods:          []*corev1.Pod{makePod("a", corev1.PodSucceeded)},
			wantPatches:   1,
			wantCondition: batchv1.JobComplete, wantReason: "CompletionsReached",
		},
		{
			name:          "an uncounted pod without finalizer moves into succeeded",
			job:           makeJob(completions(2, 1), uncountedSucceeded("a-uid")),
			pods:          []*corev1.Pod{makePod("a", corev1.PodSucceeded, noFinalizer)},
			wantSucceeded: 1, wantCreates: 1, wantActive: 1,
		},
		{
			name:          "failures beyond backoffLimit fail the job and delete active pods",
			job:           makeJob(completions(3, 1), backoffLimit(1)),
			pods:          []*corev1.Pod{makePod("a", corev1.PodFailed), makePod("b", corev1.PodFailed), makePod("c", corev1.PodRunning)},
			wantPatches:   2,
			wantDeletes:   1,
			wantCondition: batchv1.JobFailed, wantReason: "BackoffLimitExceeded",
		},
		{
			name:        "a fresh failure holds back the replacement",
			job:         makeJob(completions(1, 1)),
			pods:        []*corev1.Pod{makePod("a", corev1.PodFailed, finishedAt(now.Add(-time.Second)))},
			wantPatches: 1,
		},
		{
			name:        "an old failure allows the replacement",
			job:         makeJob(completions(1, 1)),
			pods:        []*corev1.Pod{makePod("a", corev1.PodFailed, finishedAt(now.Add(-time.Minute)))},
			wantPatches: 1, wantCreates: 1, wantActive: 1,
		},
		{
			name:          "past activeDeadlineSeconds fails the job",
			job:           makeJob(deadline(30), started(time.Minute)),
			pods:          []*corev1.Pod{makePod("a", corev1.PodRunning)},
			wantDeletes:   1,
			wantCondition: batchv1.JobFailed, wantReason: "DeadlineExceeded",
		},
		{
			name:       "before activeDeadlineSeconds keeps running",
			job:        makeJob(deadline(300), started(time.Minute)),
			pods:       []*corev1.Pod{makePod("a", corev1.PodRunning)},
			wantActive: 1,
		},
		{
			name:          "suspend deletes active pods",
			job:           makeJob(completions(2, 2), suspend()),
			pods:          []*corev1.Pod{makePod("a", corev1.PodRunning), makePod("b", corev1.PodRunning)},
			wantDeletes:   2,
			wantCondition: batchv1.JobSuspended, wantReason: "JobSuspended",
		},
		{
			name:        "work queue job starts no more after a success",
			job:         makeJob(func(j *batchv1.Job) { j.Spec.Completions = nil; j.Spec.Parallelism = ptr.To[int32](3) }),
			pods:        []*corev1.Pod{makePod("a", corev1.PodSucceeded), makePod("b", corev1.PodRunning)},
			wantPatches: 1, wantActive: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := []runtime.Object{tt.job}
			for _, p := range tt.pods {
				objs = append(objs, p)
			}
			c, client := newTestController(t, objs...)
			client.ClearActions()
			if err := c.sync(context.Background(), "default/pi"); err != nil {
				t.Fatalf("sync: %v", err)
			}
			acts := client.Actions()
			if got := count(acts, "create", "pods"); got != tt.wantCreates {
				t.Errorf("creates = %d, want %d", got, tt.wantCreates)
			}
			if got := count(acts, "delete", "pods"); got != tt.wantDeletes {
				t.Errorf("deletes = %d, want %d", got, tt.wantDeletes)
			}
			if got := count(acts, "patch", "pods"); got != tt.wantPatches {
				t.Errorf("finalizer patches = %d, want %d", got, tt.wantPatches)
			}
			j, err := client.BatchV1().Jobs("default").Get(context.Background(), "pi", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if j.Status.Active != tt.wantActive || j.Status.Succeeded != tt.wantSucceeded || j.Status.Failed != tt.wantFailed {
				t.Errorf("status active/succeeded/failed = %d/%d/%d, want %d/%d/%d", j.Status.Active, j.Status.Succeeded, j.Status.Failed, tt.wantActive, tt.wantSucceeded, tt.wantFailed)
			}
			if tt.wantCondition != "" {
				cond := getCondition(j, tt.wantCondition)
				if cond == nil || cond.Status != corev1.ConditionTrue || cond.Reason != tt.wantReason {
					t.Errorf("condition %s = %+v, want True/%s", tt.wantCondition, cond, tt.wantReason)
				}
			} else if finishedCondition(j) != nil {
				t.Errorf("job finished unexpectedly: %+v", j.Status.Conditions)
			}
		})
	}
}

func TestExpectationsHoldCreation(t *testing.T) {
	c, client := newTestController(t, makeJob(completions(2, 2)))
	if err := c.sync(context.Background(), "default/pi"); err != nil {
		t.Fatal(err)
	}
	client.ClearActions()
	// The cache has not seen the two pods: a second sync must not create more.
	if err := c.sync(context.Background(), "default/pi"); err != nil {
		t.Fatal(err)
	}
	if got := count(client.Actions(), "create", "pods"); got != 0 {
		t.Errorf("second sync created %d pods, want 0", got)
	}
}
