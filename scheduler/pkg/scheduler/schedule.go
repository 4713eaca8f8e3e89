package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"navarch.dev/scheduler/pkg/decisions"
	"navarch.dev/scheduler/pkg/framework"
	"navarch.dev/scheduler/pkg/framework/runtime"
)

// Upstream's rule for how many feasible nodes to look for before scoring:
// all of them in small clusters, an adaptive percentage in large ones.
const (
	minFeasibleNodesToFind           = 100
	minFeasibleNodesPercentageToFind = 5
)

// NumFeasibleNodesToFind returns how many feasible nodes a cycle looks for
// among numAllNodes, given percentageOfNodesToScore (0 = adaptive:
// 50% minus 1% per 125 nodes, at least 5%), and never fewer than 100.
func NumFeasibleNodesToFind(percentage int32, numAllNodes int) int {
	if numAllNodes < minFeasibleNodesToFind || percentage >= 100 {
		return numAllNodes
	}
	adaptive := int(percentage)
	if adaptive <= 0 {
		adaptive = 50 - numAllNodes/125
		if adaptive < minFeasibleNodesPercentageToFind {
			adaptive = minFeasibleNodesPercentageToFind
		}
	}
	n := numAllNodes * adaptive / 100
	if n < minFeasibleNodesToFind {
		return minFeasibleNodesToFind
	}
	return n
}

// schedulePod picks a node for pod, or returns a *FitError (no node fits),
// ErrNoNodesAvailable or another error. The result's decision record is
// filled in either case when decisions are kept.
func (s *Scheduler) schedulePod(ctx context.Context, fwk *runtime.Framework, state *framework.CycleState, pod *v1.Pod) (scheduleResult, error) {
	s.cache.UpdateSnapshot(s.snapshot)
	nodes := s.snapshot.List()
	var d *decisions.Decision
	if s.decisions != nil {
		d = &decisions.Decision{
			Namespace: pod.Namespace, Pod: pod.Name, UID: string(pod.UID), SchedulerName: fwk.ProfileName(),
			Time: time.Now(), NumNodes: len(nodes), Result: decisions.Unschedulable,
		}
	}
	res := scheduleResult{decision: d}
	if len(nodes) == 0 {
		return res, ErrNoNodesAvailable
	}

	diag := Diagnosis{NodeToStatus: framework.NodeToStatus{}, UnschedulablePlugins: map[string]bool{}}
	if st := fwk.RunPreFilterPlugins(ctx, state, pod, nodes); !st.IsSuccess() {
		if st.Code() == framework.Error {
			if d != nil {
				d.Result = decisions.Error
			}
			return res, st.AsError()
		}
		for _, ni := range nodes {
			diag.NodeToStatus[ni.NodeName()] = st
		}
		diag.PreFilterMsg = st.Message()
		diag.UnschedulablePlugins[st.Plugin()] = true
		if d != nil {
			for _, ni := range nodes {
				d.Nodes = append(d.Nodes, decisions.NodeVerdict{Node: ni.NodeName(), Plugin: st.Plugin(), Reasons: st.Reasons()})
			}
		}
		return res, &FitError{Pod: pod, NumAllNodes: len(nodes), Diagnosis: diag}
	}

	feasible, err := s.findNodesThatFit(ctx, fwk, state, pod, nodes, &diag)
	if err != nil {
		if d != nil {
			d.Result = decisions.Error
		}
		return res, err
	}
	res.evaluated = len(feasible) + len(diag.NodeToStatus)
	res.feasible = len(feasible)
	if d != nil {
		d.Evaluated, d.Feasible = res.evaluated, res.feasible
		d.Nodes = make([]decisions.NodeVerdict, 0, res.evaluated)
		for name, st := range diag.NodeToStatus {
			d.Nodes = append(d.Nodes, decisions.NodeVerdict{Node: name, Plugin: st.Plugin(), Reasons: st.Reasons()})
		}
	}
	if len(feasible) == 0 {
		return res, &FitError{Pod: pod, NumAllNodes: len(nodes), Diagnosis: diag}
	}
	if len(feasible) == 1 {
		res.host = feasible[0].NodeName()
		if d != nil {
			d.Nodes = append(d.Nodes, decisions.NodeVerdict{Node: res.host, Passed: true})
			d.Result, d.Node = decisions.Scheduled, res.host
			d.Message = fmt.Sprintf("Successfully assigned %s/%s to %s", pod.Namespace, pod.Name, res.host)
		}
		return res, nil
	}
	scores, st := fwk.RunScorePlugins(ctx, state, pod, feasible)
	if !st.IsSuccess() {
		if d != nil {
			d.Result = decisions.Error
		}
		return res, st.AsError()
	}
	host, err := runtime.SelectHost(scores)
	if err != nil {
		return res, err
	}
	res.host = host
	if d != nil {
		d.ScorePlugins = fwk.ScorePluginNames()
		if len(scores) > 0 {
			d.ScorePlugins = d.ScorePlugins[:0]
			for _, ps := range scores[0].Scores {
				d.ScorePlugins = append(d.ScorePlugins, ps.Name)
			}
		}
		all := make([]int64, len(scores)*len(d.ScorePlugins))
		for n, ns := range scores {
			k := len(ns.Scores)
			v := decisions.NodeVerdict{Node: ns.Name, Passed: true, Scored: true, Total: ns.TotalScore, Scores: all[n*k : (n+1)*k : (n+1)*k]}
			for i, ps := range ns.Scores {
				v.Scores[i] = ps.Score
			}
			d.Nodes = append(d.Nodes, v)
		}
		d.Result, d.Node = decisions.Scheduled, host
		d.Message = fmt.Sprintf("Successfully assigned %s/%s to %s", pod.Namespace, pod.Name, host)
	}
	return res, nil
}

