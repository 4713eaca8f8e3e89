package autoscaling

import (
	"navarch.dev/apiserver/pkg/registry/resourcetest"
	"testing"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func i32(v int32) *int32 { return &v }

func hpaMeta() metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: "web", Namespace: "default", ResourceVersion: "1"}
}

var target = autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}

func v2HPA(metrics ...autoscalingv2.MetricSpec) *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: hpaMeta(), Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
		ScaleTargetRef: target, MaxReplicas: 5, Metrics: metrics,
	}}
}

func podsMetric(name, avg string) autoscalingv2.MetricSpec {
	q := resource.MustParse(avg)
	return autoscalingv2.MetricSpec{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
		Metric: autoscalingv2.MetricIdentifier{Name: name},
		Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: &q},
	}}
}

func TestV2Defaults(t *testing.T) {
	h := v2HPA()
	h.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: i32(60)}}
	if errs := resourcetest.Create(hpaV2Strategy, h); len(errs) > 0 {
		t.Fatal(errs)
	}
	m := h.Spec.Metrics
	if *h.Spec.MinReplicas != 1 || len(m) != 1 || m[0].Resource.Name != corev1.ResourceCPU || *m[0].Resource.Target.AverageUtilization != 80 {
		t.Errorf("spec = %+v", h.Spec)
	}
	up, down := h.Spec.Behavior.ScaleUp, h.Spec.Behavior.ScaleDown
	if *up.StabilizationWindowSeconds != 0 || *up.SelectPolicy != autoscalingv2.MaxChangePolicySelect || len(up.Policies) != 2 {
		t.Errorf("scaleUp = %+v", up)
	}
	if *down.StabilizationWindowSeconds != 60 || len(down.Policies) != 1 || down.Policies[0].Value != 100 {
		t.Errorf("scaleDown = %+v", down)
	}
}

func TestV2Validation(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(h *autoscalingv2.HorizontalPodAutoscaler)
		want   []string
	}{
		{name: "valid", mutate: func(h *autoscalingv2.HorizontalPodAutoscaler) {}},
		{name: "maxReplicas zero", mutate: func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.MaxReplicas = 0 },
			want: []string{"spec.maxReplicas: Invalid value", "spec.maxReplicas: Invalid value"}},
		{name: "max below min", mutate: func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.MinReplicas = i32(6) },
			want: []string{"spec.maxReplicas: Invalid value"}},
		{name: "minReplicas zero", mutate: func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.MinReplicas = i32(0) },
			want: []string{"spec.minReplicas: Invalid value"}},
		{name: "target kind required", mutate: func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.ScaleTargetRef.Kind = "" },
			want: []string{"spec.scaleTargetRef.kind: Required value"}},
		{name: "metric source missing", mutate: func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.PodsMetricSourceType}}
		}, want: []string{"spec.metrics[0].pods: Required value"}},
		{name: "resource target without value", mutate: func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceMemory, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType}}}}
		}, want: []string{"spec.metrics[0].resource.target.averageUtilization: Required value"}},
		{name: "behavior policy period", mutate: func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: &autoscalingv2.HPAScalingRules{
				Policies: []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 1, PeriodSeconds: 3600}}}}
		}, want: []string{"spec.behavior.scaleUp.policies[0].periodSeconds: Invalid value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := v2HPA()
			tt.mutate(h)
			resourcetest.SameErrs(t, resourcetest.Create(hpaV2Strategy, h), tt.want)
		})
	}
}

