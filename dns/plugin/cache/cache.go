// Package cache keeps answers (positive and negative) for the rest of the
// chain, for at most the TTL of their records, capped.
package cache

import (
	"context"
	"hash/maphash"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"

	"navarch.dev/dns/pkg/plugin"
)

const shards = 256

// Defaults of the cache directive.
const (
	DefaultCapacity   = 9984
	DefaultMaxTTL     = time.Hour
	DefaultMaxDenyTTL = 30 * time.Minute
	DefaultMinTTL     = 5 * time.Second
)

var (
	cacheEntries = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "coredns", Subsystem: "cache", Name: "entries",
		Help: "The number of elements in the cache.",
	}, []string{"server", "type", "zones"})
	cacheHits = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "coredns", Subsystem: "cache", Name: "hits_total",
		Help: "The count of cache hits.",
	}, []string{"server", "type", "zones"})
	cacheMisses = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "coredns", Subsystem: "cache", Name: "misses_total",
		Help: "The count of cache misses.",
	}, []string{"server", "zones"})
	cachePrefetches = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "coredns", Subsystem: "cache", Name: "prefetch_total",
		Help: "The number of times the cache has prefetched a cached item.",
	}, []string{"server", "zones"})
	cacheEvictions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "coredns", Subsystem: "cache", Name: "evictions_total",
		Help: "The count of cache evictions.",
	}, []string{"server", "type", "zones"})
)

// Collectors are the cache's metrics.
var Collectors = []prometheus.Collector{cacheEntries, cacheHits, cacheMisses, cachePrefetches, cacheEvictions}

// Params bound one kind (success or denial) of entries.
type Params struct {
	Capacity       int
	MaxTTL, MinTTL time.Duration
}

// Cache is the plugin.
type Cache struct {
	Next    plugin.Handler
	Zones   plugin.Zones
	Success Params
	Denial  Params
	// Prefetch refreshes an entry in the background when it was hit at
	// least PrefetchAmount times within PrefetchWindow and has less than
	// PrefetchPercent of its TTL left. 0 disables.
	PrefetchAmount  int
	PrefetchWindow  time.Duration
	PrefetchPercent int

	// now is time.Now, replaceable in tests.
	now func() time.Time

	seed     maphash.Seed
	pos, neg *store
	zonesLbl string
	// servers holds the metric children of each server seen (a cache
	// serves the few addresses of its server block): a query compares a
	// name or two instead of hashing labels.
	servers   atomic.Pointer[[]*serverMetrics]
	serversMu sync.Mutex
}

// serverMetrics are the metric children of one server; index 0 of the
// arrays is success, 1 denial.
type serverMetrics struct {
	server             string
	hits, evictions    [2]prometheus.Counter
	entries            [2]prometheus.Gauge
	misses, prefetches prometheus.Counter
}

func (c *Cache) metrics(server string) *serverMetrics {
	if ms := c.servers.Load(); ms != nil {
		for _, m := range *ms {
			if m.server == server {
				return m
			}
		}
	}
	c.serversMu.Lock()
	defer c.serversMu.Unlock()
	var old []*serverMetrics
	if ms := c.servers.Load(); ms != nil {
		old = *ms
		for _, m := range old {
			if m.server == server {
				return m
			}
		}
	}
	m := &serverMetrics{
		server:     server,
		misses:     cacheMisses.WithLabelValues(server, c.zonesLbl),
		prefetches: cachePrefetches.WithLabelValues(server, c.zonesLbl),
	}
	for i, kind := range [2]string{"success", "denial"} {
		m.hits[i] = cacheHits.WithLabelValues(server, kind, c.zonesLbl)
		m.evictions[i] = cacheEvictions.WithLabelValues(server, kind, c.zonesLbl)
		m.entries[i] = cacheEntries.WithLabelValues(server, kind, c.zonesLbl)
	}
	ms := append(old[:len(old):len(old)], m)
	c.servers.Store(&ms)
	return m
}

var _ plugin.Handler = (*Cache)(nil)

// New returns a cache with the default parameters.
func New() *Cache {
	return &Cache{
		Success:         Params{Capacity: DefaultCapacity, MaxTTL: DefaultMaxTTL, MinTTL: DefaultMinTTL},
		Denial:          Params{Capacity: DefaultCapacity, MaxTTL: DefaultMaxDenyTTL, MinTTL: DefaultMinTTL},
		PrefetchWindow:  time.Minute,
		PrefetchPercent: 10,
	}
}

