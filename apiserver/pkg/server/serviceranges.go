package server

import (
	"errors"
	"fmt"
	"net"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"navarch.dev/apiserver/pkg/ipalloc"
	"navarch.dev/apiserver/pkg/servicealloc"
)

// maxServiceCIDRBits bounds a service range to 2^20 addresses, as upstream
// does: its allocation bitmap lives in etcd.
const maxServiceCIDRBits = 20

// parseServiceIPRanges parses --service-cluster-ip-range with upstream's
// rules: one CIDR, or two of different IP families separated by a comma (a
// dual-stack cluster). The first is the primary range: Services that ask for
// no family get its family, and default/kubernetes gets its first address.
func parseServiceIPRanges(value string) ([]*net.IPNet, error) {
	if value == "" {
		return nil, errors.New("--service-cluster-ip-range must contain at least one valid cidr")
	}
	parts := strings.Split(value, ",")
	if len(parts) > 2 {
		return nil, errors.New("--service-cluster-ip-range must not contain more than two entries")
	}
	var out []*net.IPNet
	for i, p := range parts {
		_, n, err := net.ParseCIDR(p)
		if err != nil {
			return nil, fmt.Errorf("--service-cluster-ip-range[%d] %q is not a valid cidr", i, p)
		}
		flag := "--service-cluster-ip-range"
		if i > 0 {
			flag += fmt.Sprintf("[%d]", i)
		}
		ones, bits := n.Mask.Size()
		if bits-ones > maxServiceCIDRBits {
			return nil, fmt.Errorf("specified %s is too large; for %d-bit addresses, the mask must be >= %d", flag, bits, bits-maxServiceCIDRBits)
		}
		if i == 0 && bits-ones < 3 {
			return nil, fmt.Errorf("the service cluster IP range must be at least %d IP addresses", 8)
		}
		out = append(out, n)
	}
	if len(out) == 2 && ipFamily(out[0].IP) == ipFamily(out[1].IP) {
		return nil, errors.New("--service-cluster-ip-range[0] and --service-cluster-ip-range[1] must be of different IP family")
	}
	return out, nil
}

func ipFamily(ip net.IP) corev1.IPFamily {
	if ip.To4() != nil {
		return corev1.IPv4Protocol
	}
	return corev1.IPv6Protocol
}

// serviceRangeKeys are the etcd keys (under the prefix) of the primary and
// secondary service ranges, upstream's.
var serviceRangeKeys = [2]string{"/ranges/serviceips", "/ranges/secondaryserviceips"}

// serviceIPAllocators builds an allocator per range of
// --service-cluster-ip-range, by family, and returns the primary family.
func (s *Server) serviceIPAllocators() (map[corev1.IPFamily]*ipalloc.IPAllocator, corev1.IPFamily, error) {
	ranges, err := parseServiceIPRanges(s.opts.ServiceClusterIPRange)
	if err != nil {
		return nil, "", err
	}
	prefix := strings.TrimSuffix(s.opts.EtcdPrefix, "/")
	out := make(map[corev1.IPFamily]*ipalloc.IPAllocator, len(ranges))
	for i, cidr := range ranges {
		a, err := ipalloc.NewIPAllocator(s.cli, prefix+serviceRangeKeys[i], cidr)
		if err != nil {
			return nil, "", fmt.Errorf("service IP range %s: %w", cidr, err)
		}
		out[ipFamily(cidr.IP)] = a
	}
	return out, ipFamily(ranges[0].IP), nil
}

func serviceAllocator(ips map[corev1.IPFamily]*ipalloc.IPAllocator, primary corev1.IPFamily, ports *ipalloc.PortAllocator) *servicealloc.Allocator {
	a := &servicealloc.Allocator{IPs: map[corev1.IPFamily]servicealloc.IPs{}, Primary: primary, Ports: ports}
	for fam, r := range ips {
		a.IPs[fam] = r
	}
	return a
}
