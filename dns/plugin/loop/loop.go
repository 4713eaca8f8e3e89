// Package loop detects a forwarding loop at startup: it sends a query for
// a random name to its own server and stops the server (like CoreDNS, which
// exits) when that query comes back more than twice, as it does when an
// upstream forwards to us again.
package loop

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/miekg/dns"

	"navarch.dev/dns/pkg/plugin"
)

// Loop is the plugin.
type Loop struct {
	Next plugin.Handler
	// Qname is the probe name.
	Qname string
	// OnLoop is called once with the error when a loop is seen.
	OnLoop func(error)

	seen     atomic.Int32
	disabled atomic.Bool
	reported atomic.Bool
}

var _ plugin.Handler = (*Loop)(nil)

// Name implements plugin.Handler.
func (l *Loop) Name() string { return "loop" }

// Disable stops watching for the probe (once probing is over).
func (l *Loop) Disable() { l.disabled.Store(true) }

// Reset forgets the probes seen so far (after a probe that got no answer,
// so that retries do not add up to a false loop).
func (l *Loop) Reset() { l.seen.Store(0) }

// ServeDNS implements plugin.Handler.
func (l *Loop) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	q := r.Question[0]
	if l.disabled.Load() || q.Qtype != dns.TypeHINFO || plugin.Lower(q.Name) != l.Qname {
		return plugin.NextOrFailure(l.Name(), l.Next, ctx, w, r)
	}
	if l.seen.Add(1) > 2 && l.reported.CompareAndSwap(false, true) {
		err := fmt.Errorf("plugin/loop: loop detected for zone %q: query %q came back; check the forward upstreams (for example /etc/resolv.conf pointing at this server)", q.Name, l.Qname)
		if l.OnLoop != nil {
			l.OnLoop(err)
		}
		return dns.RcodeServerFailure, err
	}
	return plugin.NextOrFailure(l.Name(), l.Next, ctx, w, r)
}
