// Package eviction is the kubelet's eviction manager: every monitoring
// interval it compares the node's memory, disk, inode and process ID
// availability (from the stats the kubelet collects) with the eviction
// thresholds (--eviction-hard, --eviction-soft with grace periods), reports
// MemoryPressure, DiskPressure and PIDPressure for the Node's conditions and
// admission, and, while a threshold is met, first reclaims what the node
// itself can (unused images, for disk signals) and then evicts one pod at a
// time, ranked as upstream ranks them: for memory and disk, pods using more
// than they request first, then lower priority, then larger usage above
// the request; for process IDs, lower priority first, then more processes.
// An evicted pod is stopped and fails with reason Evicted, a message that
// names the resource and the DisruptionTarget condition (the pod worker's
// Evict).
package eviction

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"navarch.dev/kubelet/pkg/admission"
	"navarch.dev/shared/statsummary"
)

// Stats is where observations come from.
type Stats interface {
	Summary(ctx context.Context) (*statsummary.Summary, error)
}

// Pods is the pod worker as the eviction manager sees it.
type Pods interface {
	// ActivePods returns the pods admitted and not finished.
	ActivePods() []*v1.Pod
	// Evict stops the pod within grace and fails it with reason Evicted
	// and message, and with a DisruptionTarget condition (reason
	// TerminationByKubelet) carrying message.
	Evict(pod *v1.Pod, message string, grace time.Duration)
}

// ImageReclaimer frees disk by removing unused images (imagegc.Manager).
type ImageReclaimer interface {
	DeleteUnusedImages(ctx context.Context) (uint64, error)
}

// Config configures the manager.
type Config struct {
	Thresholds []Threshold
	// PressureTransitionPeriod is how long a pressure condition stays
	// after its threshold was last met (upstream default 5m).
	PressureTransitionPeriod time.Duration
	// MaxPodGracePeriod bounds the grace period of pods evicted for a
	// soft threshold (0: the pod's own).
	MaxPodGracePeriod time.Duration
}

// hardEvictionGrace is the grace period of a pod evicted for a hard
// threshold, as upstream.
const hardEvictionGrace = time.Second

// Manager is the eviction manager. Its pressure methods may be called
// concurrently with Synchronize.
type Manager struct {
	cfg     Config
	stats   Stats
	pods    Pods
	reclaim ImageReclaimer
	now     func() time.Time

	mu            sync.Mutex
	firstObserved map[Signal]time.Time               // thresholds met, since when
	lastObserved  map[v1.NodeConditionType]time.Time // pressure last seen
}

// New returns a manager. reclaim may be nil.
func New(cfg Config, st Stats, pods Pods, reclaim ImageReclaimer) *Manager {
	if cfg.PressureTransitionPeriod == 0 {
		cfg.PressureTransitionPeriod = 5 * time.Minute
	}
	return &Manager{cfg: cfg, stats: st, pods: pods, reclaim: reclaim, now: time.Now,
		firstObserved: map[Signal]time.Time{}, lastObserved: map[v1.NodeConditionType]time.Time{}}
}

