package server

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"navarch.dev/dns/pkg/plugin"
)

// runCorefile runs a server on corefile until the test ends.
func runCorefile(t *testing.T, corefile string) {
	t.Helper()
	hosts := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(hosts, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	corefile = strings.ReplaceAll(corefile, "HOSTSFILE", hosts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	started := make(chan *Instance, 1)
	go func() {
		done <- Run(ctx, Options{Corefile: []byte(corefile), started: func(in *Instance) { started <- in }})
	}()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("Run: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

// TestUDPWildcardAnswersFromQueriedAddress binds all addresses and queries
// several loopback addresses from connected sockets, which accept only
// answers from the address they sent to.
func TestUDPWildcardAnswersFromQueriedAddress(t *testing.T) {
	port := freePort(t)
	runCorefile(t, fmt.Sprintf(`.:%d {
    hosts HOSTSFILE {
        192.0.2.7 web.test
    }
}
`, port))
	for _, host := range []string{"127.0.0.1", "127.0.0.2", "::1"} {
		t.Run(host, func(t *testing.T) {
			m := query(t, "udp", net.JoinHostPort(host, fmt.Sprint(port)), "web.test.", dns.TypeA)
			if values(m) != "192.0.2.7" {
				t.Errorf("answer = %q, want 192.0.2.7", values(m))
			}
		})
	}
}

// TestUDPBlockedQueriesDoNotStall holds many forwarded queries at the
// upstream and checks that they are all in flight at once and that a name
// the server answers itself is still answered meanwhile.
func TestUDPBlockedQueriesDoNotStall(t *testing.T) {
	upstream := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	release := make(chan struct{})
	var held atomic.Int32
	up := &dns.Server{Addr: upstream, Net: "udp", Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		held.Add(1)
		<-release
		m := new(dns.Msg).SetReply(r)
		m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: r.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 5}, A: net.IPv4(192, 0, 2, 9)}}
		w.WriteMsg(m)
	})}
	upStarted := make(chan struct{})
	up.NotifyStartedFunc = func() { close(upStarted) }
	go up.ListenAndServe()
	<-upStarted
	defer up.Shutdown()
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	defer unblock()

	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	runCorefile(t, fmt.Sprintf(`.:%d {
    bind 127.0.0.1
    hosts HOSTSFILE {
        192.0.2.7 local.test
        fallthrough
    }
    forward . %s {
        max_fails 0
    }
}
`, port, upstream))
	const blocked = 40
	var wg sync.WaitGroup
	answers := make(chan string, blocked)
	for i := range blocked {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &dns.Client{Timeout: 10 * time.Second}
			m, _, err := c.Exchange(new(dns.Msg).SetQuestion(fmt.Sprintf("slow-%d.example.", i), dns.TypeA), addr)
			if err != nil {
				answers <- err.Error()
				return
			}
			answers <- values(m)
		}()
	}
	poll(t, "all blocked queries reach the upstream", func() (bool, string) {
		return held.Load() == blocked, fmt.Sprintf("%d held", held.Load())
	})
	m := query(t, "udp", addr, "local.test.", dns.TypeA)
	if values(m) != "192.0.2.7" {
		t.Errorf("local answer while %d queries wait = %q", blocked, values(m))
	}
	unblock()
	wg.Wait()
	close(answers)
	for a := range answers {
		if a != "192.0.2.9" {
			t.Errorf("blocked query answered %q, want 192.0.2.9", a)
		}
	}
}

// TestUDPMalformedQuery gets a FORMERR for a query that does not parse.
func TestUDPMalformedQuery(t *testing.T) {
	port := freePort(t)
	runCorefile(t, fmt.Sprintf(`.:%d {
    bind 127.0.0.1
    hosts HOSTSFILE
}
`, port))
	c, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A header claiming one question, followed by a truncated name.
	c.Write([]byte{0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 5, 'a', 'b'})
	c.SetDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 512)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	var m dns.Msg
	if err := m.Unpack(buf[:n]); err != nil {
		t.Fatalf("answer does not parse: %v", err)
	}
	if m.Id != 0xabcd || !m.Response || m.Rcode != dns.RcodeFormatError {
		t.Errorf("answer = id %x response %v rcode %s, want abcd true FORMERR", m.Id, m.Response, dns.RcodeToString[m.Rcode])
	}
}

