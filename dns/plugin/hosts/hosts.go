// Package hosts answers from a hosts file (/etc/hosts format) and inline
// entries: A, AAAA and PTR.
package hosts

import (
	"bufio"
	"context"
	"io"
	"net/netip"
	"strings"
	"sync"

	"github.com/miekg/dns"

	"navarch.dev/dns/pkg/plugin"
)

// Hosts is the plugin.
type Hosts struct {
	Next        plugin.Handler
	Zones       plugin.Zones
	TTL         uint32
	NoReverse   bool
	Fallthrough plugin.Zones // nil: never; empty: all

	mu     sync.RWMutex
	byName map[string][]netip.Addr
	byAddr map[netip.Addr][]string
}

var _ plugin.Handler = (*Hosts)(nil)

// Name implements plugin.Handler.
func (h *Hosts) Name() string { return "hosts" }

// Parse reads hosts-file lines ("IP name..." with # comments) into a table.
func Parse(r io.Reader) (byName map[string][]netip.Addr, byAddr map[netip.Addr][]string) {
	byName, byAddr = map[string][]netip.Addr{}, map[netip.Addr][]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		ip, err := netip.ParseAddr(f[0])
		if err != nil {
			continue
		}
		ip = ip.WithZone("")
		for _, n := range f[1:] {
			n = dns.Fqdn(strings.ToLower(n))
			byName[n] = append(byName[n], ip)
			byAddr[ip] = append(byAddr[ip], n)
		}
	}
	return byName, byAddr
}

// Set replaces the table.
func (h *Hosts) Set(byName map[string][]netip.Addr, byAddr map[netip.Addr][]string) {
	h.mu.Lock()
	h.byName, h.byAddr = byName, byAddr
	h.mu.Unlock()
}

// ServeDNS implements plugin.Handler.
func (h *Hosts) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	q := r.Question[0]
	qname := plugin.Lower(q.Name)
	if h.Zones.Matches(qname) == "" {
		return plugin.NextOrFailure(h.Name(), h.Next, ctx, w, r)
	}
	var (
		answer []dns.RR
		found  bool
	)
	hdr := func(t uint16) dns.RR_Header {
		return dns.RR_Header{Name: q.Name, Rrtype: t, Class: dns.ClassINET, Ttl: h.TTL}
	}
	h.mu.RLock()
	if ip := plugin.ReverseIP(qname); ip.IsValid() {
		if !h.NoReverse {
			names := h.byAddr[ip]
			found = len(names) > 0
			if q.Qtype == dns.TypePTR {
				for _, n := range names {
					answer = append(answer, &dns.PTR{Hdr: hdr(dns.TypePTR), Ptr: n})
				}
			}
		}
	} else {
		addrs := h.byName[qname]
		found = len(addrs) > 0
		for _, a := range addrs {
			switch {
			case a.Is4() && q.Qtype == dns.TypeA:
				answer = append(answer, &dns.A{Hdr: hdr(dns.TypeA), A: a.AsSlice()})
			case a.Is6() && q.Qtype == dns.TypeAAAA:
				answer = append(answer, &dns.AAAA{Hdr: hdr(dns.TypeAAAA), AAAA: a.AsSlice()})
			}
		}
	}
	h.mu.RUnlock()
	if !found && h.Fallthrough != nil && (len(h.Fallthrough) == 0 || h.Fallthrough.Matches(qname) != "") {
		return plugin.NextOrFailure(h.Name(), h.Next, ctx, w, r)
	}
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	m.Answer = answer
	if !found {
		m.Rcode = dns.RcodeNameError
	}
	w.WriteMsg(m)
	return m.Rcode, nil
}
