package cache

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"navarch.dev/dns/pkg/plugin"
)

type testWriter struct {
	dns.ResponseWriter
	msg *dns.Msg
}

func (w *testWriter) WriteMsg(m *dns.Msg) error { w.msg = m; return nil }

func (w *testWriter) RemoteAddr() net.Addr {
	return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4000}
}

// Write takes a packed answer (a cache hit).
func (w *testWriter) Write(b []byte) (int, error) {
	w.msg = new(dns.Msg)
	return len(b), w.msg.Unpack(b)
}

func rr(s string) dns.RR {
	r, err := dns.NewRR(s)
	if err != nil {
		panic(err)
	}
	return r
}

const soa = "example.org. 60 IN SOA ns.example.org. host.example.org. 1 7200 1800 86400 20"

func TestCache(t *testing.T) {
	tests := []struct {
		name      string
		rcode     int
		answer    []string
		ns        []string
		truncated bool
		maxTTL    time.Duration
		after     time.Duration // between the two queries
		wantCalls int           // calls to the next plugin for two queries
		wantTTL   uint32        // TTL of the first record of the second answer
	}{
		{name: "positive cached, TTL counts down", answer: []string{"a.example.org. 300 IN A 10.0.0.1"}, after: 10 * time.Second, wantCalls: 1, wantTTL: 290},
		{name: "positive expires", answer: []string{"a.example.org. 30 IN A 10.0.0.1"}, after: 31 * time.Second, wantCalls: 2, wantTTL: 30},
		{name: "TTL capped", answer: []string{"a.example.org. 300 IN A 10.0.0.1"}, maxTTL: 30 * time.Second, after: 31 * time.Second, wantCalls: 2, wantTTL: 300},
		{name: "NXDOMAIN cached for the SOA minimum", rcode: dns.RcodeNameError, ns: []string{soa}, after: 15 * time.Second, wantCalls: 1, wantTTL: 5},
		{name: "NXDOMAIN expires", rcode: dns.RcodeNameError, ns: []string{soa}, after: 21 * time.Second, wantCalls: 2, wantTTL: 60},
		{name: "NODATA cached", ns: []string{soa}, after: time.Second, wantCalls: 1, wantTTL: 19},
		{name: "SERVFAIL not cached", rcode: dns.RcodeServerFailure, wantCalls: 2},
		{name: "truncated not cached", answer: []string{"a.example.org. 300 IN A 10.0.0.1"}, truncated: true, wantCalls: 2, wantTTL: 300},
		{name: "negative without SOA not cached", rcode: dns.RcodeNameError, wantCalls: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Unix(1000, 0)
			calls := 0
			c := New()
			c.Zones = plugin.Zones{"."}
			c.now = func() time.Time { return now }
			if tt.maxTTL > 0 {
				c.Success.MaxTTL = tt.maxTTL
			}
			c.Next = plugin.HandlerFunc(func(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
				calls++
				m := new(dns.Msg).SetRcode(r, tt.rcode)
				m.Truncated = tt.truncated
				for _, s := range tt.answer {
					m.Answer = append(m.Answer, rr(s))
				}
				for _, s := range tt.ns {
					m.Ns = append(m.Ns, rr(s))
				}
				w.WriteMsg(m)
				return tt.rcode, nil
			})
			c.init()
			var last *dns.Msg
			for i := range 2 {
				if i == 1 {
					now = now.Add(tt.after)
				}
				w := &testWriter{}
				r := new(dns.Msg).SetQuestion("A.example.org.", dns.TypeA)
				r.Id = uint16(100 + i)
				c.ServeDNS(context.Background(), w, r)
				last = w.msg
				if last.Id != r.Id {
					t.Fatalf("answer id %d, want %d", last.Id, r.Id)
				}
			}
			if calls != tt.wantCalls {
				t.Errorf("next called %d times, want %d", calls, tt.wantCalls)
			}
			if last.Rcode != tt.rcode {
				t.Errorf("rcode = %d, want %d", last.Rcode, tt.rcode)
			}
			var first dns.RR
			if len(last.Answer) > 0 {
				first = last.Answer[0]
			} else if len(last.Ns) > 0 {
				first = last.Ns[0]
			}
			if first != nil && first.Header().Ttl != tt.wantTTL {
				t.Errorf("TTL = %d, want %d", first.Header().Ttl, tt.wantTTL)
			}
		})
	}
}

func TestCacheCapacityAndKeys(t *testing.T) {
	c := New()
	c.Zones = plugin.Zones{"."}
	c.Success.Capacity = shards // one entry per shard
	calls := 0
	c.Next = plugin.HandlerFunc(func(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
		calls++
		m := new(dns.Msg).SetReply(r)
		m.Answer = []dns.RR{rr(r.Question[0].Name + " 300 IN A 10.0.0.1")}
		w.WriteMsg(m)
		return 0, nil
	})
	c.init()
	for i := range 2000 {
		r := new(dns.Msg).SetQuestion(dns.Fqdn("n"+string(rune('a'+i%26))+time.Duration(i).String()), dns.TypeA)
		c.ServeDNS(context.Background(), &testWriter{}, r)
	}
	if n, _ := c.Len(); n > shards {
		t.Errorf("cache holds %d entries, capacity %d", n, shards)
	}
	// Same name, other type: a separate entry.
	before := calls
	c.ServeDNS(context.Background(), &testWriter{}, new(dns.Msg).SetQuestion("x.example.", dns.TypeA))
	c.ServeDNS(context.Background(), &testWriter{}, new(dns.Msg).SetQuestion("x.example.", dns.TypeAAAA))
	c.ServeDNS(context.Background(), &testWriter{}, new(dns.Msg).SetQuestion("X.EXAMPLE.", dns.TypeA))
	if calls-before != 2 {
		t.Errorf("next called %d times for A, AAAA, A (other case), want 2", calls-before)
	}
}

