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

var (
	_ framework.PreScorePlugin = (*ImageLocality)(nil)
	_ framework.ScorePlugin    = (*ImageLocality)(nil)
)

// Name implements framework.Plugin.
func (*ImageLocality) Name() string { return Name }

const stateKey framework.StateKey = "PreScore" + Name

// preScoreState is what every node's score needs: the pod's normalized
// image names (one per container) and the cluster size.
type preScoreState struct {
	images     []string
	totalNodes int
}

func (s *preScoreState) Clone() framework.StateData { return s }

// PreScore normalizes the pod's image names once for all nodes.
func (p *ImageLocality) PreScore(_ context.Context, state *framework.CycleState, pod *v1.Pod, _ []*framework.NodeInfo) *framework.Status {
	state.Write(stateKey, &preScoreState{images: podImages(pod), totalNodes: p.totalNodes()})
	return nil
}

func (p *ImageLocality) totalNodes() int {
	if p.handle != nil && p.handle.SnapshotNodeInfos() != nil {
		return len(p.handle.SnapshotNodeInfos().List())
	}
	return 0
}

// Score implements framework.ScorePlugin.
func (p *ImageLocality) Score(_ context.Context, state *framework.CycleState, pod *v1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	if s, err := state.Read(stateKey); err == nil {
		ps := s.(*preScoreState)
		return scoreImages(ps.images, ni, ps.totalNodes), nil
	}
	return ScoreFor(pod, ni, p.totalNodes()), nil
}

// podImages lists the normalized image of each init and regular container.
func podImages(pod *v1.Pod) []string {
	images := make([]string, 0, len(pod.Spec.InitContainers)+len(pod.Spec.Containers))
	for _, cs := range [][]v1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range cs {
			images = append(images, NormalizedImageName(cs[i].Image))
		}
	}
	return images
}

// ScoreFor computes the score of ni among totalNodes nodes.
func ScoreFor(pod *v1.Pod, ni *framework.NodeInfo, totalNodes int) int64 {
	return scoreImages(podImages(pod), ni, totalNodes)
}

// scoreImages scores ni for containers running images (normalized).
func scoreImages(images []string, ni *framework.NodeInfo, totalNodes int) int64 {
	var sum int64
	if totalNodes > 0 && len(ni.ImageStates) > 0 {
		for _, image := range images {
			st, ok := ni.ImageStates[image]
			if !ok {
				continue
			}
			spread := float64(st.NumNodes) / float64(totalNodes)
			sum += int64(float64(st.Size) * spread)
		}
	}
	maxThreshold := maxContainerThreshold * int64(len(images))
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
