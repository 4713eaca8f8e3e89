// Package hostpath is the hostPath volume: a path on the node, checked (or
// created) as its type says.
package hostpath

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	v1 "k8s.io/api/core/v1"
)

// Plugin is the hostPath volume plugin.
type Plugin struct{}

// New returns the plugin.
func New() *Plugin { return &Plugin{} }

func (p *Plugin) Name() string                 { return "kubernetes.io~host-path" }
func (p *Plugin) CanSupport(v *v1.Volume) bool { return v.HostPath != nil }

// SetUp checks the path and returns it; nothing is made under dir.
func (p *Plugin) SetUp(_ context.Context, _ *v1.Pod, v *v1.Volume, _ string) (string, error) {
	t := v1.HostPathUnset
	if v.HostPath.Type != nil {
		t = *v.HostPath.Type
	}
	if err := Check(v.HostPath.Path, t); err != nil {
		return "", err
	}
	return v.HostPath.Path, nil
}

// TearDown leaves the host's path alone.
func (p *Plugin) TearDown(string) error { return nil }

// Check makes sure path is what typ says, creating it for the OrCreate
// types (directories 0755, files 0644, as upstream).
func Check(path string, typ v1.HostPathType) error {
	if !filepath.IsAbs(path) {
		return fmt.Errorf("hostPath %q is not absolute", path)
	}
	fi, err := os.Stat(path)
	exists := err == nil
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	want := func(ok bool, what string) error {
		if !exists {
			return fmt.Errorf("hostPath type check failed: %s does not exist", path)
		}
		if !ok {
			return fmt.Errorf("hostPath type check failed: %s is not a %s", path, what)
		}
		return nil
	}
	switch typ {
	case v1.HostPathUnset:
		return nil
	case v1.HostPathDirectoryOrCreate:
		if !exists {
			return os.MkdirAll(path, 0o755)
		}
		return want(fi.IsDir(), "directory")
	case v1.HostPathDirectory:
		return want(exists && fi.IsDir(), "directory")
	case v1.HostPathFileOrCreate:
		if !exists {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return err
			}
			return f.Close()
		}
		return want(fi.Mode().IsRegular(), "file")
	case v1.HostPathFile:
		return want(exists && fi.Mode().IsRegular(), "file")
	case v1.HostPathSocket:
		return want(exists && fi.Mode()&os.ModeSocket != 0, "socket")
	case v1.HostPathCharDev:
		return want(exists && fi.Mode()&os.ModeCharDevice != 0, "character device")
	case v1.HostPathBlockDev:
		return want(exists && fi.Mode()&os.ModeDevice != 0 && fi.Mode()&os.ModeCharDevice == 0, "block device")
	}
	return fmt.Errorf("unknown hostPath type %q", typ)
}
