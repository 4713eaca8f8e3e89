package iptables

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"

	"navarch.dev/proxy/internal/testobj"
	"navarch.dev/proxy/pkg/servicemap"
)

var update = flag.Bool("update", false, "rewrite golden files")

const node = "node-a"

// fakeRunner records what the proxier asks of iptables.
type fakeRunner struct {
	restores [][]byte
	save     map[string]string
	rules    []string
	sysctls  []string
	chains   map[string]bool // "table chain" created through EnsureChain
}

func (f *fakeRunner) Restore(data []byte) error {
	f.restores = append(f.restores, append([]byte(nil), data...))
	return nil
}
func (f *fakeRunner) Save(table string) ([]byte, error) { return []byte(f.save[table]), nil }
func (f *fakeRunner) EnsureChain(table, chain string) error {
	if f.chains == nil {
		f.chains = map[string]bool{}
	}
	f.chains[table+" "+chain] = true
	return nil
}
func (f *fakeRunner) ChainExists(table, chain string) (bool, error) {
	return f.chains[table+" "+chain], nil
}
func (f *fakeRunner) EnsureRule(appendRule bool, table, chain string, spec ...string) error {
	f.rules = append(f.rules, table+" "+chain+" "+strings.Join(spec, " "))
	return nil
}
func (f *fakeRunner) DeleteRule(table, chain string, spec ...string) error { return nil }
func (f *fakeRunner) Sysctl(name, value string) error {
	f.sysctls = append(f.sysctls, name+"="+value)
	return nil
}

