package servicealloc

import (
	"context"
	"fmt"
	"math/big"
	"net"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"navarch.dev/apiserver/pkg/ipalloc"
)

// memIPs is an in-memory range that refuses as ipalloc does. AllocateNext
// hands out the lowest free address after the reserved first one.
type memIPs struct {
	cidr *net.IPNet
	size int
	used map[string]bool
}

func newMemIPs(t *testing.T, cidr string, size int) *memIPs {
	t.Helper()
	_, n, err := net.ParseCIDR(cidr)
	if err != nil {
		t.Fatal(err)
	}
	return &memIPs{cidr: n, size: size, used: map[string]bool{}}
}

func (m *memIPs) nth(i int) net.IP {
	v := new(big.Int).SetBytes(m.cidr.IP)
	v.Add(v, big.NewInt(int64(i)))
	return net.IP(v.FillBytes(make([]byte, len(m.cidr.IP))))
}

func (m *memIPs) Allocate(_ context.Context, ip net.IP) error {
	if !m.cidr.Contains(ip) || ip.Equal(m.cidr.IP) {
		return &ipalloc.Error{Reason: ipalloc.ErrNotInRange, Message: fmt.Sprintf("the provided IP (%v) is not in the valid range. The range of valid IPs is %s", ip, m.cidr)}
	}
	if m.used[ip.String()] {
		return &ipalloc.Error{Reason: ipalloc.ErrAllocated, Message: "provided IP is already allocated"}
	}
	m.used[ip.String()] = true
	return nil
}

func (m *memIPs) AllocateNext(context.Context) (net.IP, error) {
	for i := 2; i <= m.size; i++ {
		if ip := m.nth(i); !m.used[ip.String()] {
			m.used[ip.String()] = true
			return ip, nil
		}
	}
	return nil, &ipalloc.Error{Reason: ipalloc.ErrFull, Message: "range is full"}
}

func (m *memIPs) Release(_ context.Context, ip net.IP) error {
	delete(m.used, ip.String())
	return nil
}

func (m *memIPs) held() []string {
	var out []string
	for ip := range m.used {
		out = append(out, ip)
	}
	slices.Sort(out)
	return out
}

type memPorts struct{ used map[int]bool }

func (m *memPorts) Allocate(_ context.Context, p int) error { m.used[p] = true; return nil }
func (m *memPorts) AllocateNext(context.Context) (int, error) {
	for p := 30000; p < 32768; p++ {
		if !m.used[p] {
			m.used[p] = true
			return p, nil
		}
	}
	return 0, &ipalloc.Error{Reason: ipalloc.ErrFull, Message: "range is full"}
}
func (m *memPorts) Release(_ context.Context, p int) error { delete(m.used, p); return nil }

// cluster is an allocator over in-memory ranges.
type cluster struct {
	alloc *Allocator
	v4    *memIPs
	v6    *memIPs
}

// newCluster makes a cluster serving the given families, the first primary.
// Each range hands out three addresses.
func newCluster(t *testing.T, families ...corev1.IPFamily) *cluster {
	c := &cluster{
		v4: newMemIPs(t, "10.96.0.0/24", 4),
		v6: newMemIPs(t, "fd00:10:96::/112", 4),
	}
	c.alloc = &Allocator{IPs: map[corev1.IPFamily]IPs{}, Primary: families[0], Ports: &memPorts{used: map[int]bool{}}}
	for _, f := range families {
		if f == corev1.IPv4Protocol {
			c.alloc.IPs[f] = c.v4
		} else {
			c.alloc.IPs[f] = c.v6
		}
	}
	return c
}

var (
	v4       = corev1.IPv4Protocol
	v6       = corev1.IPv6Protocol
	single   = corev1.IPFamilyPolicySingleStack
	prefer   = corev1.IPFamilyPolicyPreferDualStack
	require  = corev1.IPFamilyPolicyRequireDualStack
	v4only   = []corev1.IPFamily{v4}
	v6only   = []corev1.IPFamily{v6}
	dual     = []corev1.IPFamily{v4, v6}
	dualV6v4 = []corev1.IPFamily{v6, v4}
)

