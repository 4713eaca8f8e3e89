// Package nodestatus registers the kubelet's Node, keeps its status
// (capacity, allocatable, addresses, node info, conditions) current and
// renews its Lease in kube-node-lease every 10 seconds.
package nodestatus

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	coordv1 "k8s.io/api/coordination/v1"
	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"
)

// KubeletVersion is what the Node reports as its kubelet version.
const KubeletVersion = "v1.34.13-navarch"

// Config describes the node.
type Config struct {
	NodeName string
	NodeIP   string
	Hostname string
	Labels   map[string]string
	Taints   []v1.Taint
	MaxPods  int
	// Reserved is subtracted from capacity (system- plus kube-reserved plus
	// the hard eviction threshold).
	Reserved v1.ResourceList
	// RootDir is the filesystem whose size is ephemeral-storage.
	RootDir string
	// Port is the kubelet API port reported in daemonEndpoints.
	Port int32
	// Pressure, when set, is the eviction manager's view of memory, disk
	// and PID pressure.
	Pressure Pressure
	// Recorder, when set, receives the Node's condition events
	// (NodeHasSufficientMemory, NodeReady, ...) whenever a posted status
	// sets a condition for the first time or changes its status.
	Recorder record.EventRecorder
}

// NodeRef is the object reference of the kubelet's events about its Node:
// kind Node, and the node's name as both name and UID, as upstream.
func NodeRef(nodeName string) *v1.ObjectReference {
	return &v1.ObjectReference{Kind: "Node", Name: nodeName, UID: types.UID(nodeName)}
}

// conditionEvent is the event reason for a node condition's status.
func conditionEvent(c v1.NodeCondition) string {
	t := c.Status == v1.ConditionTrue
	switch c.Type {
	case v1.NodeMemoryPressure:
		if t {
			return "NodeHasInsufficientMemory"
		}
		return "NodeHasSufficientMemory"
	case v1.NodeDiskPressure:
		if t {
			return "NodeHasDiskPressure"
		}
		return "NodeHasNoDiskPressure"
	case v1.NodePIDPressure:
		if t {
			return "NodeHasInsufficientPID"
		}
		return "NodeHasSufficientPID"
	case v1.NodeReady:
		if t {
			return "NodeReady"
		}
		return "NodeNotReady"
	}
	return ""
}

// recordTransitions records an event for every condition of next that old
// (the status the Node had before next was posted) did not have with the
// same status, as upstream's kubelet does ("Node n1 status is now:
// NodeReady").
func (r *Reporter) recordTransitions(old, next v1.NodeStatus) {
	if r.cfg.Recorder == nil {
		return
	}
	for _, c := range next.Conditions {
		same := false
		for _, o := range old.Conditions {
			if o.Type == c.Type && o.Status == c.Status {
				same = true
			}
		}
		if reason := conditionEvent(c); !same && reason != "" {
			r.cfg.Recorder.Eventf(NodeRef(r.cfg.NodeName), v1.EventTypeNormal, reason, "Node %s status is now: %s", r.cfg.NodeName, reason)
		}
	}
}

// Pressure reports the node's pressure conditions.
type Pressure interface {
	MemoryPressure() bool
	DiskPressure() bool
	PIDPressure() bool
}

// RuntimeCheck reports the runtime's "name://version", or an error when it is down.
type RuntimeCheck func(ctx context.Context) (string, error)

// Reporter owns the Node object and its Lease.
type Reporter struct {
	cfg     Config
	client  kubernetes.Interface
	runtime RuntimeCheck
	now     func() time.Time
}

// New builds a Reporter.
func New(cfg Config, client kubernetes.Interface, rt RuntimeCheck) *Reporter {
	return &Reporter{cfg: cfg, client: client, runtime: rt, now: time.Now}
}

