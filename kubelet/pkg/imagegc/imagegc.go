// Package imagegc removes unused images through CRI when the image
// filesystem fills up, as upstream's image garbage collector does: once the
// filesystem is --image-gc-high-threshold percent full, images no container
// uses are removed, least recently used first, until it is below
// --image-gc-low-threshold percent. Images younger than
// --minimum-image-ttl-duration, pinned images and the runtime's sandbox
// (pause) image are never removed.
package imagegc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"syscall"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Runtime is the part of the CRI client the collector uses.
type Runtime interface {
	ListImages(ctx context.Context) ([]*runtimeapi.Image, error)
	ListContainers(ctx context.Context, sandboxID string, labels map[string]string) ([]*runtimeapi.Container, error)
	RemoveImage(ctx context.Context, ref string) error
	ImageFsInfo(ctx context.Context) (*runtimeapi.ImageFsInfoResponse, error)
}

// Policy is the collector's configuration.
type Policy struct {
	// HighThresholdPercent of image filesystem usage starts a collection
	// (upstream default 85; 100 disables collection).
	HighThresholdPercent int
	// LowThresholdPercent is what a collection frees down to (default 80).
	LowThresholdPercent int
	// MinAge keeps images detected less than this long ago (default 2m).
	MinAge time.Duration
	// SandboxImage is the runtime's pause image, never removed. Empty: the
	// collector asks the runtime (containerd reports it in its verbose
	// status) when it starts.
	SandboxImage string
}

// DefaultPolicy is upstream's default.
func DefaultPolicy() Policy {
	return Policy{HighThresholdPercent: 85, LowThresholdPercent: 80, MinAge: 2 * time.Minute}
}

// Validate reports a policy that cannot work.
func (p Policy) Validate() error {
	switch {
	case p.HighThresholdPercent < 0 || p.HighThresholdPercent > 100:
		return fmt.Errorf("imagegc: --image-gc-high-threshold must be in [0, 100], got %d", p.HighThresholdPercent)
	case p.LowThresholdPercent < 0 || p.LowThresholdPercent > 100:
		return fmt.Errorf("imagegc: --image-gc-low-threshold must be in [0, 100], got %d", p.LowThresholdPercent)
	case p.LowThresholdPercent > p.HighThresholdPercent:
		return fmt.Errorf("imagegc: --image-gc-low-threshold (%d) must not exceed --image-gc-high-threshold (%d)", p.LowThresholdPercent, p.HighThresholdPercent)
	case p.MinAge < 0:
		return fmt.Errorf("imagegc: --minimum-image-ttl-duration must not be negative, got %s", p.MinAge)
	}
	return nil
}

// FsStat returns the capacity and available bytes of the filesystem holding
// path.
type FsStat func(path string) (capacity, available uint64, err error)

// Statfs is FsStat on the real filesystem.
func Statfs(path string) (capacity, available uint64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, 0, fmt.Errorf("statfs %s: %w", path, err)
	}
	return st.Blocks * uint64(st.Bsize), st.Bavail * uint64(st.Bsize), nil
}

// Manager is the image garbage collector. Its methods may be called
// concurrently (the eviction manager calls DeleteUnusedImages).
type Manager struct {
	rt     Runtime
	policy Policy
	fsStat FsStat
	now    func() time.Time

	mu      sync.Mutex // one collection at a time; guards records
	records map[string]*record
}

type record struct {
	firstDetected time.Time
	lastUsed      time.Time
	size          uint64
}

// New returns a collector. fs nil means Statfs.
func New(rt Runtime, policy Policy, fs FsStat) (*Manager, error) {
	if err := policy.Validate(); err != nil {
		return nil, err
	}
	if fs == nil {
		fs = Statfs
	}
	return &Manager{rt: rt, policy: policy, fsStat: fs, now: time.Now, records: map[string]*record{}}, nil
}

// SandboxImageFromRuntime reads the sandbox image from containerd's
// verbose CRI status ("config" → "sandboxImage"); "" if it is not there.
func SandboxImageFromRuntime(info map[string]string) string {
	var cfg struct {
		SandboxImage string `json:"sandboxImage"`
	}
	if json.Unmarshal([]byte(info["config"]), &cfg) != nil {
		return ""
	}
	return cfg.SandboxImage
}

