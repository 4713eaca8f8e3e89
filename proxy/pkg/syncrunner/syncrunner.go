// Package syncrunner runs a sync function when asked, at most once per
// minimum interval and at least once per maximum interval, like upstream's
// BoundedFrequencyRunner.
package syncrunner

import (
	"context"
	"time"
)

// Runner calls a function on demand with bounded frequency.
type Runner struct {
	fn       func()
	min, max time.Duration
	kick     chan struct{}
}

// New returns a Runner calling fn. min is the shortest time between two
// calls (--iptables-min-sync-period); max the longest (--iptables-sync-period).
func New(fn func(), min, max time.Duration) *Runner {
	return &Runner{fn: fn, min: min, max: max, kick: make(chan struct{}, 1)}
}

// Trigger asks for a call soon; triggers that arrive before the call are
// merged into it. It never blocks.
func (r *Runner) Trigger() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Run calls fn once at once and then on triggers and every max, until ctx
// is done.
func (r *Runner) Run(ctx context.Context) {
	var last time.Time
	periodic := time.NewTimer(0)
	defer periodic.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.kick:
		case <-periodic.C:
		}
		if wait := r.min - time.Since(last); !last.IsZero() && wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
		// Triggers that arrived while waiting are served by this call.
		select {
		case <-r.kick:
		default:
		}
		last = time.Now()
		r.fn()
		if r.max > 0 {
			periodic.Reset(r.max)
		}
	}
}
