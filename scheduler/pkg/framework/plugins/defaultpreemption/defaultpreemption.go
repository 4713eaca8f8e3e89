// Package defaultpreemption is the DefaultPreemption PostFilter plugin:
// when a pod fits no node, it looks for a node where evicting pods of
// lower priority would make it fit, evicts the fewest and least important
// such pods, and nominates the node for the pod.
package defaultpreemption

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"navarch.dev/scheduler/pkg/framework"
)

// Name is the plugin's name.
const Name = "DefaultPreemption"

// Reasons, as upstream.
const (
	ReasonNotHelpful = "Preemption is not helpful for scheduling"
	ReasonNoVictims  = "No preemption victims found for incoming pod"
)

// DefaultPreemption is the plugin.
type DefaultPreemption struct {
	handle framework.Handle
}

var _ framework.PostFilterPlugin = (*DefaultPreemption)(nil)

// Name implements framework.Plugin.
func (*DefaultPreemption) Name() string { return Name }

// Candidate is a node with the pods to evict there.
type Candidate struct {
	Node    string
	Victims []*v1.Pod
}

// PostFilter implements framework.PostFilterPlugin.
func (p *DefaultPreemption) PostFilter(ctx context.Context, state *framework.CycleState, pod *v1.Pod, filtered framework.NodeToStatus) (*framework.PostFilterResult, *framework.Status) {
	if msg := p.ineligible(pod); msg != "" {
		return nil, framework.NewStatus(framework.Unschedulable, msg)
	}
	nodes := p.handle.SnapshotNodeInfos().List()
	candidates, reasons := p.FindCandidates(ctx, state, pod, nodes, filtered)
	if len(candidates) == 0 {
		return nil, framework.NewStatus(framework.Unschedulable, fmt.Sprintf("preemption: 0/%d nodes are available: %s", len(nodes), reasons))
	}
	best := SelectCandidate(candidates)
	if err := p.evict(ctx, pod, best); err != nil {
		return nil, framework.AsStatus(err)
	}
	return &framework.PostFilterResult{NominatedNodeName: best.Node}, nil
}

// ineligible says why pod may not preempt: its policy is Never, or it
// already made room on its nominated node and victims are still leaving.
func (p *DefaultPreemption) ineligible(pod *v1.Pod) string {
	if pod.Spec.PreemptionPolicy != nil && *pod.Spec.PreemptionPolicy == v1.PreemptNever {
		return "preemption: not eligible due to preemptionPolicy=Never"
	}
	if name := pod.Status.NominatedNodeName; name != "" {
		if ni, err := p.handle.SnapshotNodeInfos().Get(name); err == nil {
			prio := framework.PodPriority(pod)
			for _, pi := range ni.Pods {
				if pi.Pod.DeletionTimestamp != nil && framework.PodPriority(pi.Pod) < prio {
					return "preemption: not eligible, victims on the nominated node are terminating"
				}
			}
		}
	}
	return ""
}

// FindCandidates simulates preemption on every node whose rejection was
// resolvable, in parallel, and returns the nodes where it works plus the
// summary of why it does not work elsewhere.
func (p *DefaultPreemption) FindCandidates(ctx context.Context, state *framework.CycleState, pod *v1.Pod, nodes []*framework.NodeInfo, filtered framework.NodeToStatus) ([]Candidate, string) {
	var potential []*framework.NodeInfo
	counts := map[string]int{}
	for _, ni := range nodes {
		st, rejected := filtered[ni.NodeName()]
		if rejected && st.Code() == framework.UnschedulableAndUnresolvable {
			counts[ReasonNotHelpful]++
			continue
		}
		potential = append(potential, ni)
	}
	var (
		mu         sync.Mutex
		candidates []Candidate
	)
	p.handle.Parallelize(ctx, len(potential), func(i int) {
		victims, ok := p.selectVictims(ctx, state.Clone(), pod, potential[i].Snapshot())
		mu.Lock()
		defer mu.Unlock()
		if !ok {
			counts[ReasonNoVictims]++
			return
		}
		candidates = append(candidates, Candidate{Node: potential[i].NodeName(), Victims: victims})
	})
	var parts []string
	for r, n := range counts {
		parts = append(parts, fmt.Sprintf("%d %s", n, r))
	}
	sort.Strings(parts)
	return candidates, strings.Join(parts, ", ")
}