// makeService is a Service as the strategy hands it to the hooks: defaulted
// (type ClusterIP, policy SingleStack unless given) and validated.
func makeService(opts ...func(*corev1.Service)) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: corev1.ServiceSpec{
			Type:           corev1.ServiceTypeClusterIP,
			Selector:       map[string]string{"app": "web"},
			Ports:          []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP}},
			IPFamilyPolicy: ptr(single),
		},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

func ptr[T any](v T) *T { return &v }

func policy(p corev1.IPFamilyPolicy) func(*corev1.Service) {
	return func(s *corev1.Service) { s.Spec.IPFamilyPolicy = ptr(p) }
}

func families(f ...corev1.IPFamily) func(*corev1.Service) {
	return func(s *corev1.Service) { s.Spec.IPFamilies = f }
}

func ips(ip ...string) func(*corev1.Service) {
	return func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = ip[0], ip }
}

func headless(s *corev1.Service) {
	s.Spec.ClusterIP, s.Spec.ClusterIPs = corev1.ClusterIPNone, []string{corev1.ClusterIPNone}
}

func noSelector(s *corev1.Service) { s.Spec.Selector = nil }

// invalidText is the 422 message a client sees, or "" for success; any
// other error fails the test.
func invalidText(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	if !apierrors.IsInvalid(err) {
		t.Fatalf("error %v is not 422 Invalid", err)
	}
	return err.Error()
}

