package podnetwork

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// fakeIptables keeps chains as lists of rules in `iptables -S` form.
type fakeIptables struct {
	mu     sync.Mutex
	chains map[string][]string // "table/chain" -> rules
	writes int
}

func newFakeIptables() *fakeIptables {
	return &fakeIptables{chains: map[string][]string{"nat/POSTROUTING": nil}}
}

func quoteSpec(chain string, spec []string) string {
	s := "-A " + chain
	for _, p := range spec {
		if strings.Contains(p, " ") {
			p = `"` + p + `"`
		}
		s += " " + p
	}
	return s
}

func (f *fakeIptables) ChainExists(table, chain string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.chains[table+"/"+chain]
	return ok, nil
}

func (f *fakeIptables) NewChain(table, chain string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.chains[table+"/"+chain]; ok {
		return fmt.Errorf("chain %s exists", chain)
	}
	f.chains[table+"/"+chain] = nil
	return nil
}

func (f *fakeIptables) ClearChain(table, chain string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes++
	f.chains[table+"/"+chain] = nil
	return nil
}

func (f *fakeIptables) List(table, chain string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rules, ok := f.chains[table+"/"+chain]
	if !ok {
		return nil, fmt.Errorf("no chain %s", chain)
	}
	return append([]string{"-N " + chain}, rules...), nil
}

func (f *fakeIptables) Append(table, chain string, spec ...string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes++
	f.chains[table+"/"+chain] = append(f.chains[table+"/"+chain], quoteSpec(chain, spec))
	return nil
}

func (f *fakeIptables) AppendUnique(table, chain string, spec ...string) error {
	f.mu.Lock()
	r := quoteSpec(chain, spec)
	for _, have := range f.chains[table+"/"+chain] {
		if have == r {
			f.mu.Unlock()
			return nil
		}
	}
	f.mu.Unlock()
	return f.Append(table, chain, spec...)
}

func (f *fakeIptables) rules(chain string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.chains["nat/"+chain]...)
}

func TestEnsureMasquerade(t *testing.T) {
	ipt := newFakeIptables()
	for i := 0; i < 2; i++ {
		if err := EnsureMasquerade(ipt, "10.244.1.0/24", "10.244.0.0/16"); err != nil {
			t.Fatal(err)
		}
	}
	want := `-A NAVARCH-POD-MASQ -s 10.244.1.0/24 ! -d 10.244.0.0/16 -m comment --comment "navarch pod traffic leaving the cluster" -j MASQUERADE`
	if got := ipt.rules(MasqueradeChain); len(got) != 1 || got[0] != want {
		t.Fatalf("chain = %q, want [%s]", got, want)
	}
	if got := ipt.rules("POSTROUTING"); len(got) != 1 || !strings.HasSuffix(got[0], "-j "+MasqueradeChain) {
		t.Fatalf("POSTROUTING = %q, want one jump to %s", got, MasqueradeChain)
	}
	if ipt.writes != 3 { // clear + rule + jump, then nothing on the second call
		t.Errorf("%d iptables writes for two identical calls, want 3", ipt.writes)
	}
	if err := EnsureMasquerade(ipt, "10.244.7.0/24", "10.244.0.0/16"); err != nil {
		t.Fatal(err)
	}
	if got := ipt.rules(MasqueradeChain); len(got) != 1 || !strings.Contains(got[0], "-s 10.244.7.0/24 ") {
		t.Fatalf("chain after a range change = %q, want only the new range", got)
	}
	for _, bad := range [][2]string{{"x", "10.0.0.0/8"}, {"10.244.1.0/24", "10.0.0.0"}} {
		if err := EnsureMasquerade(ipt, bad[0], bad[1]); err == nil {
			t.Errorf("EnsureMasquerade(%q, %q) succeeded", bad[0], bad[1])
		}
	}
}

// lockedRoutes guards fakeRoutes for use from the manager's goroutine.
type lockedRoutes struct {
	mu sync.Mutex
	f  fakeRoutes
}

func (l *lockedRoutes) List() ([]Route, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.f.List() }
func (l *lockedRoutes) Replace(r Route) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Replace(r)
}
func (l *lockedRoutes) Delete(r Route) error { l.mu.Lock(); defer l.mu.Unlock(); return l.f.Delete(r) }
func (l *lockedRoutes) String() string {
	rs, _ := l.List()
	return strings.Join(routeStrings(rs), ",")
}

