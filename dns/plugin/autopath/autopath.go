// Package autopath answers the search-path walk of ndots:5 clients in one
// round trip: a query for "name.<first search domain>" is tried against
// each search domain in turn, server side, and the first that exists is
// answered with a CNAME from the asked name to the found one.
package autopath

import (
	"context"
	"net"
	"net/netip"
	"strings"

	"github.com/miekg/dns"

	"navarch.dev/dns/pkg/plugin"
)

// AutoPather is implemented by plugins that know a client's search path
// (the kubernetes plugin, from the pod with the client's address).
type AutoPather interface {
	AutoPath(client netip.Addr) []string
}

// AutoPath is the plugin.
type AutoPath struct {
	Next  plugin.Handler
	Zones plugin.Zones
	// Search returns the search path of a client ("" last means the bare
	// name), or nil to not walk for it.
	Search func(client netip.Addr) []string
}

var _ plugin.Handler = (*AutoPath)(nil)

// Name implements plugin.Handler.
func (a *AutoPath) Name() string { return "autopath" }

// ServeDNS implements plugin.Handler.
func (a *AutoPath) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	q := r.Question[0]
	qname := plugin.Lower(q.Name)
	if a.Search == nil || a.Zones.Matches(qname) == "" || a.Next == nil {
		return plugin.NextOrFailure(a.Name(), a.Next, ctx, w, r)
	}
	search := a.Search(clientAddr(w))
	if len(search) == 0 || search[0] == "" || !strings.HasSuffix(qname, "."+search[0]) {
		return plugin.NextOrFailure(a.Name(), a.Next, ctx, w, r)
	}
	base := strings.TrimSuffix(qname, search[0]) // keeps its final "."
	for _, s := range search {
		name := base + s
		if s == "" {
			name = base
		}
		if name == "." {
			continue
		}
		req := r.Copy()
		req.Question[0].Name = name
		nw := &plugin.NonWriter{ResponseWriter: w}
		a.Next.ServeDNS(ctx, nw, req)
		m := nw.Msg
		if m == nil || m.Rcode != dns.RcodeSuccess {
			continue
		}
		m.Question = r.Question
		if name != qname {
			cname := &dns.CNAME{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: minTTL(m)}, Target: name}
			m.Answer = append([]dns.RR{cname}, m.Answer...)
		}
		w.WriteMsg(m)
		return m.Rcode, nil
	}
	return plugin.NextOrFailure(a.Name(), a.Next, ctx, w, r)
}

func minTTL(m *dns.Msg) uint32 {
	t := uint32(3600)
	for _, rr := range append(m.Answer, m.Ns...) {
		t = min(t, rr.Header().Ttl)
	}
	return t
}

func clientAddr(w dns.ResponseWriter) netip.Addr {
	if w == nil || w.RemoteAddr() == nil {
		return netip.Addr{}
	}
	switch a := w.RemoteAddr().(type) {
	case *net.UDPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	case *net.TCPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	}
	return netip.Addr{}
}