// Capacity is the machine's CPU, memory, pods and ephemeral storage.
func Capacity(maxPods int, rootDir string) v1.ResourceList {
	c := v1.ResourceList{
		v1.ResourceCPU:  *resource.NewQuantity(int64(goruntime.NumCPU()), resource.DecimalSI),
		v1.ResourcePods: *resource.NewQuantity(int64(maxPods), resource.DecimalSI),
	}
	if mem := memTotal(); mem > 0 {
		c[v1.ResourceMemory] = *resource.NewQuantity(mem, resource.BinarySI)
	}
	var fs syscall.Statfs_t
	if rootDir == "" {
		rootDir = "/"
	}
	if err := syscall.Statfs(rootDir, &fs); err == nil {
		c[v1.ResourceEphemeralStorage] = *resource.NewQuantity(int64(fs.Blocks)*fs.Bsize, resource.BinarySI)
	}
	return c
}

func memTotal() int64 {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// Allocatable is capacity minus reserved, never below zero.
func Allocatable(capacity, reserved v1.ResourceList) v1.ResourceList {
	out := capacity.DeepCopy()
	for name, r := range reserved {
		if q, ok := out[name]; ok {
			q.Sub(r)
			if q.Sign() < 0 {
				q = *resource.NewQuantity(0, q.Format)
			}
			out[name] = q
		}
	}
	return out
}

func readFirstLine(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(strings.SplitN(string(data), "\n", 2)[0])
}

func osImage() string {
	data, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return "Linux"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return "Linux"
}

// status is the Node status as of now.
func (r *Reporter) status(ctx context.Context, old *v1.NodeStatus) v1.NodeStatus {
	capacity := Capacity(r.cfg.MaxPods, r.cfg.RootDir)
	rtVersion, rtErr := r.runtime(ctx)
	var uts syscall.Utsname
	_ = syscall.Uname(&uts)
	st := v1.NodeStatus{
		Capacity:    capacity,
		Allocatable: Allocatable(capacity, r.cfg.Reserved),
		Phase:       v1.NodeRunning,
		NodeInfo: v1.NodeSystemInfo{
			MachineID:               readFirstLine("/etc/machine-id"),
			BootID:                  readFirstLine("/proc/sys/kernel/random/boot_id"),
			KernelVersion:           readFirstLine("/proc/sys/kernel/osrelease"),
			OSImage:                 osImage(),
			ContainerRuntimeVersion: rtVersion,
			KubeletVersion:          KubeletVersion,
			OperatingSystem:         goruntime.GOOS,
			Architecture:            goruntime.GOARCH,
		},
		DaemonEndpoints: v1.NodeDaemonEndpoints{KubeletEndpoint: v1.DaemonEndpoint{Port: r.cfg.Port}},
	}
	if r.cfg.NodeIP != "" {
		st.Addresses = append(st.Addresses, v1.NodeAddress{Type: v1.NodeInternalIP, Address: r.cfg.NodeIP})
	}
	st.Addresses = append(st.Addresses, v1.NodeAddress{Type: v1.NodeHostName, Address: r.cfg.Hostname})
	now := metav1.Unix(r.now().Unix(), 0)
	cond := func(t v1.NodeConditionType, s v1.ConditionStatus, reason, msg string) {
		c := v1.NodeCondition{Type: t, Status: s, Reason: reason, Message: msg, LastHeartbeatTime: now, LastTransitionTime: now}
		if old != nil {
			for _, o := range old.Conditions {
				if o.Type == t && o.Status == s {
					c.LastTransitionTime = o.LastTransitionTime
				}
			}
		}
		st.Conditions = append(st.Conditions, c)
	}
	var memP, diskP, pidP bool
	if p := r.cfg.Pressure; p != nil {
		memP, diskP, pidP = p.MemoryPressure(), p.DiskPressure(), p.PIDPressure()
	}
	if memP {
		cond(v1.NodeMemoryPressure, v1.ConditionTrue, "KubeletHasInsufficientMemory", "kubelet has insufficient memory available")
	} else {
		cond(v1.NodeMemoryPressure, v1.ConditionFalse, "KubeletHasSufficientMemory", "kubelet has sufficient memory available")
	}
	if diskP {
		cond(v1.NodeDiskPressure, v1.ConditionTrue, "KubeletHasDiskPressure", "kubelet has disk pressure")
	} else {
		cond(v1.NodeDiskPressure, v1.ConditionFalse, "KubeletHasNoDiskPressure", "kubelet has no disk pressure")
	}
	if pidP {
		cond(v1.NodePIDPressure, v1.ConditionTrue, "KubeletHasInsufficientPID", "kubelet has insufficient PID available")
	} else {
		cond(v1.NodePIDPressure, v1.ConditionFalse, "KubeletHasSufficientPID", "kubelet has sufficient PID available")
	}
	if rtErr != nil {
		cond(v1.NodeReady, v1.ConditionFalse, "KubeletNotReady", "container runtime is down: "+rtErr.Error())
	} else {
		cond(v1.NodeReady, v1.ConditionTrue, "KubeletReady", "kubelet is posting ready status")
	}
	return st
}

// Register creates the Node, or takes over an existing one with the same
// name (updating labels, taints and status).
func (r *Reporter) Register(ctx context.Context) (*v1.Node, error) {
	labels := map[string]string{
		"kubernetes.io/hostname":  r.cfg.NodeName,
		"kubernetes.io/os":        goruntime.GOOS,
		"kubernetes.io/arch":      goruntime.GOARCH,
		"beta.kubernetes.io/os":   goruntime.GOOS,
		"beta.kubernetes.io/arch": goruntime.GOARCH,
	}
	for k, v := range r.cfg.Labels {
		labels[k] = v
	}
	node := &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: r.cfg.NodeName, Labels: labels},
		Spec:       v1.NodeSpec{Taints: r.cfg.Taints},
	}
	created, err := r.client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	switch {
	case apierrors.IsAlreadyExists(err):
		existing, err := r.client.CoreV1().Nodes().Get(ctx, r.cfg.NodeName, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("get node %s: %w", r.cfg.NodeName, err)
		}
		changed := false
		for k, v := range labels {
			if existing.Labels[k] != v {
				if existing.Labels == nil {
					existing.Labels = map[string]string{}
				}
				existing.Labels[k] = v
				changed = true
			}
		}
		for _, t := range r.cfg.Taints {
			if !hasTaint(existing.Spec.Taints, t) {
				existing.Spec.Taints = append(existing.Spec.Taints, t)
				changed = true
			}
		}
		if changed {
			if existing, err = r.client.CoreV1().Nodes().Update(ctx, existing, metav1.UpdateOptions{}); err != nil {
				return nil, fmt.Errorf("update node %s: %w", r.cfg.NodeName, err)
			}
		}
		created = existing
	case err != nil:
		return nil, fmt.Errorf("register node %s: %w", r.cfg.NodeName, err)
	}
	return r.updateStatus(ctx, created)
}