func (f *fakeRunner) last() string {
	if len(f.restores) == 0 {
		return ""
	}
	return string(f.restores[len(f.restores)-1])
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create): %v", err)
	}
	if got != string(want) {
		t.Errorf("restore input differs from %s:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func ports(m ...int32) map[int32]int32 {
	out := map[int32]int32{}
	for i := 0; i+1 < len(m); i += 2 {
		out[m[i]] = m[i+1]
	}
	return out
}

func ep(ip string) testobj.Endpoint      { return testobj.Endpoint{IP: ip, Node: "node-b"} }
func localEP(ip string) testobj.Endpoint { return testobj.Endpoint{IP: ip, Node: node} }

var (
	ruleCfg  = RuleConfig{ClusterCIDR: "10.244.0.0/16"}
	ruleCfg6 = RuleConfig{ClusterCIDR: "fd00:10:244::/56", IPv6: true}
)

func TestFullSyncGolden(t *testing.T) {
	tests := []struct {
		name     string
		cfg      *RuleConfig // ruleCfg when nil
		family   v1.IPFamily // IPv4 when empty
		services []*v1.Service
		slices   []*discovery.EndpointSlice
	}{
		{
			name:     "clusterip",
			services: []*v1.Service{testobj.Service("ns1", "svc1", "10.96.0.10", []int32{80})},
			slices: []*discovery.EndpointSlice{testobj.Slice("ns1", "svc1", "svc1-a", ports(80, 8080),
				ep("10.244.1.2"), ep("10.244.2.2"), ep("10.244.3.2"))},
		},
		{
			name:     "two ports one endpoint",
			services: []*v1.Service{testobj.Service("ns1", "web", "10.96.0.11", []int32{80, 443})},
			slices:   []*discovery.EndpointSlice{testobj.Slice("ns1", "web", "web-a", ports(80, 8080, 443, 8443), ep("10.244.1.5"))},
		},
		{
			name:     "nodeport",
			services: []*v1.Service{testobj.Service("ns2", "svc2", "10.96.0.20", []int32{80}, testobj.NodePort(30080))},
			slices:   []*discovery.EndpointSlice{testobj.Slice("ns2", "svc2", "svc2-a", ports(80, 80), ep("10.244.1.3"), ep("10.244.2.3"))},
		},
		{
			name:     "externalips",
			services: []*v1.Service{testobj.Service("ns3", "svc3", "10.96.0.30", []int32{80}, testobj.ExternalIPs("192.0.2.10", "192.0.2.11"))},
			slices:   []*discovery.EndpointSlice{testobj.Slice("ns3", "svc3", "svc3-a", ports(80, 80), ep("10.244.1.4"))},
		},
		{
			name:     "loadbalancer",
			services: []*v1.Service{testobj.Service("ns4", "svc4", "10.96.0.40", []int32{443}, testobj.LoadBalancer(31443, "203.0.113.7"))},
			slices:   []*discovery.EndpointSlice{testobj.Slice("ns4", "svc4", "svc4-a", ports(443, 8443), ep("10.244.1.5"), ep("10.244.2.5"))},
		},
		{
			name: "loadbalancer source ranges",
			services: []*v1.Service{testobj.Service("ns4", "svc4", "10.96.0.40", []int32{443},
				testobj.LoadBalancer(31443, "203.0.113.7", "203.0.113.8"), testobj.SourceRanges("198.51.100.0/24", "192.0.2.0/25"))},
			slices: []*discovery.EndpointSlice{testobj.Slice("ns4", "svc4", "svc4-a", ports(443, 8443), ep("10.244.1.5"))},
		},
		{
			// A range holding the node's IP also admits the load balancer
			// IPs as sources: requests from the node come from them.
			name: "loadbalancer source ranges allow node",
			cfg:  &RuleConfig{ClusterCIDR: "10.244.0.0/16", NodeIPs: []string{"192.0.2.5"}},
			services: []*v1.Service{testobj.Service("ns4", "svc4", "10.96.0.40", []int32{443},
				testobj.LoadBalancer(31443, "203.0.113.7"), testobj.SourceRanges("192.0.2.0/25"))},
			slices: []*discovery.EndpointSlice{testobj.Slice("ns4", "svc4", "svc4-a", ports(443, 8443), ep("10.244.1.5"))},
		},
		{
			// The annotation applies when the field is empty; without
			// endpoints there is no firewall chain, the IP is rejected.
			name: "loadbalancer source ranges without endpoints",
			services: []*v1.Service{testobj.Service("ns4", "svc4", "10.96.0.40", []int32{443},
				testobj.LoadBalancer(31443, "203.0.113.7"), func(s *v1.Service) {
					s.Annotations = map[string]string{"service.beta.kubernetes.io/load-balancer-source-ranges": "198.51.100.0/24"}
				})},
		},
		{
			name:     "nodeport addresses",
			cfg:      &RuleConfig{ClusterCIDR: "10.244.0.0/16", NodePortAddresses: []string{"192.168.77.1", "127.0.0.1"}},
			services: []*v1.Service{testobj.Service("ns2", "svc2", "10.96.0.20", []int32{80}, testobj.NodePort(30080))},
			slices:   []*discovery.EndpointSlice{testobj.Slice("ns2", "svc2", "svc2-a", ports(80, 80), ep("10.244.1.3"))},
		},
		{
			name:   "ipv6",
			family: v1.IPv6Protocol,
			cfg:    &ruleCfg6,
			services: []*v1.Service{testobj.Service("ns9", "v6", "fd00:10:96::a", []int32{80},
				testobj.NodePort(30090), testobj.ExternalIPs("2001:db8::7", "192.0.2.7"))},
			slices: []*discovery.EndpointSlice{
				testobj.Slice6("ns9", "v6", "v6-a", ports(80, 8080), ep("fd00:10:244:1::2"), ep("fd00:10:244:2::2")),
				testobj.Slice("ns9", "v6", "v6-b", ports(80, 8080), ep("10.244.1.2")),
			},
		},
		{
			// A dual-stack service: the IPv4 tracker sees its IPv4 half.
			name: "dual stack ipv4 half",
			services: []*v1.Service{testobj.Service("ns9", "dual", "10.96.0.90", []int32{80},
				testobj.DualStack("fd00:10:96::5a"), testobj.ClientIPAffinity(60))},
			slices: []*discovery.EndpointSlice{
				testobj.Slice("ns9", "dual", "dual-a", ports(80, 8080), ep("10.244.1.9")),
				testobj.Slice6("ns9", "dual", "dual-b", ports(80, 8080), ep("fd00:10:244:1::9")),
			},
		},
		{
			name:   "dual stack ipv6 half",
			family: v1.IPv6Protocol,
			cfg:    &ruleCfg6,
			services: []*v1.Service{testobj.Service("ns9", "dual", "10.96.0.90", []int32{80},
				testobj.DualStack("fd00:10:96::5a"), testobj.ClientIPAffinity(60))},
			slices: []*discovery.EndpointSlice{
				testobj.Slice("ns9", "dual", "dual-a", ports(80, 8080), ep("10.244.1.9")),
				testobj.Slice6("ns9", "dual", "dual-b", ports(80, 8080), ep("fd00:10:244:1::9")),
			},
		},
		{
			name: "loadbalancer external local",
			services: []*v1.Service{testobj.Service("ns4", "svc4", "10.96.0.40", []int32{443},
				testobj.LoadBalancer(31443, "203.0.113.7"), testobj.ExternalLocal(32000))},
			slices: []*discovery.EndpointSlice{testobj.Slice("ns4", "svc4", "svc4-a", ports(443, 8443), localEP("10.244.1.5"), ep("10.244.2.5"))},
		},
		{
			name: "external local without local endpoints",
			services: []*v1.Service{testobj.Service("ns4", "svc4", "10.96.0.40", []int32{443},
				testobj.NodePort(31443), testobj.ExternalLocal(0))},
			slices: []*discovery.EndpointSlice{testobj.Slice("ns4", "svc4", "svc4-a", ports(443, 8443), ep("10.244.2.5"))},
		},
		{
			name:     "client ip affinity",
			services: []*v1.Service{testobj.Service("ns5", "sticky", "10.96.0.50", []int32{80}, testobj.ClientIPAffinity(600))},
			slices:   []*discovery.EndpointSlice{testobj.Slice("ns5", "sticky", "sticky-a", ports(80, 80), ep("10.244.1.6"), ep("10.244.2.6"))},
		},
		{
			name:     "internal local",
			services: []*v1.Service{testobj.Service("ns6", "loc", "10.96.0.60", []int32{80}, testobj.InternalLocal)},
			slices:   []*discovery.EndpointSlice{testobj.Slice("ns6", "loc", "loc-a", ports(80, 80), localEP("10.244.1.7"), ep("10.244.2.7"))},
		},
		{
			name:     "internal local without local endpoints",
			services: []*v1.Service{testobj.Service("ns6", "loc", "10.96.0.60", []int32{80}, testobj.InternalLocal)},
			slices:   []*discovery.EndpointSlice{testobj.Slice("ns6", "loc", "loc-a", ports(80, 80), ep("10.244.2.7"))},
		},
		{
			name: "no endpoints",
			services: []*v1.Service{testobj.Service("ns7", "empty", "10.96.0.70", []int32{80},
				testobj.LoadBalancer(30070, "203.0.113.8"), testobj.ExternalIPs("192.0.2.70"))},
		},
		{
			name:     "terminating endpoints only",
			services: []*v1.Service{testobj.Service("ns8", "drain", "10.96.0.80", []int32{80})},
			slices: []*discovery.EndpointSlice{testobj.Slice("ns8", "drain", "drain-a", ports(80, 80),
				testobj.Endpoint{IP: "10.244.1.8", Terminating: true}, testobj.Endpoint{IP: "10.244.2.8", NotReady: true})},
		},
		{
			name:     "udp",
			services: []*v1.Service{testobj.UDPService("kube-system", "dns", "10.96.0.10", 53)},
			slices:   []*discovery.EndpointSlice{testobj.UDPSlice("kube-system", "dns", "dns-a", ports(53, 53), ep("10.244.1.9"))},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			family := tt.family
			if family == "" {
				family = v1.IPv4Protocol
			}
			tr := servicemap.NewFamilyTracker(node, family)
			for _, s := range tt.services {
				tr.OnServiceUpdate(s)
			}
			for _, es := range tt.slices {
				tr.OnEndpointSliceUpdate(es)
			}
			run := &fakeRunner{}
			cfg := ruleCfg
			if tt.cfg != nil {
				cfg = *tt.cfg
			}
			p := New(tr, run, Config{Rules: cfg})
			res, err := p.Sync()
			if err != nil {
				t.Fatal(err)
			}
			if !res.Full || !res.Wrote {
				t.Errorf("first sync: %+v, want a full sync that wrote rules", res)
			}
			checkGolden(t, strings.ReplaceAll(tt.name, " ", "-"), run.last())
		})
	}
}

