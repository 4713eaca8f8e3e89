package stats

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"navarch.dev/shared/statsummary"
)

// rlimit reads the node's task limit and count under procRoot, as
// upstream's kubelet does: the limit is the smaller of kernel.pid_max and
// kernel.threads-max, the count the number of tasks from /proc/loadavg
// (the fourth field, "running/total"), or sysinfo(2) when that cannot be
// read (sysinfo truncates counts above 65535, so loadavg comes first). It
// returns nil when it learns neither.
func rlimit(procRoot string, now metav1.Time) *statsummary.RlimitStats {
	out := &statsummary.RlimitStats{Time: now}
	for _, f := range []string{"sys/kernel/pid_max", "sys/kernel/threads-max"} {
		v, err := readInt(filepath.Join(procRoot, f))
		if err != nil || v < 0 {
			continue
		}
		if out.MaxPID == nil || v < *out.MaxPID {
			out.MaxPID = &v
		}
	}
	if n, ok := taskCount(filepath.Join(procRoot, "loadavg")); ok {
		out.NumOfRunningProcesses = &n
	} else if procRoot == "/proc" {
		var info syscall.Sysinfo_t
		if syscall.Sysinfo(&info) == nil {
			n := int64(info.Procs)
			out.NumOfRunningProcesses = &n
		}
	}
	if out.MaxPID == nil && out.NumOfRunningProcesses == nil {
		return nil
	}
	return out
}

func readInt(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
}

// taskCount is the total of "running/total" in a loadavg file
// ("0.52 0.58 0.59 2/1123 4567").
func taskCount(path string) (int64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) < 5 {
		return 0, false
	}
	_, total, ok := strings.Cut(f[3], "/")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(total, 10, 64)
	return n, err == nil
}

// podCgroupDir finds the pod's cgroup directory in one hierarchy: the
// pids controller's under cgroup v1 (any other holds the same processes),
// the unified tree under v2. The pod cgroups are the pod worker's
// (podworker.CgroupParent): /kubepods[/burstable|/besteffort]/pod<uid>.
func podCgroupDir(cgroupRoot string, uid types.UID) (string, bool) {
	bases := []string{cgroupRoot}
	if _, err := os.Stat(filepath.Join(cgroupRoot, "cgroup.controllers")); err != nil {
		bases = []string{filepath.Join(cgroupRoot, "pids"), filepath.Join(cgroupRoot, "cpu"), filepath.Join(cgroupRoot, "memory")}
	}
	for _, base := range bases {
		for _, qos := range []string{"", "burstable", "besteffort"} {
			dir := filepath.Join(base, "kubepods", qos, "pod"+string(uid))
			if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
				return dir, true
			}
		}
	}
	return "", false
}

// processCount is the number of processes in the cgroups of the pod's
// containers (the runtime puts each in <pod cgroup>/<container id>):
// upstream sums its containers' process counts and leaves the sandbox out.
// It is not known (false) when the pod has no cgroup.
func (s *Provider) processCount(uid types.UID, containers []*runtimeapi.ContainerStats) (uint64, bool) {
	dir, ok := podCgroupDir(s.cgroupRoot, uid)
	if !ok {
		return 0, false
	}
	var n uint64
	for _, c := range containers {
		id := c.GetAttributes().GetId()
		if id == "" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, id, "cgroup.procs"))
		if err != nil {
			continue // exited: its cgroup is gone
		}
		n += uint64(bytes.Count(b, []byte("\n")))
	}
	return n, true
}
