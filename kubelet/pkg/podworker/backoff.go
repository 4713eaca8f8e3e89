package podworker

import (
	"sync"
	"time"
)

// Back-off of container restarts and image pulls: upstream's 10s doubling to
// 5 minutes, forgotten once a container ran for twice the cap.
const (
	initialBackoff = 10 * time.Second
	maxBackoff     = 5 * time.Minute
)

// backoff tracks, per key, the delay before the next attempt. The first
// failure of a key is retried at once; later ones wait 10s, 20s, … 5m.
type backoff struct {
	mu      sync.Mutex
	entries map[string]*backoffEntry
	now     func() time.Time
}

type backoffEntry struct {
	delay time.Duration
	last  time.Time
}

func newBackoff(now func() time.Time) *backoff {
	return &backoff{entries: map[string]*backoffEntry{}, now: now}
}

// wait returns how much longer key must wait after a failure at since; zero
// means go ahead.
func (b *backoff) wait(key string, since time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.entries[key]
	if e == nil {
		return 0
	}
	left := since.Add(e.delay).Sub(b.now())
	if left < 0 {
		return 0
	}
	return left
}

// next records an attempt after a failure and grows the delay.
func (b *backoff) next(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.entries[key]
	switch {
	case e == nil:
		e = &backoffEntry{delay: initialBackoff}
		b.entries[key] = e
	case b.now().Sub(e.last) > 2*maxBackoff:
		e.delay = initialBackoff
	default:
		e.delay *= 2
		if e.delay > maxBackoff {
			e.delay = maxBackoff
		}
	}
	e.last = b.now()
}

// forgetPrefix drops every key starting with prefix (a pod that is gone).
func (b *backoff) forgetPrefix(prefix string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k := range b.entries {
		if len(k) >= len(prefix) && k[:len(prefix)] == prefix {
			delete(b.entries, k)
		}
	}
}
