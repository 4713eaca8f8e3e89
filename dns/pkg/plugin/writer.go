package plugin

import (
	"net"
	"slices"

	"github.com/miekg/dns"
)

// Recorder is a ResponseWriter that remembers the message written through
// it (and still writes it on, unless Next is nil).
type Recorder struct {
	dns.ResponseWriter
	Msg   *dns.Msg
	Rcode int
	Len   int
}

// NewRecorder wraps w.
func NewRecorder(w dns.ResponseWriter) *Recorder { return &Recorder{ResponseWriter: w} }

// WriteMsg records m and writes it to the wrapped writer.
func (r *Recorder) WriteMsg(m *dns.Msg) error {
	r.Msg = m
	r.Rcode = m.Rcode
	r.Len = m.Len()
	if r.ResponseWriter == nil {
		return nil
	}
	return r.ResponseWriter.WriteMsg(m)
}

// Write records the length and rcode of a packed message written raw.
func (r *Recorder) Write(b []byte) (int, error) {
	r.Len = len(b)
	if len(b) >= 4 {
		r.Rcode = int(b[3] & 0xf)
	}
	if r.ResponseWriter == nil {
		return len(b), nil
	}
	return r.ResponseWriter.Write(b)
}

// Written is implemented by the writer the server hands to the chain: it
// reports the response code and wire size of what was written to the
// client (ok false when nothing was), so that the prometheus plugin does
// not have to measure the message again.
type Written interface {
	Written() (rcode, size int, ok bool)
}

// Detach returns a writer for work that outlives the query (a cache
// prefetch): it writes nothing and answers address questions with copies,
// as the server reuses w and its addresses for later queries.
func Detach(w dns.ResponseWriter) dns.ResponseWriter {
	return &detached{local: copyAddr(w.LocalAddr()), remote: copyAddr(w.RemoteAddr())}
}

type detached struct {
	NonWriter
	local, remote net.Addr
}

func (d *detached) LocalAddr() net.Addr  { return d.local }
func (d *detached) RemoteAddr() net.Addr { return d.remote }
func (d *detached) Close() error         { return nil }
func (d *detached) TsigStatus() error    { return nil }
func (d *detached) TsigTimersOnly(bool)  {}
func (d *detached) Hijack()              {}

func copyAddr(a net.Addr) net.Addr {
	switch a := a.(type) {
	case *net.UDPAddr:
		return &net.UDPAddr{IP: slices.Clone(a.IP), Port: a.Port, Zone: a.Zone}
	case *net.TCPAddr:
		return &net.TCPAddr{IP: slices.Clone(a.IP), Port: a.Port, Zone: a.Zone}
	}
	return a
}

// NonWriter captures a message without sending it anywhere; its address
// methods answer for the wrapped writer.
type NonWriter struct {
	dns.ResponseWriter
	Msg *dns.Msg
}

// WriteMsg keeps m.
func (w *NonWriter) WriteMsg(m *dns.Msg) error { w.Msg = m; return nil }

// Write is a no-op.
func (w *NonWriter) Write(b []byte) (int, error) { return len(b), nil }

// Proto returns "udp" or "tcp" for w's transport.
func Proto(w dns.ResponseWriter) string {
	if w == nil || w.RemoteAddr() == nil {
		return "udp"
	}
	if w.RemoteAddr().Network() == "tcp" {
		return "tcp"
	}
	return "udp"
}

// Size is the largest response the client of r over proto accepts.
func Size(proto string, r *dns.Msg) int {
	if proto == "tcp" {
		return dns.MaxMsgSize
	}
	if o := r.IsEdns0(); o != nil {
		if s := int(o.UDPSize()); s > dns.MinMsgSize {
			return s
		}
	}
	return dns.MinMsgSize
}

// Do reports whether r has the DNSSEC OK bit.
func Do(r *dns.Msg) bool {
	if o := r.IsEdns0(); o != nil {
		return o.Do()
	}
	return false
}

// EDNSSize is the UDP payload size the server advertises in responses (the
// DNS flag day 2020 value).
const EDNSSize = 1232
