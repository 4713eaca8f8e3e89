// Package expectations records the creations and deletions a controller is
// waiting to see in its informer cache, so that it does not act again on a
// stale cache (and create or delete twice) before its own writes are
// observed.
//
// Deletions can be counted (ExpectDeletions/DeletionObserved) or tracked by
// child key (ExpectDeletionsOf/DeletionObservedOf); tracking by key makes a
// pod seen first with a deletionTimestamp and then deleted count once.
package expectations

import (
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// ExpirationTimeout is how long an unmet expectation is trusted; after it
// the controller syncs anyway, in case a watch event was lost.
const ExpirationTimeout = 5 * time.Minute

type record struct {
	adds, dels int
	delKeys    map[string]bool
	timestamp  time.Time
}

// Expectations is safe for concurrent use; keys are the controller's
// workqueue keys ("namespace/name").
type Expectations struct {
	mu      sync.Mutex
	records map[string]*record
	clock   clock.Clock
}

// New returns empty expectations timed by clk (nil means the real clock).
func New(clk clock.Clock) *Expectations {
	if clk == nil {
		clk = clock.RealClock{}
	}
	return &Expectations{records: map[string]*record{}, clock: clk}
}

// Satisfied reports whether the controller may trust its cache for key:
// no expectations recorded, all observed, or recorded so long ago that they
// are presumed lost.
func (e *Expectations) Satisfied(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	r, ok := e.records[key]
	if !ok {
		return true
	}
	if r.adds <= 0 && r.dels <= 0 && len(r.delKeys) == 0 {
		return true
	}
	return e.clock.Since(r.timestamp) > ExpirationTimeout
}

// ExpectCreations replaces key's expectations by adds creations.
func (e *Expectations) ExpectCreations(key string, adds int) {
	e.set(key, &record{adds: adds})
}

// ExpectDeletions replaces key's expectations by dels deletions.
func (e *Expectations) ExpectDeletions(key string, dels int) {
	e.set(key, &record{dels: dels})
}

// ExpectDeletionsOf replaces key's expectations by the deletion of the
// children named by childKeys.
func (e *Expectations) ExpectDeletionsOf(key string, childKeys []string) {
	r := &record{delKeys: map[string]bool{}}
	for _, k := range childKeys {
		r.delKeys[k] = true
	}
	e.set(key, r)
}

func (e *Expectations) set(key string, r *record) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r.timestamp = e.clock.Now()
	e.records[key] = r
}

// CreationObserved records that one expected creation was seen (or will
// never happen because the create failed).
func (e *Expectations) CreationObserved(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if r, ok := e.records[key]; ok && r.adds > 0 {
		r.adds--
	}
}

// DeletionObserved records that one counted deletion was seen (or failed).
func (e *Expectations) DeletionObserved(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if r, ok := e.records[key]; ok && r.dels > 0 {
		r.dels--
	}
}

// DeletionObservedOf records that childKey is gone, being deleted, or that
// its delete failed. A child that was not expected is ignored.
func (e *Expectations) DeletionObservedOf(key, childKey string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if r, ok := e.records[key]; ok {
		delete(r.delKeys, childKey)
	}
}

// Delete forgets key, when its controller object is gone.
func (e *Expectations) Delete(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.records, key)
}
