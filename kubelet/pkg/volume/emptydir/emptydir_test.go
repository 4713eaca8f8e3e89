package emptydir

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestSetUp(t *testing.T) {
	size := resource.MustParse("1Mi")
	tests := []struct {
		name      string
		src       v1.EmptyDirVolumeSource
		wantMount string
	}{
		{name: "disk", src: v1.EmptyDirVolumeSource{}},
		{name: "memory", src: v1.EmptyDirVolumeSource{Medium: v1.StorageMediumMemory}, wantMount: "mode=0777"},
		{name: "memory with size", src: v1.EmptyDirVolumeSource{Medium: v1.StorageMediumMemory, SizeLimit: &size}, wantMount: "mode=0777,size=1048576"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mounted, unmounted string
			p := &Plugin{
				mount:   func(dir, opts string) error { mounted = opts; return nil },
				unmount: func(dir string) error { unmounted = dir; return nil },
			}
			dir := filepath.Join(t.TempDir(), "vol")
			v := &v1.Volume{Name: "v", VolumeSource: v1.VolumeSource{EmptyDir: &tt.src}}
			got, err := p.SetUp(context.Background(), &v1.Pod{}, v, dir)
			if err != nil || got != dir {
				t.Fatalf("SetUp = %q, %v", got, err)
			}
			if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o777 {
				t.Errorf("dir mode = %v (%v), want 0777", fi.Mode().Perm(), err)
			}
			if mounted != tt.wantMount {
				t.Errorf("tmpfs options = %q, want %q", mounted, tt.wantMount)
			}
			if err := p.TearDown(dir); err != nil {
				t.Fatal(err)
			}
			if (tt.wantMount != "") != (unmounted == dir) {
				t.Errorf("unmounted %q, want a tmpfs unmount: %v", unmounted, tt.wantMount != "")
			}
		})
	}
}

// TestTmpfs mounts a real tmpfs when running as root.
func TestTmpfs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("mounting tmpfs needs root: run the kubelet tests as root, as make test does in CI")
	}
	p := New()
	dir := filepath.Join(t.TempDir(), "vol")
	v := &v1.Volume{Name: "v", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{Medium: v1.StorageMediumMemory}}}
	if _, err := p.SetUp(context.Background(), &v1.Pod{}, v, dir); err != nil {
		t.Fatal(err)
	}
	if !mounted(dir) {
		t.Fatal("no tmpfs mounted")
	}
	if _, err := p.SetUp(context.Background(), &v1.Pod{}, v, dir); err != nil {
		t.Fatalf("second SetUp: %v", err)
	}
	if err := p.TearDown(dir); err != nil {
		t.Fatal(err)
	}
	if mounted(dir) {
		t.Fatal("tmpfs still mounted")
	}
}
