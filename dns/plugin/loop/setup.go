package loop

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"time"

	"github.com/miekg/dns"

	"navarch.dev/dns/pkg/plugin"
)

// Setup parses "loop" (no arguments).
func Setup(c *plugin.Config, d plugin.Directive) error {
	if err := d.ArgN(0, 0); err != nil {
		return err
	}
	zone := c.Zones[0]
	l := &Loop{Qname: fmt.Sprintf("%d.%d.%s", rand.Uint64(), rand.Uint64(), zone), OnLoop: c.Host.Fatal}
	if zone == "." {
		l.Qname = l.Qname[:len(l.Qname)-1]
	}
	host := "127.0.0.1"
	if len(c.ListenHosts) > 0 {
		host = c.ListenHosts[0]
	}
	addr := net.JoinHostPort(host, c.Port)
	stop := make(chan struct{})
	c.OnStartup(func() error {
		go probe(addr, l, stop)
		return nil
	})
	c.OnShutdown(func() error { close(stop); return nil })
	c.AddPlugin(func(next plugin.Handler) plugin.Handler { l.Next = next; return l })
	return nil
}

// probe sends the probe once the server listens, as CoreDNS does: until
// one exchange is answered (an answer means the query did not loop
// forever), resetting the count after each failed exchange, for at most
// probeFor. A loop shows as the probe arriving more than twice while it
// circles; after the first answer the check stays on for grace, for
// copies still on their way, then turns off.
func probe(addr string, l *Loop, stop chan struct{}) {
	defer l.Disable()
	client := &dns.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(probeFor)
	wait := 500 * time.Millisecond
	for time.Now().Before(deadline) {
		select {
		case <-stop:
			return
		case <-time.After(wait):
		}
		wait = time.Second
		m := new(dns.Msg).SetQuestion(l.Qname, dns.TypeHINFO)
		if _, _, err := client.Exchange(m, addr); err != nil {
			slog.Debug("Loop probe", "addr", addr, "err", err)
			l.Reset()
			continue
		}
		select {
		case <-stop:
		case <-time.After(grace):
		}
		return
	}
}

// Probe timing (variables for tests).
var (
	probeFor = 30 * time.Second
	grace    = 2 * time.Second
)