// findNodesThatFit runs the filters over the nodes in parallel, starting
// where the last cycle stopped, until enough feasible nodes are found. A
// node the pod was nominated to (by preemption) is tried first and, if it
// fits, taken alone.
func (s *Scheduler) findNodesThatFit(ctx context.Context, fwk *runtime.Framework, state *framework.CycleState, pod *v1.Pod, nodes []*framework.NodeInfo, diag *Diagnosis) ([]*framework.NodeInfo, error) {
	if name := pod.Status.NominatedNodeName; name != "" {
		if ni, err := s.snapshot.Get(name); err == nil {
			st := fwk.RunFilterPluginsWithNominatedPods(ctx, state, pod, ni)
			if st.Code() == framework.Error {
				return nil, st.AsError()
			}
			if st.IsSuccess() {
				return []*framework.NodeInfo{ni}, nil
			}
		}
	}
	numToFind := NumFeasibleNodesToFind(s.percentage, len(nodes))
	feasible := make([]*framework.NodeInfo, numToFind)
	// Rejections are kept sparsely (most nodes usually pass).
	type rejection struct {
		index int
		st    *framework.Status
	}
	var (
		rejectMu sync.Mutex
		rejected []rejection
		found    atomic.Int32
		errOnce  sync.Once
		firstErr error
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := s.nextStartNodeIndex
	fwk.Parallelize(ctx, len(nodes), func(i int) {
		// Cancelling stops the workers only between chunks: nodes left in
		// a chunk once enough were found are skipped here, unfiltered.
		if int(found.Load()) >= numToFind {
			return
		}
		ni := nodes[(start+i)%len(nodes)]
		st := fwk.RunFilterPluginsWithNominatedPods(ctx, state, pod, ni)
		switch {
		case st.IsSuccess():
			n := found.Add(1)
			if int(n) > numToFind {
				cancel()
				found.Add(-1)
				return
			}
			feasible[n-1] = ni
		case st.Code() == framework.Error:
			errOnce.Do(func() { firstErr = st.AsError() })
			cancel()
		default:
			rejectMu.Lock()
			rejected = append(rejected, rejection{(start + i) % len(nodes), st})
			rejectMu.Unlock()
		}
	})
	if firstErr != nil {
		return nil, firstErr
	}
	feasible = feasible[:found.Load()]
	processed := len(feasible) + len(rejected)
	for _, r := range rejected {
		diag.NodeToStatus[nodes[r.index].NodeName()] = r.st
		diag.UnschedulablePlugins[r.st.Plugin()] = true
	}
	s.nextStartNodeIndex = (start + processed) % len(nodes)
	return feasible, nil
}

// updatePodCondition sets PodScheduled=False with reason and message (and
// the nominated node) on the pod's status, unless it already says so.
func (s *Scheduler) updatePodCondition(ctx context.Context, pod *v1.Pod, reason, message, nominated string) error {
	now := metav1.Now()
	cond := v1.PodCondition{Type: v1.PodScheduled, Status: v1.ConditionFalse, Reason: reason, Message: message, LastTransitionTime: now}
	for _, c := range pod.Status.Conditions {
		if c.Type != v1.PodScheduled {
			continue
		}
		if c.Status == cond.Status && c.Reason == reason && c.Message == message && (nominated == "" || nominated == pod.Status.NominatedNodeName) {
			return nil
		}
		if c.Status == cond.Status {
			cond.LastTransitionTime = c.LastTransitionTime
		}
	}
	status := map[string]any{"conditions": []v1.PodCondition{cond}}
	if nominated != "" {
		status["nominatedNodeName"] = nominated
	}
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"uid": pod.UID},
		"status":   status,
	})
	if err != nil {
		return err
	}
	_, err = s.client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	return err
}