// TestPartialSync follows one proxier through a sequence of changes and
// checks each restore input: only changed services' chains are rewritten,
// chains that are no longer used are deleted, and an idle sync writes
// nothing.
func TestPartialSync(t *testing.T) {
	tr := servicemap.NewTracker(node)
	run := &fakeRunner{save: map[string]string{"nat": "*nat\n:KUBE-SERVICES - [0:0]\n:KUBE-SVC-OLDOLDOLDOLDOLDO - [0:0]\n:KUBE-SEP-OLDOLDOLDOLDOLDO - [0:0]\nCOMMIT\n"}}
	now := time.Unix(1000, 0)
	p := New(tr, run, Config{Rules: ruleCfg, SyncPeriod: 30 * time.Second, FullSyncPeriod: time.Hour, LocalhostNodePorts: true})
	p.now = func() time.Time { return now }

	tr.OnServiceUpdate(testobj.Service("ns1", "a", "10.96.0.1", []int32{80}))
	tr.OnEndpointSliceUpdate(testobj.Slice("ns1", "a", "a-1", ports(80, 80), ep("10.244.1.1"), ep("10.244.1.2")))
	tr.OnServiceUpdate(testobj.Service("ns1", "b", "10.96.0.2", []int32{80}, testobj.NodePort(30002)))
	tr.OnEndpointSliceUpdate(testobj.Slice("ns1", "b", "b-1", ports(80, 80), ep("10.244.2.1")))

	steps := []struct {
		name      string
		change    func()
		advance   time.Duration
		wantWrite bool
		wantFull  bool
	}{
		{name: "initial full sync deletes leftovers", change: func() {}, wantWrite: true, wantFull: true},
		{name: "nothing changed", change: func() {}, advance: time.Second},
		{name: "status-only update is no change", change: func() {
			s := testobj.Service("ns1", "a", "10.96.0.1", []int32{80})
			s.Annotations = map[string]string{"x": "y"}
			tr.OnServiceUpdate(s)
		}, advance: time.Second},
		{name: "endpoint removed", change: func() {
			tr.OnEndpointSliceUpdate(testobj.Slice("ns1", "a", "a-1", ports(80, 80), ep("10.244.1.1")))
		}, advance: time.Second, wantWrite: true},
		{name: "service deleted", change: func() {
			tr.OnServiceDelete(testobj.Service("ns1", "b", "10.96.0.2", []int32{80}))
		}, advance: time.Second, wantWrite: true},
		{name: "periodic check finds the canary", change: func() {}, advance: 30 * time.Second},
		{name: "tables flushed", change: func() { delete(run.chains, "mangle KUBE-PROXY-CANARY") }, advance: time.Second},
		{name: "periodic check misses the canary", change: func() {}, advance: 30 * time.Second, wantWrite: true, wantFull: true},
		{name: "hourly full sync", change: func() {}, advance: time.Hour, wantWrite: true, wantFull: true},
		{name: "service added", change: func() {
			tr.OnServiceUpdate(testobj.Service("ns1", "c", "10.96.0.3", []int32{80}))
			tr.OnEndpointSliceUpdate(testobj.Slice("ns1", "c", "c-1", ports(80, 80), ep("10.244.3.1")))
		}, advance: time.Second, wantWrite: true},
	}
	for i, st := range steps {
		now = now.Add(st.advance)
		st.change()
		before := len(run.restores)
		res, err := p.Sync()
		if err != nil {
			t.Fatalf("step %q: %v", st.name, err)
		}
		wrote := len(run.restores) > before
		if wrote != st.wantWrite || res.Wrote != st.wantWrite || res.Full != st.wantFull {
			t.Fatalf("step %q: wrote=%v result %+v, want wrote=%v full=%v", st.name, wrote, res, st.wantWrite, st.wantFull)
		}
		if wrote {
			checkGolden(t, "partial-"+string(rune('0'+i))+"-"+strings.ReplaceAll(st.name, " ", "-"), run.last())
			// The rule counts of a partial sync are the kernel's totals: what
			// a full sync of the same services writes.
			ref, err := New(tr, &fakeRunner{}, Config{Rules: ruleCfg}).Sync()
			if err != nil {
				t.Fatal(err)
			}
			if res.NATRules != ref.NATRules || res.FilterRules != ref.FilterRules {
				t.Errorf("step %q: counted %d nat, %d filter rules, a full sync writes %d, %d", st.name, res.NATRules, res.FilterRules, ref.NATRules, ref.FilterRules)
			}
		}
	}
	wantJumps := len(jumps) * 3 // one set per full sync
	if len(run.rules) != wantJumps {
		t.Errorf("ensured %d jump rules, want %d", len(run.rules), wantJumps)
	}
	if len(run.sysctls) == 0 || run.sysctls[0] != "net/ipv4/conf/all/route_localnet=1" {
		t.Errorf("sysctls %v, want route_localnet=1", run.sysctls)
	}
}

