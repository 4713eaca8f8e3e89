package iptables

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"navarch.dev/proxy/internal/netnstest"
	"navarch.dev/proxy/internal/testobj"
	"navarch.dev/proxy/pkg/servicemap"
)

// recordingRunner remembers the last restore input and how long it took.
type recordingRunner struct {
	*ExecRunner
	last    []byte
	restore time.Duration
}

func (r *recordingRunner) Restore(data []byte) error {
	r.last = append(r.last[:0], data...)
	start := time.Now()
	err := r.ExecRunner.Restore(data)
	r.restore = time.Since(start)
	return err
}

func benchTracker(n, eps int) *servicemap.Tracker {
	tr := servicemap.NewTracker(node)
	for i := range n {
		name := fmt.Sprintf("svc-%05d", i)
		tr.OnServiceUpdate(testobj.Service("bench", name, fmt.Sprintf("10.%d.%d.%d", 96+i/65536, i/256%256, i%256), []int32{80}))
		var list []testobj.Endpoint
		for e := range eps {
			list = append(list, testobj.Endpoint{IP: fmt.Sprintf("10.%d.%d.%d", 128+e, i/256%256, i%256), Node: "node-b"})
		}
		tr.OnEndpointSliceUpdate(testobj.Slice("bench", name, name+"-a", map[int32]int32{80: 8080}, list...))
	}
	return tr
}

// BenchmarkSync measures full and one-service partial syncs of 1k, 5k and
// 10k services with 10 endpoints each against real iptables-restore in a
// fresh network namespace, for each backend with the chunking it uses in
// production (ChunkFor), beside the floor: a plain restore of the same
// full-sync text, with the same backend, into another fresh namespace. Two
// partial syncs are timed: an endpoint change (the service's own chains
// only) and a new service (which also changes KUBE-SERVICES: rewritten on
// legacy, one inserted rule on nft); "restore" is the part spent in
// iptables-restore, the rest is Go and the jump checks. Each partial sync
// has its own floor: the same partial restore text applied with a plain
// iptables-restore to the floor namespace, which by then holds the same
// rules and base-chain jumps. On nft that floor grows with the table,
// because the kernel (nf_tables_commit -> nft_table_validate) walks every
// chain reachable from a base chain on each commit that adds a rule with a
// jump, NAT or match, once per base chain jumping to KUBE-SERVICES. Run
// with -benchtime 1x; it prints a table. "resync" is the periodic full
// sync over rules already in place.
func BenchmarkSync(b *testing.B) {
	fmt.Fprintf(os.Stdout, "\n%-7s %8s %7s %10s %10s %10s %6s %10s %10s %8s %10s %10s %10s %10s %10s %10s\n", "backend", "services", "rules",
		"floor", "full sync", "(restore)", "ratio", "ep change", "(restore)", "(bytes)", "(floor)", "svc add", "(restore)", "(floor)", "resync", "(restore)")
	for _, n := range benchSizes() {
		for _, backend := range benchBackends() {
			benchSync(b, backend, n)
		}
	}
	for range b.N {
	}
}

