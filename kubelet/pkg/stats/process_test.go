package stats

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"google.golang.org/grpc"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// writeFiles makes files (path → content) under root.
func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func i64(v int64) *int64 { return &v }

func TestRlimit(t *testing.T) {
	tests := []struct {
		name        string
		files       map[string]string
		wantMax     *int64
		wantCurproc *int64
		wantNil     bool
	}{
		{
			name:    "pid_max is the smaller limit",
			files:   map[string]string{"sys/kernel/pid_max": "32768\n", "sys/kernel/threads-max": "192730\n", "loadavg": "4.33 2.41 1.63 3/105 4922\n"},
			wantMax: i64(32768), wantCurproc: i64(105),
		},
		{
			name:    "threads-max is the smaller limit",
			files:   map[string]string{"sys/kernel/pid_max": "4194304\n", "sys/kernel/threads-max": "63704\n", "loadavg": "0.00 0.01 0.05 1/70000 123\n"},
			wantMax: i64(63704), wantCurproc: i64(70000),
		},
		{
			name:    "only pid_max readable",
			files:   map[string]string{"sys/kernel/pid_max": "32768\n", "loadavg": "0.00 0.01 0.05 1/99 123\n"},
			wantMax: i64(32768), wantCurproc: i64(99),
		},
		{
			name:  "a malformed loadavg gives no count",
			files: map[string]string{"sys/kernel/pid_max": "32768\n", "loadavg": "0.00 0.01 0.05 99 123\n"},
			// Outside the real /proc there is no sysinfo fallback.
			wantMax: i64(32768),
		},
		{name: "nothing readable", files: map[string]string{}, wantNil: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeFiles(t, root, tt.files)
			got := rlimit(root, metav1.Now())
			if tt.wantNil {
				if got != nil {
					t.Fatalf("rlimit = %+v, want none", got)
				}
				return
			}
			if got == nil {
				t.Fatal("rlimit = nil")
			}
			if !eqInt(got.MaxPID, tt.wantMax) || !eqInt(got.NumOfRunningProcesses, tt.wantCurproc) {
				t.Errorf("maxpid %v curproc %v, want %v %v", str(got.MaxPID), str(got.NumOfRunningProcesses), str(tt.wantMax), str(tt.wantCurproc))
			}
		})
	}
}

func eqInt(a, b *int64) bool { return (a == nil && b == nil) || (a != nil && b != nil && *a == *b) }

func str(p *int64) string {
	if p == nil {
		return "none"
	}
	return strconv.FormatInt(*p, 10)
}

// TestRlimitOfThisMachine: on the real /proc the limit is the kernel's
// (the smaller of pid_max and threads-max) and some tasks run.
func TestRlimitOfThisMachine(t *testing.T) {
	got := rlimit("/proc", metav1.Now())
	if got == nil || got.MaxPID == nil || got.NumOfRunningProcesses == nil {
		t.Fatalf("rlimit = %+v, want maxpid and curproc", got)
	}
	pidMax, err := readInt("/proc/sys/kernel/pid_max")
	if err != nil {
		t.Fatal(err)
	}
	threadsMax, err := readInt("/proc/sys/kernel/threads-max")
	if err != nil {
		t.Fatal(err)
	}
	if want := min(pidMax, threadsMax); *got.MaxPID != want {
		t.Errorf("maxpid = %d, want %d (pid_max %d, threads-max %d)", *got.MaxPID, want, pidMax, threadsMax)
	}
	if *got.NumOfRunningProcesses <= 0 || *got.NumOfRunningProcesses >= *got.MaxPID {
		t.Errorf("curproc = %d, want between 0 and %d", *got.NumOfRunningProcesses, *got.MaxPID)
	}
}

// fakeRuntime answers ListContainerStats with stats.
type fakeRuntime struct {
	runtimeapi.RuntimeServiceClient
	stats []*runtimeapi.ContainerStats
}

