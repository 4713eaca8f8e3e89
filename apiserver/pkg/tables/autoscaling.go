package tables

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Annotations in which autoscaling/v1 keeps the metrics it has no fields for.
const (
	metricSpecsAnnotation    = "autoscaling.alpha.kubernetes.io/metrics"
	metricStatusesAnnotation = "autoscaling.alpha.kubernetes.io/current-metrics"
)

// defaultCPUUtilization is the CPU target of an autoscaling/v1 HPA that sets no metric.
const defaultCPUUtilization = 80

// horizontalPodAutoscalerCells renders an HPA: NAME REFERENCE TARGETS MINPODS MAXPODS REPLICAS AGE.
func horizontalPodAutoscalerCells(hpa *autoscalingv2.HorizontalPodAutoscaler, now time.Time) []interface{} {
	minPods := "<unset>"
	if hpa.Spec.MinReplicas != nil {
		minPods = fmt.Sprintf("%d", *hpa.Spec.MinReplicas)
	}
	return []interface{}{
		hpa.Name,
		hpa.Spec.ScaleTargetRef.Kind + "/" + hpa.Spec.ScaleTargetRef.Name,
		hpaTargets(hpa.Spec.Metrics, hpa.Status.CurrentMetrics),
		minPods,
		int64(hpa.Spec.MaxReplicas),
		int64(hpa.Status.CurrentReplicas),
		since(hpa.CreationTimestamp, now),
	}
}

// hpaTargets is the TARGETS cell: "current/target" for the first two metrics
// ("cpu: 40%/80%", "1k/500 (avg)"), then how many more there are. The status of metric i is
// the i-th current metric; "<unknown>" stands for a current value not known yet.
func hpaTargets(specs []autoscalingv2.MetricSpec, statuses []autoscalingv2.MetricStatus) string {
	if len(specs) == 0 {
		return "<none>"
	}
	const shown = 2
	var list []string
	for i, spec := range specs {
		var st *autoscalingv2.MetricStatus
		if i < len(statuses) {
			st = &statuses[i]
		}
		list = append(list, hpaTarget(spec, st))
	}
	if len(list) > shown {
		return fmt.Sprintf("%s + %d more...", strings.Join(list[:shown], ", "), len(list)-shown)
	}
	return strings.Join(list, ", ")
}

func hpaTarget(spec autoscalingv2.MetricSpec, st *autoscalingv2.MetricStatus) string {
	const unknown = "<unknown>"
	switch {
	case spec.Type == autoscalingv2.ExternalMetricSourceType && spec.External != nil:
		var cur *autoscalingv2.MetricValueStatus
		if st != nil && st.External != nil {
			cur = &st.External.Current
		}
		return valueTarget(spec.External.Target, cur)
	case spec.Type == autoscalingv2.ObjectMetricSourceType && spec.Object != nil:
		var cur *autoscalingv2.MetricValueStatus
		if st != nil && st.Object != nil {
			cur = &st.Object.Current
		}
		return valueTarget(spec.Object.Target, cur)
	case spec.Type == autoscalingv2.PodsMetricSourceType && spec.Pods != nil:
		current := unknown
		if st != nil && st.Pods != nil {
			current = st.Pods.Current.AverageValue.String()
		}
		return fmt.Sprintf("%s/%s", current, spec.Pods.Target.AverageValue.String())
	case spec.Type == autoscalingv2.ResourceMetricSourceType && spec.Resource != nil:
		var cur *autoscalingv2.MetricValueStatus
		if st != nil && st.Resource != nil {
			cur = &st.Resource.Current
		}
		return resourceTarget(spec.Resource.Name, spec.Resource.Target, cur)
	case spec.Type == autoscalingv2.ContainerResourceMetricSourceType && spec.ContainerResource != nil:
		var cur *autoscalingv2.MetricValueStatus
		if st != nil && st.ContainerResource != nil {
			cur = &st.ContainerResource.Current
		}
		return resourceTarget(spec.ContainerResource.Name, spec.ContainerResource.Target, cur)
	}
	return "<unknown type>"
}

