// Package admission decides whether the kubelet runs a pod bound to it, as
// upstream's kubelet admit handlers do: the pods already admitted plus the
// new one must fit the node's pod count (--max-pods) and its allocatable
// CPU, memory and ephemeral storage; and a node under memory pressure
// alone refuses BestEffort pods (unless they tolerate the memory-pressure
// taint), a node under disk or PID pressure every pod but critical ones.
//
// A refusal is a value (Result), not an error: the kubelet fails the pod
// with Result.Reason and Result.Message.
package admission

import (
	"fmt"
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Result is the outcome of admitting one pod.
type Result struct {
	Admit   bool
	Reason  string // OutOfpods, OutOfcpu, OutOfmemory, OutOfephemeral-storage, Evicted
	Message string
}

// Pressure reports the node conditions the eviction manager holds.
type Pressure interface {
	// MemoryPressure, DiskPressure and PIDPressure report whether the
	// node is under that pressure now.
	MemoryPressure() bool
	DiskPressure() bool
	PIDPressure() bool
}

// Admitter holds the node's allocatable resources.
type Admitter struct {
	allocatable v1.ResourceList
	pressure    Pressure
}

// New returns an Admitter for a node with allocatable resources (which hold
// "pods", the --max-pods). pressure may be nil.
func New(allocatable v1.ResourceList, pressure Pressure) *Admitter {
	return &Admitter{allocatable: allocatable, pressure: pressure}
}

// checked are the resources admission counts, in upstream's order.
var checked = []v1.ResourceName{v1.ResourcePods, v1.ResourceCPU, v1.ResourceMemory, v1.ResourceEphemeralStorage}

// Admit reports whether pod may run beside admitted, the pods already
// admitted that have not finished. Static pods are always admitted: they
// are the node's own (upstream admits them as critical pods, preempting
// others when they do not fit; Navarch does not preempt).
func (a *Admitter) Admit(pod *v1.Pod, admitted []*v1.Pod) Result {
	if IsStatic(pod) {
		return Result{Admit: true}
	}
	if r, refused := a.admitUnderPressure(pod); refused {
		return r
	}
	want := Requests(pod)
	used := v1.ResourceList{}
	for _, p := range admitted {
		if p.UID == pod.UID {
			continue
		}
		for name, q := range Requests(p) {
			cur := used[name]
			cur.Add(q)
			used[name] = cur
		}
	}
	for _, name := range checked {
		req, ok := want[name]
		if !ok || req.IsZero() {
			continue
		}
		capacity, ok := a.allocatable[name]
		if !ok {
			continue
		}
		u := used[name]
		total := u.DeepCopy()
		total.Add(req)
		if total.Cmp(capacity) > 0 {
			return Result{
				Reason: "OutOf" + string(name),
				Message: fmt.Sprintf("Node didn't have enough resource: %s, requested: %d, used: %d, capacity: %d",
					name, amount(name, req), amount(name, u), amount(name, capacity)),
			}
		}
	}
	return Result{Admit: true}
}

// admitUnderPressure is upstream's eviction admission: under memory
// pressure alone only BestEffort pods that do not tolerate the
// memory-pressure taint are refused; under any other pressure (disk, PID)
// every pod is. Critical pods are always let in. A refusal names every
// pressure the node is under.
func (a *Admitter) admitUnderPressure(pod *v1.Pod) (Result, bool) {
	if a.pressure == nil || IsCritical(pod) {
		return Result{}, false
	}
	var conds []string
	if a.pressure.MemoryPressure() {
		conds = append(conds, string(v1.NodeMemoryPressure))
	}
	if a.pressure.DiskPressure() {
		conds = append(conds, string(v1.NodeDiskPressure))
	}
	if a.pressure.PIDPressure() {
		conds = append(conds, string(v1.NodePIDPressure))
	}
	if len(conds) == 0 {
		return Result{}, false
	}
	if len(conds) == 1 && conds[0] == string(v1.NodeMemoryPressure) &&
		(QOSClass(pod) != v1.PodQOSBestEffort || toleratesPressure(pod, "node.kubernetes.io/memory-pressure")) {
		return Result{}, false
	}
	return Result{Reason: "Evicted", Message: fmt.Sprintf("The node had condition: [%s]. ", strings.Join(conds, " "))}, true
}

// amount is a quantity in upstream's units for the message: millicores
// for CPU, plain numbers (bytes, pods) otherwise.
func amount(name v1.ResourceName, q resource.Quantity) int64 {
	if name == v1.ResourceCPU {
		return q.MilliValue()
	}
	return q.Value()
}

// Requests is what a pod asks of the node: one pod, and per resource the
// larger of its containers' sum and its biggest init container (init
// containers run one at a time, before the others), plus the pod overhead.
func Requests(pod *v1.Pod) v1.ResourceList {
	out := v1.ResourceList{v1.ResourcePods: *resource.NewQuantity(1, resource.DecimalSI)}
	sum := v1.ResourceList{}
	for _, c := range pod.Spec.Containers {
		for name, q := range c.Resources.Requests {
			cur := sum[name]
			cur.Add(q)
			sum[name] = cur
		}
	}
	for _, c := range pod.Spec.InitContainers {
		for name, q := range c.Resources.Requests {
			if cur, ok := sum[name]; !ok || q.Cmp(cur) > 0 {
				sum[name] = q.DeepCopy()
			}
		}
	}
	for name, q := range pod.Spec.Overhead {
		cur := sum[name]
		cur.Add(q)
		sum[name] = cur
	}
	for name, q := range sum {
		out[name] = q
	}
	return out
}

// QOSClass is the pod's QoS class: Guaranteed when every container has CPU
// and memory limits equal to its requests, BestEffort when none has any
// request or limit, Burstable otherwise.
func QOSClass(pod *v1.Pod) v1.PodQOSClass {
	if pod.Status.QOSClass != "" {
		return pod.Status.QOSClass
	}
	any, all := false, true
	for _, c := range append(append([]v1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...) {
		for _, r := range []v1.ResourceName{v1.ResourceCPU, v1.ResourceMemory} {
			req, hasReq := c.Resources.Requests[r]
			lim, hasLim := c.Resources.Limits[r]
			if hasReq || hasLim {
				any = true
			}
			if !hasLim || (hasReq && req.Cmp(lim) != 0) {
				all = false
			}
		}
	}
	switch {
	case !any:
		return v1.PodQOSBestEffort
	case all:
		return v1.PodQOSGuaranteed
	}
	return v1.PodQOSBurstable
}

// IsStatic reports whether the pod came from a manifest file (or is the
// mirror of one).
func IsStatic(pod *v1.Pod) bool {
	src := pod.Annotations["kubernetes.io/config.source"]
	return (src != "" && src != "api") || pod.Annotations["kubernetes.io/config.mirror"] != ""
}

// systemCriticalPriority is the priority from which a pod is critical
// (upstream's scheduling.SystemCriticalPriority).
const systemCriticalPriority = 2_000_000_000

// IsCritical reports whether the pod is critical to the node, as upstream
// counts them: static and mirror pods, and pods of system-critical
// priority. Critical pods are admitted under pressure and never evicted.
func IsCritical(pod *v1.Pod) bool {
	return IsStatic(pod) || (pod.Spec.Priority != nil && *pod.Spec.Priority >= systemCriticalPriority)
}

// toleratesPressure reports whether the pod tolerates the NoSchedule taint
// key (a pod that does may run on a node under that pressure).
func toleratesPressure(pod *v1.Pod, key string) bool {
	for _, t := range pod.Spec.Tolerations {
		if (t.Key == key || (t.Key == "" && t.Operator == v1.TolerationOpExists)) &&
			(t.Effect == "" || t.Effect == v1.TaintEffectNoSchedule) {
			return true
		}
	}
	return false
}
