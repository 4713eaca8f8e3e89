// Package metrics is the prometheus plugin: it counts queries and answers
// by type and rcode, measures latency, and serves /metrics (which also
// carries the other plugins' metrics, such as the cache's hits and misses).
// Metric names follow CoreDNS, so dashboards carry over.
package metrics

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"

	"navarch.dev/dns/pkg/plugin"
)

var (
	// RequestCount counts queries.
	RequestCount = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "coredns", Subsystem: "dns", Name: "requests_total",
		Help: "Counter of DNS requests made per zone, protocol and family.",
	}, []string{"server", "zone", "proto", "family", "type"})
	// ResponseCount counts answers by rcode.
	ResponseCount = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "coredns", Subsystem: "dns", Name: "responses_total",
		Help: "Counter of response status codes.",
	}, []string{"server", "zone", "rcode"})
	// RequestDuration is the time from query to answer.
	RequestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "coredns", Subsystem: "dns", Name: "request_duration_seconds",
		Buckets: []float64{.00025, .0005, .001, .002, .004, .008, .016, .032, .064, .128, .256, .512, 1.024, 2.048, 4.096, 8.192},
		Help:    "Histogram of the time (in seconds) each request took.",
	}, []string{"server", "zone", "type"})
	// ResponseSize is the size of answers.
	ResponseSize = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "coredns", Subsystem: "dns", Name: "response_size_bytes",
		Buckets: []float64{0, 100, 200, 300, 400, 511, 1023, 2047, 4095, 8291, 16e3, 32e3, 48e3, 64e3},
		Help:    "Size of the returned response in bytes.",
	}, []string{"server", "zone", "proto"})
)

// Metrics records every query that passes through it.
type Metrics struct {
	Next plugin.Handler

	// zones holds the metric children of each zone of each server seen,
	// resolved on first use: a query finds its counters by comparing a
	// pointer and indexing arrays, instead of hashing label strings into
	// four vectors (or a key into a map).
	zones  atomic.Pointer[[]*zoneChildren]
	zoneMu sync.Mutex
}

var _ plugin.Handler = (*Metrics)(nil)

// Label values are bounded: the common types and other (typeLabel), the
// rcodes miekg/dns names and other (rcodeIndex).
var (
	labelledTypes = []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeSRV, dns.TypePTR, dns.TypeCNAME, dns.TypeTXT, dns.TypeMX,
		dns.TypeNS, dns.TypeSOA, dns.TypeHINFO, dns.TypeANY, dns.TypeDS, dns.TypeHTTPS}
	numTypes  = len(labelledTypes) + 1 // last: other
	numRcodes = maxRcode + 2           // last: other
)

const maxRcode = dns.RcodeBadCookie

// typeIndex is t's place in labelledTypes, or numTypes-1 for other.
func typeIndex(t uint16) int {
	for i, lt := range labelledTypes {
		if lt == t {
			return i
		}
	}
	return numTypes - 1
}

// rcodeIndex is rc, or numRcodes-1 for an rcode without a name.
func rcodeIndex(rc int) int {
	if _, ok := dns.RcodeToString[rc]; ok && rc >= 0 && rc <= maxRcode {
		return rc
	}
	return numRcodes - 1
}

// zoneChildren are the metric children of one zone of one server, by
// transport, family, type and rcode.
type zoneChildren struct {
	si *plugin.ServerInfo
	// c is indexed by [tcp][ipv6][typeIndex*numRcodes+rcodeIndex].
	c [2][2][]atomic.Pointer[children]
}

type children struct {
	requests, responses prometheus.Counter
	duration, size      prometheus.Observer
}

// forZone returns the children of si.
func (m *Metrics) forZone(si *plugin.ServerInfo) *zoneChildren {
	if zs := m.zones.Load(); zs != nil {
		for _, z := range *zs {
			if z.si == si {
				return z
			}
		}
	}
	m.zoneMu.Lock()
	defer m.zoneMu.Unlock()
	var old []*zoneChildren
	if zs := m.zones.Load(); zs != nil {
		old = *zs
		for _, z := range old {
			if z.si == si {
				return z
			}
		}
	}
	z := &zoneChildren{si: si}
	for tcp := range 2 {
		for v6 := range 2 {
			z.c[tcp][v6] = make([]atomic.Pointer[children], numTypes*numRcodes)
		}
	}
	zs := append(old[:len(old):len(old)], z)
	m.zones.Store(&zs)
	return z
}

// lookup returns the children of a query of type index ti answered with
// rcode index ri.
func (z *zoneChildren) lookup(tcp, v6 bool, ti, ri int) *children {
	slot := &z.c[b2i(tcp)][b2i(v6)][ti*numRcodes+ri]
	if c := slot.Load(); c != nil {
		return c
	}
	proto, family, qtype, rcode := "udp", "1", "other", "other"
	if tcp {
		proto = "tcp"
	}
	if v6 {
		family = "2"
	}
	if ti < len(labelledTypes) {
		qtype = dns.TypeToString[labelledTypes[ti]]
	}
	if ri < numRcodes-1 {
		rcode = dns.RcodeToString[ri]
	}
	c := &children{
		requests:  RequestCount.WithLabelValues(z.si.Server, z.si.Zone, proto, family, qtype),
		responses: ResponseCount.WithLabelValues(z.si.Server, z.si.Zone, rcode),
		duration:  RequestDuration.WithLabelValues(z.si.Server, z.si.Zone, qtype),
		size:      ResponseSize.WithLabelValues(z.si.Server, z.si.Zone, proto),
	}
	if !slot.CompareAndSwap(nil, c) {
		return slot.Load()
	}
	return c
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Name implements plugin.Handler.
func (m *Metrics) Name() string { return "prometheus" }

// ServeDNS implements plugin.Handler.
func (m *Metrics) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	start := time.Now()
	var (
		rcode, size int
		err         error
	)
	if wr, ok := w.(plugin.Written); ok {
		// The server's writer tells what it wrote: no recorder, and no
		// second measuring of the message.
		rcode, err = plugin.NextOrFailure(m.Name(), m.Next, ctx, w, r)
		if wrc, n, ok := wr.Written(); ok {
			rcode, size = wrc, n
		}
	} else {
		rec := plugin.NewRecorder(w)
		rcode, err = plugin.NextOrFailure(m.Name(), m.Next, ctx, rec, r)
		if rec.Msg != nil || rec.Len > 0 {
			rcode = rec.Rcode
		}
		size = rec.Len
	}
	var tcp, v6 bool
	if a := w.RemoteAddr(); a != nil {
		tcp = a.Network() == "tcp"
		if ip := addrIP(a); ip != nil && ip.To4() == nil {
			v6 = true
		}
	}
	c := m.forZone(plugin.ServerRef(ctx)).lookup(tcp, v6, typeIndex(r.Question[0].Qtype), rcodeIndex(rcode))
	c.requests.Inc()
	c.responses.Inc()
	c.duration.Observe(time.Since(start).Seconds())
	c.size.Observe(float64(size))
	return rcode, err
}

// typeLabel bounds the label's values to the common types.
func typeLabel(t uint16) string {
	if i := typeIndex(t); i < len(labelledTypes) {
		return dns.TypeToString[t]
	}
	return "other"
}
