package log

import (
	"bytes"
	"context"
	"net"
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
	return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4000}
}
func (w *testWriter) WriteMsg(m *dns.Msg) error { w.msg = m; return nil }

func TestLogLine(t *testing.T) {
	tests := []struct {
		name  string
		qname string
		rcode int
		want  []string
	}{
		{name: "answer", qname: "svc.default.svc.cluster.local.", rcode: dns.RcodeSuccess, want: []string{"name=svc.default.svc.cluster.local.", "rcode=NOERROR", "proto=udp", "remote=127.0.0.1:4000", "type=A"}},
		{name: "nxdomain", qname: "nope.example.", rcode: dns.RcodeNameError, want: []string{"rcode=NXDOMAIN", "rflags=qr"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			l := &Log{
				Log: slogTo(&buf),
				Next: plugin.HandlerFunc(func(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
					m := new(dns.Msg).SetRcode(r, tt.rcode)
					w.WriteMsg(m)
					return tt.rcode, nil
				}),
			}
			r := new(dns.Msg).SetQuestion(tt.qname, dns.TypeA)
			w := &testWriter{}
			l.ServeDNS(context.Background(), w, r)
			if w.msg == nil {
				t.Fatal("answer not passed on")
			}
			for _, s := range tt.want {
				if !strings.Contains(buf.String(), s) {
					t.Errorf("log line %q lacks %q", buf.String(), s)
				}
			}
		})
	}
}
