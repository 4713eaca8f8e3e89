package ipvs

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"syscall"
	"time"

	mobyipvs "github.com/moby/ipvs"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"navarch.dev/proxy/pkg/iptables"
	"navarch.dev/proxy/pkg/metrics"
	"navarch.dev/proxy/pkg/servicemap"
)

// DummyInterface holds every service IP so the node accepts their traffic.
const DummyInterface = "kube-ipvs0"

// Handle is the part of moby/ipvs's *Handle the proxier uses.
type Handle interface {
	GetServices() ([]*mobyipvs.Service, error)
	NewService(*mobyipvs.Service) error
	UpdateService(*mobyipvs.Service) error
	DelService(*mobyipvs.Service) error
	GetDestinations(*mobyipvs.Service) ([]*mobyipvs.Destination, error)
	NewDestination(*mobyipvs.Service, *mobyipvs.Destination) error
	UpdateDestination(*mobyipvs.Service, *mobyipvs.Destination) error
	DelDestination(*mobyipvs.Service, *mobyipvs.Destination) error
}

// Links manages the dummy interface and reads node addresses.
type Links interface {
	EnsureDummy(name string) error
	DeleteDummy(name string) error
	// Addrs lists the IPv4 addresses on an interface.
	Addrs(name string) ([]string, error)
	AddAddr(name, ip string) error
	DelAddr(name, ip string) error
	// NodeIPs lists the node's own IPv4 addresses (NodePort targets),
	// excluding those on the dummy interface.
	NodeIPs() ([]string, error)
}

// System bundles the kernel interfaces IPVS mode needs.
type System struct {
	IPVS  func() (Handle, error)
	Links Links
}

// HostSystem returns the real kernel interfaces for the namespace at nsPath.
func HostSystem(nsPath string) System {
	return System{
		IPVS:  func() (Handle, error) { return mobyipvs.New(nsPath) },
		Links: &netlinkLinks{ns: nsPath},
	}
}

// Config configures the IPVS proxier.
type Config struct {
	Scheduler   string
	ClusterCIDR string
	Metrics     *metrics.Metrics
	// HealthChecks may be nil.
	HealthChecks iptables.HealthChecks
	Logger       *slog.Logger
}

// Proxier programs IPVS virtual servers from a Source.
type Proxier struct {
	src    iptables.Source
	sys    System
	ipt    iptables.Runner
	cfg    Config
	log    *slog.Logger
	handle Handle
}

// Source hands out service snapshots.
type Source = iptables.Source

// New returns an IPVS proxier.
func New(src Source, sys System, ipt iptables.Runner, cfg Config) *Proxier {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Proxier{src: src, sys: sys, ipt: ipt, cfg: cfg, log: log}
}

// persistent is IP_VS_SVC_F_PERSISTENT: ClientIP session affinity.
const persistent = 0x1

type vsKey struct {
	ip    string
	proto uint16
	port  uint16
}

type virtualServer struct {
	svc  *mobyipvs.Service
	dsts map[string]*mobyipvs.Destination // "ip:port"
}

