package resourcemetrics

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"navarch.dev/shared/statsummary"
)

func u64(v uint64) *uint64 { return &v }

func TestCPUUsage(t *testing.T) {
	t0 := time.Unix(1000, 0)
	cum := func(v uint64) *statsummary.CPUStats { return &statsummary.CPUStats{UsageCoreNanoSeconds: u64(v)} }
	tests := []struct {
		name       string
		prev, cur  *statsummary.CPUStats
		dt         time.Duration
		wantMilli  int64
		wantWindow time.Duration
		wantOK     bool
	}{
		{name: "half a core over 10s", prev: cum(1e9), cur: cum(6e9), dt: 10 * time.Second, wantMilli: 500, wantWindow: 10 * time.Second, wantOK: true},
		{name: "two cores over 1s", prev: cum(0), cur: cum(2e9), dt: time.Second, wantMilli: 2000, wantWindow: time.Second, wantOK: true},
		{name: "idle", prev: cum(5e9), cur: cum(5e9), dt: 15 * time.Second, wantMilli: 0, wantWindow: 15 * time.Second, wantOK: true},
		{name: "counter restarted", prev: cum(5e9), cur: cum(1e9), dt: 15 * time.Second},
		{name: "no previous sample", cur: cum(1e9), dt: time.Second},
		{name: "no cumulative time", prev: &statsummary.CPUStats{UsageNanoCores: u64(5)}, cur: &statsummary.CPUStats{UsageNanoCores: u64(5)}, dt: time.Second},
		{name: "same scrape", prev: cum(1), cur: cum(2), dt: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, w, ok := cpuUsage(tc.prev, tc.cur, t0, t0.Add(tc.dt))
			if ok != tc.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tc.wantOK)
			}
			if ok && (q.MilliValue() != tc.wantMilli || w != tc.wantWindow) {
				t.Errorf("usage %s over %v, want %dm over %v", q.String(), w, tc.wantMilli, tc.wantWindow)
			}
		})
	}
}

// fakeKubelets answers summaries from a function of the call number.
type fakeKubelets struct {
	mu    sync.Mutex
	calls map[string]int
	sum   func(node string, call int) (*statsummary.Summary, error)
}

func (f *fakeKubelets) Summary(_ context.Context, n *corev1.Node) (*statsummary.Summary, error) {
	f.mu.Lock()
	f.calls[n.Name]++
	c := f.calls[n.Name]
	f.mu.Unlock()
	return f.sum(n.Name, c)
}

type fakeSource struct {
	nodes []*corev1.Node
	pods  []*corev1.Pod
}

func (f fakeSource) Nodes(context.Context) ([]*corev1.Node, error) { return f.nodes, nil }
func (f fakeSource) Pods(_ context.Context, ns string) ([]*corev1.Pod, error) {
	var out []*corev1.Pod
	for _, p := range f.pods {
		if ns == "" || p.Namespace == ns {
			out = append(out, p)
		}
	}
	return out, nil
}

func node(name string, ready corev1.ConditionStatus) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: ready}}}}
}

