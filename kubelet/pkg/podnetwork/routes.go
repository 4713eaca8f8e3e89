package podnetwork

import (
	"errors"
	"fmt"
	"net"
	"sort"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// RouteProtocol marks the routes the kubelet installs (the rtm_protocol
// field, shown by `ip route` as "proto 77"), so that it finds and removes
// its own routes and never touches anyone else's.
const RouteProtocol = 77

// Route sends a pod CIDR of another node to that node's address.
type Route struct {
	Dst *net.IPNet
	Gw  net.IP
}

func (r Route) String() string { return r.Dst.String() + " via " + r.Gw.String() }

// RouteTable is the part of the routing table the reconciler owns: List
// returns only routes marked with RouteProtocol.
type RouteTable interface {
	List() ([]Route, error)
	// Replace installs r, replacing any route to the same destination.
	Replace(r Route) error
	Delete(r Route) error
}

// ReconcileRoutes makes the owned routes in t exactly want: routes not
// wanted are deleted, missing or changed ones replaced. All changes are
// attempted; the errors are joined.
func ReconcileRoutes(t RouteTable, want []Route) error {
	have, err := t.List()
	if err != nil {
		return err
	}
	wanted := map[string]Route{}
	for _, r := range want {
		wanted[r.Dst.String()] = r
	}
	current := map[string]Route{}
	var errs []error
	for _, r := range have {
		w, ok := wanted[r.Dst.String()]
		if !ok {
			if err := t.Delete(r); err != nil {
				errs = append(errs, fmt.Errorf("delete route %s: %w", r, err))
			}
			continue
		}
		if w.Gw.Equal(r.Gw) {
			current[r.Dst.String()] = r
		}
	}
	keys := make([]string, 0, len(wanted))
	for k := range wanted {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, ok := current[k]; ok {
			continue
		}
		if err := t.Replace(wanted[k]); err != nil {
			errs = append(errs, fmt.Errorf("route %s: %w", wanted[k], err))
		}
	}
	return errors.Join(errs...)
}

// NetlinkRoutes is a RouteTable over the main routing table of the network
// namespace of its handle (nil: the current one).
type NetlinkRoutes struct {
	Handle *netlink.Handle
}

var _ RouteTable = (*NetlinkRoutes)(nil)

func (n *NetlinkRoutes) h() *netlink.Handle {
	if n.Handle == nil {
		return &netlink.Handle{}
	}
	return n.Handle
}

func (n *NetlinkRoutes) List() ([]Route, error) {
	rs, err := n.h().RouteListFiltered(netlink.FAMILY_V4,
		&netlink.Route{Protocol: RouteProtocol, Table: unix.RT_TABLE_MAIN},
		netlink.RT_FILTER_PROTOCOL|netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil, fmt.Errorf("podnetwork: list routes: %w", err)
	}
	out := make([]Route, 0, len(rs))
	for _, r := range rs {
		if r.Dst != nil {
			out = append(out, Route{Dst: r.Dst, Gw: r.Gw})
		}
	}
	return out, nil
}

func (n *NetlinkRoutes) Replace(r Route) error {
	return n.h().RouteReplace(&netlink.Route{Dst: r.Dst, Gw: r.Gw, Protocol: RouteProtocol, Table: unix.RT_TABLE_MAIN})
}

func (n *NetlinkRoutes) Delete(r Route) error {
	return n.h().RouteDel(&netlink.Route{Dst: r.Dst, Gw: r.Gw, Protocol: RouteProtocol, Table: unix.RT_TABLE_MAIN})
}
