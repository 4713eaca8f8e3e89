package ipalloc

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/netip"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// maxIPv6Slots caps the bitmap of an IPv6 range, as upstream does: only the
// first 65535 addresses after the network address are used.
const maxIPv6Slots = 1 << 16

// IPAllocator hands out ClusterIPs from one CIDR. Slots are the addresses of
// the CIDR except the network address and, for IPv4, the broadcast address.
// The first of them (10.96.0.1 in 10.96.0.0/12) is reserved for the
// default/kubernetes Service: Allocate accepts it, AllocateNext never returns
// it. Methods are safe for concurrent use, also across processes.
type IPAllocator struct {
	prefix netip.Prefix
	first  *big.Int // the address of slot 0
	store  *store
}

// NewIPAllocator returns an allocator for cidr whose state is kept at key.
// It does not contact etcd; the key is created by the first write. An IPv4
// range must have between 1 and 2^20 usable addresses (/30 to /12).
func NewIPAllocator(cli *clientv3.Client, key string, cidr *net.IPNet, opts ...Option) (*IPAllocator, error) {
	if cidr == nil {
		return nil, errors.New("ipalloc: nil CIDR")
	}
	ones, bitLen := cidr.Mask.Size()
	addr, ok := netip.AddrFromSlice(cidr.IP)
	if !ok || bitLen == 0 {
		return nil, fmt.Errorf("ipalloc: invalid CIDR %v", cidr)
	}
	if bitLen == 32 {
		addr = addr.Unmap()
	}
	if addr.BitLen() != bitLen {
		return nil, fmt.Errorf("ipalloc: invalid CIDR %v: address and mask families differ", cidr)
	}
	prefix := netip.PrefixFrom(addr, ones).Masked()
	hostBits := bitLen - ones

	var size int
	if addr.Is4() {
		if hostBits > 20 {
			return nil, fmt.Errorf("ipalloc: service IP range %s is too large: for IPv4 the mask must be /12 or longer", prefix)
		}
		size = 1<<hostBits - 2 // neither the network nor the broadcast address
	} else {
		size = min(1<<min(hostBits, 20), maxIPv6Slots) - 1 // not the network address
	}
	if size < 1 {
		return nil, fmt.Errorf("ipalloc: service IP range %s has no usable address", prefix)
	}
	// KEP-3070: min(max(16, rangeSize/16), 256), counted on the whole CIDR.
	rangeSize := uint64(1) << min(hostBits, 63)
	spec := rangeSpec{
		name:       prefix.String(),
		size:       size,
		static:     min(staticBand(rangeSize, 16, 256, 16), size),
		dynamicLow: 1,
		allocated:  "provided IP is already allocated",
	}
	s, err := newStore(cli, key, spec, opts)
	if err != nil {
		return nil, err
	}
	first := new(big.Int).SetBytes(prefix.Addr().AsSlice())
	first.Add(first, big.NewInt(1))
	return &IPAllocator{prefix: prefix, first: first, store: s}, nil
}

// CIDR returns the range, masked (a copy the caller may modify).
func (a *IPAllocator) CIDR() *net.IPNet {
	bitLen := a.prefix.Addr().BitLen()
	return &net.IPNet{IP: net.IP(a.prefix.Addr().AsSlice()), Mask: net.CIDRMask(a.prefix.Bits(), bitLen)}
}

// Size returns the number of addresses in the range, the reserved first one
// included.
func (a *IPAllocator) Size() int { return a.store.spec.size }

// slot maps ip to its slot, or returns false when it is not an allocatable
// address of the range.
func (a *IPAllocator) slot(ip net.IP) (int, bool) {
	addr, ok := netip.AddrFromSlice(ip)
	if !ok {
		return 0, false
	}
	if a.prefix.Addr().Is4() {
		addr = addr.Unmap()
	}
	if !a.prefix.Contains(addr) {
		return 0, false
	}
	d := new(big.Int).SetBytes(addr.AsSlice())
	d.Sub(d, a.first)
	if d.Sign() < 0 || d.Cmp(big.NewInt(int64(a.store.spec.size))) >= 0 {
		return 0, false
	}
	return int(d.Int64()), true
}

