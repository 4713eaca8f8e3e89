// Package stats collects the node's and its pods' resource usage — the
// /stats/summary of the kubelet's API and what the eviction manager
// watches: node CPU and memory from /proc, the node's process limit and
// count (rlimit) from /proc, the node filesystem (the kubelet's root
// directory) and image filesystem from statfs and CRI, per container CPU,
// memory and writable layer usage from CRI, and per pod the number of
// processes its containers run, from their cgroups.
package stats

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"navarch.dev/shared/statsummary"
)

// labelPodUID is the runtime label naming a container's pod (podworker's).
const labelPodUID = "io.kubernetes.pod.uid"

// Provider collects summaries.
type Provider struct {
	nodeName   string
	rootDir    string
	podLogRoot string
	rt         runtimeapi.RuntimeServiceClient
	img        runtimeapi.ImageServiceClient
	pods       func() []*v1.Pod
	cpu        cpuSampler
	// procRoot and cgroupRoot are where procfs and the cgroup hierarchies
	// are mounted (tests point them at fakes).
	procRoot   string
	cgroupRoot string
}

// NewProvider returns a Provider for node nodeName whose filesystem is the
// one holding rootDir and whose pods write logs under podLogRoot; pods
// returns the node's pods with their current statuses. img may be nil
// (no image filesystem stats).
func NewProvider(nodeName, rootDir, podLogRoot string, rt runtimeapi.RuntimeServiceClient, img runtimeapi.ImageServiceClient, pods func() []*v1.Pod) *Provider {
	return &Provider{nodeName: nodeName, rootDir: rootDir, podLogRoot: podLogRoot, rt: rt, img: img, pods: pods,
		procRoot: "/proc", cgroupRoot: "/sys/fs/cgroup"}
}

func u64(v uint64) *uint64 { return &v }

// statfs reports the filesystem holding path.
func statfs(path string, now metav1.Time) *statsummary.FsStats {
	var st syscall.Statfs_t
	if syscall.Statfs(path, &st) != nil {
		return nil
	}
	bs := uint64(st.Bsize)
	return &statsummary.FsStats{Time: now, AvailableBytes: u64(st.Bavail * bs), CapacityBytes: u64(st.Blocks * bs), UsedBytes: u64((st.Blocks - st.Bfree) * bs),
		InodesFree: u64(st.Ffree), Inodes: u64(st.Files), InodesUsed: u64(st.Files - st.Ffree)}
}

// dirSize is the bytes of the regular files under dir.
func dirSize(dir string) uint64 {
	var n uint64
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += uint64(fi.Size())
			}
		}
		return nil
	})
	return n
}