// Run collects every period (upstream: 5 minutes) until ctx ends.
func (m *Manager) Run(ctx context.Context, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		if err := m.GarbageCollect(ctx); err != nil && ctx.Err() == nil {
			slog.Warn("image garbage collection", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// detect updates the records with the runtime's images and returns the
// ids of images that containers use (or that must be kept) now.
func (m *Manager) detect(ctx context.Context, now time.Time) (map[string]bool, error) {
	images, err := m.rt.ListImages(ctx)
	if err != nil {
		return nil, err
	}
	ctrs, err := m.rt.ListContainers(ctx, "", nil)
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	byName := map[string]string{} // tag or digest → id
	for _, img := range images {
		for _, n := range append(append([]string{}, img.RepoTags...), img.RepoDigests...) {
			byName[n] = img.Id
		}
		if img.Pinned {
			used[img.Id] = true
		}
	}
	resolve := func(ref string) string {
		if id, ok := byName[ref]; ok {
			return id
		}
		return ref
	}
	if m.policy.SandboxImage != "" {
		used[resolve(m.policy.SandboxImage)] = true
	}
	for _, c := range ctrs {
		// Every container counts, exited ones too: they can be restarted
		// from their image.
		if c.ImageRef != "" {
			used[resolve(c.ImageRef)] = true
		}
		if c.GetImage().GetImage() != "" {
			used[resolve(c.GetImage().GetImage())] = true
		}
	}
	current := map[string]bool{}
	for _, img := range images {
		current[img.Id] = true
		r := m.records[img.Id]
		if r == nil {
			r = &record{firstDetected: now}
			m.records[img.Id] = r
		}
		r.size = img.Size
		if used[img.Id] {
			r.lastUsed = now
		}
	}
	for id := range m.records {
		if !current[id] {
			delete(m.records, id)
		}
	}
	return used, nil
}

// usage returns the image filesystem's capacity and available bytes.
func (m *Manager) usage(ctx context.Context) (capacity, available uint64, err error) {
	info, err := m.rt.ImageFsInfo(ctx)
	if err != nil {
		return 0, 0, err
	}
	if len(info.ImageFilesystems) == 0 || info.ImageFilesystems[0].GetFsId().GetMountpoint() == "" {
		return 0, 0, errors.New("imagegc: the runtime reports no image filesystem")
	}
	return m.fsStat(info.ImageFilesystems[0].FsId.Mountpoint)
}

// GarbageCollect frees space when the image filesystem is at or above the
// high threshold, down to the low threshold. It returns an error when it
// could not free enough.
func (m *Manager) GarbageCollect(ctx context.Context) error {
	if m.policy.HighThresholdPercent >= 100 {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	used, err := m.detect(ctx, now)
	if err != nil {
		return err
	}
	capacity, available, err := m.usage(ctx)
	if err != nil {
		return err
	}
	if capacity == 0 {
		return nil
	}
	if available > capacity {
		available = capacity
	}
	usagePercent := int((capacity - available) * 100 / capacity)
	if usagePercent < m.policy.HighThresholdPercent {
		return nil
	}
	want := int64(capacity)*int64(100-m.policy.LowThresholdPercent)/100 - int64(available)
	slog.Info("image filesystem over the high threshold; removing unused images",
		"usagePercent", usagePercent, "highThresholdPercent", m.policy.HighThresholdPercent, "bytesToFree", want)
	freed, err := m.free(ctx, want, used, now)
	if err != nil {
		return err
	}
	if freed < want {
		return fmt.Errorf("imagegc: wanted to free %d bytes, but only %d bytes of images were eligible", want, freed)
	}
	return nil
}

// DeleteUnusedImages removes every image that may be removed (not in use,
// old enough, not the sandbox image) and returns the bytes freed: the
// eviction manager's way to reclaim disk before evicting pods.
func (m *Manager) DeleteUnusedImages(ctx context.Context) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	used, err := m.detect(ctx, now)
	if err != nil {
		return 0, err
	}
	freed, err := m.free(ctx, -1, used, now)
	return uint64(freed), err
}

// free removes unused images, least recently used (then first detected)
// first, until want bytes are freed (want < 0: all of them).
func (m *Manager) free(ctx context.Context, want int64, used map[string]bool, now time.Time) (int64, error) {
	type candidate struct {
		id string
		*record
	}
	var cands []candidate
	for id, r := range m.records {
		if used[id] || now.Sub(r.firstDetected) < m.policy.MinAge {
			continue
		}
		cands = append(cands, candidate{id, r})
	}
	sort.Slice(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if !a.lastUsed.Equal(b.lastUsed) {
			return a.lastUsed.Before(b.lastUsed)
		}
		if !a.firstDetected.Equal(b.firstDetected) {
			return a.firstDetected.Before(b.firstDetected)
		}
		return a.id < b.id
	})
	var freed int64
	var errs []error
	for _, c := range cands {
		if want >= 0 && freed >= want {
			break
		}
		slog.Info("removing unused image", "image", c.id, "size", c.size, "lastUsed", c.lastUsed)
		if err := m.rt.RemoveImage(ctx, c.id); err != nil {
			errs = append(errs, err)
			continue
		}
		delete(m.records, c.id)
		freed += int64(c.size)
	}
	return freed, errors.Join(errs...)
}
