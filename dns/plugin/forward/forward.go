// Package forward sends queries to upstream resolvers: UDP (or the
// client's transport) with a retry over TCP when the answer is truncated,
// upstreams picked at random, round robin or in order, and upstreams that
// fail marked down until a health check succeeds.
package forward

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"

	"navarch.dev/dns/pkg/plugin"
)

// Policies of "policy".
const (
	PolicyRandom     = "random"
	PolicyRoundRobin = "round_robin"
	PolicySequential = "sequential"
)

var (
	requestCount = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "coredns", Subsystem: "forward", Name: "requests_total",
		Help: "Counter of requests made per upstream.",
	}, []string{"to"})
	responseCount = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "coredns", Subsystem: "forward", Name: "responses_total",
		Help: "Counter of responses received per upstream.",
	}, []string{"to", "rcode"})
	requestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "coredns", Subsystem: "forward", Name: "request_duration_seconds",
		Buckets: []float64{.00025, .0005, .001, .002, .004, .008, .016, .032, .064, .128, .256, .512, 1.024, 2.048, 4.096, 8.192},
		Help:    "Histogram of the time each request took.",
	}, []string{"to", "rcode"})
	healthcheckFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "coredns", Subsystem: "forward", Name: "healthcheck_failures_total",
		Help: "Counter of the number of failed healthchecks.",
	}, []string{"to"})
)

// Collectors are the forward plugin's metrics.
var Collectors = []prometheus.Collector{requestCount, responseCount, requestDuration, healthcheckFailures}

// ErrNoHealthy is returned when every upstream failed the query.
var ErrNoHealthy = errors.New("forward: no upstream answered")

// Forward is the plugin.
type Forward struct {
	Next plugin.Handler
	// From is the zone forwarded; Except names subzones that are not.
	From   string
	Except plugin.Zones
	// Policy orders upstreams per query.
	Policy string
	// MaxFails consecutive failures mark an upstream down (0: never).
	MaxFails uint32
	// HealthCheck is how often a failing upstream is probed.
	HealthCheck time.Duration
	// ForceTCP and PreferUDP override the client's transport.
	ForceTCP, PreferUDP bool
	// Timeout bounds one exchange with one upstream.
	Timeout time.Duration

	proxies []*proxy
	rr      atomic.Uint32
	stop    chan struct{}
}

var _ plugin.Handler = (*Forward)(nil)

// New returns a forwarder of from to upstreams ("host:port").
func New(from string, upstreams []string) *Forward {
	f := &Forward{From: from, Policy: PolicyRandom, MaxFails: 2, HealthCheck: 500 * time.Millisecond, Timeout: 2 * time.Second}
	for _, u := range upstreams {
		f.proxies = append(f.proxies, newProxy(u))
	}
	return f
}

// Name implements plugin.Handler.
func (f *Forward) Name() string { return "forward" }

// Start starts the health checker.
func (f *Forward) Start() {
	f.stop = make(chan struct{})
	go f.healthLoop()
}

// Stop stops the health checker and closes pooled sockets.
func (f *Forward) Stop() {
	if f.stop != nil {
		close(f.stop)
	}
	for _, p := range f.proxies {
		p.close()
	}
}

// ServeDNS implements plugin.Handler.
func (f *Forward) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	qname := plugin.Lower(r.Question[0].Name)
	if !plugin.InZone(f.From, qname) || f.Except.Matches(qname) != "" {
		return plugin.NextOrFailure(f.Name(), f.Next, ctx, w, r)
	}
	network := plugin.Proto(w)
	switch {
	case f.ForceTCP:
		network = "tcp"
	case f.PreferUDP:
		network = "udp"
	}
	var lastErr error
	for _, p := range f.order() {
		start := time.Now()
		requestCount.WithLabelValues(p.addr).Inc()
		m, err := p.exchange(r, network, f.Timeout)
		if err == nil && m.Truncated && network == "udp" {
			// The client may accept more than we asked for over UDP:
			// fetch the whole answer and let the server truncate.
			m, err = p.exchange(r, "tcp", f.Timeout)
		}
		if err != nil {
			lastErr = err
			p.fails.Add(1)
			continue
		}
		p.fails.Store(0)
		rc := dns.RcodeToString[m.Rcode]
		responseCount.WithLabelValues(p.addr, rc).Inc()
		requestDuration.WithLabelValues(p.addr, rc).Observe(time.Since(start).Seconds())
		w.WriteMsg(m)
		return m.Rcode, nil
	}
	if lastErr == nil {
		lastErr = ErrNoHealthy
	}
	return dns.RcodeServerFailure, plugin.Error(f.Name(), lastErr)
}

// order returns the upstreams to try, healthy ones first in policy order;
// when all are down they are all tried anyway.
func (f *Forward) order() []*proxy {
	n := len(f.proxies)
	if n == 1 {
		return f.proxies // nothing to order; callers do not modify it
	}
	list := make([]*proxy, 0, n)
	switch f.Policy {
	case PolicyRoundRobin:
		start := int(f.rr.Add(1))
		for i := range n {
			list = append(list, f.proxies[(start+i)%n])
		}
	case PolicySequential:
		list = append(list, f.proxies...)
	default:
		list = append(list, f.proxies...)
		rand.Shuffle(n, func(i, j int) { list[i], list[j] = list[j], list[i] })
	}
	if f.MaxFails == 0 {
		return list
	}
	healthy := list[:0:0]
	var down []*proxy
	for _, p := range list {
		if p.fails.Load() >= f.MaxFails {
			down = append(down, p)
		} else {
			healthy = append(healthy, p)
		}
	}
	return append(healthy, down...)
}

// healthLoop probes failing upstreams with ". IN NS" until they answer.
func (f *Forward) healthLoop() {
	if f.HealthCheck <= 0 {
		return
	}
	t := time.NewTicker(f.HealthCheck)
	defer t.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-t.C:
		}
		for _, p := range f.proxies {
			if p.fails.Load() == 0 {
				continue
			}
			q := new(dns.Msg).SetQuestion(".", dns.TypeNS)
			network := "udp"
			if f.ForceTCP {
				network = "tcp"
			}
			if _, err := p.exchange(q, network, f.HealthCheck); err != nil {
				healthcheckFailures.WithLabelValues(p.addr).Inc()
				p.fails.Add(1)
				continue
			}
			p.fails.Store(0)
		}
	}
}
