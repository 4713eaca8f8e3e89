package server

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/miekg/dns"
	"golang.org/x/sys/unix"
)

// udpServer answers DNS on an address's UDP sockets. Each socket's reader
// goroutine reads each query into a pooled worker's buffer and hands it to
// a goroutine of its own, so the socket is read again at once and a query waiting for an
// upstream (forward) stalls nothing. The worker brings its own read, pack
// and address buffers, so a query costs no buffer or address allocations.
// (Long-lived readers serving inline gave more throughput but a p99
// several times longer under dnsperf: a query queued behind busy readers.)
type udpServer struct {
	// conns are the address's sockets (SO_REUSEPORT, one per CPU): the
	// kernel spreads clients over them by flow, each has its reader.
	conns []*net.UDPConn
	ref   *handlerRef
	laddr *net.UDPAddr
	// pktinfo: the socket is bound to a wildcard address and answers are
	// sent from the address each query was sent to.
	pktinfo bool

	inflight atomic.Int32
	wg       sync.WaitGroup
	closed   atomic.Bool
	pool     sync.Pool // *udpWorker
}

// udpReadSize bounds a query; EDNS queries are far below it.
const udpReadSize = 4096

// maxUDPInflight bounds the queries in flight on one socket; beyond it
// the reader waits and queries wait in the socket buffer.
const maxUDPInflight = 10000

func newUDPServer(conns []*net.UDPConn, ref *handlerRef) *udpServer {
	s := &udpServer{conns: conns, ref: ref, laddr: conns[0].LocalAddr().(*net.UDPAddr)}
	if s.laddr.IP.IsUnspecified() {
		s.pktinfo = true
		for _, c := range conns {
			s.pktinfo = setPktinfo(c) && s.pktinfo
		}
	}
	s.pool.New = func() any {
		w := &udpWorker{s: s, buf: make([]byte, udpReadSize), out: make([]byte, 0, 1232)}
		if s.pktinfo {
			w.oob = make([]byte, 128)
			w.w.src = make([]byte, 0, unix.CmsgSpace(unix.SizeofInet6Pktinfo))
		}
		w.w.s = s
		return w
	}
	return s
}

// start starts the readers.
func (s *udpServer) start() {
	for _, c := range s.conns {
		s.wg.Add(1)
		go s.read(c)
	}
}

func (s *udpServer) read(conn *net.UDPConn) {
	defer s.wg.Done()
	for {
		w := s.pool.Get().(*udpWorker)
		w.w.conn = conn
		n, oobn, flags, from, err := conn.ReadMsgUDPAddrPort(w.buf, w.oob)
		if err != nil {
			s.pool.Put(w)
			if s.closed.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			slog.Debug("UDP read", "address", s.laddr.String(), "err", err)
			time.Sleep(time.Millisecond)
			continue
		}
		if flags&unix.MSG_TRUNC != 0 {
			s.pool.Put(w)
			continue
		}
		for s.inflight.Load() >= maxUDPInflight {
			time.Sleep(100 * time.Microsecond)
		}
		s.inflight.Add(1)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			w.serve(w.buf[:n], w.oob[:oobn], from)
			s.inflight.Add(-1)
			s.pool.Put(w)
		}()
	}
}

func (s *udpServer) close() {
	s.closed.Store(true)
	for _, c := range s.conns {
		c.Close()
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		slog.Warn("UDP queries still in progress after close", "address", s.laddr.String())
	}
}

// udpWorker is one worker's reusable state.
type udpWorker struct {
	s        *udpServer
	buf, oob []byte
	out      []byte // pack buffer of answers
	w        udpWriter
	sw       scrubWriter
}

func (w *udpWorker) serve(b, oob []byte, from netip.AddrPort) {
	r := new(dns.Msg)
	if err := r.Unpack(b); err != nil {
		w.w.reset(from, oob)
		w.formErr(b)
		return
	}
	w.w.reset(from, oob)
	w.sw = scrubWriter{ResponseWriter: &w.w, req: r, buf: w.out, extra: w.sw.extra[:0]}
	m := w.s.ref.acquire()
	defer m.release()
	m.serve(&w.sw, r)
}

// formErr answers a query that does not parse with a bare FORMERR, as
// long as its header can be read and it is not itself an answer.
func (w *udpWorker) formErr(b []byte) {
	if len(b) < 12 || b[2]&0x80 != 0 {
		return
	}
	out := append(w.out[:0], b[:12]...)
	out[2] = 0x80 | b[2]&0x78 // QR, opcode
	out[3] = dns.RcodeFormatError
	clear(out[4:12])
	w.w.Write(out)
}

