package framework

import (
	"errors"
	"sync"
	"sync/atomic"
)

// ErrNotFound is returned by CycleState.Read for a key nobody wrote.
var ErrNotFound = errors.New("framework: not found in cycle state")

// StateKey names a piece of per-cycle plugin state; by convention the
// writing plugin's name plus a suffix.
type StateKey string

// StateData is what plugins keep in CycleState. Clone must return a deep
// enough copy for preemption to modify it without touching the original.
type StateData interface {
	Clone() StateData
}

// CycleState carries plugin state through one scheduling cycle of one pod:
// PreFilter computes it, Filter and Score read it. It is safe for
// concurrent use (filters run in parallel across nodes). It is written a
// few times per cycle and read once per plugin per node, so a write copies
// the map and a read is a lock-free lookup in the current copy.
type CycleState struct {
	mu      sync.Mutex // serializes writers
	storage atomic.Pointer[map[StateKey]StateData]
	// SkipFilterPlugins and SkipScorePlugins hold the plugins whose
	// PreFilter / PreScore returned Skip in this cycle.
	SkipFilterPlugins map[string]bool
	SkipScorePlugins  map[string]bool
	// Filters, when not nil, are the filter plugins this cycle runs: the
	// framework's filters minus SkipFilterPlugins, computed once after
	// PreFilter so the per-node loop does not look names up.
	Filters []FilterPlugin
}

// NewCycleState returns an empty state.
func NewCycleState() *CycleState {
	return &CycleState{}
}

// Read returns the data stored under key, or ErrNotFound.
func (c *CycleState) Read(key StateKey) (StateData, error) {
	if m := c.storage.Load(); m != nil {
		if v, ok := (*m)[key]; ok {
			return v, nil
		}
	}
	return nil, ErrNotFound
}

// Write stores val under key.
func (c *CycleState) Write(key StateKey, val StateData) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var next map[StateKey]StateData
	if m := c.storage.Load(); m != nil {
		next = make(map[StateKey]StateData, len(*m)+1)
		for k, v := range *m {
			next[k] = v
		}
	} else {
		next = make(map[StateKey]StateData, 8)
	}
	next[key] = val
	c.storage.Store(&next)
}

// Clone copies the state, cloning every value.
func (c *CycleState) Clone() *CycleState {
	if c == nil {
		return nil
	}
	out := NewCycleState()
	if m := c.storage.Load(); m != nil {
		cloned := make(map[StateKey]StateData, len(*m))
		for k, v := range *m {
			cloned[k] = v.Clone()
		}
		out.storage.Store(&cloned)
	}
	out.SkipFilterPlugins = c.SkipFilterPlugins
	out.SkipScorePlugins = c.SkipScorePlugins
	out.Filters = c.Filters
	return out
}