// Backoff bounds of RegisterWithRetry: upstream's kubelet starts at 100ms
// and doubles up to 7s.
const (
	registerBackoffStart = 100 * time.Millisecond
	registerBackoffMax   = 7 * time.Second
)

// RegisterWithRetry registers the Node like Register, trying again with
// backoff on every error until it succeeds or ctx ends, as upstream's
// kubelet does: on a control-plane node the apiserver may itself be a
// static pod this kubelet has yet to start. It returns an error only when
// ctx ends first.
func (r *Reporter) RegisterWithRetry(ctx context.Context) (*v1.Node, error) {
	wait := registerBackoffStart
	for attempt := 1; ; attempt++ {
		node, err := r.Register(ctx)
		if err == nil {
			return node, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("register node %s: %w", r.cfg.NodeName, ctx.Err())
		}
		slog.Warn("unable to register node with the apiserver, retrying", "node", r.cfg.NodeName, "attempt", attempt, "in", wait, "err", err)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("register node %s: %w", r.cfg.NodeName, ctx.Err())
		case <-time.After(wait):
		}
		if wait *= 2; wait > registerBackoffMax {
			wait = registerBackoffMax
		}
	}
}

func hasTaint(ts []v1.Taint, t v1.Taint) bool {
	for _, o := range ts {
		if o.Key == t.Key && o.Effect == t.Effect && o.Value == t.Value {
			return true
		}
	}
	return false
}