// udpWriter is the dns.ResponseWriter of a worker's current query. It is
// reused for the worker's next query: plugins must not keep it, or the
// addresses it returns, once ServeDNS has returned (use plugin.Detach).
type udpWriter struct {
	s *udpServer
	// conn is the socket the query came in on; the answer leaves on it.
	conn  *net.UDPConn
	to    netip.AddrPort
	raddr net.UDPAddr
	rip   [16]byte
	src   []byte // control message choosing the source address, or empty
}

var _ dns.ResponseWriter = (*udpWriter)(nil)

func (w *udpWriter) reset(from netip.AddrPort, oob []byte) {
	w.to = from
	a := from.Addr().Unmap()
	if a.Is4() {
		v := a.As4()
		copy(w.rip[:], v[:])
		w.raddr.IP = w.rip[:4]
	} else {
		w.rip = a.As16()
		w.raddr.IP = w.rip[:16]
	}
	w.raddr.Port = int(from.Port())
	w.raddr.Zone = from.Addr().Zone()
	if w.s.pktinfo {
		w.src = sourceFromOOB(w.src[:0], oob)
	}
}

func (w *udpWriter) LocalAddr() net.Addr  { return w.s.laddr }
func (w *udpWriter) RemoteAddr() net.Addr { return &w.raddr }

// WriteMsg packs m as it is; the server's scrubWriter above has fitted it
// to the client already.
func (w *udpWriter) WriteMsg(m *dns.Msg) error {
	b, err := m.Pack()
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

func (w *udpWriter) Write(b []byte) (int, error) {
	n, _, err := w.conn.WriteMsgUDPAddrPort(b, w.src, w.to)
	return n, err
}

func (w *udpWriter) Close() error        { return nil }
func (w *udpWriter) TsigStatus() error   { return nil }
func (w *udpWriter) TsigTimersOnly(bool) {}
func (w *udpWriter) Hijack()             {}

// setPktinfo asks the kernel for the destination address of each packet
// on a wildcard socket (both families: an IPv6 socket also receives IPv4).
func setPktinfo(conn *net.UDPConn) bool {
	rc, err := conn.SyscallConn()
	if err != nil {
		return false
	}
	var err4, err6 error
	rc.Control(func(fd uintptr) {
		err4 = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_PKTINFO, 1)
		err6 = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1)
	})
	return err4 == nil || err6 == nil
}

// sourceFromOOB turns the packet-info control message of a received packet
// into the one that sends the answer from the address the query was sent
// to, appended to dst (left empty when oob holds none).
func sourceFromOOB(dst, oob []byte) []byte {
	for len(oob) >= unix.SizeofCmsghdr {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < unix.SizeofCmsghdr || l > len(oob) {
			return dst
		}
		data := oob[unix.CmsgLen(0):l]
		switch {
		case h.Level == unix.IPPROTO_IP && h.Type == unix.IP_PKTINFO && len(data) >= unix.SizeofInet4Pktinfo:
			in := (*unix.Inet4Pktinfo)(unsafe.Pointer(&data[0]))
			dst = dst[:unix.CmsgSpace(unix.SizeofInet4Pktinfo)]
			clear(dst)
			oh := (*unix.Cmsghdr)(unsafe.Pointer(&dst[0]))
			oh.Level, oh.Type = unix.IPPROTO_IP, unix.IP_PKTINFO
			oh.SetLen(unix.CmsgLen(unix.SizeofInet4Pktinfo))
			out := (*unix.Inet4Pktinfo)(unsafe.Pointer(&dst[unix.CmsgLen(0)]))
			out.Spec_dst = in.Addr
			return dst
		case h.Level == unix.IPPROTO_IPV6 && h.Type == unix.IPV6_PKTINFO && len(data) >= unix.SizeofInet6Pktinfo:
			in := (*unix.Inet6Pktinfo)(unsafe.Pointer(&data[0]))
			dst = dst[:unix.CmsgSpace(unix.SizeofInet6Pktinfo)]
			clear(dst)
			oh := (*unix.Cmsghdr)(unsafe.Pointer(&dst[0]))
			oh.Level, oh.Type = unix.IPPROTO_IPV6, unix.IPV6_PKTINFO
			oh.SetLen(unix.CmsgLen(unix.SizeofInet6Pktinfo))
			out := (*unix.Inet6Pktinfo)(unsafe.Pointer(&dst[unix.CmsgLen(0)]))
			out.Addr, out.Ifindex = in.Addr, in.Ifindex
			return dst
		}
		oob = oob[min(len(oob), unix.CmsgSpace(l-unix.CmsgLen(0))):]
	}
	return dst
}
