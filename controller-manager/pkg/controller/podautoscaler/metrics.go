package podautoscaler

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned/typed/metrics/v1beta1"
)

// MetricsClient reads pod resource usage; the controller depends only on
// this, so tests hand in a fake.
type MetricsClient interface {
	// PodCPU returns the CPU use in millicores of each pod in ns that sel
	// matches, by pod name.
	PodCPU(ctx context.Context, ns string, sel labels.Selector) (map[string]int64, error)
}

// ResourceMetricsClient reads the resource metrics API (metrics.k8s.io).
type ResourceMetricsClient struct {
	Client metricsclient.MetricsV1beta1Interface
}

var _ MetricsClient = ResourceMetricsClient{}

// PodCPU implements MetricsClient.
func (r ResourceMetricsClient) PodCPU(ctx context.Context, ns string, sel labels.Selector) (map[string]int64, error) {
	list, err := r.Client.PodMetricses(ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, fmt.Errorf("unable to fetch metrics from resource metrics API: %w", err)
	}
	if len(list.Items) == 0 {
		return nil, fmt.Errorf("no metrics returned from resource metrics API")
	}
	out := map[string]int64{}
	for _, m := range list.Items {
		var sum resource.Quantity
		for _, c := range m.Containers {
			if q, ok := c.Usage["cpu"]; ok {
				sum.Add(q)
			}
		}
		out[m.Name] = sum.MilliValue()
	}
	return out, nil
}
