package eviction

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"navarch.dev/shared/statsummary"
)

const (
	mi = 1 << 20
	gi = 1 << 30
)

// node is fake stats and a fake pod worker.
type node struct {
	mu       sync.Mutex
	memAvail uint64 // of 4Gi
	fsAvail  uint64 // of 100Gi
	imagesGi uint64 // unused images that reclaiming frees
	maxPID   int64  // 0: no rlimit stats
	tasks    int64
	pods     []*v1.Pod
	usage    map[string]statsummary.PodStats
	evicted  []string
	graces   []time.Duration
	messages []string
}

func u64(v uint64) *uint64 { return &v }

func (n *node) Summary(context.Context) (*statsummary.Summary, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	s := &statsummary.Summary{Node: statsummary.NodeStats{
		Memory: &statsummary.MemoryStats{AvailableBytes: u64(n.memAvail), WorkingSetBytes: u64(4*gi - n.memAvail)},
		Fs:     &statsummary.FsStats{AvailableBytes: u64(n.fsAvail), CapacityBytes: u64(100 * gi), InodesFree: u64(900), Inodes: u64(1000)},
	}}
	if n.maxPID > 0 {
		maxPID, tasks := n.maxPID, n.tasks
		s.Node.Rlimit = &statsummary.RlimitStats{MaxPID: &maxPID, NumOfRunningProcesses: &tasks}
	}
	for _, p := range n.pods {
		if u, ok := n.usage[p.Name]; ok {
			u.PodRef = statsummary.PodReference{Name: p.Name, Namespace: p.Namespace, UID: string(p.UID)}
			s.Pods = append(s.Pods, u)
		}
	}
	return s, nil
}

func (n *node) ActivePods() []*v1.Pod {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []*v1.Pod
	for _, p := range n.pods {
		out = append(out, p.DeepCopy())
	}
	return out
}

func (n *node) Evict(p *v1.Pod, msg string, grace time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.evicted = append(n.evicted, p.Name)
	n.graces = append(n.graces, grace)
	n.messages = append(n.messages, msg)
}

func (n *node) DeleteUnusedImages(context.Context) (uint64, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	freed := n.imagesGi * gi
	n.fsAvail += freed
	n.imagesGi = 0
	return freed, nil
}

type podOpt func(*v1.Pod)

func makePod(name string, opts ...podOpt) *v1.Pod {
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name)},
		Spec:       v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: "busybox"}}},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func memRequest(q string) podOpt {
	return func(p *v1.Pod) {
		p.Spec.Containers[0].Resources.Requests = v1.ResourceList{v1.ResourceMemory: resource.MustParse(q)}
	}
}

func prio(v int32) podOpt { return func(p *v1.Pod) { p.Spec.Priority = &v } }

func static(p *v1.Pod) { p.Annotations = map[string]string{"kubernetes.io/config.source": "file"} }

func memUse(bytes uint64) statsummary.PodStats {
	return statsummary.PodStats{
		Memory:     &statsummary.MemoryStats{WorkingSetBytes: u64(bytes)},
		Containers: []statsummary.ContainerStats{{Name: "c", Memory: &statsummary.MemoryStats{WorkingSetBytes: u64(bytes)}}},
	}
}

func diskUse(bytes uint64) statsummary.PodStats {
	return statsummary.PodStats{EphemeralStorage: &statsummary.FsStats{UsedBytes: u64(bytes)}}
}