func benchSync(b *testing.B, backend Backend, n int) {
	lab := netnstest.New(b)
	nsFull, nsFloor := lab.NS(fmt.Sprintf("full%d", n)), lab.NS(fmt.Sprintf("floor%d", n))
	tr := benchTracker(n, 10)
	run := &recordingRunner{ExecRunner: &ExecRunner{NetNS: nsFull, Backend: backend}}
	p := New(tr, run, Config{Rules: ruleCfg, ChunkChains: ChunkFor(backend)})

	start := time.Now()
	res, err := p.Sync()
	full, fullRestore := time.Since(start), run.restore
	if err != nil {
		b.Fatal(err)
	}
	text := append([]byte(nil), run.last...)

	// The chains and base-chain jumps the proxier makes before its
	// restore (ensureBase). The jumps matter: on nft the kernel validates
	// every chain reachable from a base chain on each commit, once per
	// path, so a floor without them would be a different table.
	floorBase := New(servicemap.NewTracker(node), &ExecRunner{NetNS: nsFloor, Backend: backend}, Config{Rules: ruleCfg})
	if err := floorBase.ensureBase(); err != nil {
		b.Fatalf("floor: %v", err)
	}
	// plainRestore applies text with a plain iptables-restore in the floor
	// namespace, which holds the same rules as the proxier's.
	plainRestore := func(text []byte) time.Duration {
		start := time.Now()
		cmd := exec.Command("ip", "netns", "exec", nsName(nsFloor), backend.binary("-restore"), "--noflush")
		cmd.Stdin = bytesReader(text)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("floor restore: %v: %s", err, out)
		}
		return time.Since(start)
	}
	floor := plainRestore(text)

	// partial makes change, syncs, and then applies the same partial
	// restore text to the floor namespace with a plain iptables-restore:
	// that commit is the floor of a partial sync (the kernel validates the
	// whole table on every commit that adds rules).
	partial := func(change func()) (time.Duration, time.Duration, int, time.Duration) {
		change()
		start := time.Now()
		res, err := p.Sync()
		d := time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		if res.Full {
			b.Fatal("partial sync was full")
		}
		return d, run.restore, res.Bytes, plainRestore(append([]byte(nil), run.last...))
	}
	// One service loses an endpoint: only its own chains change.
	name := "svc-00007"
	ep, epRestore, epBytes, epFloor := partial(func() {
		tr.OnEndpointSliceUpdate(testobj.Slice("bench", name, name+"-a", map[int32]int32{80: 8080},
			testobj.Endpoint{IP: "10.128.0.7", Node: "node-b"}))
	})
	// A service is added: KUBE-SERVICES gains a rule.
	add, addRestore, _, addFloor := partial(func() {
		tr.OnServiceUpdate(testobj.Service("bench", "zz-new", "10.200.0.1", []int32{80}))
		tr.OnEndpointSliceUpdate(testobj.Slice("bench", "zz-new", "zz-new-a", map[int32]int32{80: 8080},
			testobj.Endpoint{IP: "10.201.0.1", Node: "node-b"}))
	})
	// The periodic full sync (--iptables-sync-period) rewrites everything
	// over the rules already in place.
	p.needFull = true
	start = time.Now()
	if _, err := p.Sync(); err != nil {
		b.Fatal(err)
	}
	resync, resyncRestore := time.Since(start), run.restore
	ms := func(d time.Duration) string { return d.Round(time.Millisecond).String() }
	fmt.Fprintf(os.Stdout, "%-7s %8d %7d %10s %10s %10s %5.2fx %10s %10s %8d %10s %10s %10s %10s %10s %10s\n", backend, n, res.NATRules+res.FilterRules,
		ms(floor), ms(full), ms(fullRestore), float64(full)/float64(floor), ms(ep), ms(epRestore), epBytes, ms(epFloor), ms(add), ms(addRestore), ms(addFloor), ms(resync), ms(resyncRestore))
}

func nsName(path string) string { return path[len("/var/run/netns/"):] }

func bytesReader(b []byte) *bytesReaderT { return &bytesReaderT{b: b} }

type bytesReaderT struct{ b []byte }

func (r *bytesReaderT) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

// benchBackends are the backends to measure: those in
// $NAVARCH_PROXY_BENCH_BACKENDS (comma-separated), else legacy and nft.
func benchBackends() []Backend {
	if env := os.Getenv("NAVARCH_PROXY_BENCH_BACKENDS"); env != "" {
		var out []Backend
		for _, f := range strings.Split(env, ",") {
			out = append(out, Backend(strings.TrimSpace(f)))
		}
		return out
	}
	return []Backend{BackendLegacy, BackendNFT}
}

// benchSizes are the service counts to measure: 1k, 5k and 10k, or the
// comma-separated list in $NAVARCH_PROXY_BENCH_SIZES.
func benchSizes() []int {
	env := os.Getenv("NAVARCH_PROXY_BENCH_SIZES")
	if env == "" {
		return []int{1000, 5000, 10000}
	}
	var out []int
	for _, f := range strings.Split(env, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil {
			out = append(out, n)
		}
	}
	return out
}
