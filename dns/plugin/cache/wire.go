package cache

import (
	"encoding/binary"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"navarch.dev/dns/pkg/plugin"
)

// A cached answer is kept packed: a hit copies the bytes and patches the
// ID, flags, the question's letter case and the TTLs in place, which costs
// far less than copying records and packing them with compression again.

var errBadWire = errors.New("cache: malformed packed message")

// packed is an answer in wire format without an OPT record, with the offset
// and stored value of every record's TTL.
type packed struct {
	wire []byte
	ttls []ttlAt
}

type ttlAt struct {
	off int
	ttl uint32
}

// pack packs m (which must not hold an OPT record) compressed.
func pack(m *dns.Msg) (*packed, error) {
	m.Compress = true
	wire, err := m.Pack()
	if err != nil {
		return nil, err
	}
	p := &packed{wire: wire}
	off := 12
	qd := int(binary.BigEndian.Uint16(wire[4:]))
	rrs := int(binary.BigEndian.Uint16(wire[6:])) + int(binary.BigEndian.Uint16(wire[8:])) + int(binary.BigEndian.Uint16(wire[10:]))
	for range qd {
		if off, err = skipName(wire, off); err != nil {
			return nil, err
		}
		off += 4
	}
	for range rrs {
		if off, err = skipName(wire, off); err != nil {
			return nil, err
		}
		if off+10 > len(wire) {
			return nil, errBadWire
		}
		p.ttls = append(p.ttls, ttlAt{off: off + 4, ttl: binary.BigEndian.Uint32(wire[off+4:])})
		off += 10 + int(binary.BigEndian.Uint16(wire[off+8:]))
	}
	if off != len(wire) {
		return nil, errBadWire
	}
	return p, nil
}

// skipName returns the offset after the (possibly compressed) name at off.
func skipName(b []byte, off int) (int, error) {
	for {
		if off >= len(b) {
			return 0, errBadWire
		}
		c := int(b[off])
		switch c & 0xc0 {
		case 0x00:
			if c == 0 {
				return off + 1, nil
			}
			off += 1 + c
		case 0xc0:
			return off + 2, nil
		default:
			return 0, errBadWire
		}
	}
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// optLen is the length of the OPT record appended for EDNS clients.
const optLen = 11

// write answers r from it over w: the packed answer with r's ID, flags and
// question case, TTLs lowered by age and capped at left, and an OPT record
// when r has one. It reports false, writing nothing, when the answer does
// not fit the client's buffer (the caller then writes a Msg, which the
// server truncates).
func (it *item) write(w dns.ResponseWriter, r *dns.Msg, age, left uint32) bool {
	p := it.packed
	size := plugin.Size(plugin.Proto(w), r)
	opt := r.IsEdns0()
	n := len(p.wire)
	if opt != nil {
		n += optLen
	}
	if n > size {
		return false
	}
	name := r.Question[0].Name
	if len(name)+1 > len(p.wire)-12 || strings.IndexByte(name, '\\') >= 0 {
		return false
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	b := append((*bp)[:0], p.wire...)
	*bp = b
	binary.BigEndian.PutUint16(b, r.Id)
	b[2] = 0x80 | byte(r.Opcode&0xf)<<3
	if it.authoritative {
		b[2] |= 0x04
	}
	if r.RecursionDesired {
		b[2] |= 0x01
	}
	b[3] = byte(it.rcode & 0xf)
	if it.ra {
		b[3] |= 0x80
	}
	if it.ad {
		b[3] |= 0x20
	}
	if r.CheckingDisabled {
		b[3] |= 0x10
	}
	// The question echoes the client's letter case (0x20 randomization):
	// the name's letters sit at the same offsets as in the presentation
	// form, one byte on, with length bytes where the dots are.
	for i := 0; i < len(name); i++ {
		if c := name[i]; c != '.' {
			b[13+i] = c
		}
	}
	for _, t := range p.ttls {
		ttl := t.ttl
		if ttl > age {
			ttl -= age
		} else {
			ttl = 0
		}
		binary.BigEndian.PutUint32(b[t.off:], min(ttl, left))
	}
	if opt != nil {
		b = append(b, 0, 0, 41, byte(plugin.EDNSSize>>8), byte(plugin.EDNSSize&0xff), 0, 0, 0, 0, 0, 0)
		if opt.Do() {
			b[len(b)-4] = 0x80
		}
		binary.BigEndian.PutUint16(b[10:], binary.BigEndian.Uint16(b[10:])+1)
		*bp = b
	}
	w.Write(b)
	return true
}

// reply builds the answer to r as a Msg, for clients whose buffer the
// packed answer does not fit.
func (it *item) reply(r *dns.Msg, now time.Time) *dns.Msg {
	m := new(dns.Msg)
	if err := m.Unpack(it.packed.wire); err != nil {
		return new(dns.Msg).SetRcode(r, dns.RcodeServerFailure)
	}
	age, left := it.ages(now)
	m.Id = r.Id
	m.Opcode = r.Opcode
	m.RecursionDesired = r.RecursionDesired
	m.CheckingDisabled = r.CheckingDisabled
	m.Question = r.Question
	for _, set := range [][]dns.RR{m.Answer, m.Ns, m.Extra} {
		for _, rr := range set {
			h := rr.Header()
			if h.Ttl > age {
				h.Ttl -= age
			} else {
				h.Ttl = 0
			}
			h.Ttl = min(h.Ttl, left)
		}
	}
	return m
}

// ages returns the seconds it has been cached and has left.
func (it *item) ages(now time.Time) (age, left uint32) {
	return uint32(now.Sub(it.stored) / time.Second), uint32(it.expires.Sub(now) / time.Second)
}