// valueTarget formats an Object or External metric: "current/target (avg)" for an average
// value target, "current/target" for a value target.
func valueTarget(target autoscalingv2.MetricTarget, cur *autoscalingv2.MetricValueStatus) string {
	current := "<unknown>"
	if target.AverageValue != nil {
		if cur != nil && cur.AverageValue != nil {
			current = cur.AverageValue.String()
		}
		return fmt.Sprintf("%s/%s (avg)", current, target.AverageValue.String())
	}
	if cur != nil {
		current = cur.Value.String()
	}
	return fmt.Sprintf("%s/%s", current, target.Value.String())
}

// resourceTarget formats a (container) resource metric: "name: current/target", in
// quantities for an average value target, in percent for a utilization target.
func resourceTarget(name corev1.ResourceName, target autoscalingv2.MetricTarget, cur *autoscalingv2.MetricValueStatus) string {
	current := "<unknown>"
	if target.AverageValue != nil {
		if cur != nil {
			current = cur.AverageValue.String()
		}
		return fmt.Sprintf("%s: %s/%s", name, current, target.AverageValue.String())
	}
	if cur != nil && cur.AverageUtilization != nil {
		current = fmt.Sprintf("%d%%", *cur.AverageUtilization)
	}
	want := "<auto>"
	if target.AverageUtilization != nil {
		want = fmt.Sprintf("%d%%", *target.AverageUtilization)
	}
	return fmt.Sprintf("%s: %s/%s", name, current, want)
}

// v2HorizontalPodAutoscaler reads an autoscaling/v1 HPA as the API server's conversion does:
// the metrics from the annotation first, then the CPU target (80% when no metric is set at
// all); the current metrics from their annotation, else the current CPU utilization.
func v2HorizontalPodAutoscaler(in *autoscalingv1.HorizontalPodAutoscaler) *autoscalingv2.HorizontalPodAutoscaler {
	out := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: in.ObjectMeta,
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{
				Kind:       in.Spec.ScaleTargetRef.Kind,
				Name:       in.Spec.ScaleTargetRef.Name,
				APIVersion: in.Spec.ScaleTargetRef.APIVersion,
			},
			MinReplicas: in.Spec.MinReplicas,
			MaxReplicas: in.Spec.MaxReplicas,
		},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{
			CurrentReplicas: in.Status.CurrentReplicas,
			DesiredReplicas: in.Status.DesiredReplicas,
		},
	}

	var other []autoscalingv1.MetricSpec
	if enc, ok := in.Annotations[metricSpecsAnnotation]; ok && json.Unmarshal([]byte(enc), &other) == nil {
		for _, m := range other {
			out.Spec.Metrics = append(out.Spec.Metrics, v2MetricSpec(m))
		}
	}
	cpu := in.Spec.TargetCPUUtilizationPercentage
	if cpu == nil && len(out.Spec.Metrics) == 0 {
		cpu = new(int32)
		*cpu = defaultCPUUtilization
	}
	if cpu != nil {
		out.Spec.Metrics = append(out.Spec.Metrics, autoscalingv2.MetricSpec{
			Type: autoscalingv2.ResourceMetricSourceType,
			Resource: &autoscalingv2.ResourceMetricSource{
				Name:   corev1.ResourceCPU,
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: cpu},
			},
		})
	}

	var current []autoscalingv1.MetricStatus
	if enc, ok := in.Annotations[metricStatusesAnnotation]; ok && json.Unmarshal([]byte(enc), &current) == nil {
		out.Status.CurrentMetrics = []autoscalingv2.MetricStatus{}
		for _, m := range current {
			out.Status.CurrentMetrics = append(out.Status.CurrentMetrics, v2MetricStatus(m))
		}
	} else if u := in.Status.CurrentCPUUtilizationPercentage; u != nil {
		out.Status.CurrentMetrics = []autoscalingv2.MetricStatus{{
			Type: autoscalingv2.ResourceMetricSourceType,
			Resource: &autoscalingv2.ResourceMetricStatus{
				Name:    corev1.ResourceCPU,
				Current: autoscalingv2.MetricValueStatus{AverageUtilization: u},
			},
		}}
	}
	return out
}