// init readies the stores; Setup and tests call it once parameters are set.
func (c *Cache) init() {
	c.seed = maphash.MakeSeed()
	c.pos = newStore(c.Success.Capacity)
	c.neg = newStore(c.Denial.Capacity)
	if c.now == nil {
		c.now = time.Now
	}
	for i, z := range c.Zones {
		if i > 0 {
			c.zonesLbl += ","
		}
		c.zonesLbl += z
	}
}

// Name implements plugin.Handler.
func (c *Cache) Name() string { return "cache" }

// Len returns the number of success and denial entries.
func (c *Cache) Len() (success, denial int) { return c.pos.len(), c.neg.len() }

// ServeDNS implements plugin.Handler.
func (c *Cache) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	q := r.Question[0]
	qname := plugin.Lower(q.Name)
	if c.Zones.Matches(qname) == "" {
		return plugin.NextOrFailure(c.Name(), c.Next, ctx, w, r)
	}
	k := c.key(qname, q.Qtype, q.Qclass, plugin.Do(r), r.CheckingDisabled)
	now := c.now()
	server := plugin.ServerRef(ctx).Server
	cm := c.metrics(server)
	for i, s := range [2]*store{c.pos, c.neg} {
		it := s.get(k, now)
		if it == nil || it.qname != qname || it.qtype != q.Qtype {
			continue
		}
		cm.hits[i].Inc()
		age, left := it.ages(now)
		if !it.write(w, r, age, left) {
			w.WriteMsg(it.reply(r, now))
		}
		if c.shouldPrefetch(it, now) {
			cm.prefetches.Inc()
			go c.prefetch(ctx, plugin.Detach(w), r.Copy(), k, qname)
		}
		return it.rcode, nil
	}
	cm.misses.Inc()
	cw := &writer{ResponseWriter: w, c: c, key: k, qname: qname, server: server}
	return plugin.NextOrFailure(c.Name(), c.Next, ctx, cw, r)
}

func (c *Cache) key(qname string, qtype, qclass uint16, do, cd bool) uint64 {
	var h maphash.Hash
	h.SetSeed(c.seed)
	h.WriteString(qname)
	var b [3]byte
	b[0], b[1] = byte(qtype>>8), byte(qtype)
	if do {
		b[2] |= 1
	}
	if cd {
		b[2] |= 2
	}
	if qclass != dns.ClassINET {
		b[2] |= 4
	}
	h.Write(b[:])
	return h.Sum64()
}

func (c *Cache) shouldPrefetch(it *item, now time.Time) bool {
	if c.PrefetchAmount <= 0 {
		return false
	}
	hits := it.hit(now, c.PrefetchWindow)
	left := it.expires.Sub(now)
	return hits >= c.PrefetchAmount && left*100 <= it.ttl*time.Duration(c.PrefetchPercent) &&
		it.prefetching.CompareAndSwap(false, true)
}

// prefetch asks the chain again for an entry about to expire.
func (c *Cache) prefetch(ctx context.Context, w dns.ResponseWriter, r *dns.Msg, k uint64, qname string) {
	nw := &plugin.NonWriter{ResponseWriter: w}
	cw := &writer{ResponseWriter: nw, c: c, key: k, qname: qname, server: plugin.ServerRef(ctx).Server}
	plugin.NextOrFailure(c.Name(), c.Next, ctx, cw, r)
}

// writer stores the answer of the rest of the chain on its way out.
type writer struct {
	dns.ResponseWriter
	c      *Cache
	key    uint64
	qname  string
	server string
}

func (w *writer) WriteMsg(m *dns.Msg) error {
	w.c.set(w.key, w.qname, m, w.server)
	return w.ResponseWriter.WriteMsg(m)
}