func hard(t *testing.T) []Threshold {
	th, err := ParseThresholds(DefaultHard, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	return th
}

func TestSynchronize(t *testing.T) {
	tests := []struct {
		name        string
		node        *node
		wantEvicted string
		wantMessage string
		wantMem     bool
		wantDisk    bool
	}{
		{
			name: "no pressure",
			node: &node{memAvail: 2 * gi, fsAvail: 50 * gi, pods: []*v1.Pod{makePod("a")}, usage: map[string]statsummary.PodStats{"a": memUse(500 * mi)}},
		},
		{
			name: "memory: the pod above its request goes before a bigger one within it",
			node: &node{memAvail: 50 * mi, fsAvail: 50 * gi,
				pods:  []*v1.Pod{makePod("big-within", memRequest("2Gi")), makePod("small-over", memRequest("100Mi"))},
				usage: map[string]statsummary.PodStats{"big-within": memUse(1500 * mi), "small-over": memUse(200 * mi)}},
			wantEvicted: "small-over", wantMem: true,
			wantMessage: "The node was low on resource: memory. Threshold quantity: 100Mi, available: 50Mi. Container c was using 200Mi, request is 100Mi, has larger consumption of memory. ",
		},
		{
			name: "memory: among pods above their requests, lower priority first",
			node: &node{memAvail: 50 * mi, fsAvail: 50 * gi,
				pods:  []*v1.Pod{makePod("hog", prio(1000)), makePod("modest", prio(0))},
				usage: map[string]statsummary.PodStats{"hog": memUse(2 * gi), "modest": memUse(100 * mi)}},
			wantEvicted: "modest", wantMem: true,
			wantMessage: "The node was low on resource: memory. Threshold quantity: 100Mi, available: 50Mi. Container c was using 100Mi, request is 0, has larger consumption of memory. ",
		},
		{
			name: "memory: same priority, the larger use above the request first",
			node: &node{memAvail: 50 * mi, fsAvail: 50 * gi,
				pods:  []*v1.Pod{makePod("a", memRequest("1Gi")), makePod("b"), makePod("c")},
				usage: map[string]statsummary.PodStats{"a": memUse(1200 * mi), "b": memUse(300 * mi), "c": memUse(100 * mi)}},
			wantEvicted: "b", wantMem: true,
			wantMessage: "The node was low on resource: memory. Threshold quantity: 100Mi, available: 50Mi. Container c was using 300Mi, request is 0, has larger consumption of memory. ",
		},
		{
			name: "static pods are not evicted",
			node: &node{memAvail: 50 * mi, fsAvail: 50 * gi,
				pods:  []*v1.Pod{makePod("etcd", static), makePod("web", memRequest("1Gi"))},
				usage: map[string]statsummary.PodStats{"etcd": memUse(2 * gi), "web": memUse(100 * mi)}},
			wantEvicted: "web", wantMem: true,
			wantMessage: "The node was low on resource: memory. Threshold quantity: 100Mi, available: 50Mi. ",
		},
		{
			name: "disk: unused images are removed first, and that is enough",
			node: &node{memAvail: 2 * gi, fsAvail: 5 * gi, imagesGi: 10,
				pods: []*v1.Pod{makePod("a")}, usage: map[string]statsummary.PodStats{"a": diskUse(3 * gi)}},
			wantDisk: true,
		},
		{
			// Without a separate image filesystem, imagefs.available<15% is
			// checked against the node filesystem and is met first.
			name: "disk: images are not enough; the biggest writer goes",
			node: &node{memAvail: 2 * gi, fsAvail: 5 * gi, imagesGi: 1,
				pods:  []*v1.Pod{makePod("small"), makePod("big")},
				usage: map[string]statsummary.PodStats{"small": diskUse(1 * gi), "big": diskUse(3 * gi)}},
			wantEvicted: "big", wantDisk: true,
			wantMessage: "The node was low on resource: ephemeral-storage. Threshold quantity: 15Gi, available: 6Gi. ",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New(Config{Thresholds: hard(t)}, tt.node, tt.node, tt.node)
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
			if m.MemoryPressure() != tt.wantMem || m.DiskPressure() != tt.wantDisk {
				t.Errorf("pressure memory=%v disk=%v, want %v %v", m.MemoryPressure(), m.DiskPressure(), tt.wantMem, tt.wantDisk)
			}
		})
	}
}

