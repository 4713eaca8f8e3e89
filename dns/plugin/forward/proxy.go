package forward

import (
	"errors"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// udpSockets is how many UDP sockets a proxy multiplexes its queries on.
// Queries are told apart by ID, so a socket carries any number in flight;
// a few spread the kernel's per-socket work.
const udpSockets = 4

var errTimeout = errors.New("forward: upstream timed out")

// packPool holds buffers for packing queries.
var packPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// timerPool holds stopped timers (since Go 1.23 a stopped or reset timer
// delivers no stale tick, so they can be reused).
var timerPool sync.Pool

func getTimer(d time.Duration) *time.Timer {
	if t, ok := timerPool.Get().(*time.Timer); ok {
		t.Reset(d)
		return t
	}
	return time.NewTimer(d)
}

func putTimer(t *time.Timer) {
	t.Stop()
	timerPool.Put(t)
}

// proxy is one upstream: a few shared UDP sockets on which queries in
// flight are matched to answers by ID, and a failure count.
type proxy struct {
	addr  string
	fails atomic.Uint32
	next  atomic.Uint32
	socks [udpSockets]udpSock
}

func newProxy(addr string) *proxy {
	p := &proxy{addr: addr}
	for i := range p.socks {
		p.socks[i].addr = addr
	}
	return p
}

// udpSock is one connected UDP socket and the queries waiting on it. Its
// reader goroutine hands each answer to the query with that ID; when the
// socket fails, every waiter is released and the next query dials anew.
type udpSock struct {
	addr    string
	mu      sync.Mutex
	conn    *net.UDPConn
	pending map[uint16]*waiter
	closed  bool
}

type waiter struct {
	q  dns.Question
	ch chan *dns.Msg // buffered 1
}

// exchange sends r over network ("udp" or "tcp") and returns the reply.
func (p *proxy) exchange(r *dns.Msg, network string, timeout time.Duration) (*dns.Msg, error) {
	if network == "tcp" {
		return exchangeTCP(p.addr, r, timeout)
	}
	s := &p.socks[p.next.Add(1)%udpSockets]
	return s.exchange(r, timeout)
}

func exchangeTCP(addr string, r *dns.Msg, timeout time.Duration) (*dns.Msg, error) {
	nc, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	c := &dns.Conn{Conn: nc}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if err := c.WriteMsg(r); err != nil {
		return nil, err
	}
	for {
		m, err := c.ReadMsg()
		if err != nil {
			return nil, err
		}
		if m.Id == r.Id && matches(m, r.Question) {
			return m, nil
		}
	}
}

func (s *udpSock) exchange(r *dns.Msg, timeout time.Duration) (*dns.Msg, error) {
	if len(r.Question) != 1 {
		return nil, errors.New("forward: query must have one question")
	}
	wt := &waiter{q: r.Question[0], ch: make(chan *dns.Msg, 1)}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, net.ErrClosed
	}
	if s.conn == nil {
		if err := s.dial(); err != nil {
			s.mu.Unlock()
			return nil, err
		}
	}
	conn := s.conn
	// A fresh random ID per upstream query: the client's ID may clash
	// with another client's on this socket, and random IDs make spoofed
	// answers harder to land.
	var id uint16
	for {
		id = uint16(rand.Uint32())
		if _, busy := s.pending[id]; !busy {
			break
		}
	}
	s.pending[id] = wt
	s.mu.Unlock()

	// Pack r as it is and put our ID into the wire form: r keeps its own.
	bp := packPool.Get().(*[]byte)
	wire, err := r.PackBuffer((*bp)[:cap(*bp)]) // it fills len, not cap
	if err == nil {
		wire[0], wire[1] = byte(id>>8), byte(id)
		_, err = conn.Write(wire)
		*bp = wire[:0]
	}
	packPool.Put(bp)
	if err != nil {
		s.forget(id, wt)
		return nil, err
	}
	t := getTimer(timeout)
	defer putTimer(t)
	select {
	case m := <-wt.ch:
		if m == nil {
			return nil, net.ErrClosed
		}
		m.Id = r.Id
		return m, nil
	case <-t.C:
		s.forget(id, wt)
		return nil, errTimeout
	}
}

// dial opens the socket and starts its reader; s.mu is held.
func (s *udpSock) dial() error {
	ua, err := net.ResolveUDPAddr("udp", s.addr)
	if err != nil {
		return err
	}
	conn, err := net.DialUDP("udp", nil, ua)
	if err != nil {
		return err
	}
	s.conn = conn
	s.pending = map[uint16]*waiter{}
	go s.read(conn)
	return nil
}

func (s *udpSock) forget(id uint16, wt *waiter) {
	s.mu.Lock()
	if s.pending[id] == wt {
		delete(s.pending, id)
	}
	s.mu.Unlock()
}

// read delivers answers on conn until it fails.
func (s *udpSock) read(conn *net.UDPConn) {
	buf := make([]byte, dns.MaxMsgSize)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			break
		}
		if n < 12 {
			continue
		}
		id := uint16(buf[0])<<8 | uint16(buf[1])
		s.mu.Lock()
		wt := s.pending[id]
		s.mu.Unlock()
		if wt == nil {
			continue // late answer to a query that timed out
		}
		m := new(dns.Msg)
		if m.Unpack(buf[:n]) != nil || !matches(m, []dns.Question{wt.q}) {
			continue
		}
		s.mu.Lock()
		if s.pending[id] == wt {
			delete(s.pending, id)
			wt.ch <- m
		}
		s.mu.Unlock()
	}
	// The socket is gone: release its waiters; the next query dials.
	s.mu.Lock()
	if s.conn == conn {
		s.conn = nil
		for id, wt := range s.pending {
			delete(s.pending, id)
			wt.ch <- nil
		}
	}
	s.mu.Unlock()
	conn.Close()
}

func (s *udpSock) close() {
	s.mu.Lock()
	s.closed = true
	conn := s.conn
	s.mu.Unlock()
	if conn != nil {
		conn.Close()
	}
}

// matches reports whether answer m is to the one question qs.
func matches(m *dns.Msg, qs []dns.Question) bool {
	if len(m.Question) != 1 || len(qs) != 1 {
		return false
	}
	a, q := m.Question[0], qs[0]
	return a.Qtype == q.Qtype && a.Qclass == q.Qclass && equalFold(a.Name, q.Name)
}

func (p *proxy) close() {
	for i := range p.socks {
		p.socks[i].close()
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
