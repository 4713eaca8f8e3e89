package loop

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"

	"navarch.dev/dns/pkg/plugin"
)

func TestLoop(t *testing.T) {
	tests := []struct {
		name     string
		queries  []string
		disabled bool
		wantLoop bool
	}{
		{name: "probe seen once", queries: []string{"1.2.example."}},
		{name: "probe seen three times", queries: []string{"1.2.example.", "1.2.example.", "1.2.example."}, wantLoop: true},
		{name: "other names ignored", queries: []string{"x.example.", "x.example.", "x.example."}},
		{name: "disabled after probing", queries: []string{"1.2.example.", "1.2.example.", "1.2.example."}, disabled: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got error
			l := &Loop{Qname: "1.2.example.", OnLoop: func(err error) { got = err },
				Next: plugin.HandlerFunc(func(context.Context, dns.ResponseWriter, *dns.Msg) (int, error) { return 0, nil })}
			if tt.disabled {
				l.Disable()
			}
			for _, q := range tt.queries {
				l.ServeDNS(context.Background(), nil, new(dns.Msg).SetQuestion(q, dns.TypeHINFO))
			}
			if (got != nil) != tt.wantLoop {
				t.Errorf("loop reported = %v, want %v", got, tt.wantLoop)
			}
		})
	}
}

// TestProbe runs the probe against a real server on loopback whose chain
// is the loop plugin followed by an "upstream" that either answers or
// sends the query back to the server, as a resolver pointing at us would.
func TestProbe(t *testing.T) {
	oldFor, oldGrace := probeFor, grace
	probeFor, grace = 5*time.Second, 300*time.Millisecond
	defer func() { probeFor, grace = oldFor, oldGrace }()
	tests := []struct {
		name     string
		loops    bool
		wantLoop bool
	}{
		{name: "upstream answers", loops: false},
		{name: "upstream forwards back", loops: true, wantLoop: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pc, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := pc.LocalAddr().String()
			found := make(chan error, 1)
			l := &Loop{Qname: "7.8.example.", OnLoop: func(err error) { found <- err }}
			l.Next = plugin.HandlerFunc(func(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
				if tt.loops {
					// Forward to "upstream", which is us again.
					(&dns.Client{Timeout: 500 * time.Millisecond}).Exchange(r.Copy(), addr)
					return dns.RcodeServerFailure, nil
				}
				w.WriteMsg(new(dns.Msg).SetReply(r))
				return dns.RcodeSuccess, nil
			})
			srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
				if rc, _ := l.ServeDNS(context.Background(), w, r); plugin.ClientWrite(rc) {
					w.WriteMsg(new(dns.Msg).SetRcode(r, rc))
				}
			})}
			go srv.ActivateAndServe()
			defer srv.Shutdown()
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() { probe(addr, l, stop); close(done) }()
			select {
			case err := <-found:
				if !tt.wantLoop {
					t.Fatalf("false loop: %v", err)
				}
				close(stop)
				<-done
				return
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("probe did not finish")
			}
			if tt.wantLoop {
				t.Fatal("loop not detected")
			}
			if !l.disabled.Load() {
				t.Error("check still on after probing")
			}
			// Later queries for the probe name are never a loop.
			for range 3 {
				l.ServeDNS(context.Background(), &plugin.NonWriter{}, new(dns.Msg).SetQuestion(l.Qname, dns.TypeHINFO))
			}
			select {
			case err := <-found:
				t.Fatalf("loop reported after probing: %v", err)
			default:
			}
		})
	}
}
