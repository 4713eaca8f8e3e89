package iptables

import (
	"fmt"
	"strings"
	"testing"

	"navarch.dev/proxy/internal/netnstest"
	"navarch.dev/proxy/internal/testobj"
)

// TestSyncInNetns programs a fresh network namespace through each backend,
// with the chunking that backend uses (and, for nft, chunks far smaller
// than the default so one sync spans many transactions), and checks that
// the kernel then holds exactly the rules the proxier counted: after the
// first full sync, after a partial sync that drops an endpoint and adds a
// service, and after a full sync that removes services.
func TestSyncInNetns(t *testing.T) {
	for _, tt := range []struct {
		backend Backend
		chunk   int
	}{
		{BackendLegacy, ChunkFor(BackendLegacy)},
		{BackendNFT, 50},
	} {
		t.Run(string(tt.backend), func(t *testing.T) {
			lab := netnstest.New(t)
			ns := lab.NS("sync")
			tr := benchTracker(120, 3)
			run := &ExecRunner{NetNS: ns, Backend: tt.backend}
			p := New(tr, run, Config{Rules: ruleCfg, ChunkChains: tt.chunk})
			check := func(step string, wantFull bool, wantChains int) {
				t.Helper()
				res, err := p.Sync()
				if err != nil {
					t.Fatalf("%s: %v", step, err)
				}
				if res.Full != wantFull {
					t.Fatalf("%s: full=%v, want %v", step, res.Full, wantFull)
				}
				nat, err := run.Save("nat")
				if err != nil {
					t.Fatal(err)
				}
				filter, err := run.Save("filter")
				if err != nil {
					t.Fatal(err)
				}
				// Our rules, minus the jumps from built-in chains.
				gotNat := countRules(string(nat), "KUBE-") - countJumps("nat")
				gotFilter := countRules(string(filter), "KUBE-") - countJumps("filter")
				if gotNat != res.NATRules || gotFilter != res.FilterRules {
					t.Errorf("%s: kernel holds %d nat and %d filter rules, proxier counted %d and %d", step, gotNat, gotFilter, res.NATRules, res.FilterRules)
				}
				if got := len(serviceChainsIn(nat)); got != wantChains {
					t.Errorf("%s: kernel holds %d per-service chains, want %d", step, got, wantChains)
				}
			}
			// 120 services × (SVC + 3 SEP).
			check("first sync", true, 120*4)
			tr.OnEndpointSliceUpdate(testobj.Slice("bench", "svc-00007", "svc-00007-a", map[int32]int32{80: 8080},
				testobj.Endpoint{IP: "10.128.0.7", Node: "node-b"}))
			tr.OnServiceUpdate(testobj.Service("bench", "zz-new", "10.200.0.1", []int32{80}))
			tr.OnEndpointSliceUpdate(testobj.Slice("bench", "zz-new", "zz-new-a", map[int32]int32{80: 8080},
				testobj.Endpoint{IP: "10.201.0.1", Node: "node-b"}))
			check("partial sync", false, 120*4-2+2)
			// Deleting a service: its shared rules are deleted (-D on nft).
			tr.OnServiceDelete(testobj.Service("bench", "svc-00008", "", nil))
			check("partial sync deleting a service", false, 120*4-4)
			for i := range 20 {
				tr.OnServiceDelete(testobj.Service("bench", fmt.Sprintf("svc-%05d", 100+i), "", nil))
			}
			// Someone removes a jump from a built-in chain: the next full
			// sync puts it back (the counts include the jumps).
			j := jumps[len(jumps)-2] // nat PREROUTING -> KUBE-SERVICES
			if err := run.DeleteRule(j.table, j.from, append(j.spec, "-j", j.to)...); err != nil {
				t.Fatal(err)
			}
			p.needFull = true
			check("full sync after deletions", true, 100*4-4)
			if nat, _ := run.Save("nat"); !strings.Contains(string(nat), "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES") {
				t.Errorf("full sync did not restore the PREROUTING jump:\n%s", nat)
			}
			if t.Failed() {
				nat, _ := run.Save("nat")
				t.Logf("nat table:\n%s", nat)
			}
		})
	}
}

// countRules counts "-A" lines of chains whose name starts with prefix, or
// that jump to one.
func countRules(save, prefix string) int {
	n := 0
	for _, l := range strings.Split(save, "\n") {
		if strings.HasPrefix(l, "-A "+prefix) || (strings.HasPrefix(l, "-A ") && strings.Contains(l, "-j "+prefix)) {
			n++
		}
	}
	return n
}

func countJumps(table string) int {
	n := 0
	for _, j := range jumps {
		if j.table == table {
			n++
		}
	}
	return n
}