func TestV1Conversion(t *testing.T) {
	t.Run("targetCPUUtilizationPercentage", func(t *testing.T) {
		v1 := &autoscalingv1.HorizontalPodAutoscaler{ObjectMeta: hpaMeta(), Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv1.CrossVersionObjectReference(target), MaxReplicas: 5, TargetCPUUtilizationPercentage: i32(60),
		}, Status: autoscalingv1.HorizontalPodAutoscalerStatus{CurrentCPUUtilizationPercentage: i32(42)}}
		v2 := ToV2(v1)
		m := v2.Spec.Metrics
		if len(m) != 1 || m[0].Type != autoscalingv2.ResourceMetricSourceType || m[0].Resource.Name != corev1.ResourceCPU ||
			m[0].Resource.Target.Type != autoscalingv2.UtilizationMetricType || *m[0].Resource.Target.AverageUtilization != 60 {
			t.Errorf("metrics = %+v", m)
		}
		if c := v2.Status.CurrentMetrics; len(c) != 1 || *c[0].Resource.Current.AverageUtilization != 42 {
			t.Errorf("current metrics = %+v", c)
		}
		back, err := FromV2(v2)
		if err != nil {
			t.Fatal(err)
		}
		if *back.Spec.TargetCPUUtilizationPercentage != 60 || *back.Status.CurrentCPUUtilizationPercentage != 42 {
			t.Errorf("back = %+v", back)
		}
	})
	t.Run("no target means 80%", func(t *testing.T) {
		v1 := &autoscalingv1.HorizontalPodAutoscaler{ObjectMeta: hpaMeta(), Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv1.CrossVersionObjectReference(target), MaxReplicas: 5}}
		if errs := resourcetest.Create(hpaV1Strategy, v1); len(errs) > 0 {
			t.Fatal(errs)
		}
		if *v1.Spec.TargetCPUUtilizationPercentage != 80 || *v1.Spec.MinReplicas != 1 {
			t.Errorf("spec = %+v", v1.Spec)
		}
	})
	t.Run("v2-only metrics survive a v1 round trip", func(t *testing.T) {
		v2 := v2HPA(cpuUtilizationMetric(70), podsMetric("requests_per_second", "10"))
		v2.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: i32(30)}}
		v2.Status.Conditions = []autoscalingv2.HorizontalPodAutoscalerCondition{{Type: autoscalingv2.AbleToScale, Status: corev1.ConditionTrue, Reason: "ReadyForNewScale"}}
		v1, err := FromV2(v2)
		if err != nil {
			t.Fatal(err)
		}
		if *v1.Spec.TargetCPUUtilizationPercentage != 70 {
			t.Errorf("targetCPUUtilizationPercentage = %d", *v1.Spec.TargetCPUUtilizationPercentage)
		}
		for _, k := range []string{MetricSpecsAnnotation, BehaviorSpecsAnnotation, ConditionsAnnotation} {
			if v1.Annotations[k] == "" {
				t.Errorf("annotation %s missing", k)
			}
		}
		back := ToV2(v1)
		if len(back.Annotations) != 0 {
			t.Errorf("annotations left: %v", back.Annotations)
		}
		back.TypeMeta, v2.TypeMeta = metav1.TypeMeta{}, metav1.TypeMeta{}
		if !equality.Semantic.DeepEqual(back.Spec.Behavior, v2.Spec.Behavior) || !equality.Semantic.DeepEqual(back.Status, v2.Status) {
			t.Errorf("round trip changed behavior or status:\n got %+v\nwant %+v", back, v2)
		}
		if len(back.Spec.Metrics) != 2 || back.Spec.Metrics[0].Pods == nil || back.Spec.Metrics[1].Resource == nil {
			t.Errorf("metrics = %+v", back.Spec.Metrics)
		}
	})
	t.Run("v1 validation reports v2 paths", func(t *testing.T) {
		v1 := &autoscalingv1.HorizontalPodAutoscaler{ObjectMeta: hpaMeta(), Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv1.CrossVersionObjectReference(target), MaxReplicas: 5, TargetCPUUtilizationPercentage: i32(0)}}
		resourcetest.SameErrs(t, resourcetest.Create(hpaV1Strategy, v1), []string{"spec.metrics[0].resource.target.averageUtilization: Invalid value"})
	})
}
