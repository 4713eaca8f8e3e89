package imagegc

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"navarch.dev/kubelet/pkg/runtime"
	"navarch.dev/kubelet/pkg/runtime/fakecri"
)

const (
	pause   = "registry.navarch.local/pause:3.10"
	busybox = "docker.io/library/busybox:1.36"
)

// node is a fake runtime on a fake image filesystem of capacity bytes, of
// which other bytes hold something else than images.
type node struct {
	cri      *fakecri.Runtime
	rt       *runtime.Runtime
	mu       sync.Mutex
	capacity uint64
	other    uint64
	clock    time.Time
}

func newNode(t *testing.T) *node {
	cri := fakecri.Start(t)
	rt, err := runtime.Dial(cri.Endpoint, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	return &node{cri: cri, rt: rt, capacity: 1000, other: 200, clock: time.Unix(1_700_000_000, 0)}
}

func (n *node) fsStat(path string) (uint64, uint64, error) {
	if path != fakecri.ImageFsMountpoint {
		return 0, 0, nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	used := n.other
	resp, _ := n.cri.ImageFsInfo(context.Background(), nil)
	used += resp.ImageFilesystems[0].UsedBytes.Value
	return n.capacity, n.capacity - used, nil
}

func (n *node) now() time.Time {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.clock
}

// runContainer starts a container of image in a new sandbox and returns
// the container's id.
func (n *node) runContainer(t *testing.T, name, image string) string {
	t.Helper()
	ctx := context.Background()
	sb, err := n.rt.RunPodSandbox(ctx, &runtimeapi.PodSandboxConfig{Metadata: &runtimeapi.PodSandboxMetadata{Name: name, Namespace: "default", Uid: name}}, "")
	if err != nil {
		t.Fatal(err)
	}
	id, err := n.rt.CreateContainer(ctx, sb, &runtimeapi.ContainerConfig{Metadata: &runtimeapi.ContainerMetadata{Name: name}, Image: &runtimeapi.ImageSpec{Image: image}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.rt.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestGarbageCollect(t *testing.T) {
	tests := []struct {
		name     string
		capacity uint64
		low      int
		want     []string // images left
		wantErr  string
	}{
		{
			name: "below the high threshold nothing is removed", capacity: 2000, low: 75,
			want: []string{"a", "b", "c", busybox, pause},
		},
		{
			// 85% used; 75% means freeing 100 bytes: b, never used, goes
			// before a, used five minutes ago.
			name: "down to the low threshold, least recently used first", capacity: 1000, low: 75,
			want: []string{"a", "c", busybox, pause},
		},
		{
			// 10% would need 750 bytes; only a and b (300) may go: the
			// sandbox image, the image in use and c (detected a minute ago)
			// stay.
			name: "never the sandbox image, images in use or young images", capacity: 1000, low: 10,
			want: []string{"c", busybox, pause}, wantErr: "only 300 bytes of images were eligible",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNode(t)
			for ref, size := range map[string]uint64{pause: 100, busybox: 100, "a": 150, "b": 150} {
				n.cri.AddImage(ref, size)
			}
			n.capacity = 1 << 40 // no pressure while the images are first seen
			m, err := New(n.rt, Policy{HighThresholdPercent: 85, LowThresholdPercent: tt.low, MinAge: 2 * time.Minute, SandboxImage: pause}, n.fsStat)
			if err != nil {
				t.Fatal(err)
			}
			m.now = n.now
			n.runContainer(t, "web", busybox)
			old := n.runContainer(t, "old", "a")
			ctx := context.Background()
			if err := m.GarbageCollect(ctx); err != nil {
				t.Fatal(err)
			}
			// The container of a goes; c arrives four minutes later, and
			// the collection runs a minute after that.
			if err := n.rt.RemoveContainer(ctx, old); err != nil {
				t.Fatal(err)
			}
			n.clock = n.clock.Add(4 * time.Minute)
			n.cri.AddImage("c", 150)
			if err := m.GarbageCollect(ctx); err != nil {
				t.Fatal(err)
			}
			n.clock = n.clock.Add(time.Minute)
			n.capacity = tt.capacity
			err = m.GarbageCollect(ctx)
			if tt.wantErr == "" && err != nil {
				t.Errorf("GarbageCollect: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("GarbageCollect error = %v, want %q", err, tt.wantErr)
			}
			if got := n.cri.Images(); !slices.Equal(got, tt.want) {
				t.Errorf("images left = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDeleteUnusedImages(t *testing.T) {
	n := newNode(t)
	for ref, size := range map[string]uint64{pause: 100, busybox: 100, "a": 150, "b": 150} {
		n.cri.AddImage(ref, size)
	}
	m, err := New(n.rt, Policy{HighThresholdPercent: 85, LowThresholdPercent: 80, SandboxImage: pause}, n.fsStat)
	if err != nil {
		t.Fatal(err)
	}
	n.runContainer(t, "web", busybox)
	freed, err := m.DeleteUnusedImages(context.Background())
	if err != nil || freed != 300 {
		t.Errorf("DeleteUnusedImages = %d, %v; want 300 bytes freed", freed, err)
	}
	if got, want := n.cri.Images(), []string{busybox, pause}; !slices.Equal(got, want) {
		t.Errorf("images left = %v, want %v", got, want)
	}
}

func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		name    string
		policy  Policy
		wantErr string
	}{
		{name: "default", policy: DefaultPolicy()},
		{name: "disabled", policy: Policy{HighThresholdPercent: 100, LowThresholdPercent: 80}},
		{name: "low above high", policy: Policy{HighThresholdPercent: 70, LowThresholdPercent: 80}, wantErr: "must not exceed"},
		{name: "high above 100", policy: Policy{HighThresholdPercent: 101, LowThresholdPercent: 80}, wantErr: "--image-gc-high-threshold must be in [0, 100]"},
		{name: "negative age", policy: Policy{HighThresholdPercent: 85, LowThresholdPercent: 80, MinAge: -time.Second}, wantErr: "--minimum-image-ttl-duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.Validate()
			if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Validate = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestSandboxImageFromRuntime(t *testing.T) {
	info := map[string]string{"config": `{"sandboxImage":"registry.navarch.local/pause:3.10","enableSelinux":false}`}
	if got := SandboxImageFromRuntime(info); got != pause {
		t.Errorf("sandbox image = %q, want %q", got, pause)
	}
	if got := SandboxImageFromRuntime(nil); got != "" {
		t.Errorf("sandbox image of no info = %q, want empty", got)
	}
}