// TestUDPConcurrentClientsGetTheirOwnAnswers has many clients, over IPv4
// and IPv6 and to several addresses of a wildcard socket, query at once,
// each its own names, and checks that every answer reaches the client
// that asked, from the address it asked, for its question, and that the
// prometheus plugin counted every query.
func TestUDPConcurrentClientsGetTheirOwnAnswers(t *testing.T) {
	const clients, perClient = 24, 50
	var hosts strings.Builder
	for c := range clients {
		for q := range perClient {
			fmt.Fprintf(&hosts, "        192.0.%d.%d c%d-q%d.test\n", c, q, c, q)
		}
	}
	port, metricsPort := freePort(t), freePort(t)
	runCorefile(t, fmt.Sprintf(`.:%d {
    prometheus 127.0.0.1:%d
    hosts HOSTSFILE {
%s    }
}
`, port, metricsPort, hosts.String()))
	targets := []string{"127.0.0.1", "127.0.0.2", "::1"}
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for c := range clients {
		wg.Go(func() {
			conn, err := net.Dial("udp", net.JoinHostPort(targets[c%len(targets)], fmt.Sprint(port)))
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close()
			// Each client keeps a window of queries in flight together with
			// the other clients' (small enough for the socket buffers).
			const window = 5
			send := func(q int) error {
				m := new(dns.Msg).SetQuestion(fmt.Sprintf("c%d-q%d.test.", c, q), dns.TypeA)
				m.Id = uint16(c<<8 | q)
				b, _ := m.Pack()
				_, err := conn.Write(b)
				return err
			}
			next := 0
			for ; next < window; next++ {
				if err := send(next); err != nil {
					errs <- err
					return
				}
			}
			seen := map[int]bool{}
			buf := make([]byte, 1500)
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			for len(seen) < perClient {
				n, err := conn.Read(buf)
				if err != nil {
					errs <- fmt.Errorf("client %d: %d of %d answers: %w", c, len(seen), perClient, err)
					return
				}
				var m dns.Msg
				if err := m.Unpack(buf[:n]); err != nil {
					errs <- fmt.Errorf("client %d: %w", c, err)
					return
				}
				q := int(m.Id & 0xff)
				want := fmt.Sprintf("c%d-q%d.test.", c, q)
				if int(m.Id>>8) != c || len(m.Question) != 1 || m.Question[0].Name != want || values(&m) != fmt.Sprintf("192.0.%d.%d", c, q) {
					errs <- fmt.Errorf("client %d got id %x %v for %s", c, m.Id, m.Answer, want)
					return
				}
				seen[q] = true
				if next < perClient {
					if err := send(next); err != nil {
						errs <- err
						return
					}
					next++
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	poll(t, "every query counted", func() (bool, string) {
		n, err := scrapeCounter(fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort), "coredns_dns_requests_total", fmt.Sprintf(`server="dns://:%d"`, port))
		return err == nil && n == clients*perClient, fmt.Sprintf("%v requests counted (%v), want %d", n, err, clients*perClient)
	})
}

// scrapeCounter sums the samples of metric with the label label="value"
// in the text exposition at url.
func scrapeCounter(url, metric, label string) (float64, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	var sum float64
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(line, metric+"{") || !strings.Contains(line, label) {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			return 0, fmt.Errorf("%q: %w", line, err)
		}
		sum += v
	}
	return sum, nil
}

// TestUDPServingGoroutinesRetire holds many queries in the chain at once,
// so that as many serving goroutines start, and checks that once they
// are answered the idle goroutines are retired down to the minimum kept,
// and that the server still answers afterwards.
func TestUDPServingGoroutinesRetire(t *testing.T) {
	release := make(chan struct{})
	var held atomic.Int32
	chain := plugin.HandlerFunc(func(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
		if strings.HasPrefix(r.Question[0].Name, "hold") {
			held.Add(1)
			<-release
		}
		m := new(dns.Msg).SetReply(r)
		m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: r.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 5}, A: net.IPv4(192, 0, 2, 1)}}
		w.WriteMsg(m)
		return dns.RcodeSuccess, nil
	})
	ref := &handlerRef{}
	ref.p.Store(&zoneMux{zones: []zoneEntry{{zone: ".", chain: chain, ctx: context.Background()}}})
	pc, err := listenUDP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := newUDPServer([]*net.UDPConn{pc.(*net.UDPConn)}, ref)
	if err != nil {
		t.Fatal(err)
	}
	s.idleCheck = 100 * time.Millisecond
	s.start()
	defer s.close()
	addr := pc.LocalAddr().String()

	const burst = 60
	var wg sync.WaitGroup
	for i := range burst {
		wg.Go(func() {
			m, _, err := (&dns.Client{Timeout: 10 * time.Second}).Exchange(new(dns.Msg).SetQuestion(fmt.Sprintf("hold-%d.test.", i), dns.TypeA), addr)
			if err != nil || len(m.Answer) != 1 {
				t.Errorf("held query %d: %v %v", i, m, err)
			}
		})
	}
	poll(t, "every query held in the chain", func() (bool, string) {
		return held.Load() == burst, fmt.Sprintf("%d held, %d serving goroutines", held.Load(), s.serving.Load())
	})
	if n := s.serving.Load(); n < burst {
		t.Errorf("%d serving goroutines for %d queries in flight", n, burst)
	}
	close(release)
	wg.Wait()
	poll(t, "idle serving goroutines retired", func() (bool, string) {
		n := s.serving.Load()
		return n <= udpMinIdle, fmt.Sprintf("%d serving goroutines", n)
	})
	m := query(t, "udp", addr, "after.test.", dns.TypeA)
	if values(m) != "192.0.2.1" {
		t.Errorf("answer after retiring = %q", values(m))
	}
}
