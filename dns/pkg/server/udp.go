package server

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/miekg/dns"
	"golang.org/x/sys/unix"
)

// udpServer answers DNS on an address's UDP sockets. Each socket's reader
// goroutine reads each query into a worker's buffers and hands the worker
// to an idle serving goroutine (or, when none is idle, to a new one), so
// the socket is read again at once and a query waiting for an upstream
// (forward) stalls nothing. Serving goroutines live on after a query and
// wait for the next: a goroutine started per query cost more than its
// query's own work here, mostly in growing its stack (decoding a name
// needs more than a new goroutine's first stack). Idle goroutines beyond
// what the load of the last second needed are retired.
// (Long-lived readers serving inline gave more throughput but a p99
// several times longer under dnsperf: a query queued behind busy readers.
// Measured again beside the serving goroutines below: a third less QPS
// and two to three times the p99; likely because the kernel spreads a few
// clients over the sockets by flow, leaving one reader most of the load.)
// Reading and answering bypass Go's locked socket calls (rawudp.go), and
// the common query is decoded without allocating (query.go).
type udpServer struct {
	// conns are the address's sockets (SO_REUSEPORT, one per CPU): the
	// kernel spreads clients over them by flow, each has its reader.
	conns []*net.UDPConn
	socks []*udpSocket // of conns
	ref   *handlerRef
	laddr *net.UDPAddr
	// pktinfo: the socket is bound to a wildcard address and answers are
	// sent from the address each query was sent to.
	pktinfo bool

	// jobs hands a read query to an idle serving goroutine; a nil job
	// (or its closing) retires the goroutine that receives it.
	jobs chan *udpWorker
	// serving counts the serving goroutines, idle those waiting on jobs.
	serving, idle atomic.Int32
	done          chan struct{} // closed by close: stops retireIdle
	// feeders are the readers and retireIdle (they send on jobs),
	// servers the serving goroutines.
	feeders, servers sync.WaitGroup
	closed           atomic.Bool
	pool             sync.Pool // *udpWorker
	// idleCheck is udpIdleCheck (shorter in tests).
	idleCheck time.Duration
}

// udpReadSize bounds a query; EDNS queries are far below it.
const udpReadSize = 4096

// maxUDPServing bounds the serving goroutines of an address, and so the
// queries in flight; beyond it the readers wait for a goroutine to finish
// and queries wait in the socket buffers.
const maxUDPServing = 10000

// udpIdleCheck is how often surplus idle serving goroutines are retired;
// udpMinIdle are always kept.
const (
	udpIdleCheck = time.Second
	udpMinIdle   = 8
)

func newUDPServer(conns []*net.UDPConn, ref *handlerRef) (*udpServer, error) {
	s := &udpServer{
		conns: conns, ref: ref, laddr: conns[0].LocalAddr().(*net.UDPAddr),
		jobs: make(chan *udpWorker), done: make(chan struct{}), idleCheck: udpIdleCheck,
	}
	for _, c := range conns {
		sock, err := newUDPSocket(c)
		if err != nil {
			for _, sock := range s.socks {
				sock.closeSend()
			}
			return nil, err
		}
		s.socks = append(s.socks, sock)
	}
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
		w.w.msg.init(w.buf, w.oob)
		return w
	}
	return s, nil
}

// start starts the readers.
func (s *udpServer) start() {
	for _, sock := range s.socks {
		s.feeders.Add(1)
		go s.read(sock)
	}
	s.feeders.Add(1)
	go s.retireIdle()
}

func (s *udpServer) read(sock *udpSocket) {
	defer s.feeders.Done()
	for {
		w := s.pool.Get().(*udpWorker)
		w.w.sock = sock
		err := w.w.msg.recv(sock.rc)
		if err != nil {
			s.pool.Put(w)
			if s.closed.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			slog.Debug("UDP read", "address", s.laddr.String(), "err", err)
			time.Sleep(time.Millisecond)
			continue
		}
		if w.w.msg.flags&unix.MSG_TRUNC != 0 {
			s.pool.Put(w)
			continue
		}
		s.dispatch(w)
	}
}