// desired computes the virtual servers for a snapshot and the IPs that
// belong on the dummy interface.
func (p *Proxier) desired(services map[servicemap.ServiceName]*servicemap.Service, nodeIPs []string) (map[vsKey]*virtualServer, map[string]bool) {
	vss := map[vsKey]*virtualServer{}
	bound := map[string]bool{}
	add := func(sp *servicemap.ServicePort, ip string, port int32, eps []servicemap.Endpoint) {
		proto := protoNum(string(sp.Protocol))
		s := &mobyipvs.Service{
			Address: net.ParseIP(ip).To4(), Protocol: proto, Port: uint16(port), SchedName: p.cfg.Scheduler,
			AddressFamily: syscall.AF_INET, Netmask: 0xffffffff,
		}
		if sp.AffinityTimeout > 0 {
			s.Flags |= persistent
			s.Timeout = uint32(sp.AffinityTimeout)
		}
		vs := &virtualServer{svc: s, dsts: map[string]*mobyipvs.Destination{}}
		for _, e := range eps {
			vs.dsts[e.String()] = &mobyipvs.Destination{Address: net.ParseIP(e.IP).To4(), Port: uint16(e.Port), Weight: 1, AddressFamily: syscall.AF_INET}
		}
		vss[vsKey{ip, proto, uint16(port)}] = vs
	}
	for _, svc := range services {
		for _, sp := range svc.Ports {
			add(sp, sp.ClusterIP, sp.Port, sp.InternalEndpoints())
			bound[sp.ClusterIP] = true
			for _, ip := range append(slices.Clone(sp.ExternalIPs), sp.LoadBalancerIPs...) {
				add(sp, ip, sp.Port, sp.ExternalEndpoints())
				bound[ip] = true
			}
			if sp.NodePort != 0 {
				for _, ip := range nodeIPs {
					add(sp, ip, sp.NodePort, sp.ExternalEndpoints())
				}
			}
		}
	}
	return vss, bound
}

func protoNum(p string) uint16 {
	switch p {
	case "UDP":
		return syscall.IPPROTO_UDP
	case "SCTP":
		return 132
	}
	return syscall.IPPROTO_TCP
}

// Sync reconciles IPVS, the dummy interface and the few iptables rules IPVS
// needs with the current services.
func (p *Proxier) Sync() error {
	start := time.Now()
	if err := p.sync(); err != nil {
		p.cfg.Metrics.Failed()
		return err
	}
	p.cfg.Metrics.Synced(true, time.Since(start))
	return nil
}

func (p *Proxier) sync() error {
	snap := p.src.Snapshot()
	if p.handle == nil {
		h, err := p.sys.IPVS()
		if err != nil {
			return fmt.Errorf("ipvs: open handle: %w", err)
		}
		p.handle = h
	}
	if err := p.sys.Links.EnsureDummy(DummyInterface); err != nil {
		return err
	}
	nodeIPs, err := p.sys.Links.NodeIPs()
	if err != nil {
		return err
	}
	want, bound := p.desired(snap.Services, nodeIPs)
	if err := p.syncAddrs(bound); err != nil {
		return err
	}
	have, err := p.handle.GetServices()
	if err != nil {
		return fmt.Errorf("ipvs: list virtual servers: %w", err)
	}
	var errs []error
	seen := map[vsKey]bool{}
	for _, s := range have {
		k := vsKey{s.Address.String(), s.Protocol, s.Port}
		vs, ok := want[k]
		if !ok {
			if err := p.handle.DelService(s); err != nil {
				errs = append(errs, fmt.Errorf("ipvs: delete %s:%d: %w", k.ip, k.port, err))
			}
			continue
		}
		seen[k] = true
		if s.SchedName != vs.svc.SchedName || s.Flags&persistent != vs.svc.Flags&persistent || s.Timeout != vs.svc.Timeout {
			if err := p.handle.UpdateService(vs.svc); err != nil {
				errs = append(errs, fmt.Errorf("ipvs: update %s:%d: %w", k.ip, k.port, err))
			}
		}
		errs = append(errs, p.syncDests(vs)...)
	}
	for k, vs := range want {
		if seen[k] {
			continue
		}
		if err := p.handle.NewService(vs.svc); err != nil {
			errs = append(errs, fmt.Errorf("ipvs: add %s:%d: %w", k.ip, k.port, err))
			continue
		}
		errs = append(errs, p.syncDests(vs)...)
	}
	if err := p.syncIPTables(snap.Services); err != nil {
		errs = append(errs, err)
	}
	if p.cfg.HealthChecks != nil {
		if err := p.cfg.HealthChecks.Sync(snap.Services); err != nil {
			p.log.Warn("health check node ports", "err", err)
		}
	}
	return errors.Join(errs...)
}

