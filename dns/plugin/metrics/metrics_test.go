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