// Summary collects the node's and its pods' usage now.
func (s *Provider) Summary(ctx context.Context) (*statsummary.Summary, error) {
	now := metav1.Now()
	sum := &statsummary.Summary{Node: statsummary.NodeStats{NodeName: s.nodeName, StartTime: bootTime()}, Pods: []statsummary.PodStats{}}
	if total, ok := s.cpu.sample(); ok {
		sum.Node.CPU = &statsummary.CPUStats{Time: now, UsageCoreNanoSeconds: u64(total.usage)}
		if total.rate > 0 {
			sum.Node.CPU.UsageNanoCores = u64(total.rate)
		}
	}
	if mem, ok := meminfo(); ok {
		used := mem["MemTotal"] - mem["MemAvailable"]
		sum.Node.Memory = &statsummary.MemoryStats{Time: now, AvailableBytes: u64(mem["MemAvailable"]), UsageBytes: u64(used), WorkingSetBytes: u64(used)}
	}
	if s.rootDir != "" {
		sum.Node.Fs = statfs(s.rootDir, now)
	}
	sum.Node.Rlimit = rlimit(s.procRoot, now)
	if s.img != nil {
		if info, err := s.img.ImageFsInfo(ctx, &runtimeapi.ImageFsInfoRequest{}); err == nil && len(info.ImageFilesystems) > 0 {
			fs := info.ImageFilesystems[0]
			if st := statfs(fs.GetFsId().GetMountpoint(), now); st != nil {
				if fs.UsedBytes != nil {
					st.UsedBytes = u64(fs.UsedBytes.Value)
				}
				if fs.InodesUsed != nil {
					st.InodesUsed = u64(fs.InodesUsed.Value)
				}
				sum.Node.Runtime = &statsummary.RuntimeStats{ImageFs: st}
			}
		}
	}
	resp, err := s.rt.ListContainerStats(ctx, &runtimeapi.ListContainerStatsRequest{})
	if err != nil {
		return nil, err
	}
	byUID := map[string]*runtimeapi.ContainerStats{}
	perPod := map[string][]*runtimeapi.ContainerStats{}
	for _, cs := range resp.Stats {
		byUID[cs.GetAttributes().GetId()] = cs
		uid := cs.GetAttributes().GetLabels()[labelPodUID]
		perPod[uid] = append(perPod[uid], cs)
	}
	for _, p := range s.pods() {
		ps := statsummary.PodStats{PodRef: statsummary.PodReference{Name: p.Name, Namespace: p.Namespace, UID: string(p.UID)}, Containers: []statsummary.ContainerStats{}}
		if p.Status.StartTime != nil {
			ps.StartTime = *p.Status.StartTime
		}
		var cpuTotal, cpuRate, memUsage, memWS, disk uint64
		hasCPU, hasMem := false, false
		for _, cs := range perPod[string(p.UID)] {
			name := cs.GetAttributes().GetMetadata().GetName()
			c := statsummary.ContainerStats{Name: name}
			for _, st := range p.Status.ContainerStatuses {
				if st.Name == name && st.State.Running != nil {
					c.StartTime = st.State.Running.StartedAt
				}
			}
			if cpu := cs.GetCpu(); cpu != nil {
				c.CPU = &statsummary.CPUStats{Time: metav1.NewTime(time.Unix(0, cpu.Timestamp))}
				if v := cpu.GetUsageCoreNanoSeconds(); v != nil {
					c.CPU.UsageCoreNanoSeconds = u64(v.Value)
					cpuTotal += v.Value
					hasCPU = true
				}
				if v := cpu.GetUsageNanoCores(); v != nil {
					c.CPU.UsageNanoCores = u64(v.Value)
					cpuRate += v.Value
				}
			}
			if mem := cs.GetMemory(); mem != nil {
				c.Memory = &statsummary.MemoryStats{Time: metav1.NewTime(time.Unix(0, mem.Timestamp))}
				if v := mem.GetUsageBytes(); v != nil {
					c.Memory.UsageBytes = u64(v.Value)
					memUsage += v.Value
					hasMem = true
				}
				if v := mem.GetWorkingSetBytes(); v != nil {
					c.Memory.WorkingSetBytes = u64(v.Value)
					memWS += v.Value
					hasMem = true
				}
			}
			if fs := cs.GetWritableLayer(); fs != nil && fs.UsedBytes != nil {
				c.Rootfs = &statsummary.FsStats{Time: metav1.NewTime(time.Unix(0, fs.Timestamp)), UsedBytes: u64(fs.UsedBytes.Value)}
				disk += fs.UsedBytes.Value
			}
			ps.Containers = append(ps.Containers, c)
		}
		if hasCPU {
			ps.CPU = &statsummary.CPUStats{Time: now, UsageCoreNanoSeconds: u64(cpuTotal), UsageNanoCores: u64(cpuRate)}
		}
		if hasMem {
			ps.Memory = &statsummary.MemoryStats{Time: now, UsageBytes: u64(memUsage), WorkingSetBytes: u64(memWS)}
		}
		if s.podLogRoot != "" {
			disk += dirSize(filepath.Join(s.podLogRoot, p.Namespace+"_"+p.Name+"_"+string(p.UID)))
		}
		ps.EphemeralStorage = &statsummary.FsStats{Time: now, UsedBytes: u64(disk)}
		if n, ok := s.processCount(p.UID, perPod[string(p.UID)]); ok {
			ps.ProcessStats = &statsummary.ProcessStats{ProcessCount: u64(n)}
		}
		sum.Pods = append(sum.Pods, ps)
	}
	return sum, nil
}

// cpuSampler turns the node's cumulative CPU time (/proc/stat) into a rate
// between two summaries.
type cpuSampler struct {
	mu       sync.Mutex
	last     uint64
	lastTime time.Time
}

type cpuSample struct{ usage, rate uint64 }

func (c *cpuSampler) sample() (cpuSample, bool) {
	usage, ok := procStatUsage()
	if !ok {
		return cpuSample{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	out := cpuSample{usage: usage}
	if !c.lastTime.IsZero() && usage >= c.last {
		if d := now.Sub(c.lastTime); d > 0 {
			out.rate = uint64(float64(usage-c.last) / d.Seconds())
		}
	}
	c.last, c.lastTime = usage, now
	return out, true
}

// procStatUsage is the busy CPU time of all cores in nanoseconds (USER_HZ
// is 100 on Linux).
func procStatUsage() (uint64, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, false
	}
	var busy uint64
	for i, v := range f[1:] {
		n, _ := strconv.ParseUint(v, 10, 64)
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		if i >= 8 { // guest time is already in user
			break
		}
		busy += n
	}
	return busy * uint64(time.Second/100), true
}

// meminfo reads /proc/meminfo in bytes.
func meminfo() (map[string]uint64, bool) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return nil, false
	}
	defer f.Close()
	out := map[string]uint64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fs := strings.Fields(v)
		if len(fs) == 0 {
			continue
		}
		n, _ := strconv.ParseUint(fs[0], 10, 64)
		if len(fs) > 1 && fs[1] == "kB" {
			n *= 1024
		}
		out[k] = n
	}
	return out, out["MemTotal"] > 0
}

func bootTime() metav1.Time {
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return metav1.Time{}
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return metav1.Time{}
	}
	up, _ := strconv.ParseFloat(f[0], 64)
	return metav1.NewTime(time.Now().Add(-time.Duration(up * float64(time.Second))).Truncate(time.Second))
}
