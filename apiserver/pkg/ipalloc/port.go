package ipalloc

import (
	"context"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// PortAllocator hands out NodePorts from the range base..base+size-1. Methods
// are safe for concurrent use, also across processes.
type PortAllocator struct {
	base  int
	store *store
}

// NewPortAllocator returns an allocator for the ports base..base+size-1 whose
// state is kept at key. It does not contact etcd; the key is created by the
// first write.
func NewPortAllocator(cli *clientv3.Client, key string, base, size int, opts ...Option) (*PortAllocator, error) {
	if base < 1 || size < 1 || base+size-1 > 65535 {
		return nil, fmt.Errorf("ipalloc: invalid port range: base %d, size %d", base, size)
	}
	spec := rangeSpec{
		name: fmt.Sprintf("%d-%d", base, base+size-1),
		size: size,
		// KEP-3668: min(max(16, rangeSize/32), 128).
		static:    staticBand(uint64(size), 16, 128, 32),
		allocated: "provided port is already allocated",
	}
	s, err := newStore(cli, key, spec, opts)
	if err != nil {
		return nil, err
	}
	return &PortAllocator{base: base, store: s}, nil
}

// Base returns the first port of the range.
func (a *PortAllocator) Base() int { return a.base }

// Size returns the number of ports in the range.
func (a *PortAllocator) Size() int { return a.store.spec.size }

func (a *PortAllocator) slot(port int) (int, bool) {
	slot := port - a.base
	return slot, slot >= 0 && slot < a.store.spec.size
}

// Allocate takes port. It returns an *Error wrapping ErrAllocated when port is
// taken and one wrapping ErrNotInRange when it is outside the range.
func (a *PortAllocator) Allocate(ctx context.Context, port int) error {
	slot, ok := a.slot(port)
	if !ok {
		return &Error{Reason: ErrNotInRange, Message: fmt.Sprintf(
			"provided port is not in the valid range. The range of valid ports is %s", a.store.spec.name)}
	}
	if err := a.store.allocate(ctx, slot); err != nil {
		return fault(err, "allocate port %d", port)
	}
	return nil
}

// AllocateNext takes a random free port, from the upper part of the range
// while it has one. It returns an *Error wrapping ErrFull when there is none.
func (a *PortAllocator) AllocateNext(ctx context.Context) (int, error) {
	slot, err := a.store.allocateNext(ctx)
	if err != nil {
		return 0, fault(err, "allocate next port in %s", a.store.spec.name)
	}
	return a.base + slot, nil
}

// Release frees port. Releasing a free port, or one outside the range, is not
// an error.
func (a *PortAllocator) Release(ctx context.Context, port int) error {
	slot, ok := a.slot(port)
	if !ok {
		return nil
	}
	if err := a.store.release(ctx, slot); err != nil {
		return fault(err, "release port %d", port)
	}
	return nil
}

// Has reports whether port is allocated, reading etcd. Ports outside the
// range are never allocated.
func (a *PortAllocator) Has(ctx context.Context, port int) (bool, error) {
	slot, ok := a.slot(port)
	if !ok {
		return false, nil
	}
	has, err := a.store.has(ctx, slot)
	if err != nil {
		return false, fault(err, "check port %d", port)
	}
	return has, nil
}

// Repair makes the allocation state match inUse, the NodePorts of all stored
// Services (a port used by several ports of one Service, once per protocol,
// should be listed once). It behaves as IPAllocator.Repair.
func (a *PortAllocator) Repair(ctx context.Context, inUse []int) (RepairReport[int], error) {
	var rep RepairReport[int]
	slots := make([]int, 0, len(inUse))
	seen := make(map[int]bool, len(inUse))
	for _, port := range inUse {
		slot, ok := a.slot(port)
		switch {
		case !ok:
			rep.OutOfRange = append(rep.OutOfRange, port)
		case seen[slot]:
			rep.Duplicates = append(rep.Duplicates, port)
		default:
			seen[slot] = true
			slots = append(slots, slot)
		}
	}
	sr, err := a.store.repair(ctx, slots)
	if err != nil {
		return rep, fault(err, "repair ports %s", a.store.spec.name)
	}
	toPort := func(slot int) int { return a.base + slot }
	rep.Restored = mapSlots(sr.restored, toPort)
	rep.Reclaimed = mapSlots(sr.reclaimed, toPort)
	rep.Pending = mapSlots(sr.pending, toPort)
	return rep, nil
}
