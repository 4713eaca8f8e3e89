// Package emptydir is the emptyDir volume: a directory on the node's disk,
// or a tmpfs (medium: Memory, sized by sizeLimit) that counts against the
// pod's memory.
package emptydir

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	v1 "k8s.io/api/core/v1"
)

// Plugin is the emptyDir volume plugin.
type Plugin struct {
	mount   func(dir, opts string) error
	unmount func(dir string) error
}

// New returns the plugin.
func New() *Plugin {
	return &Plugin{
		mount: func(dir, opts string) error {
			return syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, opts)
		},
		unmount: func(dir string) error { return syscall.Unmount(dir, 0) },
	}
}

func (p *Plugin) Name() string                 { return "kubernetes.io~empty-dir" }
func (p *Plugin) CanSupport(v *v1.Volume) bool { return v.EmptyDir != nil }

// SetUp makes the directory (world-writable, as upstream) and mounts a tmpfs
// on it for medium Memory.
func (p *Plugin) SetUp(_ context.Context, _ *v1.Pod, v *v1.Volume, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return "", err
	}
	if !mounted(dir) {
		// MkdirAll's mode is subject to the umask.
		if err := os.Chmod(dir, 0o777); err != nil {
			return "", err
		}
	}
	if v.EmptyDir.Medium == v1.StorageMediumMemory {
		if mounted(dir) {
			return dir, nil
		}
		opts := "mode=0777"
		if l := v.EmptyDir.SizeLimit; l != nil && !l.IsZero() {
			opts += fmt.Sprintf(",size=%d", l.Value())
		}
		if err := p.mount(dir, opts); err != nil {
			return "", fmt.Errorf("mount tmpfs on %s: %w", dir, err)
		}
		if err := os.WriteFile(dir+".tmpfs", nil, 0o644); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// TearDown unmounts a tmpfs emptyDir.
func (p *Plugin) TearDown(dir string) error {
	if !isTmpfs(dir) {
		return nil
	}
	if err := p.unmount(dir); err != nil && mounted(dir) {
		return err
	}
	return os.Remove(dir + ".tmpfs")
}

// isTmpfs looks for the marker SetUp leaves beside (not in, where the pod
// could remove it) a tmpfs emptyDir.
func isTmpfs(dir string) bool {
	_, err := os.Stat(dir + ".tmpfs")
	return err == nil
}

// mounted reports whether dir is a mount point (its device differs from its
// parent's).
func mounted(dir string) bool {
	var a, b syscall.Stat_t
	if syscall.Stat(dir, &a) != nil || syscall.Stat(filepath.Dir(dir), &b) != nil {
		return false
	}
	return a.Dev != b.Dev
}
