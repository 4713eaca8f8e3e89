// Package pvc is the persistentVolumeClaim volume for PersistentVolumes this
// node can use directly: hostPath and local.
package pvc

import (
	"context"
	"fmt"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"navarch.dev/kubelet/pkg/volume/hostpath"
)

// Plugin is the persistentVolumeClaim volume plugin.
type Plugin struct{ client kubernetes.Interface }

// New returns the plugin reading claims and volumes through client.
func New(client kubernetes.Interface) *Plugin { return &Plugin{client: client} }

func (p *Plugin) Name() string                 { return "kubernetes.io~pvc" }
func (p *Plugin) CanSupport(v *v1.Volume) bool { return v.PersistentVolumeClaim != nil }

// SetUp resolves the claim to its bound volume and returns the volume's path.
func (p *Plugin) SetUp(ctx context.Context, pod *v1.Pod, v *v1.Volume, _ string) (string, error) {
	if p.client == nil {
		return "", fmt.Errorf("no API client")
	}
	name := v.PersistentVolumeClaim.ClaimName
	claim, err := p.client.CoreV1().PersistentVolumeClaims(pod.Namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("persistentvolumeclaim %q: %w", name, err)
	}
	if claim.Status.Phase != v1.ClaimBound || claim.Spec.VolumeName == "" {
		return "", fmt.Errorf("persistentvolumeclaim %q is not bound", name)
	}
	pv, err := p.client.CoreV1().PersistentVolumes().Get(ctx, claim.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("persistentvolume %q: %w", claim.Spec.VolumeName, err)
	}
	switch {
	case pv.Spec.HostPath != nil:
		t := v1.HostPathUnset
		if pv.Spec.HostPath.Type != nil {
			t = *pv.Spec.HostPath.Type
		}
		if err := hostpath.Check(pv.Spec.HostPath.Path, t); err != nil {
			return "", err
		}
		return pv.Spec.HostPath.Path, nil
	case pv.Spec.Local != nil:
		if err := hostpath.Check(pv.Spec.Local.Path, v1.HostPathUnset); err != nil {
			return "", err
		}
		return pv.Spec.Local.Path, nil
	}
	return "", fmt.Errorf("persistentvolume %q: only hostPath and local volumes are supported", pv.Name)
}

// TearDown leaves the volume's data alone.
func (p *Plugin) TearDown(string) error { return nil }