// set caches m if it is cacheable.
func (c *Cache) set(k uint64, qname string, m *dns.Msg, server string) {
	if m.Truncated || len(m.Question) != 1 {
		return
	}
	var (
		s    *store
		p    Params
		kind int // 0 success, 1 denial
		ttl  time.Duration
	)
	switch {
	case m.Rcode == dns.RcodeSuccess && len(m.Answer) > 0:
		s, p, kind = c.pos, c.Success, 0
		ttl = minTTL(m.Answer, m.Ns)
	case m.Rcode == dns.RcodeNameError || m.Rcode == dns.RcodeSuccess:
		s, p, kind = c.neg, c.Denial, 1
		ttl = -1
		for _, rr := range m.Ns {
			if soa, ok := rr.(*dns.SOA); ok {
				ttl = time.Duration(min(soa.Hdr.Ttl, soa.Minttl)) * time.Second
			}
		}
		if ttl < 0 {
			return // no SOA: not a proper negative answer
		}
	default:
		return // SERVFAIL and friends are not cached
	}
	ttl = max(min(ttl, p.MaxTTL), p.MinTTL)
	if ttl <= 0 {
		return
	}
	// Pack a copy without OPT: the records themselves are not modified.
	cp := &dns.Msg{MsgHdr: m.MsgHdr, Question: m.Question, Answer: clone(m.Answer), Ns: clone(m.Ns), Extra: clone(m.Extra)}
	cp.Question = []dns.Question{{Name: qname, Qtype: m.Question[0].Qtype, Qclass: m.Question[0].Qclass}}
	pk, err := pack(cp)
	if err != nil {
		return
	}
	now := c.now()
	it := &item{
		qname:         qname,
		qtype:         m.Question[0].Qtype,
		rcode:         m.Rcode,
		authoritative: m.Authoritative,
		ra:            m.RecursionAvailable,
		ad:            m.AuthenticatedData,
		packed:        pk,
		stored:        now,
		expires:       now.Add(ttl),
		ttl:           ttl,
	}
	sm := c.metrics(server)
	if s.set(k, it, now) {
		sm.evictions[kind].Inc()
	}
	sm.entries[kind].Set(float64(s.len()))
}

func minTTL(sets ...[]dns.RR) time.Duration {
	m := uint32(1<<32 - 1)
	for _, set := range sets {
		for _, rr := range set {
			if rr.Header().Rrtype == dns.TypeOPT {
				continue
			}
			m = min(m, rr.Header().Ttl)
		}
	}
	return time.Duration(m) * time.Second
}

// clone copies the slice (not the records) without OPT records.
func clone(rrs []dns.RR) []dns.RR {
	out := make([]dns.RR, 0, len(rrs))
	for _, rr := range rrs {
		if rr.Header().Rrtype != dns.TypeOPT {
			out = append(out, rr)
		}
	}
	return out
}

// item is one cached answer, packed; it is never modified once stored.
type item struct {
	qname             string
	qtype             uint16
	rcode             int
	authoritative, ra bool
	ad                bool
	packed            *packed
	stored, expires   time.Time
	ttl               time.Duration
	prefetching       atomic.Bool
	mu                sync.Mutex
	hits              int
	windowStart       time.Time
}

// hit counts a hit and returns the hits in the current window.
func (it *item) hit(now time.Time, window time.Duration) int {
	it.mu.Lock()
	defer it.mu.Unlock()
	if now.Sub(it.windowStart) > window {
		it.windowStart, it.hits = now, 0
	}
	it.hits++
	return it.hits
}

// store is a sharded map with a capacity; when full, a random entry of the
// shard goes.
type store struct {
	shards [shards]shard
	perCap int
	count  atomic.Int64
}

type shard struct {
	mu    sync.RWMutex
	items map[uint64]*item
}

func newStore(capacity int) *store {
	s := &store{perCap: max(1, capacity/shards)}
	for i := range s.shards {
		s.shards[i].items = map[uint64]*item{}
	}
	return s
}

func (s *store) len() int { return int(s.count.Load()) }

func (s *store) get(k uint64, now time.Time) *item {
	sh := &s.shards[k%shards]
	sh.mu.RLock()
	it := sh.items[k]
	sh.mu.RUnlock()
	if it == nil || !now.Before(it.expires) {
		return nil
	}
	return it
}

// set stores it and reports whether another entry was evicted for it.
func (s *store) set(k uint64, it *item, now time.Time) (evicted bool) {
	sh := &s.shards[k%shards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, ok := sh.items[k]; !ok {
		if len(sh.items) >= s.perCap {
			// Expired entries go first, else a random one.
			victim, n := uint64(0), rand.IntN(len(sh.items))
			for key, old := range sh.items {
				victim = key
				if !now.Before(old.expires) || n == 0 {
					break
				}
				n--
			}
			delete(sh.items, victim)
			s.count.Add(-1)
			evicted = true
		}
		s.count.Add(1)
	}
	sh.items[k] = it
	return evicted
}
