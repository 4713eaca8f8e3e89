// Package conntrack removes stale UDP conntrack entries. UDP has no
// connection teardown, so without this a client keeps sending to an
// endpoint that is gone (or to the REJECT of a service that just got its
// first endpoint) until the entry times out.
package conntrack

import (
	"fmt"
	"log/slog"
	"net"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"navarch.dev/proxy/pkg/servicemap"
)

// Deleter deletes UDP conntrack entries whose original destination is
// origDst and, when replySrc is not empty, whose reply source (the endpoint
// after DNAT) is replySrc.
type Deleter interface {
	DeleteUDP(origDst, replySrc string) (uint, error)
}

// Flusher decides which entries are stale after a sync.
type Flusher struct {
	del Deleter
	log *slog.Logger
}

// NewFlusher returns a Flusher using netlink in the namespace at nsPath
// (the current one when empty).
func NewFlusher(nsPath string, log *slog.Logger) *Flusher {
	return &Flusher{del: &netlinkDeleter{ns: nsPath}, log: log}
}

// NewFlusherWith returns a Flusher using del (tests).
func NewFlusherWith(del Deleter, log *slog.Logger) *Flusher {
	return &Flusher{del: del, log: log}
}

// FlushStale deletes the UDP entries made stale by the change from old to
// cur among the changed services: entries to endpoints that were removed,
// and entries to service IPs that had no endpoints before.
func (f *Flusher) FlushStale(old, cur map[servicemap.ServiceName]*servicemap.Service, changed map[servicemap.ServiceName]struct{}) {
	for name := range changed {
		oldPorts := udpPorts(old[name])
		curPorts := udpPorts(cur[name])
		for key, op := range oldPorts {
			still := map[string]bool{}
			if cp := curPorts[key]; cp != nil {
				for _, e := range cp.ClusterEndpoints() {
					still[e.IP] = true
				}
			}
			for _, e := range op.ClusterEndpoints() {
				if !still[e.IP] {
					for _, vip := range vips(op) {
						f.delete(vip, e.IP)
					}
				}
			}
		}
		for key, cp := range curPorts {
			op := oldPorts[key]
			if len(cp.ClusterEndpoints()) > 0 && (op == nil || len(op.ClusterEndpoints()) == 0) {
				for _, vip := range vips(cp) {
					f.delete(vip, "")
				}
			}
		}
	}
}

func (f *Flusher) delete(vip, ep string) {
	n, err := f.del.DeleteUDP(vip, ep)
	if err != nil {
		f.log.Warn("flush stale UDP conntrack entries", "serviceIP", vip, "endpoint", ep, "err", err)
		return
	}
	if n > 0 {
		f.log.Debug("flushed stale UDP conntrack entries", "serviceIP", vip, "endpoint", ep, "count", n)
	}
}

func udpPorts(s *servicemap.Service) map[string]*servicemap.ServicePort {
	m := map[string]*servicemap.ServicePort{}
	if s == nil {
		return m
	}
	for _, p := range s.Ports {
		if p.Protocol == "UDP" {
			m[p.Name.Port] = p
		}
	}
	return m
}

func vips(p *servicemap.ServicePort) []string {
	out := []string{p.ClusterIP}
	out = append(out, p.ExternalIPs...)
	return append(out, p.LoadBalancerIPs...)
}

type netlinkDeleter struct{ ns string }

func (d *netlinkDeleter) DeleteUDP(origDst, replySrc string) (uint, error) {
	h, err := d.handle()
	if err != nil {
		return 0, err
	}
	defer h.Close()
	filter := &netlink.ConntrackFilter{}
	if err := filter.AddProtocol(unix.IPPROTO_UDP); err != nil {
		return 0, err
	}
	if err := filter.AddIP(netlink.ConntrackOrigDstIP, net.ParseIP(origDst)); err != nil {
		return 0, err
	}
	if replySrc != "" {
		if err := filter.AddIP(netlink.ConntrackReplySrcIP, net.ParseIP(replySrc)); err != nil {
			return 0, err
		}
	}
	family := netlink.InetFamily(unix.AF_INET)
	if ip := net.ParseIP(origDst); ip != nil && ip.To4() == nil {
		family = unix.AF_INET6
	}
	n, err := h.ConntrackDeleteFilters(netlink.ConntrackTable, family, filter)
	if err != nil {
		return n, fmt.Errorf("conntrack: delete: %w", err)
	}
	return n, nil
}

func (d *netlinkDeleter) handle() (*netlink.Handle, error) {
	if d.ns == "" {
		return netlink.NewHandle(unix.NETLINK_NETFILTER)
	}
	ns, err := netns.GetFromPath(d.ns)
	if err != nil {
		return nil, fmt.Errorf("conntrack: open netns: %w", err)
	}
	defer ns.Close()
	return netlink.NewHandleAt(ns, unix.NETLINK_NETFILTER)
}
