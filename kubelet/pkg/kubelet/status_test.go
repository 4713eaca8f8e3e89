package kubelet

import (
	"context"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func cond(t v1.PodConditionType, status v1.ConditionStatus, reason string) v1.PodCondition {
	return v1.PodCondition{Type: t, Status: status, Reason: reason}
}

// TestWriteStatusConditions: the status written to the API is the
// kubelet's, with the conditions others own (a readiness gate) kept; a
// DisruptionTarget the kubelet sets (eviction) replaces a stored one, and
// one it does not set (the API's eviction) is kept.
func TestWriteStatusConditions(t *testing.T) {
	const gate v1.PodConditionType = "example.com/ready"
	tests := []struct {
		name   string
		stored []v1.PodCondition
		write  []v1.PodCondition
		want   []v1.PodCondition
	}{
		{
			name:   "the kubelet's evicting a pod the API had marked",
			stored: []v1.PodCondition{cond(v1.PodReady, v1.ConditionTrue, ""), cond(gate, v1.ConditionTrue, "Gate"), cond(v1.DisruptionTarget, v1.ConditionTrue, "EvictionByEvictionAPI")},
			write:  []v1.PodCondition{cond(v1.PodReady, v1.ConditionFalse, "PodCompleted"), cond(v1.DisruptionTarget, v1.ConditionTrue, "TerminationByKubelet")},
			want:   []v1.PodCondition{cond(v1.PodReady, v1.ConditionFalse, "PodCompleted"), cond(v1.DisruptionTarget, v1.ConditionTrue, "TerminationByKubelet"), cond(gate, v1.ConditionTrue, "Gate")},
		},
		{
			name:   "the kubelet's own condition written again",
			stored: []v1.PodCondition{cond(v1.PodReady, v1.ConditionFalse, "PodCompleted"), cond(v1.DisruptionTarget, v1.ConditionTrue, "TerminationByKubelet")},
			write:  []v1.PodCondition{cond(v1.PodReady, v1.ConditionFalse, "PodCompleted"), cond(v1.DisruptionTarget, v1.ConditionTrue, "TerminationByKubelet")},
			want:   []v1.PodCondition{cond(v1.PodReady, v1.ConditionFalse, "PodCompleted"), cond(v1.DisruptionTarget, v1.ConditionTrue, "TerminationByKubelet")},
		},
		{
			name:   "a DisruptionTarget set by others is kept",
			stored: []v1.PodCondition{cond(v1.PodReady, v1.ConditionTrue, ""), cond(v1.DisruptionTarget, v1.ConditionTrue, "EvictionByEvictionAPI")},
			write:  []v1.PodCondition{cond(v1.PodReady, v1.ConditionFalse, "ContainersNotReady")},
			want:   []v1.PodCondition{cond(v1.PodReady, v1.ConditionFalse, "ContainersNotReady"), cond(v1.DisruptionTarget, v1.ConditionTrue, "EvictionByEvictionAPI")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default", UID: "u1"}, Status: v1.PodStatus{Phase: v1.PodRunning, Conditions: tt.stored}}
			client := fake.NewSimpleClientset(pod)
			w := &apiWriter{client: client}
			if err := w.WriteStatus(context.Background(), pod, v1.PodStatus{Phase: v1.PodFailed, Conditions: tt.write}); err != nil {
				t.Fatal(err)
			}
			got, err := client.CoreV1().Pods("default").Get(context.Background(), "p", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got.Status.Phase != v1.PodFailed {
				t.Errorf("phase = %s, want Failed", got.Status.Phase)
			}
			if len(got.Status.Conditions) != len(tt.want) {
				t.Fatalf("conditions = %+v\nwant %+v", got.Status.Conditions, tt.want)
			}
			for i, c := range got.Status.Conditions {
				if c.Type != tt.want[i].Type || c.Status != tt.want[i].Status || c.Reason != tt.want[i].Reason {
					t.Errorf("condition %d = %s %s %s, want %s %s %s", i, c.Type, c.Status, c.Reason, tt.want[i].Type, tt.want[i].Status, tt.want[i].Reason)
				}
			}
		})
	}
}
