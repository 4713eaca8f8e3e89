package server

import (
	"fmt"
	"math"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A UDP query is read with recvmsg and answered with sendmsg made as raw
// system calls inside the socket's RawConn (which still waits on the
// poller when the socket has nothing to read). Go's own ReadMsgUDPAddrPort
// and WriteMsgUDPAddrPort tell the scheduler that the thread is in a
// system call; under dnsperf load the runtime's monitor thread then took
// about 5% of the process's CPU waking in short sleeps to look for Ps to
// hand to other threads, for calls that never block (the sockets are
// non-blocking) and last a few microseconds. The answer goes to the
// sender's socket address exactly as recvmsg returned it.
//
// Answers are sent on a duplicate of the socket's descriptor that the
// server owns, not through the RawConn: Go serializes the writers of one
// descriptor with a lock held across the system call, and under dnsperf
// load (about 80,000 queries/s) the goroutines answering spent 62 s in
// 10 s waiting for that lock, some milliseconds behind a writer whose
// thread the kernel had preempted. The kernel needs no such lock for UDP. A count of the sends in progress keeps the
// duplicate from being closed (and its number reused) under a send.

// udpMsg holds the system call arguments of one worker: the message
// header and buffer of the query read, and the sender's address, which is
// also where the answer goes.
type udpMsg struct {
	rhdr, shdr unix.Msghdr
	riov, siov unix.Iovec
	// peer is a sockaddr_in or sockaddr_in6 (the larger).
	peer    unix.RawSockaddrInet6
	peerLen uint32

	// Results of the last read (n, oobn, flags) and send (sent), and the
	// error of either.
	n, oobn, sent int
	flags         int32
	errno         syscall.Errno

	recvFn, sendFn func(fd uintptr) bool // bound once: no allocation per call
}

// init points the read header at buf, oob and peer. The buffers must not
// move or change length afterwards.
func (m *udpMsg) init(buf, oob []byte) {
	m.riov.Base = &buf[0]
	m.riov.SetLen(len(buf))
	m.rhdr.Iov = &m.riov
	m.rhdr.SetIovlen(1)
	if len(oob) > 0 {
		m.rhdr.Control = &oob[0]
	}
	m.rhdr.Name = (*byte)(unsafe.Pointer(&m.peer))
	m.shdr.Name = (*byte)(unsafe.Pointer(&m.peer))
	m.shdr.Iov = &m.siov
	m.shdr.SetIovlen(1)
	m.recvFn = func(fd uintptr) bool { return m.recvmsg(fd, len(oob)) }
	m.sendFn = m.sendmsg
}

// recv reads one datagram from rc into the buffers given to init.
func (m *udpMsg) recv(rc syscall.RawConn) error {
	if err := rc.Read(m.recvFn); err != nil {
		return err
	}
	if m.errno != 0 {
		return m.errno
	}
	return nil
}

func (m *udpMsg) recvmsg(fd uintptr, oobLen int) bool {
	for {
		m.rhdr.Namelen = uint32(unsafe.Sizeof(m.peer))
		m.rhdr.SetControllen(oobLen)
		m.rhdr.Flags = 0
		r, _, e := syscall.RawSyscall(unix.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&m.rhdr)), unix.MSG_DONTWAIT)
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false // wait on the poller
		}
		m.errno = e
		if e == 0 {
			m.n, m.oobn, m.flags, m.peerLen = int(r), int(m.rhdr.Controllen), m.rhdr.Flags, m.rhdr.Namelen
		}
		return true
	}
}

// udpSocket is one socket of an address: Go's handle, and the duplicate
// descriptor that answers are sent on.
type udpSocket struct {
	conn   *net.UDPConn
	rc     syscall.RawConn
	sendFD int
	// sends counts the sends in progress on sendFD, plus sendClosed once
	// closeSend has begun.
	sends atomic.Int64
}

const sendClosed = math.MinInt64 / 2

func newUDPSocket(c *net.UDPConn) (*udpSocket, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	s := &udpSocket{conn: c, rc: rc, sendFD: -1}
	var derr error
	if err := rc.Control(func(fd uintptr) {
		s.sendFD, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, fmt.Errorf("duplicate socket: %w", derr)
	}
	return s, nil
}

// closeSend closes the descriptor answers are sent on, once the sends in
// progress are done; later sends fail with net.ErrClosed. It must be
// called once.
func (s *udpSocket) closeSend() {
	s.sends.Add(sendClosed)
	for s.sends.Load() != sendClosed {
		runtime.Gosched() // a send lasts microseconds
	}
	unix.Close(s.sendFD)
}

// send writes b to the peer of the last read, with control message oob
// (the source address), on sock.
func (m *udpMsg) send(sock *udpSocket, b, oob []byte) (int, error) {
	if len(b) > 0 {
		m.siov.Base = &b[0]
	}
	m.siov.SetLen(len(b))
	m.shdr.Namelen = m.peerLen
	m.shdr.Control = nil
	m.shdr.SetControllen(0)
	if len(oob) > 0 {
		m.shdr.Control = &oob[0]
		m.shdr.SetControllen(len(oob))
	}
	var err error
	if sock.sends.Add(1) < 0 {
		err = net.ErrClosed
	} else if !m.sendmsg(uintptr(sock.sendFD)) {
		// The send buffer is full: wait on the poller until it drains.
		err = sock.rc.Write(m.sendFn)
	}
	sock.sends.Add(-1)
	m.siov.Base, m.shdr.Control = nil, nil // keep no caller's buffer alive
	if err == nil && m.errno != 0 {
		err = m.errno
	}
	if err != nil {
		return 0, err
	}
	return m.sent, nil
}

func (m *udpMsg) sendmsg(fd uintptr) bool {
	for {
		r, _, e := syscall.RawSyscall(unix.SYS_SENDMSG, fd, uintptr(unsafe.Pointer(&m.shdr)), unix.MSG_DONTWAIT)
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false // wait until the socket is writable
		}
		m.errno, m.sent = e, int(r)
		return true
	}
}

// peerAddr fills a with the sender of the last read (an IPv4-mapped IPv6
// address as IPv4), using ip as the address's storage. It reports false
// for an address of another family.
func (m *udpMsg) peerAddr(a *net.UDPAddr, ip *[16]byte) bool {
	p := &m.peer
	switch p.Family {
	case unix.AF_INET:
		p4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(p))
		copy(ip[:4], p4.Addr[:])
		a.IP, a.Port, a.Zone = ip[:4], port(p4.Port), ""
	case unix.AF_INET6:
		*ip = p.Addr
		a.IP, a.Port, a.Zone = ip[:16], port(p.Port), ""
		if v4 := a.IP.To4(); v4 != nil {
			a.IP = ip[12:16]
		} else if p.Scope_id != 0 {
			a.Zone = zoneName(p.Scope_id)
		}
	default:
		a.IP, a.Port, a.Zone = nil, 0, ""
		return false
	}
	return true
}

// port turns a port in network byte order as stored in a sockaddr into a
// number.
func port(p uint16) int {
	b := (*[2]byte)(unsafe.Pointer(&p))
	return int(b[0])<<8 | int(b[1])
}

// zones caches interface names by index for link-local senders.
var zones sync.Map // uint32 → string

func zoneName(index uint32) string {
	if z, ok := zones.Load(index); ok {
		return z.(string)
	}
	name := strconv.FormatUint(uint64(index), 10)
	if ifi, err := net.InterfaceByIndex(int(index)); err == nil {
		name = ifi.Name
	}
	zones.Store(index, name)
	return name
}