func (a *IPAllocator) ip(slot int) net.IP {
	v := new(big.Int).Add(a.first, big.NewInt(int64(slot)))
	return net.IP(v.FillBytes(make([]byte, a.prefix.Addr().BitLen()/8)))
}

func (a *IPAllocator) notInRange(ip net.IP) error {
	return &Error{Reason: ErrNotInRange, Message: fmt.Sprintf(
		"the provided IP (%v) is not in the valid range. The range of valid IPs is %s", ip, a.prefix)}
}

// Allocate takes ip. It returns an *Error wrapping ErrAllocated when ip is
// taken and one wrapping ErrNotInRange when ip is not an address of the range.
func (a *IPAllocator) Allocate(ctx context.Context, ip net.IP) error {
	slot, ok := a.slot(ip)
	if !ok {
		return a.notInRange(ip)
	}
	if err := a.store.allocate(ctx, slot); err != nil {
		return fault(err, "allocate IP %v", ip)
	}
	return nil
}

// AllocateNext takes a random free address, from the upper part of the range
// while it has one, and never the reserved first address. It returns an
// *Error wrapping ErrFull when there is none.
func (a *IPAllocator) AllocateNext(ctx context.Context) (net.IP, error) {
	slot, err := a.store.allocateNext(ctx)
	if err != nil {
		return nil, fault(err, "allocate next IP in %s", a.prefix)
	}
	return a.ip(slot), nil
}

// Release frees ip. Releasing a free address, or one outside the range, is
// not an error.
func (a *IPAllocator) Release(ctx context.Context, ip net.IP) error {
	slot, ok := a.slot(ip)
	if !ok {
		return nil
	}
	if err := a.store.release(ctx, slot); err != nil {
		return fault(err, "release IP %v", ip)
	}
	return nil
}

// Has reports whether ip is allocated, reading etcd. Addresses outside the
// range are never allocated.
func (a *IPAllocator) Has(ctx context.Context, ip net.IP) (bool, error) {
	slot, ok := a.slot(ip)
	if !ok {
		return false, nil
	}
	has, err := a.store.has(ctx, slot)
	if err != nil {
		return false, fault(err, "check IP %v", ip)
	}
	return has, nil
}

// Repair makes the allocation state match inUse, the ClusterIPs of all stored
// Services: addresses in use are marked allocated, and allocated addresses no
// Service uses are freed unless they were allocated within the leak grace
// (they may belong to a create still in flight in some apiserver; a later
// Repair frees them). inUse must be listed before Repair is called. The
// apiserver calls Repair at start and then periodically. The report lists
// what changed and what was wrong; addresses outside the range are not
// recorded.
func (a *IPAllocator) Repair(ctx context.Context, inUse []net.IP) (RepairReport[net.IP], error) {
	var rep RepairReport[net.IP]
	slots := make([]int, 0, len(inUse))
	seen := make(map[int]bool, len(inUse))
	for _, ip := range inUse {
		slot, ok := a.slot(ip)
		switch {
		case !ok:
			rep.OutOfRange = append(rep.OutOfRange, ip)
		case seen[slot]:
			rep.Duplicates = append(rep.Duplicates, ip)
		default:
			seen[slot] = true
			slots = append(slots, slot)
		}
	}
	sr, err := a.store.repair(ctx, slots)
	if err != nil {
		return rep, fault(err, "repair %s", a.prefix)
	}
	rep.Restored = mapSlots(sr.restored, a.ip)
	rep.Reclaimed = mapSlots(sr.reclaimed, a.ip)
	rep.Pending = mapSlots(sr.pending, a.ip)
	return rep, nil
}
