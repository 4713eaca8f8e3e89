package app

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"navarch.dev/proxy/pkg/netns"
)

// parseNodePortAddresses checks --nodeport-addresses: CIDRs, or the word
// "primary" for the node's primary IPs, as upstream accepts.
func parseNodePortAddresses(specs []string) (prefixes []netip.Prefix, primary bool, err error) {
	for _, s := range specs {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if s == "primary" {
			primary = true
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, false, fmt.Errorf("proxy: --nodeport-addresses: %q is neither a CIDR nor \"primary\"", s)
		}
		prefixes = append(prefixes, p.Masked())
	}
	return prefixes, primary, nil
}

// nodePortIPs resolves --nodeport-addresses to the local addresses of one
// family (IPv6 with ipv6) NodePorts answer on: the local addresses inside
// one of the prefixes, and with primary the node's primary IPs. No specs
// means every address (nil); specs that match no address of the family
// give an empty, non-nil list.
func nodePortIPs(specs []string, nodeIPs []string, local []netip.Addr, ipv6 bool) ([]string, error) {
	prefixes, primary, err := parseNodePortAddresses(specs)
	if err != nil {
		return nil, err
	}
	if len(prefixes) == 0 && !primary {
		return nil, nil
	}
	var out []string
	seen := map[string]bool{}
	add := func(ip string) {
		if !seen[ip] {
			seen[ip] = true
			out = append(out, ip)
		}
	}
	ofFamily := func(a netip.Addr) bool { return a.Is4() != ipv6 }
	if primary {
		for _, ip := range nodeIPs {
			if a, err := netip.ParseAddr(ip); err == nil && ofFamily(a) {
				add(a.String())
			}
		}
	}
	for _, a := range local {
		for _, p := range prefixes {
			if ofFamily(a) && p.Contains(a) {
				add(a.String())
			}
		}
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// noneMatch is the error for --nodeport-addresses that match no address
// of any family the proxy serves: NodePorts would answer nowhere.
func noneMatch(specs []string) error {
	return fmt.Errorf("proxy: --nodeport-addresses %s matches no address of this node", strings.Join(specs, ","))
}

// localAddrs lists the addresses of the interfaces in the namespace at
// nsPath (the current one when empty).
func localAddrs(nsPath string) ([]netip.Addr, error) {
	var out []netip.Addr
	err := netns.Do(nsPath, func() error {
		addrs, err := net.InterfaceAddrs()
		if err != nil {
			return err
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(n.IP); ok {
					out = append(out, ip.Unmap())
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("proxy: list local addresses: %w", err)
	}
	return out, nil
}

// nodeIPs returns the node's InternalIPs (else ExternalIPs) from its Node
// object, as upstream finds its primary IPs; none when the Node cannot be
// read.
func nodeIPs(ctx context.Context, client kubernetes.Interface, name string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	node, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	for _, t := range []v1.NodeAddressType{v1.NodeInternalIP, v1.NodeExternalIP} {
		var out []string
		for _, a := range node.Status.Addresses {
			if ip, err := netip.ParseAddr(a.Address); a.Type == t && err == nil {
				out = append(out, ip.String())
			}
		}
		if len(out) > 0 {
			return out, nil
		}
	}
	return nil, nil
}