// syncDests adds missing real servers and removes gone ones gracefully: a
// TCP real server first gets weight 0 so it takes no new connections, and
// is deleted once it has none left.
func (p *Proxier) syncDests(vs *virtualServer) []error {
	var errs []error
	have, err := p.handle.GetDestinations(vs.svc)
	if err != nil {
		return []error{fmt.Errorf("ipvs: list real servers: %w", err)}
	}
	present := map[string]bool{}
	for _, d := range have {
		key := net.JoinHostPort(d.Address.String(), fmt.Sprint(d.Port))
		present[key] = true
		if _, ok := vs.dsts[key]; ok {
			if d.Weight == 0 {
				d.Weight = 1
				if err := p.handle.UpdateDestination(vs.svc, d); err != nil {
					errs = append(errs, err)
				}
			}
			continue
		}
		switch {
		case vs.svc.Protocol == syscall.IPPROTO_UDP || d.ActiveConnections+d.InactiveConnections == 0 && d.Weight == 0:
			if err := p.handle.DelDestination(vs.svc, d); err != nil {
				errs = append(errs, err)
			}
		case d.Weight != 0:
			d.Weight = 0
			if err := p.handle.UpdateDestination(vs.svc, d); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for key, d := range vs.dsts {
		if !present[key] {
			if err := p.handle.NewDestination(vs.svc, d); err != nil {
				errs = append(errs, fmt.Errorf("ipvs: add real server %s: %w", key, err))
			}
		}
	}
	return errs
}

func (p *Proxier) syncAddrs(bound map[string]bool) error {
	have, err := p.sys.Links.Addrs(DummyInterface)
	if err != nil {
		return err
	}
	for _, ip := range have {
		if !bound[ip] {
			if err := p.sys.Links.DelAddr(DummyInterface, ip); err != nil {
				return err
			}
		}
		delete(bound, ip)
	}
	for ip := range bound {
		if err := p.sys.Links.AddAddr(DummyInterface, ip); err != nil {
			return err
		}
	}
	return nil
}

// syncIPTables writes the masquerade rules IPVS needs: traffic to a service
// IP from outside the cluster network, and NodePort traffic, must be
// SNATed so replies come back through this node.
func (p *Proxier) syncIPTables(services map[servicemap.ServiceName]*servicemap.Service) error {
	if p.ipt == nil {
		return nil
	}
	var b strings.Builder
	b.WriteString("*nat\n:KUBE-SERVICES - [0:0]\n:KUBE-NODEPORTS - [0:0]\n:KUBE-POSTROUTING - [0:0]\n:KUBE-MARK-MASQ - [0:0]\n")
	b.WriteString("-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN\n")
	b.WriteString("-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000\n")
	b.WriteString("-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE --random-fully\n")
	b.WriteString("-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000\n")
	for _, svc := range sortedServices(services) {
		for _, sp := range svc.Ports {
			proto := strings.ToLower(string(sp.Protocol))
			if p.cfg.ClusterCIDR != "" {
				fmt.Fprintf(&b, "-A KUBE-SERVICES -m comment --comment \"%s cluster IP\" -m %s -p %s -d %s --dport %d ! -s %s -j KUBE-MARK-MASQ\n",
					sp.Name, proto, proto, sp.ClusterIP, sp.Port, p.cfg.ClusterCIDR)
			}
			if sp.NodePort != 0 {
				fmt.Fprintf(&b, "-A KUBE-NODEPORTS -m comment --comment %s -m %s -p %s --dport %d -j KUBE-MARK-MASQ\n", sp.Name, proto, proto, sp.NodePort)
			}
		}
	}
	b.WriteString("-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS\nCOMMIT\n")
	for _, j := range [][]string{
		{"nat", "PREROUTING", "-m", "comment", "--comment", "kubernetes service portals", "-j", "KUBE-SERVICES"},
		{"nat", "OUTPUT", "-m", "comment", "--comment", "kubernetes service portals", "-j", "KUBE-SERVICES"},
		{"nat", "POSTROUTING", "-m", "comment", "--comment", "kubernetes postrouting rules", "-j", "KUBE-POSTROUTING"},
	} {
		if err := p.ipt.EnsureChain(j[0], j[len(j)-1]); err != nil {
			return err
		}
		if err := p.ipt.EnsureRule(false, j[0], j[1], j[2:]...); err != nil {
			return err
		}
	}
	if err := p.ipt.Restore([]byte(b.String())); err != nil {
		return fmt.Errorf("ipvs: iptables rules: %w", err)
	}
	return nil
}

func sortedServices(m map[servicemap.ServiceName]*servicemap.Service) []*servicemap.Service {
	out := make([]*servicemap.Service, 0, len(m))
	for _, s := range m {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b *servicemap.Service) int { return strings.Compare(a.Name.String(), b.Name.String()) })
	return out
}

// Cleanup removes every virtual server and the dummy interface. A kernel
// without IPVS has nothing to clean.
func Cleanup(sys System) error {
	var errs []error
	if h, err := sys.IPVS(); err == nil {
		if svcs, err := h.GetServices(); err == nil {
			for _, s := range svcs {
				if err := h.DelService(s); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	if err := sys.Links.DeleteDummy(DummyInterface); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// netlinkLinks implements Links with netlink in a namespace.
type netlinkLinks struct{ ns string }

func (l *netlinkLinks) handle() (*netlink.Handle, error) {
	if l.ns == "" {
		return netlink.NewHandle()
	}
	ns, err := netns.GetFromPath(l.ns)
	if err != nil {
		return nil, fmt.Errorf("ipvs: open netns: %w", err)
	}
	defer ns.Close()
	return netlink.NewHandleAt(ns)
}

func (l *netlinkLinks) EnsureDummy(name string) error {
	h, err := l.handle()
	if err != nil {
		return err
	}
	defer h.Close()
	if _, err := h.LinkByName(name); err == nil {
		return nil
	}
	if err := h.LinkAdd(&netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: name}}); err != nil {
		return fmt.Errorf("ipvs: add %s: %w", name, err)
	}
	return nil
}

func (l *netlinkLinks) DeleteDummy(name string) error {
	h, err := l.handle()
	if err != nil {
		return err
	}
	defer h.Close()
	link, err := h.LinkByName(name)
	if err != nil {
		return nil // not there
	}
	return h.LinkDel(link)
}

func (l *netlinkLinks) Addrs(name string) ([]string, error) {
	h, err := l.handle()
	if err != nil {
		return nil, err
	}
	defer h.Close()
	link, err := h.LinkByName(name)
	if err != nil {
		return nil, fmt.Errorf("ipvs: %s: %w", name, err)
	}
	addrs, err := h.AddrList(link, netlink.FAMILY_V4)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = a.IP.String()
	}
	return out, nil
}

func (l *netlinkLinks) addr(name, ip string, add bool) error {
	h, err := l.handle()
	if err != nil {
		return err
	}
	defer h.Close()
	link, err := h.LinkByName(name)
	if err != nil {
		return err
	}
	a := &netlink.Addr{IPNet: &net.IPNet{IP: net.ParseIP(ip), Mask: net.CIDRMask(32, 32)}}
	if add {
		return h.AddrAdd(link, a)
	}
	return h.AddrDel(link, a)
}

func (l *netlinkLinks) AddAddr(name, ip string) error { return l.addr(name, ip, true) }
func (l *netlinkLinks) DelAddr(name, ip string) error { return l.addr(name, ip, false) }

func (l *netlinkLinks) NodeIPs() ([]string, error) {
	h, err := l.handle()
	if err != nil {
		return nil, err
	}
	defer h.Close()
	addrs, err := h.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		return nil, err
	}
	dummy, _ := h.LinkByName(DummyInterface)
	var out []string
	for _, a := range addrs {
		if dummy != nil && a.LinkIndex == dummy.Attrs().Index {
			continue
		}
		out = append(out, a.IP.String())
	}
	return out, nil
}
