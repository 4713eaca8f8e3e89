package server

import (
	"encoding/binary"
	"hash/maphash"
	"sync/atomic"

	"github.com/miekg/dns"
)

// A UDP worker decodes the common query (one question whose name needs no
// escaping, and at most an OPT record without options) into a message it
// reuses, with the question's name taken from a table of names seen: such
// a query then costs no allocation, and an answer from the cache none
// either, which keeps the garbage collector (and its pauses) away from
// the hot path. Anything else goes through dns.Msg.Unpack.

// queryNames interns question names: a direct-mapped table of recently
// seen names, shared by all workers and bounded in size. A slot holds the
// last name that hashed to it.
var queryNames struct {
	seed  maphash.Seed
	slots [4096]atomic.Pointer[string]
}

func init() { queryNames.seed = maphash.MakeSeed() }

// internName returns b as a string, allocating only when the name is not
// in the table.
func internName(b []byte) string {
	slot := &queryNames.slots[maphash.Bytes(queryNames.seed, b)%uint64(len(queryNames.slots))]
	if p := slot.Load(); p != nil && *p == string(b) {
		return *p
	}
	s := string(b)
	slot.Store(&s)
	return s
}

// plainQuery is a worker's reusable decoded query.
type plainQuery struct {
	msg   dns.Msg
	q     [1]dns.Question
	opt   dns.OPT
	extra [1]dns.RR
	name  [256]byte // presentation form of the question's name
}

// decode decodes b into p.msg when b is a plain query and reports whether
// it did; the result is what dns.Msg.Unpack makes of b. For anything else
// it returns false and p.msg is to be decoded with Unpack.
func (p *plainQuery) decode(b []byte) bool {
	if len(b) < 12+1+4 {
		return false
	}
	qd, an, ns, ar := binary.BigEndian.Uint16(b[4:]), binary.BigEndian.Uint16(b[6:]), binary.BigEndian.Uint16(b[8:]), binary.BigEndian.Uint16(b[10:])
	if qd != 1 || an != 0 || ns != 0 || ar > 1 {
		return false
	}
	// The name, in labels of letters, digits, '-', '_' and '*' (nothing
	// that its presentation form escapes), uncompressed.
	off, n := 12, 0
	for {
		if off >= len(b) {
			return false
		}
		l := int(b[off])
		off++
		if l == 0 {
			break
		}
		if l > 63 || off+l > len(b) || n+l+1 > 254 {
			return false
		}
		for _, c := range b[off : off+l] {
			if !plainNameByte(c) {
				return false
			}
		}
		n += copy(p.name[n:], b[off:off+l])
		p.name[n] = '.'
		n++
		off += l
	}
	if n == 0 {
		p.name[0] = '.'
		n = 1
	}
	if off+4 > len(b) {
		return false
	}
	qtype, qclass := binary.BigEndian.Uint16(b[off:]), binary.BigEndian.Uint16(b[off+2:])
	off += 4
	m := &p.msg
	*m = dns.Msg{}
	bits := binary.BigEndian.Uint16(b[2:])
	m.Id = binary.BigEndian.Uint16(b)
	m.Response = bits&(1<<15) != 0
	m.Opcode = int(bits>>11) & 0xF
	m.Authoritative = bits&(1<<10) != 0
	m.Truncated = bits&(1<<9) != 0
	m.RecursionDesired = bits&(1<<8) != 0
	m.RecursionAvailable = bits&(1<<7) != 0
	m.Zero = bits&(1<<6) != 0
	m.AuthenticatedData = bits&(1<<5) != 0
	m.CheckingDisabled = bits&(1<<4) != 0
	m.Rcode = int(bits & 0xF)
	if ar == 1 {
		// An OPT record: root name, type 41, no options.
		if off+11 != len(b) || b[off] != 0 || binary.BigEndian.Uint16(b[off+1:]) != dns.TypeOPT || binary.BigEndian.Uint16(b[off+9:]) != 0 {
			return false
		}
		p.opt = dns.OPT{Hdr: dns.RR_Header{
			Name:   ".",
			Rrtype: dns.TypeOPT,
			Class:  binary.BigEndian.Uint16(b[off+3:]),
			Ttl:    binary.BigEndian.Uint32(b[off+5:]),
		}}
		p.extra[0] = &p.opt
		m.Extra = p.extra[:]
		m.Rcode |= p.opt.ExtendedRcode()
	} else if off != len(b) {
		return false
	}
	p.q[0] = dns.Question{Name: internName(p.name[:n]), Qtype: qtype, Qclass: qclass}
	m.Question = p.q[:]
	return true
}

// plainNameByte reports whether c stands for itself in a name's
// presentation form.
func plainNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '*'
}