// selectVictims removes every lower-priority pod from ni; if the pod then
// fits, it adds back as many as possible, most important first, and
// returns the rest.
func (p *DefaultPreemption) selectVictims(ctx context.Context, state *framework.CycleState, pod *v1.Pod, ni *framework.NodeInfo) ([]*v1.Pod, bool) {
	prio := framework.PodPriority(pod)
	var lower []*framework.PodInfo
	for _, pi := range append([]*framework.PodInfo(nil), ni.Pods...) {
		if framework.PodPriority(pi.Pod) >= prio || pi.Pod.DeletionTimestamp != nil {
			continue
		}
		lower = append(lower, pi)
		ni.RemovePod(pi.Pod)
		if st := p.handle.RunPreFilterExtensionRemovePod(ctx, state, pod, pi, ni); !st.IsSuccess() {
			return nil, false
		}
	}
	if len(lower) == 0 || !p.handle.RunFilterPlugins(ctx, state, pod, ni).IsSuccess() {
		return nil, false
	}
	sort.SliceStable(lower, func(i, j int) bool {
		pi, pj := framework.PodPriority(lower[i].Pod), framework.PodPriority(lower[j].Pod)
		if pi != pj {
			return pi > pj
		}
		return lower[i].Pod.CreationTimestamp.Before(&lower[j].Pod.CreationTimestamp)
	})
	var victims []*v1.Pod
	for _, pi := range lower {
		ni.AddPodInfo(pi)
		p.handle.RunPreFilterExtensionAddPod(ctx, state, pod, pi, ni)
		if p.handle.RunFilterPlugins(ctx, state, pod, ni).IsSuccess() {
			continue // reprieved
		}
		ni.RemovePod(pi.Pod)
		p.handle.RunPreFilterExtensionRemovePod(ctx, state, pod, pi, ni)
		victims = append(victims, pi.Pod)
	}
	return victims, len(victims) > 0
}

// SelectCandidate prefers, in order: the lowest highest-victim priority,
// the lowest sum of victim priorities, the fewest victims, then node name.
func SelectCandidate(cs []Candidate) Candidate {
	key := func(c Candidate) (int32, int64, int) {
		var highest int32 = -1 << 31
		var sum int64
		for _, v := range c.Victims {
			pr := framework.PodPriority(v)
			highest = max(highest, pr)
			// Shift so negative priorities still add up as less important.
			sum += int64(pr) + (1 << 31)
		}
		return highest, sum, len(c.Victims)
	}
	sort.Slice(cs, func(i, j int) bool {
		hi, si, ni := key(cs[i])
		hj, sj, nj := key(cs[j])
		if hi != hj {
			return hi < hj
		}
		if si != sj {
			return si < sj
		}
		if ni != nj {
			return ni < nj
		}
		return cs[i].Node < cs[j].Node
	})
	return cs[0]
}

// evict deletes the victims (gracefully; the kubelet finishes) with an
// event on each saying who preempted it.
func (p *DefaultPreemption) evict(ctx context.Context, pod *v1.Pod, c Candidate) error {
	for _, v := range c.Victims {
		err := p.handle.ClientSet().CoreV1().Pods(v.Namespace).Delete(ctx, v.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &v.UID}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("preempt pod %s/%s on %s: %w", v.Namespace, v.Name, c.Node, err)
		}
		if rec := p.handle.EventRecorder(); rec != nil {
			rec.Eventf(v, v1.EventTypeNormal, "Preempted", "Preempted by pod %s on node %s", pod.UID, c.Node)
		}
	}
	return nil
}