// TestChunkedSyncGolden checks the layout for the nft backend: per-service
// chains in transactions of about ChunkChains chains, a service never
// split, the shared chains and chain deletions in the last transaction; a
// partial sync that fits one chunk is one transaction (each nft commit
// costs a validation of the whole table), a larger one is chunked too.
func TestChunkedSyncGolden(t *testing.T) {
	tr := servicemap.NewTracker(node)
	tr.OnServiceUpdate(testobj.Service("ns1", "a", "10.96.0.1", []int32{80}))
	tr.OnEndpointSliceUpdate(testobj.Slice("ns1", "a", "a-1", ports(80, 80), ep("10.244.1.1"), ep("10.244.1.2")))
	tr.OnServiceUpdate(testobj.Service("ns1", "b", "10.96.0.2", []int32{80}))
	tr.OnEndpointSliceUpdate(testobj.Slice("ns1", "b", "b-1", ports(80, 80), ep("10.244.2.1")))
	tr.OnServiceUpdate(testobj.Service("ns1", "c", "10.96.0.3", []int32{80}, testobj.NodePort(30003)))
	tr.OnEndpointSliceUpdate(testobj.Slice("ns1", "c", "c-1", ports(80, 80), ep("10.244.3.1")))
	run := &fakeRunner{}
	p := New(tr, run, Config{Rules: ruleCfg, ChunkChains: 3})
	if _, err := p.Sync(); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "chunked-0-full", run.last())
	if got := strings.Count(run.last(), "COMMIT\n"); got != 4 {
		t.Errorf("full sync has %d transactions, want 4 (a; b and c; filter; shared nat)", got)
	}
	tr.OnEndpointSliceUpdate(testobj.Slice("ns1", "a", "a-1", ports(80, 80), ep("10.244.1.1")))
	if _, err := p.Sync(); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "chunked-1-endpoint-removed", run.last())
	// Shared-chain changes are edits, not a rewrite of KUBE-SERVICES.
	tr.OnServiceUpdate(testobj.Service("ns1", "d", "10.96.0.4", []int32{80}, testobj.NodePort(30004)))
	tr.OnEndpointSliceUpdate(testobj.Slice("ns1", "d", "d-1", ports(80, 80), ep("10.244.4.1")))
	tr.OnServiceDelete(testobj.Service("ns1", "b", "10.96.0.2", []int32{80}))
	tr.OnServiceUpdate(testobj.Service("ns1", "e", "10.96.0.5", []int32{80})) // no endpoints: REJECT
	res, err := p.Sync()
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "chunked-2-services-added-and-deleted", run.last())
	ref, err := New(tr, &fakeRunner{}, Config{Rules: ruleCfg}).Sync()
	if err != nil {
		t.Fatal(err)
	}
	if res.NATRules != ref.NATRules || res.FilterRules != ref.FilterRules {
		t.Errorf("after edits counted %d nat, %d filter rules, a full sync writes %d, %d", res.NATRules, res.FilterRules, ref.NATRules, ref.FilterRules)
	}
}