// Run synchronizes every interval (upstream: 10s) until ctx ends.
func (m *Manager) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := m.Synchronize(ctx); err != nil && ctx.Err() == nil {
			slog.Warn("eviction manager", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// MemoryPressure reports the node's MemoryPressure condition.
func (m *Manager) MemoryPressure() bool { return m.pressure(v1.NodeMemoryPressure) }

// DiskPressure reports the node's DiskPressure condition.
func (m *Manager) DiskPressure() bool { return m.pressure(v1.NodeDiskPressure) }

// PIDPressure reports the node's PIDPressure condition.
func (m *Manager) PIDPressure() bool { return m.pressure(v1.NodePIDPressure) }

func (m *Manager) pressure(c v1.NodeConditionType) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	at, ok := m.lastObserved[c]
	return ok && m.now().Sub(at) < m.cfg.PressureTransitionPeriod
}

// observation is a signal's available amount and capacity.
type observation struct {
	available, capacity resource.Quantity
}

func bytesQ(v uint64) resource.Quantity { return *resource.NewQuantity(int64(v), resource.BinarySI) }

func observe(sum *statsummary.Summary) map[Signal]observation {
	out := map[Signal]observation{}
	n := sum.Node
	if mem := n.Memory; mem != nil && mem.AvailableBytes != nil {
		capacity := *mem.AvailableBytes
		if mem.WorkingSetBytes != nil {
			capacity += *mem.WorkingSetBytes
		}
		out[SignalMemoryAvailable] = observation{bytesQ(*mem.AvailableBytes), bytesQ(capacity)}
	}
	fs := func(f *statsummary.FsStats, bytes, inodes Signal) {
		if f == nil {
			return
		}
		if f.AvailableBytes != nil && f.CapacityBytes != nil {
			out[bytes] = observation{bytesQ(*f.AvailableBytes), bytesQ(*f.CapacityBytes)}
		}
		if f.InodesFree != nil && f.Inodes != nil {
			out[inodes] = observation{*resource.NewQuantity(int64(*f.InodesFree), resource.DecimalSI), *resource.NewQuantity(int64(*f.Inodes), resource.DecimalSI)}
		}
	}
	if r := n.Rlimit; r != nil && r.MaxPID != nil && r.NumOfRunningProcesses != nil {
		out[SignalPIDAvailable] = observation{
			*resource.NewQuantity(*r.MaxPID-*r.NumOfRunningProcesses, resource.DecimalSI),
			*resource.NewQuantity(*r.MaxPID, resource.DecimalSI),
		}
	}
	fs(n.Fs, SignalNodeFsAvailable, SignalNodeFsInodesFree)
	if n.Runtime != nil {
		fs(n.Runtime.ImageFs, SignalImageFsAvailable, SignalImageFsInodesFree)
	} else if n.Fs != nil {
		// No separate image filesystem: images live on the node's.
		fs(n.Fs, SignalImageFsAvailable, SignalImageFsInodesFree)
	}
	return out
}

// met returns the thresholds whose signals are below them.
func met(thresholds []Threshold, obs map[Signal]observation) []Threshold {
	var out []Threshold
	for _, t := range thresholds {
		o, ok := obs[t.Signal]
		if !ok {
			continue
		}
		q := t.quantity(o.capacity)
		if o.available.Cmp(q) < 0 {
			out = append(out, t)
		}
	}
	return out
}

func condition(s Signal) v1.NodeConditionType {
	switch s {
	case SignalMemoryAvailable:
		return v1.NodeMemoryPressure
	case SignalPIDAvailable:
		return v1.NodePIDPressure
	}
	return v1.NodeDiskPressure
}

// resourcePIDs is the resource PID eviction reclaims, as upstream names it.
const resourcePIDs v1.ResourceName = "pids"

// resourceOf is the resource a signal's eviction reclaims, as upstream
// names it in messages.
func resourceOf(s Signal) v1.ResourceName {
	switch s {
	case SignalMemoryAvailable:
		return v1.ResourceMemory
	case SignalNodeFsInodesFree, SignalImageFsInodesFree:
		return "inodes"
	case SignalPIDAvailable:
		return resourcePIDs
	}
	return v1.ResourceEphemeralStorage
}

// Synchronize is one pass of the manager: observe, update the pressure
// conditions, and evict at most one pod, which it returns.
func (m *Manager) Synchronize(ctx context.Context) (*v1.Pod, error) {
	sum, err := m.stats.Summary(ctx)
	if err != nil {
		return nil, fmt.Errorf("eviction: stats: %w", err)
	}
	obs := observe(sum)
	now := m.now()
	all := met(m.cfg.Thresholds, obs)

	m.mu.Lock()
	metNow := map[Signal]bool{}
	for _, t := range all {
		metNow[t.Signal] = true
		if _, ok := m.firstObserved[t.Signal]; !ok {
			m.firstObserved[t.Signal] = now
		}
		m.lastObserved[condition(t.Signal)] = now
	}
	for s := range m.firstObserved {
		if !metNow[s] {
			delete(m.firstObserved, s)
		}
	}
	// Only thresholds met for their whole grace period evict.
	var due []Threshold
	for _, t := range all {
		if now.Sub(m.firstObserved[t.Signal]) >= t.GracePeriod {
			due = append(due, t)
		}
	}
	m.mu.Unlock()
	if len(due) == 0 {
		return nil, nil
	}
	// Memory first, then hard before soft, as upstream orders them.
	sort.SliceStable(due, func(i, j int) bool {
		mi, mj := due[i].Signal == SignalMemoryAvailable, due[j].Signal == SignalMemoryAvailable
		if mi != mj {
			return mi
		}
		return !due[i].Soft && due[j].Soft
	})
	t := due[0]
	avail := obs[t.Signal].available
	slog.Warn("eviction threshold met", "threshold", t.String(), "available", avail.String())

	if condition(t.Signal) == v1.NodeDiskPressure && m.reclaim != nil {
		freed, err := m.reclaim.DeleteUnusedImages(ctx)
		if err != nil {
			slog.Warn("eviction: removing unused images", "err", err)
		}
		if freed > 0 {
			if sum2, err := m.stats.Summary(ctx); err == nil {
				obs2 := observe(sum2)
				if len(met([]Threshold{t}, obs2)) == 0 {
					slog.Info("eviction: removing unused images relieved the pressure", "threshold", t.String(), "freed", freed)
					return nil, nil
				}
				obs, sum = obs2, sum2
			}
		}
	}

	usage := map[string]statsummary.PodStats{}
	for _, p := range sum.Pods {
		usage[p.PodRef.UID] = p
	}
	var cands []*v1.Pod
	for _, p := range m.pods.ActivePods() {
		if admission.IsCritical(p) {
			continue // critical pods are not evicted
		}
		cands = append(cands, p)
	}
	if len(cands) == 0 {
		return nil, fmt.Errorf("eviction: threshold %s met, but no pod can be evicted", t)
	}
	res := resourceOf(t.Signal)
	if res == resourcePIDs {
		rankByProcesses(cands, usage)
	} else {
		rank(cands, res, usage)
	}
	victim := cands[0]
	grace := hardEvictionGrace
	if t.Soft {
		grace = podGrace(victim)
		if m.cfg.MaxPodGracePeriod > 0 && grace > m.cfg.MaxPodGracePeriod {
			grace = m.cfg.MaxPodGracePeriod
		}
	}
	o := obs[t.Signal]
	threshold := t.quantity(o.capacity)
	msg := message(victim, res, threshold, o.available, usage[string(victim.UID)])
	slog.Warn("evicting pod", "pod", victim.Namespace+"/"+victim.Name, "message", msg)
	m.pods.Evict(victim, msg, grace)
	return victim, nil
}

func podGrace(p *v1.Pod) time.Duration {
	if p.Spec.TerminationGracePeriodSeconds != nil {
		return time.Duration(*p.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	return 30 * time.Second
}

// usageOf is a pod's use of res, and whether it is known.
func usageOf(res v1.ResourceName, s statsummary.PodStats, ok bool) (resource.Quantity, bool) {
	if !ok {
		return resource.Quantity{}, false
	}
	switch res {
	case v1.ResourceMemory:
		if s.Memory != nil && s.Memory.WorkingSetBytes != nil {
			return bytesQ(*s.Memory.WorkingSetBytes), true
		}
	default:
		if s.EphemeralStorage != nil && s.EphemeralStorage.UsedBytes != nil {
			return bytesQ(*s.EphemeralStorage.UsedBytes), true
		}
	}
	return resource.Quantity{}, false
}

func requestOf(res v1.ResourceName, p *v1.Pod) resource.Quantity {
	if res == "inodes" {
		res = v1.ResourceEphemeralStorage
	}
	return admission.Requests(p)[res]
}

func priority(p *v1.Pod) int32 {
	if p.Spec.Priority != nil {
		return *p.Spec.Priority
	}
	return 0
}

// rank orders pods for eviction: those using more of res than they
// request first, then lower priority first, then larger usage above the
// request first. Pods without stats go last.
func rank(pods []*v1.Pod, res v1.ResourceName, usage map[string]statsummary.PodStats) {
	type key struct {
		known   bool
		exceeds bool
		prio    int32
		over    int64
	}
	keys := map[*v1.Pod]key{}
	for _, p := range pods {
		s, ok := usage[string(p.UID)]
		u, known := usageOf(res, s, ok)
		req := requestOf(res, p)
		over := u.DeepCopy()
		over.Sub(req)
		keys[p] = key{known: known, exceeds: known && u.Cmp(req) > 0, prio: priority(p), over: over.Value()}
	}
	sort.SliceStable(pods, func(i, j int) bool {
		a, b := keys[pods[i]], keys[pods[j]]
		if a.known != b.known {
			return a.known
		}
		if a.exceeds != b.exceeds {
			return a.exceeds
		}
		if a.prio != b.prio {
			return a.prio < b.prio
		}
		return a.over > b.over
	})
}

// rankByProcesses orders pods for PID eviction as upstream does: lower
// priority first, then more processes first. Pods without a process count
// go last among their priority.
func rankByProcesses(pods []*v1.Pod, usage map[string]statsummary.PodStats) {
	type key struct {
		prio  int32
		known bool
		procs uint64
	}
	keys := map[*v1.Pod]key{}
	for _, p := range pods {
		k := key{prio: priority(p)}
		if s, ok := usage[string(p.UID)]; ok && s.ProcessStats != nil && s.ProcessStats.ProcessCount != nil {
			k.known, k.procs = true, *s.ProcessStats.ProcessCount
		}
		keys[p] = k
	}
	sort.SliceStable(pods, func(i, j int) bool {
		a, b := keys[pods[i]], keys[pods[j]]
		if a.prio != b.prio {
			return a.prio < b.prio
		}
		if a.known != b.known {
			return a.known
		}
		return a.procs > b.procs
	})
}

// message is upstream's eviction message: the resource, the threshold and
// what was available, and for memory the containers using more than they
// request.
func message(p *v1.Pod, res v1.ResourceName, threshold, available resource.Quantity, s statsummary.PodStats) string {
	var b strings.Builder
	fmt.Fprintf(&b, "The node was low on resource: %v. Threshold quantity: %v, available: %v. ", res, threshold.String(), available.String())
	if res != v1.ResourceMemory {
		return b.String()
	}
	for _, c := range p.Spec.Containers {
		for _, cs := range s.Containers {
			if cs.Name != c.Name || cs.Memory == nil || cs.Memory.WorkingSetBytes == nil {
				continue
			}
			used := bytesQ(*cs.Memory.WorkingSetBytes)
			req := c.Resources.Requests[v1.ResourceMemory]
			if used.Cmp(req) > 0 {
				fmt.Fprintf(&b, "Container %s was using %s, request is %s, has larger consumption of %v. ", c.Name, used.String(), req.String(), res)
			}
		}
	}
	return b.String()
}
