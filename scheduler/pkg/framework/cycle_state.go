package framework

import (
	"errors"
	"sync"
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
// concurrent use (filters run in parallel across nodes).
type CycleState struct {
	mu      sync.RWMutex
	storage map[StateKey]StateData
	// SkipFilterPlugins and SkipScorePlugins hold the plugins whose
	// PreFilter / PreScore returned Skip in this cycle.
	SkipFilterPlugins map[string]bool
	SkipScorePlugins  map[string]bool
}

// NewCycleState returns an empty state.
func NewCycleState() *CycleState {
	return &CycleState{storage: map[StateKey]StateData{}}
}

// Read returns the data stored under key, or ErrNotFound.
func (c *CycleState) Read(key StateKey) (StateData, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if v, ok := c.storage[key]; ok {
		return v, nil
	}
	return nil, ErrNotFound
}

// Write stores val under key.
func (c *CycleState) Write(key StateKey, val StateData) {
	c.mu.Lock()
	c.storage[key] = val
	c.mu.Unlock()
}

// Clone copies the state, cloning every value.
func (c *CycleState) Clone() *CycleState {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := NewCycleState()
	for k, v := range c.storage {
		out.storage[k] = v.Clone()
	}
	out.SkipFilterPlugins = c.SkipFilterPlugins
	out.SkipScorePlugins = c.SkipScorePlugins
	return out
}
