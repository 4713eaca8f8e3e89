package eviction

import (
	"context"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"

	"navarch.dev/shared/statsummary"
)

func procs(n uint64) statsummary.PodStats {
	return statsummary.PodStats{ProcessStats: &statsummary.ProcessStats{ProcessCount: u64(n)}}
}

func thresholds(t *testing.T, spec string) []Threshold {
	t.Helper()
	th, err := ParseThresholds(spec, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	return th
}

// TestPIDPressure: pid.available is the node's task limit less its tasks;
// a threshold (absolute or a percentage of the limit) met sets PIDPressure
// and evicts the lowest-priority pod with the most processes.
func TestPIDPressure(t *testing.T) {
	tests := []struct {
		name        string
		spec        string
		node        *node
		wantEvicted string
		wantMessage string
		wantPID     bool
	}{
		{
			name: "absolute threshold not met",
			spec: "pid.available<1000",
			node: &node{memAvail: 2 * gi, fsAvail: 50 * gi, maxPID: 32768, tasks: 31000,
				pods: []*v1.Pod{makePod("a")}, usage: map[string]statsummary.PodStats{"a": procs(100)}},
		},
		{
			name: "absolute threshold met",
			spec: "pid.available<1000",
			node: &node{memAvail: 2 * gi, fsAvail: 50 * gi, maxPID: 32768, tasks: 32268,
				pods: []*v1.Pod{makePod("few"), makePod("many")}, usage: map[string]statsummary.PodStats{"few": procs(3), "many": procs(400)}},
			wantEvicted: "many", wantPID: true,
			wantMessage: "The node was low on resource: pids. Threshold quantity: 1k, available: 500. ",
		},
		{
			// 10% of 32768 is 3276.
			name: "percentage threshold not met",
			spec: "pid.available<10%",
			node: &node{memAvail: 2 * gi, fsAvail: 50 * gi, maxPID: 32768, tasks: 29000,
				pods: []*v1.Pod{makePod("a")}, usage: map[string]statsummary.PodStats{"a": procs(100)}},
		},
		{
			name: "percentage threshold met",
			spec: "pid.available<10%",
			node: &node{memAvail: 2 * gi, fsAvail: 50 * gi, maxPID: 32768, tasks: 30000,
				pods: []*v1.Pod{makePod("a")}, usage: map[string]statsummary.PodStats{"a": procs(100)}},
			wantEvicted: "a", wantPID: true,
			wantMessage: "The node was low on resource: pids. Threshold quantity: 3276, available: 2768. ",
		},
		{
			name: "lower priority goes first, whatever its processes",
			spec: "pid.available<1000",
			node: &node{memAvail: 2 * gi, fsAvail: 50 * gi, maxPID: 32768, tasks: 32768,
				pods:  []*v1.Pod{makePod("important-forker", prio(1000)), makePod("quiet", prio(0)), makePod("quieter", prio(0))},
				usage: map[string]statsummary.PodStats{"important-forker": procs(5000), "quiet": procs(20), "quieter": procs(2)}},
			wantEvicted: "quiet", wantPID: true,
			wantMessage: "The node was low on resource: pids. Threshold quantity: 1k, available: 0. ",
		},
		{
			name: "pods without a process count go after counted ones of the same priority",
			spec: "pid.available<1000",
			node: &node{memAvail: 2 * gi, fsAvail: 50 * gi, maxPID: 32768, tasks: 32000,
				pods:  []*v1.Pod{makePod("unknown"), makePod("one")},
				usage: map[string]statsummary.PodStats{"one": procs(1)}},
			wantEvicted: "one", wantPID: true,
			wantMessage: "The node was low on resource: pids. Threshold quantity: 1k, available: 768. ",
		},
		{
			name: "critical pods are not evicted",
			spec: "pid.available<1000",
			node: &node{memAvail: 2 * gi, fsAvail: 50 * gi, maxPID: 32768, tasks: 32000,
				pods:  []*v1.Pod{makePod("etcd", static), makePod("dns", prio(2_000_000_000)), makePod("web", prio(5))},
				usage: map[string]statsummary.PodStats{"etcd": procs(900), "dns": procs(800), "web": procs(1)}},
			wantEvicted: "web", wantPID: true,
			wantMessage: "The node was low on resource: pids. Threshold quantity: 1k, available: 768. ",
		},
		{
			name: "no rlimit stats: no signal, no pressure",
			spec: "pid.available<1000",
			node: &node{memAvail: 2 * gi, fsAvail: 50 * gi, pods: []*v1.Pod{makePod("a")}, usage: map[string]statsummary.PodStats{"a": procs(100)}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The node's unused images must not be touched for PIDs.
			tt.node.imagesGi = 5
			m := New(Config{Thresholds: thresholds(t, tt.spec)}, tt.node, tt.node, tt.node)
			got, err := m.Synchronize(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			name := ""
			if got != nil {
				name = got.Name
			}
			if name != tt.wantEvicted {
				t.Fatalf("evicted %q, want %q", name, tt.wantEvicted)
			}
			if tt.wantEvicted != "" {
				if tt.node.messages[0] != tt.wantMessage {
					t.Errorf("message = %q\nwant      %q", tt.node.messages[0], tt.wantMessage)
				}
				if tt.node.graces[0] != time.Second {
					t.Errorf("grace = %s, want 1s for a hard threshold", tt.node.graces[0])
				}
			}
			if m.PIDPressure() != tt.wantPID || m.MemoryPressure() || m.DiskPressure() {
				t.Errorf("pressure pid=%v memory=%v disk=%v, want pid=%v only", m.PIDPressure(), m.MemoryPressure(), m.DiskPressure(), tt.wantPID)
			}
			if tt.node.imagesGi != 5 {
				t.Error("unused images were removed for a PID threshold")
			}
		})
	}
}

// TestPIDPressureTransition: PIDPressure comes with the threshold and
// stays for the transition period after it was last met, like the other
// pressures; a soft PID threshold evicts only after its grace period.
func TestPIDPressureTransition(t *testing.T) {
	grace, err := ParseGracePeriods("pid.available=1m")
	if err != nil {
		t.Fatal(err)
	}
	soft, err := ParseThresholds("pid.available<20%", true, grace)
	if err != nil {
		t.Fatal(err)
	}
	n := &node{memAvail: 2 * gi, fsAvail: 50 * gi, maxPID: 10000, tasks: 1000,
		pods: []*v1.Pod{makePod("a")}, usage: map[string]statsummary.PodStats{"a": procs(10)}}
	m := New(Config{Thresholds: soft, PressureTransitionPeriod: 30 * time.Second}, n, n, nil)
	clock := time.Unix(1_700_000_000, 0)
	m.now = func() time.Time { return clock }
	ctx := context.Background()
	step := func(d time.Duration, tasks int64) *v1.Pod {
		t.Helper()
		clock = clock.Add(d)
		n.mu.Lock()
		n.tasks = tasks
		n.mu.Unlock()
		p, err := m.Synchronize(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	if p := step(0, 1000); p != nil || m.PIDPressure() {
		t.Fatalf("9000 of 10000 PIDs free: evicted %v, pressure %v; want neither", p, m.PIDPressure())
	}
	if p := step(10*time.Second, 8500); p != nil || !m.PIDPressure() {
		t.Fatalf("1500 free (< 2000): evicted %v, pressure %v; want pressure, no eviction within the grace period", p, m.PIDPressure())
	}
	if p := step(61*time.Second, 8500); p == nil || p.Name != "a" {
		t.Fatalf("after the grace period: evicted %v, want a", p)
	}
	if p := step(10*time.Second, 2000); p != nil || !m.PIDPressure() {
		t.Fatalf("relieved 10s ago: evicted %v, pressure %v; want the pressure kept for the 30s transition period", p, m.PIDPressure())
	}
	clock = clock.Add(25 * time.Second)
	if m.PIDPressure() {
		t.Error("PIDPressure still reported 35s after the threshold was last met")
	}
}
