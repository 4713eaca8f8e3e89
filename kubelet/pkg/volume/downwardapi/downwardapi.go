// Package downwardapi is the downwardAPI volume: pod fields (name,
// namespace, uid, labels, annotations) and container resources as files,
// rewritten when labels or annotations change.
package downwardapi

import (
	"context"
	"fmt"
	"os"

	v1 "k8s.io/api/core/v1"

	"navarch.dev/kubelet/pkg/podworker"
	"navarch.dev/kubelet/pkg/volume/atomic"
)

// Plugin is the downwardAPI volume plugin.
type Plugin struct{ allocatable v1.ResourceList }

// New returns the plugin; allocatable answers resourceFieldRef limits a
// container does not set.
func New(allocatable v1.ResourceList) *Plugin { return &Plugin{allocatable: allocatable} }

func (p *Plugin) Name() string                 { return "kubernetes.io~downward-api" }
func (p *Plugin) CanSupport(v *v1.Volume) bool { return v.DownwardAPI != nil }

// SetUp writes the fields into dir.
func (p *Plugin) SetUp(_ context.Context, pod *v1.Pod, v *v1.Volume, dir string) (string, error) {
	m := int32(0o644)
	if v.DownwardAPI.DefaultMode != nil {
		m = *v.DownwardAPI.DefaultMode
	}
	payload, err := Payload(pod, v.DownwardAPI.Items, m, p.allocatable)
	if err != nil {
		return "", err
	}
	if _, err := atomic.Write(dir, payload); err != nil {
		return "", err
	}
	return dir, nil
}

// TearDown has nothing to release.
func (p *Plugin) TearDown(string) error { return nil }

// Payload resolves items against pod.
func Payload(pod *v1.Pod, items []v1.DownwardAPIVolumeFile, defaultMode int32, allocatable v1.ResourceList) (map[string]atomic.File, error) {
	out := map[string]atomic.File{}
	for _, it := range items {
		var val string
		var err error
		switch {
		case it.FieldRef != nil:
			val, err = podworker.FieldValue(pod, it.FieldRef.FieldPath, "", "")
		case it.ResourceFieldRef != nil:
			val, err = podworker.ResourceValue(pod, nil, it.ResourceFieldRef, allocatable)
		default:
			err = fmt.Errorf("item %q has neither fieldRef nor resourceFieldRef", it.Path)
		}
		if err != nil {
			return nil, fmt.Errorf("downward API item %q: %w", it.Path, err)
		}
		m := defaultMode
		if it.Mode != nil {
			m = *it.Mode
		}
		out[it.Path] = atomic.File{Data: []byte(val), Mode: os.FileMode(m) & os.ModePerm}
	}
	return out, nil
}