func TestCreateIPFamilies(t *testing.T) {
	tests := []struct {
		name     string
		cluster  []corev1.IPFamily
		svc      *corev1.Service
		wantFams []corev1.IPFamily
		wantIPs  []string
		wantErr  string
	}{
		{name: "single-stack default", cluster: v4only, svc: makeService(),
			wantFams: v4only, wantIPs: []string{"10.96.0.2"}},
		{name: "IPv6 single-stack cluster", cluster: v6only, svc: makeService(),
			wantFams: v6only, wantIPs: []string{"fd00:10:96::2"}},
		{name: "dual-stack cluster, SingleStack gets the primary family", cluster: dual, svc: makeService(),
			wantFams: v4only, wantIPs: []string{"10.96.0.2"}},
		{name: "dual-stack cluster with IPv6 primary", cluster: dualV6v4, svc: makeService(),
			wantFams: v6only, wantIPs: []string{"fd00:10:96::2"}},
		{name: "SingleStack asking for the secondary family", cluster: dual, svc: makeService(families(v6)),
			wantFams: v6only, wantIPs: []string{"fd00:10:96::2"}},
		{name: "PreferDualStack on dual-stack", cluster: dual, svc: makeService(policy(prefer)),
			wantFams: dual, wantIPs: []string{"10.96.0.2", "fd00:10:96::2"}},
		{name: "RequireDualStack on dual-stack", cluster: dual, svc: makeService(policy(require)),
			wantFams: dual, wantIPs: []string{"10.96.0.2", "fd00:10:96::2"}},
		{name: "RequireDualStack with IPv6 first", cluster: dual, svc: makeService(policy(require), families(v6)),
			wantFams: dualV6v4, wantIPs: []string{"fd00:10:96::2", "10.96.0.2"}},
		{name: "PreferDualStack on IPv6-primary cluster", cluster: dualV6v4, svc: makeService(policy(prefer)),
			wantFams: dualV6v4, wantIPs: []string{"fd00:10:96::2", "10.96.0.2"}},
		{name: "PreferDualStack on single-stack", cluster: v4only, svc: makeService(policy(prefer)),
			wantFams: v4only, wantIPs: []string{"10.96.0.2"}},
		{name: "RequireDualStack on single-stack", cluster: v4only, svc: makeService(policy(require)),
			wantErr: `Service "web" is invalid: spec.ipFamilyPolicy: Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services`},
		{name: "family the cluster does not serve", cluster: v4only, svc: makeService(families(v6)),
			wantErr: `Service "web" is invalid: spec.ipFamilies[0]: Invalid value: "IPv6": not configured on this cluster`},
		{name: "secondary family the cluster does not serve", cluster: v4only, svc: makeService(policy(prefer), families(v4, v6)),
			wantErr: `Service "web" is invalid: spec.ipFamilies[1]: Invalid value: "IPv6": not configured on this cluster`},
		{name: "cluster IP of a family the cluster does not serve", cluster: v4only, svc: makeService(ips("fd00:10:96::5")),
			wantErr: `Service "web" is invalid: spec.clusterIPs[0]: Invalid value: ["fd00:10:96::5"]: IPv6 is not configured on this cluster`},
		{name: "chosen dual-stack IPs are honoured", cluster: dual, svc: makeService(policy(require), ips("10.96.0.3", "fd00:10:96::3")),
			wantFams: dual, wantIPs: []string{"10.96.0.3", "fd00:10:96::3"}},
		{name: "chosen IPv6 primary IP, IPv4 allocated", cluster: dual, svc: makeService(policy(prefer), ips("fd00:10:96::3")),
			wantFams: dualV6v4, wantIPs: []string{"fd00:10:96::3", "10.96.0.2"}},
		{name: "chosen IPv6 IP outside the range", cluster: dual, svc: makeService(policy(require), ips("10.96.0.3", "fd00:99::3")),
			wantErr: `Service "web" is invalid: spec.clusterIPs[1]: Invalid value: "fd00:99::3": failed to allocate IP fd00:99::3: the provided IP (fd00:99::3) is not in the valid range. The range of valid IPs is fd00:10:96::/112`},
		{name: "SingleStack with two chosen IPs", cluster: dual, svc: makeService(ips("10.96.0.3", "fd00:10:96::3")),
			wantErr: `spec.ipFamilyPolicy: Invalid value: "SingleStack": must be 'RequireDualStack' or 'PreferDualStack' when multiple cluster IPs are specified`},
		{name: "headless without selector on single-stack gets both families", cluster: v4only,
			svc:      makeService(headless, noSelector, policy(require)),
			wantFams: dual, wantIPs: []string{"None"}},
		{name: "headless without selector, SingleStack", cluster: v4only,
			svc:      makeService(headless, noSelector),
			wantFams: v4only, wantIPs: []string{"None"}},
		{name: "headless without selector keeps the family asked", cluster: v4only,
			svc:      makeService(headless, noSelector, policy(prefer), families(v6)),
			wantFams: dualV6v4, wantIPs: []string{"None"}},
		{name: "headless with selector on dual-stack", cluster: dual,
			svc:      makeService(headless, policy(prefer)),
			wantFams: dual, wantIPs: []string{"None"}},
		{name: "headless with selector, RequireDualStack on single-stack", cluster: v4only,
			svc:     makeService(headless, policy(require)),
			wantErr: `this cluster is not configured for dual-stack services`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCluster(t, tt.cluster...)
			_, err := c.alloc.Hooks().BeforeCreate(context.Background(), tt.svc, false)
			got := invalidText(t, err)
			if tt.wantErr != "" {
				if !strings.Contains(got, tt.wantErr) {
					t.Fatalf("error = %q, want it to contain %q", got, tt.wantErr)
				}
				if held := append(c.v4.held(), c.v6.held()...); len(held) > 0 {
					t.Errorf("refused create holds %v", held)
				}
				return
			}
			if got != "" {
				t.Fatalf("refused: %s", got)
			}
			spec := tt.svc.Spec
			if !slices.Equal(spec.IPFamilies, tt.wantFams) || !slices.Equal(spec.ClusterIPs, tt.wantIPs) {
				t.Errorf("ipFamilies %v clusterIPs %v, want %v %v", spec.IPFamilies, spec.ClusterIPs, tt.wantFams, tt.wantIPs)
			}
			if spec.ClusterIP != spec.ClusterIPs[0] {
				t.Errorf("clusterIP %q, clusterIPs[0] %q", spec.ClusterIP, spec.ClusterIPs[0])
			}
		})
	}
}

