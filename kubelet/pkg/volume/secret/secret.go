// Package secret is the secret volume: the Secret's keys (or the chosen
// items) as files, written atomically and refreshed while the pod runs.
package secret

import (
	"context"
	"fmt"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"navarch.dev/kubelet/pkg/volume/atomic"
	"navarch.dev/kubelet/pkg/volume/configmap"
)

// Plugin is the secret volume plugin.
type Plugin struct{ client kubernetes.Interface }

// New returns the plugin reading Secrets through client.
func New(client kubernetes.Interface) *Plugin { return &Plugin{client: client} }

func (p *Plugin) Name() string                 { return "kubernetes.io~secret" }
func (p *Plugin) CanSupport(v *v1.Volume) bool { return v.Secret != nil }

// SetUp writes the Secret's files into dir.
func (p *Plugin) SetUp(ctx context.Context, pod *v1.Pod, v *v1.Volume, dir string) (string, error) {
	src := v.Secret
	m := int32(0o644)
	if src.DefaultMode != nil {
		m = *src.DefaultMode
	}
	payload, err := Payload(ctx, p.client, pod.Namespace, src.SecretName, src.Items, src.Optional, m)
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

// Payload is the files of Secret ns/name, as configmap.Payload is for a
// ConfigMap.
func Payload(ctx context.Context, client kubernetes.Interface, ns, name string, items []v1.KeyToPath, optional *bool, defaultMode int32) (map[string]atomic.File, error) {
	if client == nil {
		return nil, fmt.Errorf("secret %q: no API client", name)
	}
	opt := optional != nil && *optional
	s, err := client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) && opt {
		return map[string]atomic.File{}, nil
	}
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("secret %q not found", name)
	}
	if err != nil {
		return nil, fmt.Errorf("secret %q: %w", name, err)
	}
	data := map[string][]byte{}
	for k, b := range s.Data {
		data[k] = b
	}
	for k, str := range s.StringData {
		data[k] = []byte(str)
	}
	return configmap.Project(data, items, opt, defaultMode, "secret", name)
}
