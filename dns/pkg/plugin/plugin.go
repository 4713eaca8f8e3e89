// Package plugin defines what a navarch-dns plugin is: a Handler in a chain,
// built by a SetupFunc from one Corefile directive. Plugins import this
// package only; package server owns the chain order and the listeners.
package plugin

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/miekg/dns"
)

// Handler answers (or passes on) one DNS query.
//
// ServeDNS returns the response code and an error. When it wrote a response
// to w, the code is informational. When it did not write, the code must be
// one that ClientWrite reports true for (SERVFAIL, REFUSED, FORMERR,
// NOTIMP) and the server writes that response for it. An error means
// something broke (an upstream timed out, a cache was not synced); it is
// logged by the errors plugin and does not by itself write anything.
type Handler interface {
	ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error)
	Name() string
}

// Plugin wraps the rest of the chain (next, nil for the last plugin) into a
// Handler.
type Plugin func(next Handler) Handler

// HandlerFunc adapts a function to Handler, for tests and tiny plugins.
type HandlerFunc func(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error)

// ServeDNS calls f.
func (f HandlerFunc) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	return f(ctx, w, r)
}

// Name is "handlerfunc".
func (f HandlerFunc) Name() string { return "handlerfunc" }

// ErrNoNext is returned by NextOrFailure when a plugin passes a query on but
// nothing follows it in the chain.
var ErrNoNext = errors.New("plugin: no next plugin found")

// NextOrFailure calls next, or answers SERVFAIL with ErrNoNext when the chain
// ends at the plugin called name.
func NextOrFailure(name string, next Handler, ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	if next != nil {
		return next.ServeDNS(ctx, w, r)
	}
	return dns.RcodeServerFailure, fmt.Errorf("%s: %w", name, ErrNoNext)
}

// ClientWrite reports whether rcode is one the server writes for a plugin
// that returned it without writing a response.
func ClientWrite(rcode int) bool {
	switch rcode {
	case dns.RcodeServerFailure, dns.RcodeRefused, dns.RcodeFormatError, dns.RcodeNotImplemented:
		return true
	}
	return false
}

// Error wraps err with the plugin name, as errors are logged.
func Error(name string, err error) error { return fmt.Errorf("plugin/%s: %w", name, err) }

// Readiness is implemented by plugins that are not ready to answer at start
// (the kubernetes plugin before its caches sync). The ready plugin reports
// 200 once every Readiness plugin is Ready.
type Readiness interface {
	Ready() bool
}

// Zones is a list of fully qualified, lower-case zone names.
type Zones []string

// Matches returns the longest zone that qname (fully qualified, any case) is
// in, or "" if none.
func (z Zones) Matches(qname string) string {
	best := ""
	for _, zone := range z {
		if len(zone) > len(best) && InZone(zone, qname) {
			best = zone
		}
	}
	return best
}

// InZone reports whether name (any case) is zone (fully qualified, lower
// case) or below it: dns.IsSubDomain without splitting names into labels,
// which allocates on every query.
func InZone(zone, name string) bool {
	if zone == "." {
		return true
	}
	if !dns.IsFqdn(name) || !dns.IsFqdn(zone) {
		return dns.IsSubDomain(zone, name)
	}
	if len(name) < len(zone) || !strings.EqualFold(name[len(name)-len(zone):], zone) {
		return false
	}
	if len(name) == len(zone) {
		return true
	}
	// The character before the zone must be a label separator: a dot
	// preceded by an even number of backslashes (an escaped dot is part
	// of a label).
	i := len(name) - len(zone) - 1
	if name[i] != '.' {
		return false
	}
	n := 0
	for j := i - 1; j >= 0 && name[j] == '\\'; j-- {
		n++
	}
	return n%2 == 0
}

// Normalize turns hosts into fully qualified lower-case zones, expanding
// CIDRs into reverse zones ("10.0.0.0/24" → "0.0.10.in-addr.arpa.").
func Normalize(hosts []string) (Zones, error) {
	var out Zones
	for _, h := range hosts {
		h = strings.ToLower(strings.TrimPrefix(h, "dns://"))
		if strings.Contains(h, "/") {
			zones, err := ReverseZones(h)
			if err != nil {
				return nil, err
			}
			out = append(out, zones...)
			continue
		}
		out = append(out, dns.Fqdn(h))
	}
	return out, nil
}
