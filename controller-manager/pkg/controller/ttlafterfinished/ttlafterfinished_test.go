package ttlafterfinished

import (
	"context"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"navarch.dev/controller-manager/pkg/controller/controllertest"
)

var now = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

func job(ttl *int32, finished time.Duration, cond batchv1.JobConditionType) *batchv1.Job {
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "j", Namespace: "default", UID: "u"},
		Spec:       batchv1.JobSpec{TTLSecondsAfterFinished: ttl},
	}
	if cond != "" {
		t := metav1.Time{Time: now.Add(-finished)}
		j.Status.Conditions = []batchv1.JobCondition{{Type: cond, Status: corev1.ConditionTrue, LastTransitionTime: t}}
		if cond == batchv1.JobComplete {
			j.Status.CompletionTime = &t
		}
	}
	return j
}

func TestSync(t *testing.T) {
	tests := []struct {
		name        string
		job         *batchv1.Job
		wantDeleted bool
		wantQueued  bool
	}{
		{name: "no ttl", job: job(nil, time.Hour, batchv1.JobComplete)},
		{name: "not finished", job: job(ptr.To[int32](0), 0, "")},
		{name: "ttl 0 deletes at once", job: job(ptr.To[int32](0), 0, batchv1.JobComplete), wantDeleted: true},
		{name: "failed past ttl", job: job(ptr.To[int32](60), 2*time.Minute, batchv1.JobFailed), wantDeleted: true},
		{name: "within ttl waits", job: job(ptr.To[int32](600), time.Minute, batchv1.JobComplete), wantQueued: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset(tt.job)
			f := informers.NewSharedInformerFactory(client, 0)
			c := NewController(client, f.Batch().V1().Jobs(), clocktesting.NewFakeClock(now))
			_ = f.Batch().V1().Jobs().Informer().GetIndexer().Add(tt.job)
			if err := c.sync(context.Background(), "default/j"); err != nil {
				t.Fatal(err)
			}
			if got := controllertest.Count(client.Actions(), "delete", "jobs") == 1; got != tt.wantDeleted {
				t.Errorf("deleted = %v, want %v", got, tt.wantDeleted)
			}
			if tt.wantQueued && c.expiresIn(tt.job) <= 0 {
				t.Errorf("expected a wait")
			}
		})
	}
}