func TestSetup(t *testing.T) {
	tests := []struct {
		name    string
		d       plugin.Directive
		wantErr bool
		check   func(*Cache) bool
	}{
		{name: "ttl", d: plugin.Directive{Args: []string{"30"}}, check: func(c *Cache) bool { return c.Success.MaxTTL == 30*time.Second && c.Denial.MaxTTL == 30*time.Second }},
		{name: "zones", d: plugin.Directive{Args: []string{"30", "example.org"}}, check: func(c *Cache) bool { return len(c.Zones) == 1 && c.Zones[0] == "example.org." }},
		{name: "success and prefetch", d: plugin.Directive{Block: []plugin.Directive{
			{Name: "success", Args: []string{"100", "60", "1"}}, {Name: "prefetch", Args: []string{"3", "30s", "20%"}}}},
			check: func(c *Cache) bool {
				return c.Success.Capacity == 100 && c.Success.MinTTL == time.Second && c.PrefetchAmount == 3 && c.PrefetchPercent == 20 && c.PrefetchWindow == 30*time.Second
			}},
		{name: "bad ttl", d: plugin.Directive{Args: []string{"0"}}, wantErr: true},
		{name: "bad property", d: plugin.Directive{Block: []plugin.Directive{{Name: "nope"}}}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &plugin.Config{Zones: plugin.Zones{"."}, Host: fakeHost{}}
			err := Setup(cfg, tt.d)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			c := cfg.Build().(*Cache)
			if !tt.check(c) {
				t.Errorf("unexpected cache %+v", c)
			}
		})
	}
}

// TestPackedHit checks what a hit served from the packed answer carries
// over from the query: its ID, letter case, RD/CD bits and EDNS.
func TestPackedHit(t *testing.T) {
	c := New()
	c.Zones = plugin.Zones{"."}
	c.Next = plugin.HandlerFunc(func(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
		m := new(dns.Msg).SetReply(r)
		m.Answer = []dns.RR{rr("a.example.org. 300 IN A 10.0.0.1")}
		w.WriteMsg(m)
		return dns.RcodeSuccess, nil
	})
	c.init()
	c.ServeDNS(context.Background(), &testWriter{}, new(dns.Msg).SetQuestion("a.example.org.", dns.TypeA))

	r := new(dns.Msg).SetQuestion("A.eXample.org.", dns.TypeA)
	r.Id = 4242
	r.CheckingDisabled = true
	w := &testWriter{}
	c.ServeDNS(context.Background(), w, r)
	m := w.msg
	if m == nil || m.Id != 4242 || !m.Response || !m.RecursionDesired || !m.CheckingDisabled || m.Question[0].Name != "A.eXample.org." {
		t.Fatalf("hit = %v", m)
	}
	if len(m.Answer) != 1 || m.IsEdns0() != nil {
		t.Fatalf("hit without EDNS = %v", m)
	}
	r.SetEdns0(4096, false)
	c.ServeDNS(context.Background(), w, r)
	o := w.msg.IsEdns0()
	if o == nil || o.Do() || o.UDPSize() != plugin.EDNSSize || len(w.msg.Answer) != 1 {
		t.Fatalf("hit with EDNS = %v", w.msg)
	}
}

// TestCacheMetricsPerServer queries one cache from two servers at once
// and checks that every hit and miss is counted under its own server.
func TestCacheMetricsPerServer(t *testing.T) {
	c := New()
	c.Zones = plugin.Zones{"metrics.test."}
	c.init()
	c.Next = plugin.HandlerFunc(func(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
		m := new(dns.Msg).SetReply(r)
		m.Answer = []dns.RR{rr(r.Question[0].Name + " 300 IN A 10.0.0.1")}
		w.WriteMsg(m)
		return dns.RcodeSuccess, nil
	})
	servers := []string{"dns://127.0.0.1:5301", "dns://127.0.0.1:5302"}
	const names, rounds = 10, 20
	var wg sync.WaitGroup
	for _, srv := range servers {
		ctx := plugin.WithServer(context.Background(), srv, "metrics.test.")
		// Each name once, then again and again from several goroutines.
		for i := range names {
			c.ServeDNS(ctx, &testWriter{}, new(dns.Msg).SetQuestion(fmt.Sprintf("n%d.metrics.test.", i), dns.TypeA))
		}
		for range 4 {
			wg.Go(func() {
				for range rounds / 4 {
					for i := range names {
						w := &testWriter{}
						c.ServeDNS(ctx, w, new(dns.Msg).SetQuestion(fmt.Sprintf("n%d.metrics.test.", i), dns.TypeA))
						if w.msg == nil || len(w.msg.Answer) != 1 {
							t.Errorf("no answer for n%d: %v", i, w.msg)
						}
					}
				}
			})
		}
	}
	wg.Wait()
	// The first server missed each name once; the second found them all
	// cached already.
	want := []struct{ misses, hits float64 }{{names, names * rounds}, {0, names * (rounds + 1)}}
	for i, srv := range servers {
		if got := testutil.ToFloat64(cacheMisses.WithLabelValues(srv, "metrics.test.")); got != want[i].misses {
			t.Errorf("%s: misses = %v, want %v", srv, got, want[i].misses)
		}
		if got := testutil.ToFloat64(cacheHits.WithLabelValues(srv, "success", "metrics.test.")); got != want[i].hits {
			t.Errorf("%s: hits = %v, want %v", srv, got, want[i].hits)
		}
	}
}
