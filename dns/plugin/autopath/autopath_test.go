package autopath

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"navarch.dev/dns/pkg/plugin"
)

type testWriter struct {
	dns.ResponseWriter
	msg *dns.Msg
}

func (w *testWriter) RemoteAddr() net.Addr {
	return &net.UDPAddr{IP: net.IPv4(10, 0, 3, 3), Port: 4000}
}
func (w *testWriter) WriteMsg(m *dns.Msg) error { w.msg = m; return nil }

// zoneData answers A for the names it holds, NXDOMAIN otherwise.
func zoneData(names ...string) plugin.Handler {
	return plugin.HandlerFunc(func(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
		m := new(dns.Msg).SetReply(r)
		for _, n := range names {
			if n == r.Question[0].Name {
				m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: n, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 5}, A: net.IPv4(10, 96, 0, 1)}}
			}
		}
		if len(m.Answer) == 0 {
			m.Rcode = dns.RcodeNameError
		}
		w.WriteMsg(m)
		return m.Rcode, nil
	})
}

func TestAutoPath(t *testing.T) {
	search := []string{"default.svc.cluster.local.", "svc.cluster.local.", "cluster.local.", ""}
	tests := []struct {
		name   string
		qname  string
		search []string
		want   []string // answer types and targets
		rcode  int
	}{
		{name: "same namespace service", qname: "web.default.svc.cluster.local.", search: search,
			want: []string{"A web.default.svc.cluster.local."}},
		{name: "other namespace service", qname: "web.db.default.svc.cluster.local.", search: search,
			want: []string{"CNAME web.db.svc.cluster.local.", "A web.db.svc.cluster.local."}},
		{name: "external name", qname: "example.org.default.svc.cluster.local.", search: search,
			want: []string{"CNAME example.org.", "A example.org."}},
		{name: "not a search name", qname: "example.org.", search: search, rcode: dns.RcodeSuccess,
			want: []string{"A example.org."}},
		{name: "unknown client", qname: "web.db.default.svc.cluster.local.", rcode: dns.RcodeNameError},
		{name: "nothing found", qname: "nope.default.svc.cluster.local.", search: search, rcode: dns.RcodeNameError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &AutoPath{Zones: plugin.Zones{"."}, Search: func(netip.Addr) []string { return tt.search },
				Next: zoneData("web.default.svc.cluster.local.", "web.db.svc.cluster.local.", "example.org.")}
			w := &testWriter{}
			a.ServeDNS(context.Background(), w, new(dns.Msg).SetQuestion(tt.qname, dns.TypeA))
			if w.msg.Rcode != tt.rcode {
				t.Fatalf("rcode %d, want %d", w.msg.Rcode, tt.rcode)
			}
			if w.msg.Question[0].Name != tt.qname {
				t.Errorf("question %s, want %s", w.msg.Question[0].Name, tt.qname)
			}
			var got []string
			for _, rr := range w.msg.Answer {
				switch v := rr.(type) {
				case *dns.CNAME:
					got = append(got, "CNAME "+v.Target)
				case *dns.A:
					got = append(got, "A "+v.Hdr.Name)
				}
			}
			if strings.Join(got, ";") != strings.Join(tt.want, ";") {
				t.Errorf("answer %q, want %q", got, tt.want)
			}
		})
	}
}
