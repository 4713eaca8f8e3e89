package hosts

import (
	"context"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"navarch.dev/dns/pkg/plugin"
)

type testWriter struct {
	dns.ResponseWriter
	msg *dns.Msg
}

func (w *testWriter) WriteMsg(m *dns.Msg) error { w.msg = m; return nil }

const hostsFile = `
# comment
10.1.0.1 registry.local registry
fd00::1  registry.local
10.1.0.2 db.local # trailing
`

func TestHosts(t *testing.T) {
	tests := []struct {
		name   string
		qname  string
		qtype  uint16
		fall   plugin.Zones
		rcode  int
		answer []string
		next   bool
	}{
		{name: "A", qname: "registry.local.", qtype: dns.TypeA, answer: []string{"10.1.0.1"}},
		{name: "AAAA", qname: "Registry.Local.", qtype: dns.TypeAAAA, answer: []string{"fd00::1"}},
		{name: "short name", qname: "registry.", qtype: dns.TypeA, answer: []string{"10.1.0.1"}},
		{name: "NODATA", qname: "db.local.", qtype: dns.TypeAAAA},
		{name: "PTR", qname: "2.0.1.10.in-addr.arpa.", qtype: dns.TypePTR, answer: []string{"db.local."}},
		{name: "missing is NXDOMAIN", qname: "nope.local.", qtype: dns.TypeA, rcode: dns.RcodeNameError},
		{name: "missing falls through", qname: "nope.local.", qtype: dns.TypeA, fall: plugin.Zones{}, next: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := false
			h := &Hosts{Zones: plugin.Zones{"."}, TTL: 60, Fallthrough: tt.fall,
				Next: plugin.HandlerFunc(func(context.Context, dns.ResponseWriter, *dns.Msg) (int, error) { next = true; return 0, nil })}
			h.Set(Parse(strings.NewReader(hostsFile)))
			w := &testWriter{}
			h.ServeDNS(context.Background(), w, new(dns.Msg).SetQuestion(tt.qname, tt.qtype))
			if next != tt.next {
				t.Fatalf("next = %v, want %v", next, tt.next)
			}
			if tt.next {
				return
			}
			if w.msg.Rcode != tt.rcode {
				t.Errorf("rcode %d, want %d", w.msg.Rcode, tt.rcode)
			}
			var got []string
			for _, rr := range w.msg.Answer {
				f := strings.Fields(rr.String())
				got = append(got, f[len(f)-1])
			}
			if strings.Join(got, ",") != strings.Join(tt.answer, ",") {
				t.Errorf("answer %v, want %v", got, tt.answer)
			}
		})
	}
}
