package ipalloc

import (
	"errors"
	"slices"
	"sync"
	"testing"
)

func newPorts(t *testing.T, endpoint, key string, base, size int, opts ...Option) *PortAllocator {
	t.Helper()
	a, err := NewPortAllocator(newClient(t, endpoint), key, base, size, opts...)
	if err != nil {
		t.Fatalf("NewPortAllocator(%d, %d): %v", base, size, err)
	}
	return a
}

func TestNewPortAllocatorInvalid(t *testing.T) {
	cli := newClient(t, "http://127.0.0.1:1") // never dialled
	tests := []struct {
		name       string
		base, size int
	}{
		{name: "zero base", base: 0, size: 10},
		{name: "empty range", base: 30000, size: 0},
		{name: "beyond 65535", base: 65000, size: 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewPortAllocator(cli, "/k", tt.base, tt.size); err == nil {
				t.Errorf("NewPortAllocator(%d, %d) succeeded", tt.base, tt.size)
			}
		})
	}
}

func TestPortAllocatorAllocate(t *testing.T) {
	ep := startEtcd(t)
	const notInRange = "provided port is not in the valid range. The range of valid ports is 30000-32767"
	tests := []struct {
		name    string
		taken   []int
		port    int
		wantErr error
		wantMsg string
	}{
		{name: "free port", port: 30080},
		{name: "first port", port: 30000},
		{name: "last port", port: 32767},
		{name: "already allocated", taken: []int{30080}, port: 30080,
			wantErr: ErrAllocated, wantMsg: "provided port is already allocated"},
		{name: "below the range", port: 29999, wantErr: ErrNotInRange, wantMsg: notInRange},
		{name: "above the range", port: 32768, wantErr: ErrNotInRange, wantMsg: notInRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			a := newPorts(t, ep, keyFor(t), 30000, 2768)
			for _, p := range tt.taken {
				if err := a.Allocate(ctx, p); err != nil {
					t.Fatalf("Allocate(%d): %v", p, err)
				}
			}
			err := a.Allocate(ctx, tt.port)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Allocate(%d): %v", tt.port, err)
				}
				if has, err := a.Has(ctx, tt.port); err != nil || !has {
					t.Errorf("Has(%d) = %v, %v after Allocate, want true", tt.port, has, err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) || err.Error() != tt.wantMsg {
				t.Errorf("Allocate(%d) error = %v, want %q (%v)", tt.port, err, tt.wantMsg, tt.wantErr)
			}
		})
	}
}

func TestPortAllocatorLifecycle(t *testing.T) {
	ep := startEtcd(t)
	ctx := t.Context()
	a := newPorts(t, ep, keyFor(t), 30000, 10)
	var got []int
	for range 10 {
		p, err := a.AllocateNext(ctx)
		if err != nil {
			t.Fatalf("AllocateNext after %v: %v", got, err)
		}
		if p < 30000 || p > 30009 || slices.Contains(got, p) {
			t.Fatalf("AllocateNext = %d: outside 30000-30009 or handed out before (%v)", p, got)
		}
		got = append(got, p)
	}
	if p, err := a.AllocateNext(ctx); !errors.Is(err, ErrFull) || err.Error() != "range is full" {
		t.Fatalf("AllocateNext on a full range = %d, %v, want %q", p, err, "range is full")
	}
	if err := a.Release(ctx, 30004); err != nil {
		t.Fatalf("Release(30004): %v", err)
	}
	if has, err := a.Has(ctx, 30004); err != nil || has {
		t.Fatalf("Has(30004) = %v, %v after Release, want false", has, err)
	}
	for _, p := range []int{30004, 29000} { // already free; outside the range
		if err := a.Release(ctx, p); err != nil {
			t.Fatalf("Release(%d): %v", p, err)
		}
	}
	if p, err := a.AllocateNext(ctx); err != nil || p != 30004 {
		t.Fatalf("AllocateNext after releasing 30004 = %d, %v", p, err)
	}
}

func TestPortAllocatorStaticBand(t *testing.T) {
	ep := startEtcd(t)
	ctx := t.Context()
	// 100 ports keep min(max(16, 100/32), 128) = 16 for static allocation.
	a := newPorts(t, ep, keyFor(t), 30000, 100)
	for i := range 100 {
		p, err := a.AllocateNext(ctx)
		if err != nil {
			t.Fatalf("AllocateNext #%d: %v", i+1, err)
		}
		if inBand := p < 30016; inBand != (i >= 84) {
			t.Fatalf("AllocateNext #%d = %d: the first 84 must avoid 30000-30015, the last 16 use it", i+1, p)
		}
	}
	if _, err := a.AllocateNext(ctx); !errors.Is(err, ErrFull) {
		t.Fatalf("AllocateNext on a full range = %v, want ErrFull", err)
	}
}

func TestPortAllocatorConcurrent(t *testing.T) {
	ep := startEtcd(t)
	ctx := t.Context()
	key := keyFor(t)
	allocators := []*PortAllocator{newPorts(t, ep, key, 30000, 50), newPorts(t, ep, key, 30000, 50)}
	const workers = 200
	var (
		mu     sync.Mutex
		got    = map[int]int{}
		full   int
		faults []error
		wg     sync.WaitGroup
	)
	for i := range workers {
		wg.Go(func() {
			p, err := allocators[i%2].AllocateNext(ctx)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, ErrFull):
				full++
			case err != nil:
				faults = append(faults, err)
			default:
				got[p]++
			}
		})
	}
	wg.Wait()
	if len(faults) > 0 {
		t.Fatalf("AllocateNext failed: %v", faults)
	}
	for p, n := range got {
		if n > 1 {
			t.Errorf("port %d handed out %d times", p, n)
		}
	}
	if len(got) != 50 || full != workers-50 {
		t.Errorf("%d distinct ports and %d ErrFull, want 50 and %d", len(got), full, workers-50)
	}
}

func TestPortAllocatorRepair(t *testing.T) {
	ep := startEtcd(t)
	ctx := t.Context()
	key := keyFor(t)
	a := newPorts(t, ep, key, 30000, 2768, WithLeakGrace(0))
	for _, p := range []int{30001, 30002, 30003} {
		if err := a.Allocate(ctx, p); err != nil {
			t.Fatalf("Allocate(%d): %v", p, err)
		}
	}
	rep, err := a.Repair(ctx, []int{30001, 30005, 30001, 8080})
	if err != nil {
		t.Fatalf("Repair: %v", err)
	}
	checkReport(t, rep, RepairReport[int]{
		Restored:   []int{30005},
		Reclaimed:  []int{30002, 30003},
		OutOfRange: []int{8080},
		Duplicates: []int{30001},
	})
	for p, want := range map[int]bool{30001: true, 30002: false, 30003: false, 30005: true} {
		if has, err := a.Has(ctx, p); err != nil || has != want {
			t.Errorf("Has(%d) = %v, %v, want %v", p, has, err, want)
		}
	}

	changed := newPorts(t, ep, key, 30000, 2000)
	if err := changed.Allocate(ctx, 30010); !errors.Is(err, ErrRangeChanged) {
		t.Errorf("Allocate with range 30000-31999 over stored 30000-32767 = %v, want ErrRangeChanged", err)
	}
}
