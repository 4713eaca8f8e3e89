package resourcequota

import (
	"context"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

func quota(hard corev1.ResourceList, scopes ...corev1.ResourceQuotaScope) *corev1.ResourceQuota {
	return &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "q", Namespace: "ns"}, Spec: corev1.ResourceQuotaSpec{Hard: hard, Scopes: scopes}}
}

func list(kv ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i < len(kv); i += 2 {
		out[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

func pod(name string, phase corev1.PodPhase, requests, limits corev1.ResourceList) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{Requests: requests, Limits: limits}}}},
		Status:     corev1.PodStatus{Phase: phase},
	}
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name string
		q    *corev1.ResourceQuota
		objs []runtime.Object
		want corev1.ResourceList
	}{
		{
			name: "pods and compute",
			q:    quota(list("pods", "10", "requests.cpu", "4", "limits.memory", "4Gi", "cpu", "4")),
			objs: []runtime.Object{
				pod("a", corev1.PodRunning, list("cpu", "500m"), list("memory", "1Gi")),
				pod("b", corev1.PodPending, list("cpu", "250m"), list("memory", "512Mi")),
				pod("done", corev1.PodSucceeded, list("cpu", "1"), nil),
			},
			want: list("pods", "2", "requests.cpu", "750m", "limits.memory", "1536Mi", "cpu", "750m"),
		},
		{
			name: "object counts",
			q:    quota(list("services", "5", "count/jobs.batch", "5", "configmaps", "5", "persistentvolumeclaims", "5", "requests.storage", "10Gi")),
			objs: []runtime.Object{
				&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns"}},
				&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "j1", Namespace: "ns"}},
				&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "j2", Namespace: "ns"}},
				&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "other-ns", Namespace: "default"}},
				&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "ns"}, Spec: corev1.PersistentVolumeClaimSpec{
					Resources: corev1.VolumeResourceRequirements{Requests: list("storage", "2Gi")}}},
			},
			want: list("services", "1", "count/jobs.batch", "2", "configmaps", "0", "persistentvolumeclaims", "1", "requests.storage", "2Gi"),
		},
		{
			name: "BestEffort scope counts only best-effort pods",
			q:    quota(list("pods", "10"), corev1.ResourceQuotaScopeBestEffort),
			objs: []runtime.Object{pod("be", corev1.PodRunning, nil, nil), pod("burst", corev1.PodRunning, list("cpu", "1"), nil)},
			want: list("pods", "1"),
		},
		{
			name: "Terminating scope",
			q:    quota(list("pods", "10"), corev1.ResourceQuotaScopeTerminating),
			objs: []runtime.Object{pod("plain", corev1.PodRunning, nil, nil), func() *corev1.Pod {
				p := pod("deadline", corev1.PodRunning, nil, nil)
				p.Spec.ActiveDeadlineSeconds = ptr.To[int64](60)
				return p
			}()},
			want: list("pods", "1"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := append([]runtime.Object{tt.q}, tt.objs...)
			client := fake.NewClientset(objs...)
			f := informers.NewSharedInformerFactory(client, 0)
			c := NewController(client, f, 0)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			f.Start(ctx.Done())
			f.WaitForCacheSync(ctx.Done())
			if err := c.sync(ctx, "ns/q"); err != nil {
				t.Fatal(err)
			}
			got, err := client.CoreV1().ResourceQuotas("ns").Get(ctx, "q", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Status.Used) != len(tt.want) {
				t.Errorf("used = %v, want %v", got.Status.Used, tt.want)
			}
			for k, v := range tt.want {
				if g := got.Status.Used[k]; g.Cmp(v) != 0 {
					t.Errorf("used[%s] = %s, want %s", k, g.String(), v.String())
				}
			}
			if len(got.Status.Hard) != len(tt.q.Spec.Hard) {
				t.Errorf("status.hard = %v", got.Status.Hard)
			}
		})
	}
}
