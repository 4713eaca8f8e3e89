package forward

import (
	"context"
	"net"
	"sync/atomic"
	"testing"

	"github.com/miekg/dns"

	"navarch.dev/dns/pkg/plugin"
)

// upstream is a test resolver on loopback (UDP and TCP, one port) that
// answers A queries with ip and, if truncate, sets TC over UDP.
type upstream struct {
	addr     string
	udpCount atomic.Int32
	tcpCount atomic.Int32
}

func startUpstream(t *testing.T, ip string, truncate bool) *upstream {
	t.Helper()
	u := &upstream{}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u.addr = pc.LocalAddr().String()
	ln, err := net.Listen("tcp", u.addr)
	if err != nil {
		t.Fatal(err)
	}
	h := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg).SetReply(r)
		m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: r.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.ParseIP(ip)}}
		if w.RemoteAddr().Network() == "udp" {
			u.udpCount.Add(1)
			if truncate {
				m.Answer = nil
				m.Truncated = true
			}
		} else {
			u.tcpCount.Add(1)
		}
		w.WriteMsg(m)
	})
	for _, s := range []*dns.Server{{PacketConn: pc, Handler: h}, {Listener: ln, Handler: h}} {
		go s.ActivateAndServe()
		t.Cleanup(func() { s.Shutdown() })
	}
	return u
}

// deadAddr is a loopback port nothing listens on.
func deadAddr(t *testing.T) string {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := pc.LocalAddr().String()
	pc.Close()
	return a
}

type testWriter struct {
	dns.ResponseWriter
	network string
	msg     *dns.Msg
}

func (w *testWriter) RemoteAddr() net.Addr {
	if w.network == "tcp" {
		return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5000}
	}
	return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5000}
}
func (w *testWriter) WriteMsg(m *dns.Msg) error { w.msg = m; return nil }

func TestForward(t *testing.T) {
	good := startUpstream(t, "192.0.2.1", false)
	trunc := startUpstream(t, "192.0.2.2", true)
	tests := []struct {
		name      string
		upstreams []string
		policy    string
		qname     string
		network   string
		except    plugin.Zones
		wantIP    string
		wantNext  bool
		wantFail  bool
		check     func(t *testing.T)
	}{
		{name: "udp", upstreams: []string{good.addr}, qname: "example.org.", wantIP: "192.0.2.1"},
		{name: "tcp client uses tcp", upstreams: []string{good.addr}, qname: "example.org.", network: "tcp", wantIP: "192.0.2.1"},
		{name: "failover past a dead upstream", upstreams: []string{deadAddr(t), good.addr}, policy: PolicySequential, qname: "example.org.", wantIP: "192.0.2.1"},
		{name: "truncated answer retried over tcp", upstreams: []string{trunc.addr}, qname: "big.example.org.", wantIP: "192.0.2.2",
			check: func(t *testing.T) {
				if trunc.tcpCount.Load() == 0 {
					t.Error("no TCP retry reached the upstream")
				}
			}},
		{name: "except passes on", upstreams: []string{good.addr}, qname: "a.internal.", except: plugin.Zones{"internal."}, wantNext: true},
		{name: "all dead is SERVFAIL", upstreams: []string{deadAddr(t)}, qname: "example.org.", wantFail: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := New(".", tt.upstreams)
			f.Except = tt.except
			if tt.policy != "" {
				f.Policy = tt.policy
			}
			next := false
			f.Next = plugin.HandlerFunc(func(context.Context, dns.ResponseWriter, *dns.Msg) (int, error) {
				next = true
				return 0, nil
			})
			f.Start()
			defer f.Stop()
			w := &testWriter{network: tt.network}
			r := new(dns.Msg).SetQuestion(tt.qname, dns.TypeA)
			rcode, err := f.ServeDNS(context.Background(), w, r)
			if next != tt.wantNext {
				t.Fatalf("passed on = %v, want %v", next, tt.wantNext)
			}
			if tt.wantNext {
				return
			}
			if tt.wantFail {
				if rcode != dns.RcodeServerFailure || err == nil {
					t.Fatalf("rcode %d err %v, want SERVFAIL and an error", rcode, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if w.msg == nil || len(w.msg.Answer) != 1 || w.msg.Answer[0].(*dns.A).A.String() != tt.wantIP {
				t.Fatalf("answer %v, want %s", w.msg, tt.wantIP)
			}
			if tt.check != nil {
				tt.check(t)
			}
		})
	}
}

func TestPolicyAndHealth(t *testing.T) {
	a, b := startUpstream(t, "192.0.2.1", false), startUpstream(t, "192.0.2.2", false)
	f := New(".", []string{a.addr, b.addr})
	f.Policy = PolicyRoundRobin
	for range 10 {
		if _, err := f.ServeDNS(context.Background(), &testWriter{}, new(dns.Msg).SetQuestion("x.", dns.TypeA)); err != nil {
			t.Fatal(err)
		}
	}
	if a.udpCount.Load() != 5 || b.udpCount.Load() != 5 {
		t.Errorf("round robin split %d/%d, want 5/5", a.udpCount.Load(), b.udpCount.Load())
	}
	// An upstream with MaxFails failures is tried last.
	f.proxies[0].fails.Store(f.MaxFails)
	for range 4 {
		if got := f.order(); got[0] != f.proxies[1] {
			t.Fatalf("down upstream ordered first")
		}
	}
}

func TestParseTo(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{in: "127.0.0.1", want: "127.0.0.1:53"},
		{in: "127.0.0.1:5353", want: "127.0.0.1:5353"},
		{in: "dns://[::1]:53", want: "[::1]:53"},
		{in: "not-an-address", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseTo(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v", err)
			}
			if !tt.wantErr && (len(got) != 1 || got[0] != tt.want) {
				t.Errorf("got %v, want %s", got, tt.want)
			}
		})
	}
}
