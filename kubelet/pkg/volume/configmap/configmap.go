// Package configmap is the configMap volume: the ConfigMap's keys (or the
// chosen items) as files, written atomically and refreshed while the pod
// runs.
package configmap

import (
	"context"
	"fmt"
	"os"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"navarch.dev/kubelet/pkg/volume/atomic"
)

// Plugin is the configMap volume plugin.
type Plugin struct{ client kubernetes.Interface }

// New returns the plugin reading ConfigMaps through client.
func New(client kubernetes.Interface) *Plugin { return &Plugin{client: client} }

func (p *Plugin) Name() string                 { return "kubernetes.io~configmap" }
func (p *Plugin) CanSupport(v *v1.Volume) bool { return v.ConfigMap != nil }

// SetUp writes the ConfigMap's files into dir.
func (p *Plugin) SetUp(ctx context.Context, pod *v1.Pod, v *v1.Volume, dir string) (string, error) {
	src := v.ConfigMap
	payload, err := Payload(ctx, p.client, pod.Namespace, src.Name, src.Items, src.Optional, mode(src.DefaultMode))
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

func mode(m *int32) int32 {
	if m == nil {
		return 0o644
	}
	return *m
}

// Payload is the files of ConfigMap ns/name: every key, or only items, with
// defaultMode unless an item sets its own. A missing optional ConfigMap is
// an empty payload; a missing key of it is left out.
func Payload(ctx context.Context, client kubernetes.Interface, ns, name string, items []v1.KeyToPath, optional *bool, defaultMode int32) (map[string]atomic.File, error) {
	if client == nil {
		return nil, fmt.Errorf("configmap %q: no API client", name)
	}
	opt := optional != nil && *optional
	cm, err := client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) && opt {
		return map[string]atomic.File{}, nil
	}
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("configmap %q not found", name)
	}
	if err != nil {
		return nil, fmt.Errorf("configmap %q: %w", name, err)
	}
	data := map[string][]byte{}
	for k, s := range cm.Data {
		data[k] = []byte(s)
	}
	for k, b := range cm.BinaryData {
		data[k] = b
	}
	return Project(data, items, opt, defaultMode, "configmap", name)
}

// Project turns keys into files: all of them under their own names, or the
// items under their paths. A missing item key is an error unless optional.
func Project(data map[string][]byte, items []v1.KeyToPath, optional bool, defaultMode int32, kind, name string) (map[string]atomic.File, error) {
	out := map[string]atomic.File{}
	if len(items) == 0 {
		for k, b := range data {
			out[k] = atomic.File{Data: b, Mode: fileMode(defaultMode)}
		}
		return out, nil
	}
	for _, it := range items {
		b, ok := data[it.Key]
		if !ok {
			if optional {
				continue
			}
			return nil, fmt.Errorf("%s %q has no key %q", kind, name, it.Key)
		}
		m := defaultMode
		if it.Mode != nil {
			m = *it.Mode
		}
		out[it.Path] = atomic.File{Data: b, Mode: fileMode(m)}
	}
	return out, nil
}

func fileMode(m int32) os.FileMode { return os.FileMode(m) & os.ModePerm }
