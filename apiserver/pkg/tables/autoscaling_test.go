package tables

import (
	"testing"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
)

func quantity(s string) *resource.Quantity {
	q := resource.MustParse(s)
	return &q
}

func cpuUtilization(target int32) autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
		Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &target}}}
}

func cpuCurrent(current int32) autoscalingv2.MetricStatus {
	return autoscalingv2.MetricStatus{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{
		Name: corev1.ResourceCPU, Current: autoscalingv2.MetricValueStatus{AverageUtilization: &current}}}
}

func podsMetric(target string) autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
		Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: quantity(target)}}}
}

func makeHPA(metrics []autoscalingv2.MetricSpec, current []autoscalingv2.MetricStatus) *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: objectMeta("web"),
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: "Deployment", Name: "web", APIVersion: "apps/v1"},
			MinReplicas:    int32Ptr(2), MaxReplicas: 10, Metrics: metrics},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: 3, CurrentMetrics: current}}
}

func TestHorizontalPodAutoscalerCells(t *testing.T) {
	tests := []struct {
		name string
		obj  runtime.Object
		want map[string]interface{}
	}{
		{
			name: "cpu utilization",
			obj:  makeHPA([]autoscalingv2.MetricSpec{cpuUtilization(80)}, []autoscalingv2.MetricStatus{cpuCurrent(42)}),
			want: map[string]interface{}{"NAME": "web", "REFERENCE": "Deployment/web", "TARGETS": "cpu: 42%/80%", "MINPODS": "2", "MAXPODS": int64(10), "REPLICAS": int64(3), "AGE": "10m"},
		},
		{
			name: "current value not known yet",
			obj:  makeHPA([]autoscalingv2.MetricSpec{cpuUtilization(80), podsMetric("1k")}, nil),
			want: map[string]interface{}{"TARGETS": "cpu: <unknown>/80%, <unknown>/1k"},
		},
		{
			name: "more than two metrics",
			obj: makeHPA([]autoscalingv2.MetricSpec{cpuUtilization(80), podsMetric("1k"), podsMetric("2k"), podsMetric("3k")},
				[]autoscalingv2.MetricStatus{cpuCurrent(10), {Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricStatus{Current: autoscalingv2.MetricValueStatus{AverageValue: quantity("500")}}}}),
			want: map[string]interface{}{"TARGETS": "cpu: 10%/80%, 500/1k + 2 more..."},
		},
		{
			name: "memory average value, external and object metrics",
			obj: makeHPA([]autoscalingv2.MetricSpec{
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceMemory,
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: quantity("512Mi")}}},
				{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: quantity("100")}}},
			}, []autoscalingv2.MetricStatus{
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{Name: corev1.ResourceMemory, Current: autoscalingv2.MetricValueStatus{AverageValue: quantity("300Mi")}}},
				{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricStatus{Current: autoscalingv2.MetricValueStatus{Value: quantity("40")}}},
			}),
			want: map[string]interface{}{"TARGETS": "memory: 300Mi/512Mi, 40/100"},
		},
		{
			name: "object average value and container resource",
			obj: makeHPA([]autoscalingv2.MetricSpec{
				{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: quantity("10")}}},
				{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{
					Name: corev1.ResourceCPU, Container: "app", Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType}}},
			}, nil),
			want: map[string]interface{}{"TARGETS": "<unknown>/10 (avg), cpu: <unknown>/<auto>"},
		},
		{
			name: "no metrics, no min",
			obj: &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: objectMeta("web"), Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: "StatefulSet", Name: "db"}, MaxReplicas: 3}},
			want: map[string]interface{}{"REFERENCE": "StatefulSet/db", "TARGETS": "<none>", "MINPODS": "<unset>", "MAXPODS": int64(3), "REPLICAS": int64(0)},
		},
		{
			name: "autoscaling/v1 with CPU target",
			obj: &autoscalingv1.HorizontalPodAutoscaler{ObjectMeta: objectMeta("web"),
				Spec: autoscalingv1.HorizontalPodAutoscalerSpec{ScaleTargetRef: autoscalingv1.CrossVersionObjectReference{Kind: "Deployment", Name: "web"},
					MinReplicas: int32Ptr(1), MaxReplicas: 5, TargetCPUUtilizationPercentage: int32Ptr(50)},
				Status: autoscalingv1.HorizontalPodAutoscalerStatus{CurrentReplicas: 2, CurrentCPUUtilizationPercentage: int32Ptr(35)}},
			want: map[string]interface{}{"REFERENCE": "Deployment/web", "TARGETS": "cpu: 35%/50%", "MINPODS": "1", "MAXPODS": int64(5), "REPLICAS": int64(2)},
		},
		{
			name: "autoscaling/v1 without target defaults to 80% CPU",
			obj: &autoscalingv1.HorizontalPodAutoscaler{ObjectMeta: objectMeta("web"),
				Spec: autoscalingv1.HorizontalPodAutoscalerSpec{ScaleTargetRef: autoscalingv1.CrossVersionObjectReference{Kind: "Deployment", Name: "web"}, MaxReplicas: 5}},
			want: map[string]interface{}{"TARGETS": "cpu: <unknown>/80%"},
		},
		{
			name: "autoscaling/v1 with metrics in annotations",
			obj: func() *autoscalingv1.HorizontalPodAutoscaler {
				h := &autoscalingv1.HorizontalPodAutoscaler{ObjectMeta: objectMeta("web"),
					Spec: autoscalingv1.HorizontalPodAutoscalerSpec{ScaleTargetRef: autoscalingv1.CrossVersionObjectReference{Kind: "Deployment", Name: "web"},
						MaxReplicas: 5, TargetCPUUtilizationPercentage: int32Ptr(70)}}
				h.Annotations = map[string]string{
					"autoscaling.alpha.kubernetes.io/metrics":         `[{"type":"Pods","pods":{"metricName":"qps","targetAverageValue":"1k"}}]`,
					"autoscaling.alpha.kubernetes.io/current-metrics": `[{"type":"Pods","pods":{"metricName":"qps","currentAverageValue":"250"}},{"type":"Resource","resource":{"name":"cpu","currentAverageUtilization":20,"currentAverageValue":"100m"}}]`,
				}
				return h
			}(),
			want: map[string]interface{}{"TARGETS": "250/1k, cpu: 20%/70%"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assertCells(t, row(t, tc.obj), tc.want)
		})
	}
}
