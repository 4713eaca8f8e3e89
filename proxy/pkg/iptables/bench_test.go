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
// fresh network namespace, beside the floor: a plain iptables-restore of
// the same full-sync text into another fresh namespace. Run with
// -benchtime 1x; it prints a table.
func BenchmarkSync(b *testing.B) {
	fmt.Fprintf(os.Stdout, "\n%-9s %8s %12s %12s %7s %13s %13s\n", "services", "rules", "floor", "full sync", "ratio", "partial sync", "partial bytes")
	for _, n := range benchSizes() {
		lab := netnstest.New(b)
		nsFull, nsFloor := lab.NS(fmt.Sprintf("full%d", n)), lab.NS(fmt.Sprintf("floor%d", n))
		tr := benchTracker(n, 10)
		run := &recordingRunner{ExecRunner: &ExecRunner{NetNS: nsFull}}
		p := New(tr, run, Config{Rules: ruleCfg})

		start := time.Now()
		res, err := p.Sync()
		full := time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		text := append([]byte(nil), run.last...)

		floorStart := time.Now()
		cmd := exec.Command("ip", "netns", "exec", nsName(nsFloor), "iptables-restore", "--noflush")
		cmd.Stdin = bytesReader(text)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("floor restore: %v: %s", err, out)
		}
		floor := time.Since(floorStart)

		// One service loses an endpoint: the partial sync rewrites its chains
		// and the top-level chains only.
		name := "svc-00007"
		tr.OnEndpointSliceUpdate(testobj.Slice("bench", name, name+"-a", map[int32]int32{80: 8080},
			testobj.Endpoint{IP: "10.128.0.7", Node: "node-b"}))
		start = time.Now()
		pres, err := p.Sync()
		partial := time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		if pres.Full {
			b.Fatal("second sync was full")
		}
		fmt.Fprintf(os.Stdout, "%-9d %8d %12s %12s %6.2fx %13s %13d\n", n, res.NATRules+res.FilterRules,
			floor.Round(time.Millisecond), full.Round(time.Millisecond), float64(full)/float64(floor), partial.Round(time.Millisecond), pres.Bytes)
	}
	for range b.N {
	}
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
