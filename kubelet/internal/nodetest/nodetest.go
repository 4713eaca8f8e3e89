// Package nodetest gives node end-to-end tests a real containerd: it runs
// hack/node-setup.sh (install, configure, start, import local images) when
// the CRI socket does not answer, and fails the test if that does not work.
package nodetest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	criruntime "navarch.dev/kubelet/pkg/runtime"
)

// Images built locally by hack/node-setup.sh.
const (
	PauseImage   = "registry.navarch.local/pause:3.10"
	BusyboxImage = "docker.io/library/busybox:1.36"
)

var setupOnce sync.Once
var setupErr error

// Runtime returns a client of the machine's containerd, setting the node up
// first if needed. The client is closed when the test ends.
func Runtime(t testing.TB) *criruntime.Runtime {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("node tests need root (containerd, CNI, cgroups)")
	}
	setupOnce.Do(func() { setupErr = ensure() })
	if setupErr != nil {
		t.Fatalf("node setup: %v", setupErr)
	}
	rt, err := criruntime.Dial(criruntime.DefaultEndpoint, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	return rt
}

func ensure() error {
	if ready() {
		return nil
	}
	cmd := exec.Command("bash", filepath.Join(RepoRoot(), "hack", "node-setup.sh"))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return err
	}
	return nil
}

// ready reports whether containerd answers and holds both local images.
func ready() bool {
	rt, err := criruntime.Dial(criruntime.DefaultEndpoint, 5*time.Second)
	if err != nil {
		return false
	}
	defer rt.Close()
	ctx := context.Background()
	if _, err := rt.Version(ctx); err != nil {
		return false
	}
	for _, ref := range []string{PauseImage, BusyboxImage} {
		if img, err := rt.ImageStatus(ctx, ref); err != nil || img == nil {
			return false
		}
	}
	return true
}

// RepoRoot is the workspace root (the directory holding go.work).
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	// file is <root>/kubelet/internal/nodetest/nodetest.go
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
}
