package nodeipam

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"net"
)

// errFull is returned when every subnet of the cluster CIDR is taken.
var errFull = errors.New("nodeipam: cluster CIDR is full")

// cidrSet hands out the /maskSize subnets of an IPv4 cluster CIDR, lowest
// free first. It is not safe for concurrent use.
type cidrSet struct {
	base     uint32
	maskSize int
	size     int // number of subnets
	used     *big.Int
	next     int
}

func newCIDRSet(cluster *net.IPNet, maskSize int) (*cidrSet, error) {
	ip4 := cluster.IP.To4()
	if ip4 == nil {
		return nil, fmt.Errorf("nodeipam: only IPv4 cluster CIDRs are supported, got %s", cluster)
	}
	ones, _ := cluster.Mask.Size()
	if maskSize < ones || maskSize > 30 {
		return nil, fmt.Errorf("nodeipam: node mask /%d does not fit cluster CIDR %s", maskSize, cluster)
	}
	if maskSize-ones > 24 {
		return nil, fmt.Errorf("nodeipam: /%d in %s makes too many subnets", maskSize, cluster)
	}
	return &cidrSet{base: binary.BigEndian.Uint32(ip4), maskSize: maskSize, size: 1 << (maskSize - ones), used: new(big.Int)}, nil
}

func (s *cidrSet) subnet(i int) *net.IPNet {
	ip := make(net.IP, 4)
	binary.BigEndian.PutUint32(ip, s.base+uint32(i)<<(32-s.maskSize))
	return &net.IPNet{IP: ip, Mask: net.CIDRMask(s.maskSize, 32)}
}

// index returns the subnet number of cidr, or an error if cidr is not one
// of the set's subnets.
func (s *cidrSet) index(cidr *net.IPNet) (int, error) {
	ip4 := cidr.IP.To4()
	ones, bits := cidr.Mask.Size()
	if ip4 == nil || bits != 32 || ones != s.maskSize {
		return 0, fmt.Errorf("nodeipam: %s is not a /%d IPv4 subnet", cidr, s.maskSize)
	}
	off := binary.BigEndian.Uint32(ip4) - s.base
	i := int(off >> (32 - s.maskSize))
	if binary.BigEndian.Uint32(ip4) < s.base || i >= s.size {
		return 0, fmt.Errorf("nodeipam: %s is outside the cluster CIDR", cidr)
	}
	return i, nil
}

// allocate takes the next free subnet.
func (s *cidrSet) allocate() (*net.IPNet, error) {
	for k := range s.size {
		i := (s.next + k) % s.size
		if s.used.Bit(i) == 0 {
			s.used.SetBit(s.used, i, 1)
			s.next = (i + 1) % s.size
			return s.subnet(i), nil
		}
	}
	return nil, errFull
}

// occupy marks cidr taken; it reports false if it already was.
func (s *cidrSet) occupy(cidr *net.IPNet) (bool, error) {
	i, err := s.index(cidr)
	if err != nil {
		return false, err
	}
	if s.used.Bit(i) == 1 {
		return false, nil
	}
	s.used.SetBit(s.used, i, 1)
	return true, nil
}

// release frees cidr.
func (s *cidrSet) release(cidr *net.IPNet) error {
	i, err := s.index(cidr)
	if err != nil {
		return err
	}
	s.used.SetBit(s.used, i, 0)
	return nil
}