// TestMultiPortServiceEdits follows a two-port service (kube-dns: 53 and
// 9153) from no endpoints to endpoints to deletion with the nft-style
// per-rule edits of the shared chains, and checks that each edit is a whole
// rule in its own table: a service's shared rules are recorded per table
// across all of its ports.
func TestMultiPortServiceEdits(t *testing.T) {
	tr := servicemap.NewTracker(node)
	run := &fakeRunner{}
	now := time.Unix(1000, 0)
	p := New(tr, run, Config{Rules: ruleCfg, FullSyncPeriod: time.Hour, ChunkChains: 1000})
	p.now = func() time.Time { return now }
	// edits returns the -D and -I lines of the last restore by table.
	edits := func() map[string][]string {
		out := map[string][]string{}
		table := ""
		for _, l := range strings.Split(run.last(), "\n") {
			if strings.HasPrefix(l, "*") {
				table = l[1:]
			}
			if strings.HasPrefix(l, "-D ") || strings.HasPrefix(l, "-I ") {
				if strings.ContainsRune(l, 0) || len(strings.Fields(l)) < 4 {
					t.Fatalf("malformed edit %q in:\n%s", l, run.last())
				}
				out[table] = append(out[table], l)
			}
		}
		return out
	}
	sync := func() map[string][]string {
		t.Helper()
		now = now.Add(2 * time.Second)
		if _, err := p.Sync(); err != nil {
			t.Fatal(err)
		}
		return edits()
	}

	tr.OnServiceUpdate(testobj.Service("default", "kubernetes", "10.96.0.1", []int32{443}))
	tr.OnEndpointSliceUpdate(testobj.Slice("default", "kubernetes", "k-1", ports(443, 6443), ep("192.0.2.2")))
	sync()
	dns := testobj.Service("kube-system", "kube-dns", "10.96.0.10", []int32{53, 9153})
	tr.OnServiceUpdate(dns)
	tr.OnEndpointSliceUpdate(testobj.Slice("kube-system", "kube-dns", "d-1", ports(53, 53, 9153, 9153)))
	if e := sync(); len(e["filter"]) != 2 || len(e["nat"]) != 0 {
		t.Errorf("service without endpoints: want 2 filter REJECT inserts and no nat edits, got %q", e)
	}
	tr.OnEndpointSliceUpdate(testobj.Slice("kube-system", "kube-dns", "d-1", ports(53, 53, 9153, 9153), ep("10.88.0.5")))
	if e := sync(); len(e["filter"]) != 2 || len(e["nat"]) != 2 {
		t.Errorf("endpoints appear: want the 2 REJECTs deleted and 2 nat jumps inserted, got %q", e)
	}
	tr.OnServiceDelete(dns)
	e := sync()
	if len(e["filter"]) != 0 || len(e["nat"]) != 2 {
		t.Errorf("service deleted: want its 2 nat jumps deleted, got %q", e)
	}
	for _, l := range e["nat"] {
		if !strings.HasPrefix(l, "-D KUBE-SERVICES ") || !strings.Contains(l, "kube-system/kube-dns") {
			t.Errorf("service deleted: unexpected edit %q", l)
		}
	}
}
