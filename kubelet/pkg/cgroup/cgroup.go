// Package cgroup names the kubelet's pod cgroups and removes the directories
// containerd leaves behind once a pod's sandbox is gone (cgroup v1 with the
// cgroupfs driver: one hierarchy per controller under /sys/fs/cgroup).
package cgroup

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Root is where the cgroup hierarchies are mounted.
var Root = "/sys/fs/cgroup"

// Remove deletes the cgroup directory parent (e.g. "/kubepods/besteffort/podUID")
// and everything below it in every hierarchy. The cgroups must be empty of
// processes; a missing directory is not an error.
func Remove(parent string) error {
	parent = strings.TrimPrefix(filepath.Clean("/"+parent), "/")
	if parent == "" {
		return errors.New("cgroup: refusing to remove the root cgroup")
	}
	hierarchies, err := os.ReadDir(Root)
	if err != nil {
		return fmt.Errorf("cgroup: %w", err)
	}
	var errs []error
	for _, h := range hierarchies {
		if !h.IsDir() {
			continue
		}
		if err := removeTree(filepath.Join(Root, h.Name(), parent)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// removeTree rmdirs a cgroup directory bottom-up: cgroupfs only allows rmdir
// of a directory without child cgroups, and its files cannot be unlinked.
func removeTree(dir string) error {
	var dirs []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cgroup: walk %s: %w", dir, err)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	for _, d := range dirs {
		if err := os.Remove(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("cgroup: %w", err)
		}
	}
	return nil
}
