package forward

import (
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestMultiplexedQueries sends many queries at once, all with the same
// client ID, to an upstream that answers in random order: each must get
// the answer to its own question, over a handful of sockets.
func TestMultiplexedQueries(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu      sync.Mutex
		sources = map[string]bool{}
	)
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		mu.Lock()
		sources[w.RemoteAddr().String()] = true
		mu.Unlock()
		time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond)
		m := new(dns.Msg).SetReply(r)
		var i int
		fmt.Sscanf(r.Question[0].Name, "q%d.", &i)
		m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: r.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(10, 0, byte(i>>8), byte(i))}}
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })

	p := newProxy(pc.LocalAddr().String())
	defer p.close()
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := new(dns.Msg).SetQuestion(fmt.Sprintf("q%d.example.", i), dns.TypeA)
			r.Id = 7
			m, err := p.exchange(r, "udp", 2*time.Second)
			if err != nil {
				errs <- err
				return
			}
			want := net.IPv4(10, 0, byte(i>>8), byte(i))
			if m.Id != 7 || len(m.Answer) != 1 || !m.Answer[0].(*dns.A).A.Equal(want) {
				errs <- fmt.Errorf("query %d: got %v", i, m)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(sources) > udpSockets {
		t.Errorf("queries came from %d sockets, want at most %d", len(sources), udpSockets)
	}
}