func TestProviderScrapes(t *testing.T) {
	clock := time.Unix(5000, 0)
	var mu sync.Mutex
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
	// Cumulative CPU grows with the fake clock: 250m for the node, 100m
	// for the pod's container.
	k := &fakeKubelets{calls: map[string]int{}, sum: func(n string, call int) (*statsummary.Summary, error) {
		if n == "broken" {
			return nil, errors.New("connection refused")
		}
		secs := uint64(now().Sub(time.Unix(5000, 0)) / time.Second)
		return &statsummary.Summary{
			Node: statsummary.NodeStats{NodeName: n, CPU: &statsummary.CPUStats{UsageCoreNanoSeconds: u64(secs * 250e6)}, Memory: &statsummary.MemoryStats{WorkingSetBytes: u64(1 << 30)}},
			Pods: []statsummary.PodStats{{PodRef: statsummary.PodReference{Name: "p", Namespace: "ns", UID: "uid-p"}, Containers: []statsummary.ContainerStats{
				{Name: "c", CPU: &statsummary.CPUStats{UsageCoreNanoSeconds: u64(secs * 100e6)}, Memory: &statsummary.MemoryStats{WorkingSetBytes: u64(10 << 20)}},
			}}},
		}, nil
	}}
	pods := []*corev1.Pod{{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: types.UID("uid-p")}, Spec: corev1.PodSpec{NodeName: "a"}}}
	p := &Provider{
		Source:   fakeSource{nodes: []*corev1.Node{node("a", corev1.ConditionTrue), node("down", corev1.ConditionFalse), node("broken", corev1.ConditionTrue)}, pods: pods},
		Kubelets: k, Resolution: 15 * time.Second, FirstWindow: time.Millisecond, now: now,
	}
	// The first request scrapes twice, FirstWindow apart in real time,
	// while the fake clock stands still: a zero window gives no rate, so
	// no node has metrics yet.
	nodes, _ := p.Source.Nodes(context.Background())
	if got := p.NodeMetrics(context.Background(), nodes); len(got) != 0 {
		t.Fatalf("metrics from two scrapes at the same instant: %+v, want none", got)
	}
	if k.calls["down"] != 0 {
		t.Errorf("NotReady node scraped %d times", k.calls["down"])
	}

	advance(16 * time.Second)
	got := p.NodeMetrics(context.Background(), nodes)
	if len(got) != 1 || got[0].Name != "a" {
		t.Fatalf("node metrics = %+v, want node a only (down is NotReady, broken does not answer)", got)
	}
	if cpu := got[0].Usage[corev1.ResourceCPU]; cpu.MilliValue() != 250 || got[0].Window.Duration != 16*time.Second {
		t.Errorf("node a: %s over %v, want 250m over 16s", cpu.String(), got[0].Window.Duration)
	}
	if mem := got[0].Usage[corev1.ResourceMemory]; mem.Cmp(resource.MustParse("1Gi")) != 0 {
		t.Errorf("node a memory %s, want 1Gi", mem.String())
	}
	calls := k.calls["a"]

	// Within the resolution, the last scrape is reused.
	advance(5 * time.Second)
	pm, err := p.PodMetrics(context.Background(), pods)
	if err != nil || len(pm) != 1 {
		t.Fatalf("pod metrics = %+v, %v", pm, err)
	}
	if k.calls["a"] != calls {
		t.Errorf("kubelet scraped again within the resolution")
	}
	c := pm[0].Containers[0]
	if cpu := c.Usage[corev1.ResourceCPU]; c.Name != "c" || cpu.MilliValue() != 100 {
		t.Errorf("container %s cpu %s, want c at 100m", c.Name, cpu.String())
	}
	if mem := c.Usage[corev1.ResourceMemory]; mem.Value() != 10<<20 {
		t.Errorf("container memory %s, want 10Mi", mem.String())
	}
}

func TestContainerUsage(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ctr := func(name string, at time.Time, cum uint64, mem uint64) statsummary.ContainerStats {
		return statsummary.ContainerStats{Name: name, CPU: &statsummary.CPUStats{Time: metav1.NewTime(at), UsageCoreNanoSeconds: u64(cum)}, Memory: &statsummary.MemoryStats{WorkingSetBytes: u64(mem)}}
	}
	pod := func(cs ...statsummary.ContainerStats) *statsummary.Summary {
		return &statsummary.Summary{Pods: []statsummary.PodStats{{PodRef: statsummary.PodReference{Name: "p", Namespace: "ns", UID: "u"}, Containers: cs}}}
	}
	prevAt, curAt := t0, t0.Add(10*time.Second)
	tests := []struct {
		name      string
		prev, cur *statsummary.Summary
		want      map[string]int64 // container → millicores
		wantOK    bool
	}{
		{name: "two containers", prev: pod(ctr("a", prevAt, 0, 1), ctr("b", prevAt, 0, 1)), cur: pod(ctr("a", curAt, 1e9, 1), ctr("b", curAt, 5e9, 1)),
			want: map[string]int64{"a": 100, "b": 500}, wantOK: true},
		{name: "restarted container listed twice", prev: pod(ctr("a", prevAt, 8e9, 1)),
			cur: pod(ctr("a", prevAt, 8e9, 1), ctr("a", curAt, 9e9, 1)), want: map[string]int64{"a": 100}, wantOK: true},
		{name: "pod new since the previous scrape", prev: &statsummary.Summary{}, cur: pod(ctr("a", curAt, 1e9, 1))},
		{name: "container without memory", prev: pod(ctr("a", prevAt, 0, 1)), cur: pod(statsummary.ContainerStats{Name: "a", CPU: &statsummary.CPUStats{Time: metav1.NewTime(curAt), UsageCoreNanoSeconds: u64(1e9)}})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			names, us, ok := containerUsage([2]*scrape{{at: prevAt, sum: tc.prev}, {at: curAt, sum: tc.cur}}, "u")
			if ok != tc.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tc.wantOK)
			}
			if len(names) != len(tc.want) {
				t.Fatalf("containers %v, want %v", names, tc.want)
			}
			for i, n := range names {
				if got := us[i].cpu.MilliValue(); got != tc.want[n] {
					t.Errorf("%s: %dm, want %dm", n, got, tc.want[n])
				}
			}
		})
	}
}