// TestSoftThresholdAndTransition: a soft threshold sets the condition at
// once but evicts only after its grace period, with the pod's grace bounded
// by MaxPodGracePeriod; the condition outlives the pressure by the
// transition period.
func TestSoftThresholdAndTransition(t *testing.T) {
	grace, err := ParseGracePeriods("memory.available=1m30s")
	if err != nil {
		t.Fatal(err)
	}
	soft, err := ParseThresholds("memory.available<1Gi", true, grace)
	if err != nil {
		t.Fatal(err)
	}
	n := &node{memAvail: 800 * mi, fsAvail: 50 * gi, pods: []*v1.Pod{makePod("a")}, usage: map[string]statsummary.PodStats{"a": memUse(500 * mi)}}
	m := New(Config{Thresholds: append(hard(t), soft...), MaxPodGracePeriod: 10 * time.Second}, n, n, nil)
	clock := time.Unix(1_700_000_000, 0)
	m.now = func() time.Time { return clock }
	ctx := context.Background()
	if p, _ := m.Synchronize(ctx); p != nil || !m.MemoryPressure() {
		t.Fatalf("soft threshold just met: evicted %v, pressure %v; want no eviction, pressure", p, m.MemoryPressure())
	}
	clock = clock.Add(time.Minute)
	if p, _ := m.Synchronize(ctx); p != nil {
		t.Fatalf("evicted %s within the grace period", p.Name)
	}
	clock = clock.Add(31 * time.Second)
	if p, _ := m.Synchronize(ctx); p == nil || p.Name != "a" {
		t.Fatalf("after the grace period: evicted %v, want a", p)
	}
	if n.graces[0] != 10*time.Second {
		t.Errorf("grace = %s, want the 10s maximum (the pod's own is 30s)", n.graces[0])
	}
	n.memAvail = 3 * gi
	clock = clock.Add(4 * time.Minute)
	m.Synchronize(ctx)
	if !m.MemoryPressure() {
		t.Error("MemoryPressure gone 4 minutes after the pressure, want it for the 5 minute transition period")
	}
	clock = clock.Add(2 * time.Minute)
	if m.MemoryPressure() {
		t.Error("MemoryPressure still there 6 minutes after the pressure")
	}
}

func TestParseThresholds(t *testing.T) {
	tests := []struct {
		name    string
		spec    string
		soft    bool
		grace   map[Signal]time.Duration
		want    string
		wantErr string
	}{
		{name: "upstream defaults", spec: DefaultHard, want: "imagefs.available<15%,imagefs.inodesFree<5%,memory.available<100Mi,nodefs.available<10%,nodefs.inodesFree<5%"},
		{name: "pid absolute", spec: "pid.available<2000", want: "pid.available<2k"},
		{name: "pid percentage", spec: " pid.available < 12.5% ", want: "pid.available<12.5%"},
		{name: "pid with memory", spec: "memory.available<1Gi,pid.available<5%", want: "memory.available<1Gi,pid.available<5%"},
		{name: "pid negative", spec: "pid.available<-5", wantErr: "must not be negative"},
		{name: "pid soft", spec: "pid.available<10%", soft: true, grace: map[Signal]time.Duration{SignalPIDAvailable: time.Minute}, want: "pid.available<10%"},
		{name: "unknown signal", spec: "cpu.available<1", wantErr: `unknown signal "cpu.available"`},
		{name: "no operator", spec: "memory.available=1Gi", wantErr: "want signal<quantity"},
		{name: "bad quantity", spec: "memory.available<lots", wantErr: "memory.available<lots"},
		{name: "bad percentage", spec: "nodefs.available<150%", wantErr: "percentage must be in (0, 100]"},
		{name: "twice", spec: "memory.available<1Gi,memory.available<2Gi", wantErr: "given twice"},
		{name: "soft without grace", spec: "memory.available<1Gi", soft: true, wantErr: "no grace period"},
		{name: "soft", spec: "memory.available<1Gi", soft: true, grace: map[Signal]time.Duration{SignalMemoryAvailable: time.Minute}, want: "memory.available<1Gi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseThresholds(tt.spec, tt.soft, tt.grace)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var s []string
			for _, th := range got {
				s = append(s, th.String())
			}
			if strings.Join(s, ",") != tt.want {
				t.Errorf("thresholds = %s, want %s", strings.Join(s, ","), tt.want)
			}
		})
	}
}
