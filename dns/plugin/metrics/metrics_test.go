package metrics

import (
	"context"
	"net"
	"sync"
	"testing"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"navarch.dev/dns/pkg/plugin"
)

type testWriter struct{ dns.ResponseWriter }

func (testWriter) RemoteAddr() net.Addr      { return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4000} }
func (testWriter) WriteMsg(m *dns.Msg) error { return nil }

func TestMetricsCount(t *testing.T) {
	tests := []struct {
		name  string
		qtype uint16
		rcode int
	}{
		{name: "A noerror", qtype: dns.TypeA, rcode: dns.RcodeSuccess},
		{name: "SRV nxdomain", qtype: dns.TypeSRV, rcode: dns.RcodeNameError},
		{name: "odd type", qtype: dns.TypeNAPTR, rcode: dns.RcodeSuccess},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := plugin.WithServer(context.Background(), "dns://:53", "test."+tt.name+".")
			si := plugin.Server(ctx)
			m := &Metrics{Next: plugin.HandlerFunc(func(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
				w.WriteMsg(new(dns.Msg).SetRcode(r, tt.rcode))
				return tt.rcode, nil
			})}
			r := new(dns.Msg).SetQuestion("x.example.", tt.qtype)
			m.ServeDNS(ctx, testWriter{}, r)
			if got := testutil.ToFloat64(RequestCount.WithLabelValues(si.Server, si.Zone, "udp", "1", typeLabel(tt.qtype))); got != 1 {
				t.Errorf("requests = %v, want 1", got)
			}
			if got := testutil.ToFloat64(ResponseCount.WithLabelValues(si.Server, si.Zone, dns.RcodeToString[tt.rcode])); got != 1 {
				t.Errorf("responses = %v, want 1", got)
			}
		})
	}
}

// writtenWriter is a writer like the server's: it reports what it wrote.
type writtenWriter struct {
	testWriter
	rcode, size int
	written     bool
}

func (w *writtenWriter) WriteMsg(m *dns.Msg) error {
	b, err := m.Pack()
	w.rcode, w.size, w.written = m.Rcode, len(b), true
	return err
}

func (w *writtenWriter) Written() (int, int, bool) { return w.rcode, w.size, w.written }

// TestMetricsFromServerWriter checks that with the server's writer the
// response code comes from what was written, not from what the chain
// returned.
func TestMetricsFromServerWriter(t *testing.T) {
	ctx := plugin.WithServer(context.Background(), "dns://:53", "written.test.")
	si := plugin.Server(ctx)
	m := &Metrics{Next: plugin.HandlerFunc(func(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
		w.WriteMsg(new(dns.Msg).SetRcode(r, dns.RcodeNameError))
		return dns.RcodeSuccess, nil
	})}
	w := &writtenWriter{}
	m.ServeDNS(ctx, w, new(dns.Msg).SetQuestion("x.example.", dns.TypeA))
	if !w.written || w.size == 0 {
		t.Fatal("nothing written")
	}
	if got := testutil.ToFloat64(ResponseCount.WithLabelValues(si.Server, si.Zone, "NXDOMAIN")); got != 1 {
		t.Errorf("NXDOMAIN responses = %v, want 1", got)
	}
	if got := testutil.ToFloat64(ResponseCount.WithLabelValues(si.Server, si.Zone, "NOERROR")); got != 0 {
		t.Errorf("NOERROR responses = %v, want 0", got)
	}
}

type addrWriter struct {
	dns.ResponseWriter
	addr net.Addr
}

func (w addrWriter) RemoteAddr() net.Addr      { return w.addr }
func (w addrWriter) WriteMsg(m *dns.Msg) error { return nil }

// TestMetricsCountEveryQuery serves queries from many goroutines at once,
// over both transports and families, in two zones, with labelled and
// other types and rcodes, and checks that each query is counted once
// under its own labels.
func TestMetricsCountEveryQuery(t *testing.T) {
	udp4 := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4000}
	udp6 := &net.UDPAddr{IP: net.IPv6loopback, Port: 4000}
	tcp4 := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4000}
	kinds := []struct {
		name          string
		addr          net.Addr
		qtype         uint16
		rcode         int
		proto, family string
		typ, rc       string
	}{
		{"udp4 A", udp4, dns.TypeA, dns.RcodeSuccess, "udp", "1", "A", "NOERROR"},
		{"udp6 AAAA nxdomain", udp6, dns.TypeAAAA, dns.RcodeNameError, "udp", "2", "AAAA", "NXDOMAIN"},
		{"tcp4 SRV", tcp4, dns.TypeSRV, dns.RcodeSuccess, "tcp", "1", "SRV", "NOERROR"},
		{"other type", udp4, dns.TypeNAPTR, dns.RcodeServerFailure, "udp", "1", "other", "SERVFAIL"},
		{"other type too", udp4, dns.TypeLOC, dns.RcodeServerFailure, "udp", "1", "other", "SERVFAIL"},
		{"unnamed rcode", udp4, dns.TypeA, 30, "udp", "1", "A", "other"},
	}
	zones := []context.Context{
		plugin.WithServer(context.Background(), "dns://:5353", "every.test."),
		plugin.WithServer(context.Background(), "dns://:5353", "other.every.test."),
	}
	m := &Metrics{Next: plugin.HandlerFunc(func(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
		rcode := int(r.Id) // the test puts the rcode to answer in the ID
		w.WriteMsg(new(dns.Msg).SetRcode(r, rcode))
		return rcode, nil
	})}
	const perKind = 200
	var wg sync.WaitGroup
	for _, ctx := range zones {
		for _, k := range kinds {
			for range 4 {
				wg.Go(func() {
					for range perKind / 4 {
						r := new(dns.Msg).SetQuestion("x.every.test.", k.qtype)
						r.Id = uint16(k.rcode)
						m.ServeDNS(ctx, addrWriter{addr: k.addr}, r)
					}
				})
			}
		}
	}
	wg.Wait()
	for _, ctx := range zones {
		si := plugin.Server(ctx)
		want := map[string]float64{} // the two "other" kinds share labels
		for _, k := range kinds {
			want[k.proto+k.family+k.typ] += perKind
		}
		for _, k := range kinds {
			t.Run(si.Zone+" "+k.name, func(t *testing.T) {
				if got := testutil.ToFloat64(RequestCount.WithLabelValues(si.Server, si.Zone, k.proto, k.family, k.typ)); got != want[k.proto+k.family+k.typ] {
					t.Errorf("requests = %v, want %v", got, want[k.proto+k.family+k.typ])
				}
			})
		}
		responses := map[string]float64{}
		for _, k := range kinds {
			responses[k.rc] += perKind
		}
		for rc, n := range responses {
			if got := testutil.ToFloat64(ResponseCount.WithLabelValues(si.Server, si.Zone, rc)); got != n {
				t.Errorf("%s: %s responses = %v, want %v", si.Zone, rc, got, n)
			}
		}
	}
}
