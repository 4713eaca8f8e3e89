package podautoscaler

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

var now = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

type fakeMetrics struct {
	usage map[string]int64
	err   error
}

func (f *fakeMetrics) PodCPU(context.Context, string, labels.Selector) (map[string]int64, error) {
	return f.usage, f.err
}

func makeHPA(minR, maxR, target int32) *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: "Deployment", Name: "web", APIVersion: "apps/v1"},
			MinReplicas:    ptr.To(minR),
			MaxReplicas:    maxR,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To(target)},
			}}},
		},
	}
}

func makePods(n int) []runtime.Object {
	var out []runtime.Object
	for i := range n {
		out = append(out, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("web-%d", i), Namespace: "default", Labels: map[string]string{"app": "web"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}}}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
		})
	}
	return out
}

func usageEach(n int, milli int64) map[string]int64 {
	out := map[string]int64{}
	for i := range n {
		out[fmt.Sprintf("web-%d", i)] = milli
	}
	return out
}

type harness struct {
	c        *Controller
	client   *fake.Clientset
	clock    *clocktesting.FakeClock
	replicas int32
	updates  []int32
}

func newHarness(t *testing.T, hpa *autoscalingv2.HorizontalPodAutoscaler, replicas int32, metrics MetricsClient) *harness {
	t.Helper()
	objs := append([]runtime.Object{hpa, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}}}, makePods(int(replicas))...)
	client := fake.NewClientset(objs...)
	h := &harness{client: client, replicas: replicas, clock: clocktesting.NewFakeClock(now)}
	client.PrependReactor("get", "deployments", func(a clienttesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "scale" {
			return false, nil, nil
		}
		return true, &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
			Spec: autoscalingv1.ScaleSpec{Replicas: h.replicas}, Status: autoscalingv1.ScaleStatus{Replicas: h.replicas, Selector: "app=web"}}, nil
	})
	client.PrependReactor("update", "deployments", func(a clienttesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "scale" {
			return false, nil, nil
		}
		s := a.(clienttesting.UpdateAction).GetObject().(*autoscalingv1.Scale)
		h.replicas = s.Spec.Replicas
		h.updates = append(h.updates, s.Spec.Replicas)
		return true, s, nil
	})
	f := informers.NewSharedInformerFactory(client, 0)
	h.c = NewController(client, metrics, f.Autoscaling().V2().HorizontalPodAutoscalers(), f.Core().V1().Pods(), record.NewFakeRecorder(100), h.clock, DefaultConfig())
	_ = f.Autoscaling().V2().HorizontalPodAutoscalers().Informer().GetIndexer().Add(hpa)
	for _, o := range objs {
		if p, ok := o.(*corev1.Pod); ok {
			_ = f.Core().V1().Pods().Informer().GetIndexer().Add(p)
		}
	}
	return h
}

func (h *harness) sync(t *testing.T) *autoscalingv2.HorizontalPodAutoscaler {
	t.Helper()
	if err := h.c.sync(context.Background(), "default/web"); err != nil {
		t.Fatal(err)
	}
	got, err := h.client.AutoscalingV2().HorizontalPodAutoscalers("default").Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func condition(h *autoscalingv2.HorizontalPodAutoscaler, t autoscalingv2.HorizontalPodAutoscalerConditionType) *autoscalingv2.HorizontalPodAutoscalerCondition {
	for i := range h.Status.Conditions {
		if h.Status.Conditions[i].Type == t {
			return &h.Status.Conditions[i]
		}
	}
	return nil
}

func TestScaling(t *testing.T) {
	tests := []struct {
		name        string
		hpa         *autoscalingv2.HorizontalPodAutoscaler
		replicas    int32
		metrics     *fakeMetrics
		wantUpdates string
		wantDesired int32
		wantReason  map[autoscalingv2.HorizontalPodAutoscalerConditionType]string
	}{
		{
			name: "no metrics API", hpa: makeHPA(1, 10, 50), replicas: 2,
			metrics:     &fakeMetrics{err: errors.New("the server could not find the requested resource (get pods.metrics.k8s.io)")},
			wantUpdates: "[]", wantDesired: 2,
			wantReason: map[autoscalingv2.HorizontalPodAutoscalerConditionType]string{
				autoscalingv2.AbleToScale: "SucceededGetScale", autoscalingv2.ScalingActive: "FailedGetResourceMetric"},
		},
		{
			name: "double the load, double the pods", hpa: makeHPA(1, 10, 50), replicas: 2,
			metrics: &fakeMetrics{usage: usageEach(2, 100)}, wantUpdates: "[4]", wantDesired: 4,
			wantReason: map[autoscalingv2.HorizontalPodAutoscalerConditionType]string{
				autoscalingv2.AbleToScale: "SucceededRescale", autoscalingv2.ScalingActive: "ValidMetricFound", autoscalingv2.ScalingLimited: "DesiredWithinRange"},
		},
		{
			name: "within tolerance", hpa: makeHPA(1, 10, 50), replicas: 2,
			metrics: &fakeMetrics{usage: usageEach(2, 54)}, wantUpdates: "[]", wantDesired: 2,
		},
		{
			name: "clamped to maxReplicas", hpa: makeHPA(1, 3, 50), replicas: 2,
			metrics: &fakeMetrics{usage: usageEach(2, 100)}, wantUpdates: "[3]", wantDesired: 3,
			wantReason: map[autoscalingv2.HorizontalPodAutoscalerConditionType]string{autoscalingv2.ScalingLimited: "TooManyReplicas"},
		},
		{
			name: "scale-up rate limit", hpa: makeHPA(1, 100, 10), replicas: 2,
			metrics: &fakeMetrics{usage: usageEach(2, 100)}, wantUpdates: "[6]", wantDesired: 6,
		},
		{
			name: "first scale down is not held back", hpa: makeHPA(1, 10, 50), replicas: 4,
			metrics: &fakeMetrics{usage: usageEach(4, 25)}, wantUpdates: "[2]", wantDesired: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.hpa, tt.replicas, tt.metrics)
			got := h.sync(t)
			if fmt.Sprint(h.updates) != tt.wantUpdates {
				t.Errorf("scale updates %v, want %s", h.updates, tt.wantUpdates)
			}
			if got.Status.DesiredReplicas != tt.wantDesired {
				t.Errorf("desiredReplicas = %d, want %d", got.Status.DesiredReplicas, tt.wantDesired)
			}
			for ct, reason := range tt.wantReason {
				if c := condition(got, ct); c == nil || c.Reason != reason {
					t.Errorf("condition %s = %+v, want reason %s", ct, c, reason)
				}
			}
		})
	}
}

func TestDownscaleStabilization(t *testing.T) {
	m := &fakeMetrics{usage: usageEach(4, 50)}
	h := newHarness(t, makeHPA(1, 10, 50), 4, m)
	h.sync(t) // recommends 4
	m.usage = usageEach(4, 25)
	h.clock.Step(time.Minute)
	h.sync(t)
	if len(h.updates) != 0 {
		t.Fatalf("scaled down inside the stabilization window: %v", h.updates)
	}
	h.clock.Step(5 * time.Minute)
	h.sync(t)
	if fmt.Sprint(h.updates) != "[2]" {
		t.Fatalf("after the window: updates %v, want [2]", h.updates)
	}
}
