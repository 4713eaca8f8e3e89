// Package volume prepares pod volumes on the host: one folder per volume
// type (a Plugin), and a Manager that implements podworker.Volumes by
// giving each volume of a pod its directory under
// <pods dir>/<pod uid>/volumes/<plugin>/<volume name> and asking the plugin
// that supports it to set it up.
package volume

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"navarch.dev/kubelet/pkg/podworker"
	"navarch.dev/kubelet/pkg/volume/configmap"
	"navarch.dev/kubelet/pkg/volume/downwardapi"
	"navarch.dev/kubelet/pkg/volume/emptydir"
	"navarch.dev/kubelet/pkg/volume/hostpath"
	"navarch.dev/kubelet/pkg/volume/projected"
	"navarch.dev/kubelet/pkg/volume/pvc"
	"navarch.dev/kubelet/pkg/volume/secret"
)

// Plugin sets up one type of volume.
type Plugin interface {
	// Name names the plugin's directory under a pod's volumes.
	Name() string
	// CanSupport reports whether the plugin handles v.
	CanSupport(v *v1.Volume) bool
	// SetUp makes (or refreshes, when called again) the volume at dir and
	// returns the host path containers mount. It may be called repeatedly
	// for a running pod. An error leaves the pod waiting.
	SetUp(ctx context.Context, pod *v1.Pod, v *v1.Volume, dir string) (string, error)
	// TearDown releases what SetUp made at dir (an unmount); the manager
	// removes the directory itself afterwards.
	TearDown(dir string) error
}

// Registry is every volume plugin, in the order they are asked.
func Registry(client kubernetes.Interface, allocatable v1.ResourceList) []Plugin {
	return []Plugin{
		emptydir.New(),
		hostpath.New(),
		configmap.New(client),
		secret.New(client),
		downwardapi.New(allocatable),
		projected.New(client, allocatable),
		pvc.New(client),
	}
}

var (
	_ Plugin = (*emptydir.Plugin)(nil)
	_ Plugin = (*hostpath.Plugin)(nil)
	_ Plugin = (*configmap.Plugin)(nil)
	_ Plugin = (*secret.Plugin)(nil)
	_ Plugin = (*downwardapi.Plugin)(nil)
	_ Plugin = (*projected.Plugin)(nil)
	_ Plugin = (*pvc.Plugin)(nil)

	_ podworker.Volumes = (*Manager)(nil)
)

// Manager implements podworker.Volumes.
type Manager struct {
	podsDir string
	refresh time.Duration
	plugins []Plugin
	now     func() time.Time

	mu   sync.Mutex
	done map[string]setUp // by "<uid>/<volume>"
}

type setUp struct {
	path string
	at   time.Time
}

// NewManager returns a Manager that keeps pod directories under podsDir and
// refreshes set-up volumes (new ConfigMap and Secret contents) at most every
// refresh.
func NewManager(podsDir string, refresh time.Duration, plugins []Plugin) *Manager {
	if refresh <= 0 {
		refresh = 10 * time.Second
	}
	return &Manager{podsDir: podsDir, refresh: refresh, plugins: plugins, now: time.Now, done: map[string]setUp{}}
}

// PodDir is the pod's directory on the host.
func (m *Manager) PodDir(uid types.UID) string { return filepath.Join(m.podsDir, string(uid)) }

// Setup implements podworker.Volumes. A volume that cannot be set up is a
// mount error: the pod waits (ContainerCreating, a FailedMount event) and
// is retried.
func (m *Manager) Setup(ctx context.Context, pod *v1.Pod) (map[string]string, error) {
	out := map[string]string{}
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		k := string(pod.UID) + "/" + v.Name
		m.mu.Lock()
		prev, ok := m.done[k]
		m.mu.Unlock()
		if ok && m.now().Sub(prev.at) < m.refresh {
			out[v.Name] = prev.path
			continue
		}
		p := m.plugin(v)
		if p == nil {
			return nil, podworker.NewMountError(fmt.Sprintf("MountVolume.SetUp failed for volume %q : no volume plugin matched", v.Name))
		}
		dir := filepath.Join(m.PodDir(pod.UID), "volumes", p.Name(), v.Name)
		path, err := p.SetUp(ctx, pod, v, dir)
		if err != nil {
			if ok {
				// A refresh failed (the ConfigMap went away, say): the
				// running pod keeps what it has.
				slog.Warn("refresh volume", "pod", pod.Namespace+"/"+pod.Name, "volume", v.Name, "err", err)
				out[v.Name] = prev.path
				continue
			}
			return nil, podworker.NewMountError(fmt.Sprintf("MountVolume.SetUp failed for volume %q : %v", v.Name, err))
		}
		m.mu.Lock()
		m.done[k] = setUp{path: path, at: m.now()}
		m.mu.Unlock()
		out[v.Name] = path
	}
	return out, nil
}

func (m *Manager) plugin(v *v1.Volume) Plugin {
	for _, p := range m.plugins {
		if p.CanSupport(v) {
			return p
		}
	}
	return nil
}

// TearDown implements podworker.Volumes: every plugin releases its volumes,
// then the pod directory goes, unless something is still mounted in it.
func (m *Manager) TearDown(uid types.UID) error {
	m.mu.Lock()
	for k := range m.done {
		if strings.HasPrefix(k, string(uid)+"/") {
			delete(m.done, k)
		}
	}
	m.mu.Unlock()
	podDir := m.PodDir(uid)
	if _, err := os.Stat(podDir); os.IsNotExist(err) {
		return nil
	}
	var errs []error
	for _, p := range m.plugins {
		vols, _ := os.ReadDir(filepath.Join(podDir, "volumes", p.Name()))
		for _, v := range vols {
			if err := p.TearDown(filepath.Join(podDir, "volumes", p.Name(), v.Name())); err != nil {
				errs = append(errs, fmt.Errorf("tear down volume %s: %w", v.Name(), err))
			}
		}
	}
	// Never remove a tree with a mount still in it: that would delete
	// what the mount shows.
	mounts, err := MountsUnder(podDir)
	if err != nil {
		return err
	}
	for _, mp := range mounts {
		if err := syscall.Unmount(mp, 0); err != nil {
			errs = append(errs, fmt.Errorf("unmount %s: %w", mp, err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return os.RemoveAll(podDir)
}

// MountsUnder lists the mount points at or below dir, deepest first.
func MountsUnder(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dir = filepath.Clean(dir)
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := strings.ReplaceAll(fields[4], `\040`, " ")
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append([]string{mp}, out...)
		}
	}
	return out, sc.Err()
}