func (r *Reporter) updateStatus(ctx context.Context, node *v1.Node) (*v1.Node, error) {
	n := node.DeepCopy()
	n.Status = r.status(ctx, &node.Status)
	out, err := r.client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) {
		// Someone else wrote the Node since it was read (node IPAM setting
		// spec.podCIDR right after registration): once more on a fresh copy.
		fresh, gerr := r.client.CoreV1().Nodes().Get(ctx, r.cfg.NodeName, metav1.GetOptions{})
		if gerr != nil {
			return nil, fmt.Errorf("update node %s status: %w", r.cfg.NodeName, gerr)
		}
		node = fresh
		n = fresh.DeepCopy()
		n.Status = r.status(ctx, &fresh.Status)
		out, err = r.client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
	}
	if err != nil {
		return nil, fmt.Errorf("update node %s status: %w", r.cfg.NodeName, err)
	}
	r.recordTransitions(node.Status, n.Status)
	return out, nil
}

// Run renews the Lease and posts the node status every interval (10s
// upstream) until ctx ends. The status is posted when it changed and at
// least every minute otherwise, as upstream does with its lease.
func (r *Reporter) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	lastPost := r.now()
	for {
		if err := r.RenewLease(ctx); err != nil && ctx.Err() == nil {
			slog.Warn("renew node lease", "node", r.cfg.NodeName, "err", err)
		}
		r.trySyncStatus(ctx, &lastPost)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// statusUpdateRetry is how many times one round tries to post the status
// (upstream's nodeStatusUpdateRetry) before it waits for the next tick.
const statusUpdateRetry = 5

// trySyncStatus posts the status, trying again at once on an error (a
// Conflict with another writer, a dropped connection) up to
// statusUpdateRetry times; the next round tries again after that.
func (r *Reporter) trySyncStatus(ctx context.Context, lastPost *time.Time) {
	var err error
	for i := 0; i < statusUpdateRetry; i++ {
		if err = r.syncStatus(ctx, lastPost); err == nil || ctx.Err() != nil {
			return
		}
	}
	slog.Warn("update node status", "node", r.cfg.NodeName, "tries", statusUpdateRetry, "err", err)
}

func (r *Reporter) syncStatus(ctx context.Context, lastPost *time.Time) error {
	node, err := r.client.CoreV1().Nodes().Get(ctx, r.cfg.NodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = r.Register(ctx)
		return err
	}
	if err != nil {
		return err
	}
	next := r.status(ctx, &node.Status)
	if r.now().Sub(*lastPost) < time.Minute && sameButHeartbeat(node.Status, next) {
		return nil
	}
	n := node.DeepCopy()
	n.Status = next
	if _, err := r.client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		return err
	}
	r.recordTransitions(node.Status, next)
	*lastPost = r.now()
	return nil
}

func sameButHeartbeat(a, b v1.NodeStatus) bool {
	a, b = *a.DeepCopy(), *b.DeepCopy()
	for i := range a.Conditions {
		a.Conditions[i].LastHeartbeatTime = metav1.Time{}
	}
	for i := range b.Conditions {
		b.Conditions[i].LastHeartbeatTime = metav1.Time{}
	}
	return apiequality.Semantic.DeepEqual(a, b)
}

// RenewLease creates or renews kube-node-lease/<node>, owned by the Node.
func (r *Reporter) RenewLease(ctx context.Context) error {
	leases := r.client.CoordinationV1().Leases(v1.NamespaceNodeLease)
	now := metav1.NewMicroTime(r.now())
	dur := int32(40)
	holder := r.cfg.NodeName
	lease, err := leases.Get(ctx, r.cfg.NodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		lease = &coordv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: r.cfg.NodeName, Namespace: v1.NamespaceNodeLease},
			Spec:       coordv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &dur, RenewTime: &now},
		}
		if node, err := r.client.CoreV1().Nodes().Get(ctx, r.cfg.NodeName, metav1.GetOptions{}); err == nil {
			lease.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID}}
		}
		_, err = leases.Create(ctx, lease, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	lease.Spec.HolderIdentity, lease.Spec.LeaseDurationSeconds, lease.Spec.RenewTime = &holder, &dur, &now
	_, err = leases.Update(ctx, lease, metav1.UpdateOptions{})
	return err
}
