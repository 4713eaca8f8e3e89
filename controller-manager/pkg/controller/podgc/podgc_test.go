package podgc

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"
)

var now = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

func pod(name, node string, phase corev1.PodPhase, age time.Duration) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", CreationTimestamp: metav1.Time{Time: now.Add(-age)}},
		Spec:       corev1.PodSpec{NodeName: node},
		Status:     corev1.PodStatus{Phase: phase},
	}
}

func TestGC(t *testing.T) {
	deleting := pod("unscheduled-deleting", "", corev1.PodPending, time.Hour)
	deleting.DeletionTimestamp = &metav1.Time{Time: now}
	deleting.Finalizers = []string{"x"} // keeps the fake from dropping it on create
	tests := []struct {
		name      string
		threshold int
		pods      []*corev1.Pod
		want      []string
	}{
		{
			name: "pods on vanished nodes", threshold: 100,
			pods: []*corev1.Pod{pod("alive", "n1", corev1.PodRunning, time.Hour), pod("orphan", "gone", corev1.PodRunning, time.Hour)},
			want: []string{"orphan"},
		},
		{
			name: "terminated beyond the threshold, oldest first", threshold: 2,
			pods: []*corev1.Pod{
				pod("s1", "n1", corev1.PodSucceeded, 4*time.Hour), pod("f1", "n1", corev1.PodFailed, 3*time.Hour),
				pod("s2", "n1", corev1.PodSucceeded, 2*time.Hour), pod("s3", "n1", corev1.PodSucceeded, time.Hour),
				pod("r", "n1", corev1.PodRunning, 5*time.Hour),
			},
			want: []string{"f1", "s1"},
		},
		{
			name: "threshold 0 disables terminated collection", threshold: 0,
			pods: []*corev1.Pod{pod("s1", "n1", corev1.PodSucceeded, time.Hour)},
		},
		{
			name: "terminating pods never scheduled", threshold: 100,
			pods: []*corev1.Pod{deleting, pod("pending", "", corev1.PodPending, time.Hour)},
			want: []string{"unscheduled-deleting"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n1 := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}
			objs := []runtime.Object{n1}
			for _, p := range tt.pods {
				objs = append(objs, p)
			}
			client := fake.NewClientset(objs...)
			f := informers.NewSharedInformerFactory(client, 0)
			c := NewController(client, f.Core().V1().Pods(), f.Core().V1().Nodes(), tt.threshold, clocktesting.NewFakeClock(now))
			_ = f.Core().V1().Nodes().Informer().GetIndexer().Add(n1)
			for _, p := range tt.pods {
				_ = f.Core().V1().Pods().Informer().GetIndexer().Add(p)
			}
			if err := c.gc(context.Background()); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range client.Actions() {
				if a.GetVerb() == "delete" && a.GetResource().Resource == "pods" {
					got = append(got, a.(clienttesting.DeleteAction).GetName())
				}
			}
			sort.Strings(got)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("deleted %v, want %v", got, tt.want)
			}
		})
	}
}
