package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"sort"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// handlerRef is the zone mux an address currently serves. A reload swaps
// it; the sockets stay, so no query is lost to a closing socket.
type handlerRef struct {
	p atomic.Pointer[zoneMux]
}

// acquire returns the current mux, counted as in use until release. The
// second load makes the count trustworthy: once a swap has returned, a
// query either was counted on the old mux before it, or sees the new one.
func (h *handlerRef) acquire() *zoneMux {
	for {
		m := h.p.Load()
		m.inflight.Add(1)
		if h.p.Load() == m {
			return m
		}
		m.inflight.Add(-1)
	}
}

// ServeDNS implements dns.Handler for the TCP server.
func (h *handlerRef) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	m := h.acquire()
	defer m.release()
	m.ServeDNS(w, r)
}

// listener is one DNS address: a UDP and a TCP socket and the mux they
// serve.
type listener struct {
	ref *handlerRef
	udp *udpServer
	tcp *dns.Server
}

// listeners are the DNS sockets of a running server, kept across reloads.
type listeners struct {
	byAddr map[string]*listener
	fatal  chan error
}

func newListeners() *listeners {
	return &listeners{byAddr: map[string]*listener{}, fatal: make(chan error, 1)}
}

// serve makes the addresses of in answer with in's chains: addresses
// already open switch to the new muxes at once, new addresses are bound,
// addresses in no server block any more are closed. Binding happens before
// anything switches, so on error nothing has changed. It returns the muxes
// replaced, still finishing their queries (see drain).
func (ls *listeners) serve(in *Instance) (old []*zoneMux, err error) {
	addrs := make([]string, 0, len(in.groups))
	for a := range in.groups {
		addrs = append(addrs, a)
	}
	sort.Strings(addrs)
	fresh := map[string]*listener{}
	for _, addr := range addrs {
		if ls.byAddr[addr] != nil {
			continue
		}
		l, err := ls.bind(addr)
		if err != nil {
			for _, l := range fresh {
				l.close()
			}
			return nil, err
		}
		fresh[addr] = l
	}
	for _, addr := range addrs {
		m := newZoneMux(addr, in.groups[addr])
		if l := fresh[addr]; l != nil {
			l.ref.p.Store(m)
			l.start(ls, addr)
			ls.byAddr[addr] = l
			slog.Info("DNS server listening", "address", addr, "zones", m.zoneNames())
			continue
		}
		old = append(old, ls.byAddr[addr].ref.p.Swap(m))
	}
	for addr, l := range ls.byAddr {
		if _, ok := in.groups[addr]; !ok {
			old = append(old, l.ref.p.Load())
			l.close()
			delete(ls.byAddr, addr)
			slog.Info("DNS server closed", "address", addr)
		}
	}
	return old, nil
}

func (ls *listeners) bind(addr string) (*listener, error) {
	pc, err := listenUDP(addr)
	if err != nil {
		return nil, fmt.Errorf("listen udp on %s: %w", addr, err)
	}
	// One socket per CPU on the same address (the first one's port, when
	// addr asked for any): each has its own reader.
	conns := []*net.UDPConn{pc.(*net.UDPConn)}
	closeAll := func() {
		for _, c := range conns {
			c.Close()
		}
	}
	for range runtime.GOMAXPROCS(0) - 1 {
		more, err := listenUDP(pc.LocalAddr().String())
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("listen udp on %s: %w", addr, err)
		}
		conns = append(conns, more.(*net.UDPConn))
	}
	ln, err := listenTCP(addr)
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("listen tcp on %s: %w", addr, err)
	}
	ref := &handlerRef{}
	udp, err := newUDPServer(conns, ref)
	if err != nil {
		closeAll()
		ln.Close()
		return nil, fmt.Errorf("udp on %s: %w", addr, err)
	}
	return &listener{
		ref: ref,
		udp: udp,
		tcp: &dns.Server{Listener: ln, Net: "tcp", Handler: ref},
	}, nil
}

func (l *listener) start(ls *listeners, addr string) {
	l.udp.start()
	started := make(chan struct{})
	l.tcp.NotifyStartedFunc = func() { close(started) }
	go func() {
		if err := l.tcp.ActivateAndServe(); err != nil {
			select {
			case ls.fatal <- fmt.Errorf("dns server %s/tcp: %w", addr, err):
			default:
			}
		}
	}()
	<-started
}

func (l *listener) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if l.tcp.Listener != nil {
		if err := l.tcp.ShutdownContext(ctx); err != nil {
			// Never started (a rollback): just close the socket.
			l.tcp.Listener.Close()
		}
	}
	l.udp.close()
}

// closeAll closes every address.
func (ls *listeners) closeAll() {
	for addr, l := range ls.byAddr {
		l.close()
		delete(ls.byAddr, addr)
	}
}

// drain waits until the queries the muxes were serving have finished (at
// most timeout), so that their plugins can be shut down under no one.
func drain(muxes []*zoneMux, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for _, m := range muxes {
		for m.inflight.Load() > 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
}
