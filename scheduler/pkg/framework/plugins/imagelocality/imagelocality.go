// Package imagelocality is the ImageLocality score plugin: nodes that
// already have the pod's images score higher, weighted by image size and
// damped by how many nodes have the image (so pods do not all pile onto
// the one node that has it).
package imagelocality

import (
	"context"
	"strings"

	v1 "k8s.io/api/core/v1"

	"navarch.dev/scheduler/pkg/framework"
)

// Name is the plugin's name.
const Name = "ImageLocality"

// Upstream's thresholds: below 23 MB an image counts for nothing; the
// score saturates at 1000 MB per container.
const (
	mb                    int64 = 1024 * 1024
	minThreshold                = 23 * mb
	maxContainerThreshold       = 1000 * mb
)

// ImageLocality is the plugin.
type ImageLocality struct {
	handle framework.Handle
}

var _ framework.ScorePlugin = (*ImageLocality)(nil)

// Name implements framework.Plugin.
func (*ImageLocality) Name() string { return Name }

// Score implements framework.ScorePlugin.
func (p *ImageLocality) Score(_ context.Context, _ *framework.CycleState, pod *v1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	total := 0
	if p.handle != nil && p.handle.SnapshotNodeInfos() != nil {
		total = len(p.handle.SnapshotNodeInfos().List())
	}
	return ScoreFor(pod, ni, total), nil
}

// ScoreFor computes the score of ni among totalNodes nodes.
func ScoreFor(pod *v1.Pod, ni *framework.NodeInfo, totalNodes int) int64 {
	var sum int64
	containers := 0
	for _, cs := range [][]v1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range cs {
			containers++
			st, ok := ni.ImageStates[NormalizedImageName(c.Image)]
			if !ok || totalNodes == 0 {
				continue
			}
			spread := float64(st.NumNodes) / float64(totalNodes)
			sum += int64(float64(st.Size) * spread)
		}
	}
	maxThreshold := maxContainerThreshold * int64(containers)
	if sum < minThreshold {
		sum = minThreshold
	} else if sum > maxThreshold {
		sum = maxThreshold
	}
	if maxThreshold == minThreshold {
		return 0
	}
	return framework.MaxNodeScore * (sum - minThreshold) / (maxThreshold - minThreshold)
}

// NormalizedImageName adds ":latest" to an image without tag or digest.
func NormalizedImageName(name string) string {
	if strings.LastIndex(name, ":") <= strings.LastIndex(name, "/") && !strings.Contains(name, "@") {
		name += ":latest"
	}
	return name
}

// ScoreExtensions implements framework.ScorePlugin.
func (*ImageLocality) ScoreExtensions() framework.ScoreExtensions { return nil }