func (f *fakeRuntime) ListContainerStats(context.Context, *runtimeapi.ListContainerStatsRequest, ...grpc.CallOption) (*runtimeapi.ListContainerStatsResponse, error) {
	return &runtimeapi.ListContainerStatsResponse{Stats: f.stats}, nil
}

func ctrStats(id, name string, uid types.UID) *runtimeapi.ContainerStats {
	return &runtimeapi.ContainerStats{Attributes: &runtimeapi.ContainerAttributes{
		Id: id, Metadata: &runtimeapi.ContainerMetadata{Name: name}, Labels: map[string]string{labelPodUID: string(uid)},
	}}
}

func testPod(name string, uid types.UID) *v1.Pod {
	return &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: uid}}
}

// TestSummaryProcesses: /stats/summary carries the node's rlimit and each
// pod's process count — its containers' processes, not its sandbox's —
// under upstream's JSON names.
func TestSummaryProcesses(t *testing.T) {
	proc, cg := t.TempDir(), t.TempDir()
	writeFiles(t, proc, map[string]string{"sys/kernel/pid_max": "32768\n", "sys/kernel/threads-max": "192730\n", "loadavg": "1.00 1.00 1.00 2/412 999\n"})
	writeFiles(t, cg, map[string]string{
		// web: two containers with 3 and 1 processes, and its sandbox.
		"pids/kubepods/besteffort/pod-web/c-app/cgroup.procs":     "10\n11\n12\n",
		"pids/kubepods/besteffort/pod-web/c-sidecar/cgroup.procs": "20\n",
		"pids/kubepods/besteffort/pod-web/sandbox/cgroup.procs":   "5\n",
		// db: Guaranteed (no QoS folder), one container.
		"pids/kubepods/pod-db/c-db/cgroup.procs": "30\n31\n",
	})
	rt := &fakeRuntime{stats: []*runtimeapi.ContainerStats{
		ctrStats("c-app", "app", "-web"), ctrStats("c-sidecar", "sidecar", "-web"), ctrStats("c-db", "db", "-db"),
	}}
	pods := []*v1.Pod{testPod("web", "-web"), testPod("db", "-db"), testPod("gone", "-gone")}
	p := NewProvider("n1", "", "", rt, nil, func() []*v1.Pod { return pods })
	p.procRoot, p.cgroupRoot = proc, cg
	sum, err := p.Summary(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(sum)
	if err != nil {
		t.Fatal(err)
	}
	// Read back as a client of the API would.
	var got struct {
		Node struct {
			Rlimit *struct {
				Time    *string `json:"time"`
				MaxPID  *int64  `json:"maxpid"`
				Curproc *int64  `json:"curproc"`
			} `json:"rlimit"`
		} `json:"node"`
		Pods []struct {
			PodRef       struct{ Name string } `json:"podRef"`
			ProcessStats *struct {
				ProcessCount *uint64 `json:"process_count"`
			} `json:"process_stats"`
		} `json:"pods"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	r := got.Node.Rlimit
	if r == nil || r.Time == nil || r.MaxPID == nil || *r.MaxPID != 32768 || r.Curproc == nil || *r.Curproc != 412 {
		t.Errorf("node rlimit in %s, want time, maxpid 32768, curproc 412", b)
	}
	want := map[string]string{"web": "4", "db": "2", "gone": "none"}
	for _, ps := range got.Pods {
		c := "none"
		if ps.ProcessStats != nil && ps.ProcessStats.ProcessCount != nil {
			c = strconv.FormatUint(*ps.ProcessStats.ProcessCount, 10)
		}
		if c != want[ps.PodRef.Name] {
			t.Errorf("pod %s process_count = %s, want %s", ps.PodRef.Name, c, want[ps.PodRef.Name])
		}
		delete(want, ps.PodRef.Name)
	}
	if len(want) > 0 {
		t.Errorf("pods missing from the summary: %v", want)
	}
}
