package ipalloc

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// DefaultLeakGrace is how long Repair keeps an allocated slot that no object
// uses yet: longer than a request may take to allocate and then store its
// Service (upstream's 60s request timeout), with room for clock skew between
// apiservers.
const DefaultLeakGrace = 3 * time.Minute

// Option tunes an allocator.
type Option func(*options)

type options struct {
	leakGrace time.Duration
	now       func() time.Time
}

// WithLeakGrace sets how long after its allocation an unused slot is still
// presumed to belong to a request in flight (see Repair). Zero makes Repair
// reclaim every unused slot at once, which is only safe when no other
// process allocates from the range meanwhile. All apiservers sharing a key
// should use the same grace.
func WithLeakGrace(d time.Duration) Option {
	return func(o *options) { o.leakGrace = max(d, 0) }
}

// rangeSpec describes a range as an ordered set of slots 0..size-1.
type rangeSpec struct {
	// name identifies the range in etcd and in messages ("10.96.0.0/12").
	name string
	size int
	// static is the size of the lower band [0, static) that AllocateNext uses
	// only when the upper band is full, leaving it to explicit allocations.
	static int
	// dynamicLow is the lowest slot AllocateNext hands out (1 when slot 0 is
	// reserved for an explicit allocation).
	dynamicLow int
	// allocated is the user-facing text of ErrAllocated for this kind of slot.
	allocated string
}

// staticBand is upstream's min(max(lo, rangeSize/step), hi), zero for ranges
// of at most lo values: the size of the band kept for static allocation.
func staticBand(rangeSize uint64, lo, hi, step uint64) int {
	if rangeSize <= lo {
		return 0
	}
	return int(min(max(lo, rangeSize/step), hi))
}

// store keeps one range's snapshot at one etcd key and changes it only with
// compare-and-swap transactions on the key's ModRevision.
type store struct {
	cli  *clientv3.Client
	key  string
	spec rangeSpec
	opts options

	// sem serializes this process's writers (they would only conflict with
	// each other) and guards cache.
	sem chan struct{}
	// cache is the last snapshot this store read or wrote, at revision
	// cacheRev; nil when unknown. It saves a read per write when no other
	// process wrote meanwhile; the CAS catches it being stale.
	cache    *snapshot
	cacheRev int64
}

func newStore(cli *clientv3.Client, key string, spec rangeSpec, opts []Option) (*store, error) {
	if cli == nil {
		return nil, errors.New("ipalloc: nil etcd client")
	}
	if key == "" {
		return nil, errors.New("ipalloc: empty etcd key")
	}
	o := options{leakGrace: DefaultLeakGrace, now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	return &store{cli: cli, key: key, spec: spec, opts: o, sem: make(chan struct{}, 1)}, nil
}

// decode turns the key's value, read at a range response (no key: not yet
// written), into a snapshot of this store's range and its ModRevision.
func (s *store) decode(resp *clientv3.GetResponse) (*snapshot, int64, error) {
	kvs := resp.Kvs
	if len(kvs) == 0 {
		return newSnapshot(s.spec.name, s.spec.size), 0, nil
	}
	snap, err := unmarshalSnapshot(kvs[0].Value)
	if err != nil {
		return nil, 0, fmt.Errorf("decode %s: %w", s.key, err)
	}
	if snap.spec != s.spec.name || snap.size != s.spec.size {
		return nil, 0, fmt.Errorf("%w: %s holds %s (%d slots), configured %s (%d slots)",
			ErrRangeChanged, s.key, snap.spec, snap.size, s.spec.name, s.spec.size)
	}
	return snap, kvs[0].ModRevision, nil
}

func (s *store) load(ctx context.Context) (*snapshot, int64, error) {
	resp, err := s.cli.Get(ctx, s.key)
	if err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", s.key, err)
	}
	return s.decode(resp)
}

