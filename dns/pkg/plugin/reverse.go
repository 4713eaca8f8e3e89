package plugin

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/miekg/dns"
)

// ReverseZones turns a CIDR into the reverse zones that cover it, splitting
// on octet (IPv4) or nibble (IPv6) boundaries: "10.96.0.0/12" gives the 16
// zones 96.10.in-addr.arpa. … 111.10.in-addr.arpa.
func ReverseZones(cidr string) ([]string, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return nil, fmt.Errorf("bad CIDR %q: %w", cidr, err)
	}
	p = p.Masked()
	step := 8
	if p.Addr().Is6() {
		step = 4
	}
	bits := p.Bits()
	rounded := (bits + step - 1) / step * step
	n := 1 << (rounded - bits)
	var zones []string
	addr := p.Addr()
	for i := 0; i < n; i++ {
		zones = append(zones, reverseZone(addr, rounded))
		addr = addAt(addr, rounded, 1)
	}
	return zones, nil
}

// reverseZone names the reverse zone of the first bits bits of addr.
func reverseZone(addr netip.Addr, bits int) string {
	rev, _ := dns.ReverseAddr(addr.String())
	labels := dns.SplitDomainName(rev)
	var keep int
	if addr.Is4() {
		keep = bits / 8
		labels = labels[4-keep:]
	} else {
		keep = bits / 4
		labels = labels[32-keep:]
	}
	return dns.Fqdn(strings.Join(labels, "."))
}

// addAt adds v at prefix length bits (the unit of the last bit kept).
func addAt(addr netip.Addr, bits int, v int) netip.Addr {
	b := addr.AsSlice()
	bit := bits - 1
	for v > 0 && bit >= 0 {
		idx, shift := bit/8, 7-bit%8
		if b[idx]&(1<<shift) == 0 {
			b[idx] |= 1 << shift
			v--
			break
		}
		b[idx] &^= 1 << shift
		bit--
	}
	out, _ := netip.AddrFromSlice(b)
	return out
}

// ReverseIP returns the address a PTR name (…in-addr.arpa. or …ip6.arpa.)
// stands for, or an invalid Addr when the name is not a full address.
func ReverseIP(name string) netip.Addr {
	name = strings.ToLower(name)
	labels := dns.SplitDomainName(name)
	switch {
	case strings.HasSuffix(name, ".in-addr.arpa."):
		if len(labels) != 6 {
			return netip.Addr{}
		}
		s := labels[3] + "." + labels[2] + "." + labels[1] + "." + labels[0]
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is4() {
			return netip.Addr{}
		}
		return a
	case strings.HasSuffix(name, ".ip6.arpa."):
		if len(labels) != 34 {
			return netip.Addr{}
		}
		var sb strings.Builder
		for i := 31; i >= 0; i-- {
			if len(labels[i]) != 1 {
				return netip.Addr{}
			}
			sb.WriteString(labels[i])
			if i%4 == 0 && i != 0 {
				sb.WriteByte(':')
			}
		}
		a, err := netip.ParseAddr(sb.String())
		if err != nil {
			return netip.Addr{}
		}
		return a
	}
	return netip.Addr{}
}
