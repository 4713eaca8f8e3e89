package server

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
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