func waitFor(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestManagerFollowsNodes runs the manager against a fake API: the CNI
// config appears once the node gets a range, and routes follow other nodes
// being added, changed and removed.
func TestManagerFollowsNodes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := fake.NewClientset(makeNode("a", "", "192.0.2.1"), makeNode("b", "10.244.1.0/24", "192.0.2.2"))
	dir := t.TempDir()
	routes := &lockedRoutes{f: fakeRoutes{routes: map[string]Route{}}}
	ipt := newFakeIptables()
	m, err := New(Config{NodeName: "a", ConfDir: dir, NonMasqueradeCIDR: "10.244.0.0/16",
		Bridge: Bridge{IPAMDataDir: "/var/lib/a/ipam"}}, client, routes, ipt)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	conf := filepath.Join(dir, ConfListName)
	waitFor(t, "route to b", func() bool { return routes.String() == "10.244.1.0/24 via 192.0.2.2" })
	if _, err := os.Stat(conf); !os.IsNotExist(err) {
		t.Fatalf("CNI config written before the node has a pod CIDR (stat: %v)", err)
	}

	nodes := client.CoreV1().Nodes()
	a, _ := nodes.Get(ctx, "a", metav1.GetOptions{})
	a.Spec.PodCIDR, a.Spec.PodCIDRs = "10.244.0.0/24", []string{"10.244.0.0/24"}
	if _, err := nodes.Update(ctx, a, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "CNI config for 10.244.0.0/24", func() bool {
		data, err := os.ReadFile(conf)
		return err == nil && strings.Contains(string(data), `"subnet": "10.244.0.0/24"`)
	})
	waitFor(t, "masquerade rule", func() bool {
		r := ipt.rules(MasqueradeChain)
		return len(r) == 1 && strings.Contains(r[0], "-s 10.244.0.0/24 ! -d 10.244.0.0/16")
	})

	if _, err := nodes.Create(ctx, makeNode("c", "10.244.2.0/24", "192.0.2.3"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "route to new node c", func() bool {
		return routes.String() == "10.244.1.0/24 via 192.0.2.2,10.244.2.0/24 via 192.0.2.3"
	})
	b, _ := nodes.Get(ctx, "b", metav1.GetOptions{})
	b.Status.Addresses = []v1.NodeAddress{{Type: v1.NodeInternalIP, Address: "192.0.2.20"}}
	if _, err := nodes.UpdateStatus(ctx, b, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "route to b's new address", func() bool {
		return routes.String() == "10.244.1.0/24 via 192.0.2.20,10.244.2.0/24 via 192.0.2.3"
	})
	if err := nodes.Delete(ctx, "c", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "route to deleted c gone", func() bool { return routes.String() == "10.244.1.0/24 via 192.0.2.20" })
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{name: "no conf dir", cfg: Config{NodeName: "a"}, want: "no CNI config directory"},
		{name: "bad non-masquerade CIDR", cfg: Config{ConfDir: "/x", NonMasqueradeCIDR: "10.0.0.0"}, want: "non-masquerade CIDR"},
		{name: "bad --pod-cidr", cfg: Config{ConfDir: "/x", Bridge: Bridge{PodCIDR: "10.1.0.0/40"}}, want: "pod CIDR"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg, nil, nil, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one saying %q", err, tc.want)
			}
		})
	}
}

// TestStandalone: without an apiserver the --pod-cidr range is used and no
// route is touched.
func TestStandalone(t *testing.T) {
	dir := t.TempDir()
	routes := &lockedRoutes{f: fakeRoutes{routes: map[string]Route{"10.9.0.0/24": route("10.9.0.0/24", "192.0.2.9")}}}
	ipt := newFakeIptables()
	m, err := New(Config{NodeName: "a", ConfDir: dir, NonMasqueradeCIDR: "10.0.0.0/8",
		Bridge: Bridge{PodCIDR: "10.88.0.0/16"}}, nil, routes, ipt)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, ConfListName))
	if err != nil || !strings.Contains(string(data), `"subnet": "10.88.0.0/16"`) {
		t.Fatalf("config = %s (%v), want the --pod-cidr range", data, err)
	}
	if r := ipt.rules(MasqueradeChain); len(r) != 1 || !strings.Contains(r[0], "-s 10.88.0.0/16 ! -d 10.0.0.0/8") {
		t.Errorf("masquerade chain = %q", r)
	}
	if got := routes.String(); got != "10.9.0.0/24 via 192.0.2.9" || len(routes.f.calls) != 0 {
		t.Errorf("routes = %s after %q, want them untouched", got, routes.f.calls)
	}
}
