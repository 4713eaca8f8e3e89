package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	corev1 "k8s.io/api/core/v1"

	"navarch.dev/apiserver/pkg/registry"
	"navarch.dev/shared/statsummary"
)

// metricsSource lists nodes and pods for metrics.k8s.io from the watch caches.
type metricsSource struct{ s *Server }

func (m metricsSource) Nodes(ctx context.Context) ([]*corev1.Node, error) {
	res, err := m.s.storeOf("", "v1", "nodes").List(ctx, registry.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return nil, err
	}
	out := make([]*corev1.Node, 0, len(res.Items))
	for _, o := range res.Items {
		out = append(out, o.Obj.(*corev1.Node))
	}
	return out, nil
}

func (m metricsSource) Pods(ctx context.Context, namespace string) ([]*corev1.Pod, error) {
	res, err := m.s.storeOf("", "v1", "pods").List(ctx, registry.ListOptions{Namespace: namespace, ResourceVersion: "0"})
	if err != nil {
		return nil, err
	}
	out := make([]*corev1.Pod, 0, len(res.Items))
	for _, o := range res.Items {
		out = append(out, o.Obj.(*corev1.Pod))
	}
	return out, nil
}

// kubeletSummaries fetches /stats/summary with the kubelet client certificate.
type kubeletSummaries struct{ s *Server }

// maxSummaryBytes bounds a summary (a node of 110 pods is well under it).
const maxSummaryBytes = 16 << 20

func (k kubeletSummaries) Summary(ctx context.Context, node *corev1.Node) (*statsummary.Summary, error) {
	loc, err := k.s.kubeletLocation(ctx, node.Name)
	if err != nil {
		return nil, err
	}
	loc.Path = "/stats/summary"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, loc.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := k.s.kubeletClient().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("kubelet %s: GET /stats/summary: %s", node.Name, resp.Status)
	}
	var sum statsummary.Summary
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxSummaryBytes)).Decode(&sum); err != nil {
		return nil, fmt.Errorf("kubelet %s: decode summary: %w", node.Name, err)
	}
	return &sum, nil
}
