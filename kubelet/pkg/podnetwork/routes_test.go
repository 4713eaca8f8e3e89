package podnetwork

import (
	"net"
	"os"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func makeNode(name, podCIDR, internalIP string) *v1.Node {
	n := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1.NodeSpec{PodCIDR: podCIDR}}
	if podCIDR != "" {
		n.Spec.PodCIDRs = []string{podCIDR}
	}
	if internalIP != "" {
		n.Status.Addresses = []v1.NodeAddress{{Type: v1.NodeHostName, Address: name}, {Type: v1.NodeInternalIP, Address: internalIP}}
	}
	return n
}

func route(dst, gw string) Route {
	_, d, err := net.ParseCIDR(dst)
	if err != nil {
		panic(err)
	}
	return Route{Dst: d, Gw: net.ParseIP(gw).To4()}
}

func routeStrings(rs []Route) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.String()
	}
	sort.Strings(out)
	return out
}

func TestWantedRoutes(t *testing.T) {
	tests := []struct {
		name  string
		nodes []*v1.Node
		want  []string
	}{
		{name: "others routed, self not",
			nodes: []*v1.Node{makeNode("a", "10.244.0.0/24", "192.0.2.1"), makeNode("b", "10.244.1.0/24", "192.0.2.2"), makeNode("c", "10.244.2.0/24", "192.0.2.3")},
			want:  []string{"10.244.1.0/24 via 192.0.2.2", "10.244.2.0/24 via 192.0.2.3"}},
		{name: "no pod CIDR yet",
			nodes: []*v1.Node{makeNode("a", "10.244.0.0/24", "192.0.2.1"), makeNode("b", "", "192.0.2.2")}},
		{name: "no InternalIP",
			nodes: []*v1.Node{makeNode("b", "10.244.1.0/24", "")}},
		{name: "IPv6 range skipped",
			nodes: []*v1.Node{makeNode("b", "fd00:1::/64", "192.0.2.2")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := routeStrings(WantedRoutes("a", tc.nodes))
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("routes = %v, want %v", got, tc.want)
			}
		})
	}
}

// fakeRoutes is a RouteTable in memory that records its calls.
type fakeRoutes struct {
	routes map[string]Route
	calls  []string
}

func (f *fakeRoutes) List() ([]Route, error) {
	var out []Route
	for _, r := range f.routes {
		out = append(out, r)
	}
	return out, nil
}

func (f *fakeRoutes) Replace(r Route) error {
	f.calls = append(f.calls, "replace "+r.String())
	f.routes[r.Dst.String()] = r
	return nil
}

func (f *fakeRoutes) Delete(r Route) error {
	f.calls = append(f.calls, "delete "+r.String())
	delete(f.routes, r.Dst.String())
	return nil
}

func TestReconcileRoutes(t *testing.T) {
	tests := []struct {
		name      string
		have      []Route
		want      []Route
		wantCalls []string
	}{
		{name: "added", want: []Route{route("10.244.1.0/24", "192.0.2.2")},
			wantCalls: []string{"replace 10.244.1.0/24 via 192.0.2.2"}},
		{name: "unchanged", have: []Route{route("10.244.1.0/24", "192.0.2.2")}, want: []Route{route("10.244.1.0/24", "192.0.2.2")}},
		{name: "node moved", have: []Route{route("10.244.1.0/24", "192.0.2.2")}, want: []Route{route("10.244.1.0/24", "192.0.2.9")},
			wantCalls: []string{"replace 10.244.1.0/24 via 192.0.2.9"}},
		{name: "node gone", have: []Route{route("10.244.1.0/24", "192.0.2.2"), route("10.244.2.0/24", "192.0.2.3")}, want: []Route{route("10.244.2.0/24", "192.0.2.3")},
			wantCalls: []string{"delete 10.244.1.0/24 via 192.0.2.2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeRoutes{routes: map[string]Route{}}
			for _, r := range tc.have {
				f.routes[r.Dst.String()] = r
			}
			if err := ReconcileRoutes(f, tc.want); err != nil {
				t.Fatal(err)
			}
			if strings.Join(f.calls, ";") != strings.Join(tc.wantCalls, ";") {
				t.Errorf("calls = %q, want %q", f.calls, tc.wantCalls)
			}
			have, _ := f.List()
			if got, want := routeStrings(have), routeStrings(tc.want); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("table = %v, want %v", got, want)
			}
		})
	}
}

// testNetns makes a network namespace with a veth link "eth0" holding
// addr, and returns a netlink handle into it; both go when the test ends.
func testNetns(t *testing.T, addr string) *netlink.Handle {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("this test needs root (network namespaces); CI runs it as root")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	ns, err := netns.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := netns.Set(orig); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	// A veth pair, both ends inside: this kernel may lack the dummy driver.
	if err := h.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "eth0"}, PeerName: "eth1"}); err != nil {
		t.Fatal(err)
	}
	peer, err := h.LinkByName("eth1")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.LinkSetUp(peer); err != nil {
		t.Fatal(err)
	}
	link, err := h.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	a, err := netlink.ParseAddr(addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.AddrAdd(link, a); err != nil {
		t.Fatal(err)
	}
	if err := h.LinkSetUp(link); err != nil {
		t.Fatal(err)
	}
	return h
}

// TestNetlinkRoutes reconciles the routes of a real routing table (in a
// network namespace of the test's own) and checks what `ip route` would show.
func TestNetlinkRoutes(t *testing.T) {
	h := testNetns(t, "192.0.2.1/24")
	// A route of someone else's in the same table is never touched.
	_, other, _ := net.ParseCIDR("198.51.100.0/24")
	if err := h.RouteAdd(&netlink.Route{Dst: other, Gw: net.ParseIP("192.0.2.254")}); err != nil {
		t.Fatal(err)
	}
	table := &NetlinkRoutes{Handle: h}

	kernelRoutes := func() []string {
		rs, err := h.RouteList(nil, netlink.FAMILY_V4)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range rs {
			if r.Gw != nil {
				s := r.Dst.String() + " via " + r.Gw.String()
				if r.Protocol == RouteProtocol {
					s += " proto navarch"
				}
				out = append(out, s)
			}
		}
		sort.Strings(out)
		return out
	}
	steps := []struct {
		name  string
		nodes []*v1.Node
		want  []string
	}{
		{name: "two other nodes",
			nodes: []*v1.Node{makeNode("a", "10.244.0.0/24", "192.0.2.1"), makeNode("b", "10.244.1.0/24", "192.0.2.2"), makeNode("c", "10.244.2.0/24", "192.0.2.3")},
			want:  []string{"10.244.1.0/24 via 192.0.2.2 proto navarch", "10.244.2.0/24 via 192.0.2.3 proto navarch", "198.51.100.0/24 via 192.0.2.254"}},
		{name: "c changed address, b removed",
			nodes: []*v1.Node{makeNode("a", "10.244.0.0/24", "192.0.2.1"), makeNode("c", "10.244.2.0/24", "192.0.2.30")},
			want:  []string{"10.244.2.0/24 via 192.0.2.30 proto navarch", "198.51.100.0/24 via 192.0.2.254"}},
		{name: "alone",
			nodes: []*v1.Node{makeNode("a", "10.244.0.0/24", "192.0.2.1")},
			want:  []string{"198.51.100.0/24 via 192.0.2.254"}},
	}
	for _, s := range steps {
		if err := ReconcileRoutes(table, WantedRoutes("a", s.nodes)); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := kernelRoutes(); strings.Join(got, ",") != strings.Join(s.want, ",") {
			t.Errorf("%s: routes = %v, want %v", s.name, got, s.want)
		}
	}
}
