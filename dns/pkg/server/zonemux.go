package server

import (
	"context"
	"log/slog"
	"net"
	"runtime/debug"
	"slices"
	"sync/atomic"
	"syscall"

	"github.com/miekg/dns"
	"golang.org/x/sys/unix"

	"navarch.dev/dns/pkg/plugin"
)

// ednsSize is the UDP payload size we advertise in responses (the DNS flag
// day 2020 value).
const ednsSize = plugin.EDNSSize

type zoneEntry struct {
	zone  string
	chain plugin.Handler
	ctx   context.Context
}

// zoneMux routes a query to the chain of the longest zone that contains it.
type zoneMux struct {
	addr  string
	zones []zoneEntry
	// inflight counts the queries being served (see handlerRef).
	inflight atomic.Int64
}

func (m *zoneMux) release() { m.inflight.Add(-1) }

func newZoneMux(addr string, cfgs []*plugin.Config) *zoneMux {
	m := &zoneMux{addr: addr}
	server := "dns://" + addr
	for _, c := range cfgs {
		var chain plugin.Handler
		if hs := c.Handlers(); len(hs) > 0 {
			chain = hs[0]
		}
		for _, z := range c.Zones {
			m.zones = append(m.zones, zoneEntry{zone: z, chain: chain, ctx: plugin.WithServer(context.Background(), server, z)})
		}
	}
	return m
}

func (m *zoneMux) zoneNames() []string {
	var out []string
	for _, z := range m.zones {
		out = append(out, z.zone)
	}
	return out
}

func (m *zoneMux) match(qname string) *zoneEntry {
	var best *zoneEntry
	for i := range m.zones {
		z := &m.zones[i]
		if (best == nil || len(z.zone) > len(best.zone)) && plugin.InZone(z.zone, qname) {
			best = z
		}
	}
	return best
}

// ServeDNS implements dns.Handler: it checks the query, picks the zone's
// chain, runs it with a writer that fits the answer to the client, and
// writes the error response a plugin asked for without writing.
func (m *zoneMux) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	m.serve(&scrubWriter{ResponseWriter: w, req: r}, r)
}

// serve is ServeDNS with the scrubWriter (around the client's writer) given,
// so that a UDP worker can reuse its own.
func (m *zoneMux) serve(sw *scrubWriter, r *dns.Msg) {
	w := sw.ResponseWriter
	defer func() {
		if rec := recover(); rec != nil {
			plugin.PanicsTotal.Inc()
			slog.Error("Recovered from panic in DNS handler", "panic", rec, "stack", string(debug.Stack()))
			answerError(w, r, dns.RcodeServerFailure)
		}
	}()
	if r.Response {
		return // never answer answers
	}
	if r.Opcode != dns.OpcodeQuery {
		answerError(w, r, dns.RcodeNotImplemented)
		return
	}
	if len(r.Question) != 1 {
		answerError(w, r, dns.RcodeFormatError)
		return
	}
	z := m.match(r.Question[0].Name)
	if z == nil || z.chain == nil {
		answerError(w, r, dns.RcodeRefused)
		return
	}
	rcode, _ := z.chain.ServeDNS(z.ctx, sw, r)
	if plugin.ClientWrite(rcode) && !sw.written {
		answerError(sw, r, rcode)
	}
}

func answerError(w dns.ResponseWriter, r *dns.Msg, rcode int) {
	m := new(dns.Msg)
	m.SetRcode(r, rcode)
	if r.IsEdns0() != nil {
		m.SetEdns0(ednsSize, false)
	}
	w.WriteMsg(m)
}

// scrubWriter fits every response to its client: the EDNS0 record mirrors
// the query's (and no upstream's leaks through), compression is on, and
// UDP answers larger than the client's buffer are truncated with TC set.
// It remembers what it wrote for the prometheus plugin (plugin.Written).
type scrubWriter struct {
	dns.ResponseWriter
	req     *dns.Msg
	buf     []byte // pack buffer, used up to its capacity (nil: allocate)
	opt     dns.OPT
	extra   []dns.RR // additional section with opt
	written bool
	rcode   int
	size    int
}

var _ plugin.Written = (*scrubWriter)(nil)

// Written implements plugin.Written.
func (w *scrubWriter) Written() (rcode, size int, ok bool) { return w.rcode, w.size, w.written }

func (w *scrubWriter) WriteMsg(m *dns.Msg) error {
	w.written = true
	w.rcode = m.Rcode
	m.Id = w.req.Id
	m.Response = true
	for i := 0; i < len(m.Extra); i++ {
		if m.Extra[i].Header().Rrtype == dns.TypeOPT {
			m.Extra = append(m.Extra[:i:i], m.Extra[i+1:]...)
			i--
		}
	}
	size := dns.MinMsgSize
	extra := m.Extra
	if o := w.req.IsEdns0(); o != nil {
		// Our OPT and the section holding it are the writer's own (reused
		// by a UDP worker); m gets its own section back after packing.
		w.opt = dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}}
		w.opt.SetUDPSize(ednsSize)
		if o.Do() {
			w.opt.SetDo()
		}
		w.extra = append(append(w.extra[:0], extra...), &w.opt)
		m.Extra = w.extra
		if s := int(o.UDPSize()); s > size {
			size = s
		}
	}
	m.Compress = true
	if plugin.Proto(w.ResponseWriter) == "tcp" {
		size = dns.MaxMsgSize
	}
	// Pack once; only an answer too large for the client is packed again.
	b, err := m.PackBuffer(w.buf[:cap(w.buf)])
	if err == nil && len(b) > size {
		m.Truncate(size)
		extra = slices.DeleteFunc(slices.Clone(m.Extra), func(rr dns.RR) bool { return rr == &w.opt })
		b, err = m.PackBuffer(w.buf[:cap(w.buf)])
	}
	m.Extra = extra
	if err != nil {
		return err
	}
	w.size = len(b)
	_, err = w.ResponseWriter.Write(b)
	return err
}

// Write sends a packed answer as it is: a plugin that writes bytes (the
// cache) has fitted them to the client itself.
func (w *scrubWriter) Write(b []byte) (int, error) {
	w.written = true
	w.size = len(b)
	if len(b) >= 4 {
		w.rcode = int(b[3] & 0xf)
	}
	return w.ResponseWriter.Write(b)
}

func reusePort(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	})
	if err != nil {
		return err
	}
	return serr
}

func listenUDP(addr string) (net.PacketConn, error) {
	lc := net.ListenConfig{Control: reusePort}
	return lc.ListenPacket(context.Background(), "udp", addr)
}

func listenTCP(addr string) (net.Listener, error) {
	lc := net.ListenConfig{Control: reusePort}
	return lc.Listen(context.Background(), "tcp", addr)
}