// update applies change to the current snapshot and stores the result with a
// compare-and-swap, retrying with the newer snapshot on conflict until it
// succeeds or ctx ends. change reports whether it modified the snapshot; it
// must leave the snapshot as it was when it returns false or an error, and may
// be called several times. Refusals and no-ops are only ever decided on a
// snapshot read from etcd during this call.
func (s *store) update(ctx context.Context, change func(*snapshot) (bool, error)) error {
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.sem }()

	snap, rev, fresh := s.cache, s.cacheRev, false
	s.cache = nil // restored below once the snapshot is known to be current
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if snap == nil {
			var err error
			if snap, rev, err = s.load(ctx); err != nil {
				return err
			}
			fresh = true
		}
		changed, err := change(snap)
		if err != nil || !changed {
			if !fresh {
				snap = nil
				continue
			}
			s.cache, s.cacheRev = snap, rev
			return err
		}
		now := s.opts.now().Unix()
		snap.prune(now, int64(s.opts.leakGrace/time.Second))
		resp, err := s.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(s.key), "=", rev)).
			Then(clientv3.OpPut(s.key, string(snap.marshal()))).
			Else(clientv3.OpGet(s.key)).
			Commit()
		if err != nil {
			return fmt.Errorf("write %s: %w", s.key, err)
		}
		if resp.Succeeded {
			s.cache, s.cacheRev = snap, resp.Header.Revision
			return nil
		}
		// Another writer won: start over from what it wrote.
		if snap, rev, err = s.decode((*clientv3.GetResponse)(resp.Responses[0].GetResponseRange())); err != nil {
			return err
		}
		fresh = true
	}
}

// stamp is the allocation time to record for a new allocation (0: none).
func (s *store) stamp() int64 {
	if s.opts.leakGrace == 0 {
		return 0
	}
	return s.opts.now().Unix()
}

func (s *store) allocate(ctx context.Context, slot int) error {
	return s.update(ctx, func(snap *snapshot) (bool, error) {
		if snap.has(slot) {
			return false, &Error{Reason: ErrAllocated, Message: s.spec.allocated}
		}
		snap.set(slot, s.stamp())
		return true, nil
	})
}

// allocateNext takes a random free slot, from the upper (dynamic) band first.
func (s *store) allocateNext(ctx context.Context) (int, error) {
	var got int
	err := s.update(ctx, func(snap *snapshot) (bool, error) {
		got = -1
		lo, hi := max(s.spec.static, s.spec.dynamicLow), s.spec.size
		if lo < hi {
			got = snap.pickFree(lo, hi, lo+rand.IntN(hi-lo))
		}
		if lo, hi = s.spec.dynamicLow, s.spec.static; got < 0 && lo < hi {
			got = snap.pickFree(lo, hi, lo+rand.IntN(hi-lo))
		}
		if got < 0 {
			return false, &Error{Reason: ErrFull, Message: "range is full"}
		}
		snap.set(got, s.stamp())
		return true, nil
	})
	return got, err
}

func (s *store) release(ctx context.Context, slot int) error {
	return s.update(ctx, func(snap *snapshot) (bool, error) {
		if !snap.has(slot) {
			return false, nil
		}
		snap.clear(slot)
		return true, nil
	})
}

func (s *store) has(ctx context.Context, slot int) (bool, error) {
	snap, _, err := s.load(ctx)
	if err != nil {
		return false, err
	}
	return snap.has(slot), nil
}

// slotReport is Repair's finding in slots; see RepairReport.
type slotReport struct {
	restored, reclaimed, pending []int
}

// repair makes the snapshot hold exactly the slots in inUse (distinct, in
// range) plus the unused slots allocated within the leak grace.
func (s *store) repair(ctx context.Context, inUse []int) (slotReport, error) {
	var rep slotReport
	err := s.update(ctx, func(snap *snapshot) (bool, error) {
		rep = slotReport{}
		now := s.opts.now().Unix()
		grace := int64(s.opts.leakGrace / time.Second)
		want := newSnapshot(snap.spec, snap.size)
		for _, i := range inUse {
			want.set(i, 0)
			if !snap.has(i) {
				rep.restored = append(rep.restored, i)
			}
		}
		for _, i := range snap.allocated() {
			if want.has(i) {
				continue
			}
			if at, ok := snap.recent[i]; ok && now-at < grace {
				want.set(i, at)
				rep.pending = append(rep.pending, i)
				continue
			}
			rep.reclaimed = append(rep.reclaimed, i)
		}
		if len(rep.restored) == 0 && len(rep.reclaimed) == 0 {
			return false, nil
		}
		*snap = *want
		return true, nil
	})
	return rep, err
}
