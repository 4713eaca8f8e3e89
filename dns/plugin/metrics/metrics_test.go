package metrics

import (
	"context"
	"net"
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
