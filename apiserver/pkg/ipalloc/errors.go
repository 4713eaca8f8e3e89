package ipalloc

import (
	"errors"
	"fmt"
)

// Sentinel errors. Match them with errors.Is; the outcomes a user caused
// (ErrAllocated, ErrNotInRange, ErrFull) arrive as *Error, whose text is the
// message to show, while ErrRangeChanged and ErrCorrupt are operator faults.
var (
	// ErrAllocated: the requested IP or port is already taken.
	ErrAllocated = errors.New("ipalloc: already allocated")
	// ErrNotInRange: the requested IP or port lies outside the range (or is
	// the network or broadcast address of an IPv4 range).
	ErrNotInRange = errors.New("ipalloc: not in the valid range")
	// ErrFull: AllocateNext found no free slot it may hand out.
	ErrFull = errors.New("ipalloc: range is full")
	// ErrRangeChanged: etcd holds the state of a different range than the one
	// configured. The allocator refuses to use it rather than reset it.
	ErrRangeChanged = errors.New("ipalloc: configured range differs from the range stored in etcd")
	// ErrCorrupt: the value stored at the allocator's key cannot be decoded.
	ErrCorrupt = errors.New("ipalloc: stored range allocation is corrupt")
)

// Error is an allocation refused because of what was asked: its Error text is
// upstream Kubernetes' wording ("provided IP is already allocated", "range is
// full", ...), meant to become a 422 Invalid message on spec.clusterIP or
// spec.ports[i].nodePort unchanged. Allocators return it unwrapped.
type Error struct {
	// Reason is ErrAllocated, ErrNotInRange or ErrFull.
	Reason error
	// Message is the user-facing text.
	Message string
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns Reason so errors.Is(err, ErrAllocated) works.
func (e *Error) Unwrap() error { return e.Reason }

// fault returns a refusal (*Error) unchanged, so its text reaches the user
// as upstream words it, and wraps anything else with what was being done.
func fault(err error, format string, args ...any) error {
	if _, ok := err.(*Error); ok {
		return err
	}
	return fmt.Errorf("ipalloc: "+format+": %w", append(args, err)...)
}