func TestCreateRangeFullRollsBack(t *testing.T) {
	c := newCluster(t, dual...)
	for i := 0; i < 3; i++ {
		if _, err := c.v6.AllocateNext(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	svc := makeService(policy(require))
	_, err := c.alloc.Hooks().BeforeCreate(context.Background(), svc, false)
	if got := invalidText(t, err); !strings.Contains(got, `spec.clusterIPs[1]: Invalid value: "": failed to allocate a serviceIP: range is full`) {
		t.Fatalf("error = %q", got)
	}
	if held := c.v4.held(); len(held) > 0 {
		t.Errorf("IPv4 address %v kept after the IPv6 allocation failed", held)
	}
}

func TestCreateDryRunHoldsNothing(t *testing.T) {
	c := newCluster(t, dual...)
	svc := makeService(policy(prefer))
	if _, err := c.alloc.Hooks().BeforeCreate(context.Background(), svc, true); err != nil {
		t.Fatal(err)
	}
	if len(svc.Spec.ClusterIPs) != 2 {
		t.Errorf("dry run shows clusterIPs %v, want two", svc.Spec.ClusterIPs)
	}
	if held := append(c.v4.held(), c.v6.held()...); len(held) > 0 {
		t.Errorf("dry run holds %v", held)
	}
}

// created returns svc after a successful create on c.
func created(t *testing.T, c *cluster, svc *corev1.Service) *corev1.Service {
	t.Helper()
	if _, err := c.alloc.Hooks().BeforeCreate(context.Background(), svc, false); err != nil {
		t.Fatalf("create: %v", err)
	}
	return svc
}

func TestUpdateIPFamilies(t *testing.T) {
	tests := []struct {
		name    string
		old     func(c *cluster) *corev1.Service
		mutate  func(s *corev1.Service)
		wantIPs []string
		// wantHeld is what the ranges hold once the update is stored.
		wantHeld []string
		wantErr  string
	}{
		{name: "SingleStack to PreferDualStack adds the secondary IP",
			old:    func(c *cluster) *corev1.Service { return makeService() },
			mutate: policy(prefer), wantIPs: []string{"10.96.0.2", "fd00:10:96::2"},
			wantHeld: []string{"10.96.0.2", "fd00:10:96::2"}},
		{name: "SingleStack to RequireDualStack adds the secondary IP",
			old:    func(c *cluster) *corev1.Service { return makeService() },
			mutate: policy(require), wantIPs: []string{"10.96.0.2", "fd00:10:96::2"},
			wantHeld: []string{"10.96.0.2", "fd00:10:96::2"}},
		{name: "downgrade to SingleStack releases the secondary IP",
			old: func(c *cluster) *corev1.Service { return makeService(policy(prefer)) },
			// The strategy has trimmed clusterIPs and ipFamilies.
			mutate: func(s *corev1.Service) {
				s.Spec.IPFamilyPolicy = ptr(single)
				s.Spec.ClusterIPs, s.Spec.IPFamilies = s.Spec.ClusterIPs[:1], s.Spec.IPFamilies[:1]
			},
			wantIPs: []string{"10.96.0.2"}, wantHeld: []string{"10.96.0.2"}},
		{name: "upgrade with a chosen secondary IP",
			old: func(c *cluster) *corev1.Service { return makeService() },
			mutate: func(s *corev1.Service) {
				s.Spec.IPFamilyPolicy = ptr(prefer)
				s.Spec.ClusterIPs = append(s.Spec.ClusterIPs, "fd00:10:96::4")
			},
			wantIPs: []string{"10.96.0.2", "fd00:10:96::4"}, wantHeld: []string{"10.96.0.2", "fd00:10:96::4"}},
		{name: "RequireDualStack update on single-stack is refused",
			old: func(c *cluster) *corev1.Service {
				c.alloc.IPs = map[corev1.IPFamily]IPs{v4: c.v4}
				return makeService()
			},
			mutate: policy(require), wantErr: "this cluster is not configured for dual-stack services",
			wantHeld: []string{"10.96.0.2"}},
		{name: "PreferDualStack update on single-stack stays single",
			old: func(c *cluster) *corev1.Service {
				c.alloc.IPs = map[corev1.IPFamily]IPs{v4: c.v4}
				return makeService()
			},
			mutate: policy(prefer), wantIPs: []string{"10.96.0.2"}, wantHeld: []string{"10.96.0.2"}},
		{name: "change to ExternalName releases both",
			old: func(c *cluster) *corev1.Service { return makeService(policy(prefer)) },
			mutate: func(s *corev1.Service) {
				s.Spec.Type, s.Spec.ExternalName = corev1.ServiceTypeExternalName, "example.com"
				s.Spec.ClusterIP, s.Spec.ClusterIPs, s.Spec.IPFamilies, s.Spec.IPFamilyPolicy = "", nil, nil, nil
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCluster(t, dual...)
			old := tt.old(c)
			created(t, c, old)
			svc := old.DeepCopy()
			tt.mutate(svc)
			commit, _, err := c.alloc.Hooks().BeforeUpdate(context.Background(), svc, old, false)
			got := invalidText(t, err)
			switch {
			case tt.wantErr != "" && !strings.Contains(got, tt.wantErr):
				t.Fatalf("error = %q, want it to contain %q", got, tt.wantErr)
			case tt.wantErr == "" && got != "":
				t.Fatalf("refused: %s", got)
			case tt.wantErr == "":
				commit()
				if !slices.Equal(svc.Spec.ClusterIPs, tt.wantIPs) {
					t.Errorf("clusterIPs %v, want %v", svc.Spec.ClusterIPs, tt.wantIPs)
				}
				if len(tt.wantIPs) > 0 && svc.Spec.ClusterIP != tt.wantIPs[0] {
					t.Errorf("clusterIP %q, want %q", svc.Spec.ClusterIP, tt.wantIPs[0])
				}
			}
			if held := append(c.v4.held(), c.v6.held()...); !slices.Equal(held, tt.wantHeld) {
				t.Errorf("ranges hold %v, want %v", held, tt.wantHeld)
			}
		})
	}
}

func TestUpdateFailureUndoesSecondaryIP(t *testing.T) {
	c := newCluster(t, dual...)
	old := created(t, c, makeService())
	svc := old.DeepCopy()
	svc.Spec.IPFamilyPolicy = ptr(prefer)
	_, undo, err := c.alloc.Hooks().BeforeUpdate(context.Background(), svc, old, false)
	if err != nil {
		t.Fatal(err)
	}
	undo() // the store write failed
	if held := append(c.v4.held(), c.v6.held()...); !slices.Equal(held, []string{"10.96.0.2"}) {
		t.Errorf("ranges hold %v after the failed update, want only the old IPv4 address", held)
	}
}

func TestDeleteReleasesBothFamilies(t *testing.T) {
	c := newCluster(t, dual...)
	svc := created(t, c, makeService(policy(require)))
	if held := append(c.v4.held(), c.v6.held()...); len(held) != 2 {
		t.Fatalf("ranges hold %v, want two addresses", held)
	}
	c.alloc.Hooks().AfterDelete(context.Background(), svc)
	if held := append(c.v4.held(), c.v6.held()...); len(held) > 0 {
		t.Errorf("ranges still hold %v after delete", held)
	}
}
