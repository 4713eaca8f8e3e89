package server

import (
	"reflect"
	"testing"

	"github.com/miekg/dns"
)

func packed(t testing.TB, m *dns.Msg) []byte {
	t.Helper()
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPlainQueryDecodesAsUnpack checks that the fast decoder takes the
// common queries and makes of them exactly what dns.Msg.Unpack makes, and
// leaves everything else to Unpack.
func TestPlainQueryDecodesAsUnpack(t *testing.T) {
	q := func(name string, qtype uint16) *dns.Msg { return new(dns.Msg).SetQuestion(name, qtype) }
	edns := func(m *dns.Msg, do bool) *dns.Msg { m.SetEdns0(1232, do); return m }
	flags := q("Web.Default.SVC.cluster.local.", dns.TypeAAAA)
	flags.Id, flags.RecursionDesired, flags.CheckingDisabled, flags.AuthenticatedData = 0xbeef, false, true, true
	extRcode := edns(q("a.example.", dns.TypeA), false)
	extRcode.Extra[0].(*dns.OPT).SetExtendedRcode(dns.RcodeBadVers)
	cookie := edns(q("a.example.", dns.TypeA), false)
	cookie.Extra[0].(*dns.OPT).Option = []dns.EDNS0{&dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: "0123456789abcdef"}}
	chaos := q("version.bind.", dns.TypeTXT)
	chaos.Question[0].Qclass = dns.ClassCHAOS
	two := q("a.example.", dns.TypeA)
	two.Question = append(two.Question, dns.Question{Name: "b.example.", Qtype: dns.TypeA, Qclass: dns.ClassINET})
	answer := q("a.example.", dns.TypeA)
	answer.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: "a.example.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 5}, A: []byte{192, 0, 2, 1}}}
	long := "a23456789012345678901234567890123456789012345678901234567890123."
	tests := []struct {
		name  string
		wire  []byte
		plain bool
	}{
		{"service A", packed(t, q("svc-1.default.svc.cluster.local.", dns.TypeA)), true},
		{"mixed case, flags", packed(t, flags), true},
		{"root NS", packed(t, q(".", dns.TypeNS)), true},
		{"SRV with underscores", packed(t, q("_http._tcp.web.default.svc.cluster.local.", dns.TypeSRV)), true},
		{"wildcard", packed(t, q("*.default.svc.cluster.local.", dns.TypeA)), true},
		{"EDNS", packed(t, edns(q("a.example.", dns.TypeA), false)), true},
		{"EDNS with DO", packed(t, edns(q("a.example.", dns.TypeA), true)), true},
		{"EDNS extended rcode", packed(t, extRcode), true},
		{"chaos class", packed(t, chaos), true},
		{"longest labels", packed(t, q(long+long+long+"a234567890123456789012345678901234567890123456789012345678901.", dns.TypeA)), true},
		{"EDNS option", packed(t, cookie), false},
		{"escaped dot in label", packed(t, q(`a\.b.example.`, dns.TypeA)), false},
		{"space in label", packed(t, q(`a\032b.example.`, dns.TypeA)), false},
		{"two questions", packed(t, two), false},
		{"answer section", packed(t, answer), false},
		{"trailing bytes", append(packed(t, q("a.example.", dns.TypeA)), 0, 0), false},
		{"no question", packed(t, new(dns.Msg)), false},
		{"truncated question", packed(t, q("a.example.", dns.TypeA))[:20], false},
		{"compression pointer", []byte{0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p plainQuery
			if got := p.decode(tt.wire); got != tt.plain {
				t.Fatalf("decoded = %v, want %v", got, tt.plain)
			}
			if !tt.plain {
				return
			}
			want := new(dns.Msg)
			if err := want.Unpack(tt.wire); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(&p.msg, want) {
				t.Errorf("decoded\n%v\nUnpack\n%v", &p.msg, want)
			}
		})
	}
}

// TestPlainQueryReuse decodes different queries into one plainQuery in
// turn, as a worker does, and checks that nothing of one query shows in
// the next.
func TestPlainQueryReuse(t *testing.T) {
	var p plainQuery
	first := new(dns.Msg).SetQuestion("first.example.", dns.TypeA)
	first.SetEdns0(4096, true)
	if !p.decode(packed(t, first)) || p.msg.IsEdns0() == nil {
		t.Fatal("first query not decoded with EDNS")
	}
	p.msg.Answer = append(p.msg.Answer, &dns.A{}) // as a plugin might
	second := new(dns.Msg).SetQuestion("second.example.", dns.TypeMX)
	if !p.decode(packed(t, second)) {
		t.Fatal("second query not decoded")
	}
	want := new(dns.Msg)
	want.Unpack(packed(t, second))
	if !reflect.DeepEqual(&p.msg, want) {
		t.Errorf("second query decoded as\n%v\nwant\n%v", &p.msg, want)
	}
}

// FuzzPlainQuery checks that whatever the fast decoder accepts, Unpack
// decodes to the same message.
func FuzzPlainQuery(f *testing.F) {
	for _, m := range []*dns.Msg{
		new(dns.Msg).SetQuestion("svc-1.default.svc.cluster.local.", dns.TypeA),
		new(dns.Msg).SetQuestion(".", dns.TypeNS),
		new(dns.Msg).SetQuestion("a.example.", dns.TypeA).SetEdns0(1232, true),
	} {
		f.Add(packed(f, m))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var p plainQuery
		if !p.decode(b) {
			return
		}
		want := new(dns.Msg)
		if err := want.Unpack(b); err != nil {
			t.Fatalf("decoded what Unpack rejects (%v): %x", err, b)
		}
		if !reflect.DeepEqual(&p.msg, want) {
			t.Errorf("%x decoded\n%v\nUnpack\n%v", b, &p.msg, want)
		}
	})
}