// v2MetricSpec converts the target of an autoscaling/v1 metric, which is all TARGETS shows.
func v2MetricSpec(in autoscalingv1.MetricSpec) autoscalingv2.MetricSpec {
	out := autoscalingv2.MetricSpec{Type: autoscalingv2.MetricSourceType(in.Type)}
	switch {
	case in.Object != nil:
		out.Object = &autoscalingv2.ObjectMetricSource{
			Target: autoscalingv2.MetricTarget{Value: quantityPtr(in.Object.TargetValue), AverageValue: in.Object.AverageValue},
		}
	case in.Pods != nil:
		out.Pods = &autoscalingv2.PodsMetricSource{
			Target: autoscalingv2.MetricTarget{AverageValue: quantityPtr(in.Pods.TargetAverageValue)},
		}
	case in.Resource != nil:
		out.Resource = &autoscalingv2.ResourceMetricSource{
			Name:   in.Resource.Name,
			Target: autoscalingv2.MetricTarget{AverageUtilization: in.Resource.TargetAverageUtilization, AverageValue: in.Resource.TargetAverageValue},
		}
	case in.ContainerResource != nil:
		out.ContainerResource = &autoscalingv2.ContainerResourceMetricSource{
			Name:      in.ContainerResource.Name,
			Container: in.ContainerResource.Container,
			Target:    autoscalingv2.MetricTarget{AverageUtilization: in.ContainerResource.TargetAverageUtilization, AverageValue: in.ContainerResource.TargetAverageValue},
		}
	case in.External != nil:
		out.External = &autoscalingv2.ExternalMetricSource{
			Target: autoscalingv2.MetricTarget{Value: in.External.TargetValue, AverageValue: in.External.TargetAverageValue},
		}
	}
	return out
}

// v2MetricStatus converts the current value of an autoscaling/v1 metric status.
func v2MetricStatus(in autoscalingv1.MetricStatus) autoscalingv2.MetricStatus {
	out := autoscalingv2.MetricStatus{Type: autoscalingv2.MetricSourceType(in.Type)}
	switch {
	case in.Object != nil:
		out.Object = &autoscalingv2.ObjectMetricStatus{
			Current: autoscalingv2.MetricValueStatus{Value: quantityPtr(in.Object.CurrentValue), AverageValue: in.Object.AverageValue},
		}
	case in.Pods != nil:
		out.Pods = &autoscalingv2.PodsMetricStatus{
			Current: autoscalingv2.MetricValueStatus{AverageValue: quantityPtr(in.Pods.CurrentAverageValue)},
		}
	case in.Resource != nil:
		out.Resource = &autoscalingv2.ResourceMetricStatus{
			Name:    in.Resource.Name,
			Current: autoscalingv2.MetricValueStatus{AverageValue: quantityPtr(in.Resource.CurrentAverageValue), AverageUtilization: in.Resource.CurrentAverageUtilization},
		}
	case in.ContainerResource != nil:
		out.ContainerResource = &autoscalingv2.ContainerResourceMetricStatus{
			Name:      in.ContainerResource.Name,
			Container: in.ContainerResource.Container,
			Current:   autoscalingv2.MetricValueStatus{AverageValue: quantityPtr(in.ContainerResource.CurrentAverageValue), AverageUtilization: in.ContainerResource.CurrentAverageUtilization},
		}
	case in.External != nil:
		out.External = &autoscalingv2.ExternalMetricStatus{
			Current: autoscalingv2.MetricValueStatus{Value: quantityPtr(in.External.CurrentValue), AverageValue: in.External.CurrentAverageValue},
		}
	}
	return out
}

func quantityPtr(q resource.Quantity) *resource.Quantity {
	return &q
}
