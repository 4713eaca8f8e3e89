package forward

import (
	"net"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// proxy is one upstream with a pool of open UDP sockets and a failure count.
type proxy struct {
	addr  string
	fails atomic.Uint32
	pool  chan *dns.Conn
}

func newProxy(addr string) *proxy {
	return &proxy{addr: addr, pool: make(chan *dns.Conn, 64)}
}

// exchange sends r over network ("udp" or "tcp") and returns the reply.
func (p *proxy) exchange(r *dns.Msg, network string, timeout time.Duration) (*dns.Msg, error) {
	var c *dns.Conn
	if network == "udp" {
		select {
		case c = <-p.pool:
		default:
		}
	}
	if c == nil {
		nc, err := net.DialTimeout(network, p.addr, timeout)
		if err != nil {
			return nil, err
		}
		c = &dns.Conn{Conn: nc, UDPSize: 65535}
	}
	c.SetDeadline(time.Now().Add(timeout))
	if err := c.WriteMsg(r); err != nil {
		c.Close()
		return nil, err
	}
	for {
		m, err := c.ReadMsg()
		if err != nil {
			c.Close()
			return nil, err
		}
		// A pooled socket may still hold the late answer to an earlier
		// query: skip anything that is not ours.
		if m.Id != r.Id || len(m.Question) != 1 || len(r.Question) != 1 || !dns.IsFqdn(m.Question[0].Name) ||
			m.Question[0].Qtype != r.Question[0].Qtype || !equalFold(m.Question[0].Name, r.Question[0].Name) {
			continue
		}
		if network == "udp" {
			select {
			case p.pool <- c:
			default:
				c.Close()
			}
		} else {
			c.Close()
		}
		return m, nil
	}
}

func (p *proxy) close() {
	for {
		select {
		case c := <-p.pool:
			c.Close()
		default:
			return
		}
	}
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
