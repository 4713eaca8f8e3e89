// Package metrics is the prometheus plugin: it counts queries and answers
// by type and rcode, measures latency, and serves /metrics (which also
// carries the other plugins' metrics, such as the cache's hits and misses).
// Metric names follow CoreDNS, so dashboards carry over.
package metrics

import (
	"context"
	"sync"
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

	// resolved caches the metric children of each label combination seen
	// (childKey → *children), so a query costs one map read instead of
	// hashing label strings into four vectors.
	resolved sync.Map
}

var _ plugin.Handler = (*Metrics)(nil)

type childKey struct {
	si     *plugin.ServerInfo
	tcp    bool
	family uint8
	qtype  uint16
	rcode  int
}

type children struct {
	requests, responses prometheus.Counter
	duration, size      prometheus.Observer
}

func (m *Metrics) lookup(k childKey) *children {
	if c, ok := m.resolved.Load(k); ok {
		return c.(*children)
	}
	proto, family, qtype := "udp", "1", typeLabel(k.qtype)
	if k.tcp {
		proto = "tcp"
	}
	if k.family == 2 {
		family = "2"
	}
	c := &children{
		requests:  RequestCount.WithLabelValues(k.si.Server, k.si.Zone, proto, family, qtype),
		responses: ResponseCount.WithLabelValues(k.si.Server, k.si.Zone, rcodeLabel(k.rcode)),
		duration:  RequestDuration.WithLabelValues(k.si.Server, k.si.Zone, qtype),
		size:      ResponseSize.WithLabelValues(k.si.Server, k.si.Zone, proto),
	}
	v, _ := m.resolved.LoadOrStore(k, c)
	return v.(*children)
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
	k := childKey{si: plugin.ServerRef(ctx), family: 1, qtype: r.Question[0].Qtype, rcode: rcode}
	if a := w.RemoteAddr(); a != nil {
		k.tcp = a.Network() == "tcp"
		if ip := addrIP(a); ip != nil && ip.To4() == nil {
			k.family = 2
		}
	}
	if typeLabel(k.qtype) == "other" {
		k.qtype = 0 // one child for all other types
	}
	if _, ok := dns.RcodeToString[k.rcode]; !ok {
		k.rcode = -1
	}
	c := m.lookup(k)
	c.requests.Inc()
	c.responses.Inc()
	c.duration.Observe(time.Since(start).Seconds())
	c.size.Observe(float64(size))
	return rcode, err
}

// typeLabel bounds the label's values to the common types.
func typeLabel(t uint16) string {
	switch t {
	case dns.TypeA, dns.TypeAAAA, dns.TypeSRV, dns.TypePTR, dns.TypeCNAME, dns.TypeTXT, dns.TypeMX,
		dns.TypeNS, dns.TypeSOA, dns.TypeHINFO, dns.TypeANY, dns.TypeDS, dns.TypeHTTPS:
		return dns.TypeToString[t]
	}
	return "other"
}

func rcodeLabel(rc int) string {
	if s, ok := dns.RcodeToString[rc]; ok {
		return s
	}
	return "other"
}