// dispatch hands w to an idle serving goroutine, else to a new one, else
// (at maxUDPServing) waits for one to become idle.
func (s *udpServer) dispatch(w *udpWorker) {
	select {
	case s.jobs <- w:
		return
	default:
	}
	for {
		n := s.serving.Load()
		if n >= maxUDPServing {
			s.jobs <- w
			return
		}
		if s.serving.CompareAndSwap(n, n+1) {
			break
		}
	}
	s.servers.Add(1)
	go s.serve(w)
}

// serve is a serving goroutine: it answers w's query and then each one it
// is handed, until it is handed nil or jobs is closed.
func (s *udpServer) serve(w *udpWorker) {
	defer s.servers.Done()
	defer s.serving.Add(-1)
	for {
		w.serve(w.buf[:w.w.msg.n], w.oob[:w.w.msg.oobn])
		s.pool.Put(w)
		s.idle.Add(1)
		w = <-s.jobs
		s.idle.Add(-1)
		if w == nil {
			return
		}
	}
}

// retireIdle retires, once a udpIdleCheck, half of the serving goroutines
// that stayed idle through the whole period beyond udpMinIdle: what a
// burst of slow (forwarded) queries started does not stay forever, what
// steady load uses stays.
func (s *udpServer) retireIdle() {
	defer s.feeders.Done()
	t := time.NewTicker(s.idleCheck / 10)
	defer t.Stop()
	low, ticks := int32(maxUDPServing), 0
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		low = min(low, s.idle.Load())
		if ticks++; ticks < 10 {
			continue
		}
		for range (low - udpMinIdle + 1) / 2 {
			select {
			case s.jobs <- nil:
				continue
			default:
			}
			break
		}
		low, ticks = maxUDPServing, 0
	}
}

func (s *udpServer) close() {
	s.closed.Store(true)
	// Closing both descriptors of a socket takes it out of its SO_REUSEPORT
	// group at once (a successor's sockets get all queries); answers of the
	// queries still in progress are dropped.
	for i, c := range s.conns {
		s.socks[i].closeSend()
		c.Close()
	}
	close(s.done)
	done := make(chan struct{})
	go func() {
		// Once nothing sends on jobs, closing it ends the idle serving
		// goroutines; the busy ones end after their query.
		s.feeders.Wait()
		close(s.jobs)
		s.servers.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		slog.Warn("UDP queries still in progress after close", "address", s.laddr.String())
	}
}

// udpWorker is one worker's reusable state.
type udpWorker struct {
	s        *udpServer
	buf, oob []byte // the query read (its lengths are in w.msg)
	out      []byte // pack buffer of answers
	// query is the query being served, reused for the next: plugins do
	// not keep a query once ServeDNS has returned (the cache's prefetch
	// copies it).
	query plainQuery
	w     udpWriter
	sw    scrubWriter
}

func (w *udpWorker) serve(b, oob []byte) {
	r := &w.query.msg
	if !w.query.decode(b) {
		*r = dns.Msg{}
		if err := r.Unpack(b); err != nil {
			w.w.reset(oob)
			w.formErr(b)
			return
		}
	}
	w.w.reset(oob)
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
	// sock is the socket the query came in on; the answer leaves on it,
	// for the address in msg.
	sock  *udpSocket
	msg   udpMsg
	raddr net.UDPAddr
	rip   [16]byte
	src   []byte // control message choosing the source address, or empty
}

var _ dns.ResponseWriter = (*udpWriter)(nil)

// reset readies w for the query just read into w.msg, with oob its
// control messages.
func (w *udpWriter) reset(oob []byte) {
	w.msg.peerAddr(&w.raddr, &w.rip)
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
	return w.msg.send(w.sock, b, w.src)
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
