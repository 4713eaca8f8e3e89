// Package framework defines the scheduler's extension points: small plugin
// interfaces, the Status they return, the per-cycle CycleState, and the
// NodeInfo view of the cluster the plugins read.
//
// One scheduling cycle calls, for one pod: PreFilter (every plugin, once),
// Filter (per node, in parallel; a node passes when every filter returns
// Success), PostFilter (only when no node passed), PreScore (once, with the
// feasible nodes), Score (per node, in parallel) and NormalizeScore (once
// per plugin, scores mapped to 0..MaxNodeScore), then Reserve on the chosen
// node. The binding cycle, asynchronous, runs PreBind and Bind.
package framework

import (
	"context"

	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"
)

// Score bounds: normalized scores are in [MinNodeScore, MaxNodeScore].
const (
	MinNodeScore int64 = 0
	MaxNodeScore int64 = 100
)

// Plugin is anything registered in the scheduler's plugin table.
type Plugin interface {
	Name() string
}

// QueueSortPlugin orders the active queue.
type QueueSortPlugin interface {
	Plugin
	// Less reports whether a should be scheduled before b.
	Less(a, b *QueuedPodInfo) bool
}

// PreFilterExtensions let preemption update a plugin's PreFilter state
// when it pretends to add or remove pods on a node.
type PreFilterExtensions interface {
	AddPod(ctx context.Context, state *CycleState, podToSchedule *v1.Pod, podToAdd *PodInfo, nodeInfo *NodeInfo) *Status
	RemovePod(ctx context.Context, state *CycleState, podToSchedule *v1.Pod, podToRemove *PodInfo, nodeInfo *NodeInfo) *Status
}

// PreFilterPlugin runs once per cycle before the filters. It may store state
// for Filter in CycleState. Skip means its Filter is not needed; a rejection
// makes the pod unschedulable on every node.
type PreFilterPlugin interface {
	Plugin
	PreFilter(ctx context.Context, state *CycleState, pod *v1.Pod, nodes []*NodeInfo) *Status
	// PreFilterExtensions returns nil if the plugin keeps no state that
	// depends on the pods of other nodes.
	PreFilterExtensions() PreFilterExtensions
}

// FilterPlugin decides whether pod may run on one node. It returns nil when
// it may, Unschedulable (or UnschedulableAndUnresolvable) with the reasons
// when it may not, and Error when it could not tell. It is called
// concurrently for different nodes and must not modify nodeInfo.
type FilterPlugin interface {
	Plugin
	Filter(ctx context.Context, state *CycleState, pod *v1.Pod, nodeInfo *NodeInfo) *Status
}

// PostFilterResult names the node a PostFilter (preemption) made room on.
type PostFilterResult struct {
	NominatedNodeName string
}

// NodeToStatus holds each node's filter verdict in a failed cycle.
type NodeToStatus map[string]*Status

// PostFilterPlugin runs when no node passed the filters. Success with a
// result means the pod may fit later on the nominated node.
type PostFilterPlugin interface {
	Plugin
	PostFilter(ctx context.Context, state *CycleState, pod *v1.Pod, filtered NodeToStatus) (*PostFilterResult, *Status)
}

// PreScorePlugin runs once before scoring with the feasible nodes. Skip
// means its Score is not needed.
type PreScorePlugin interface {
	Plugin
	PreScore(ctx context.Context, state *CycleState, pod *v1.Pod, nodes []*NodeInfo) *Status
}

// ScoreExtensions normalize a plugin's raw scores in place to
// [MinNodeScore, MaxNodeScore].
type ScoreExtensions interface {
	NormalizeScore(ctx context.Context, state *CycleState, pod *v1.Pod, scores NodeScoreList) *Status
}

// ScorePlugin ranks a feasible node; called concurrently for different
// nodes. Without ScoreExtensions its scores must already be in
// [MinNodeScore, MaxNodeScore].
type ScorePlugin interface {
	Plugin
	Score(ctx context.Context, state *CycleState, pod *v1.Pod, nodeInfo *NodeInfo) (int64, *Status)
	ScoreExtensions() ScoreExtensions
}

// ReservePlugin is told when a node is chosen (Reserve) and when the choice
// is abandoned (Unreserve, also after a failed binding).
type ReservePlugin interface {
	Plugin
	Reserve(ctx context.Context, state *CycleState, pod *v1.Pod, nodeName string) *Status
	Unreserve(ctx context.Context, state *CycleState, pod *v1.Pod, nodeName string)
}

// PreBindPlugin runs before binding, in the binding cycle.
type PreBindPlugin interface {
	Plugin
	PreBind(ctx context.Context, state *CycleState, pod *v1.Pod, nodeName string) *Status
}

// BindPlugin binds the pod. Skip passes the pod to the next binder.
type BindPlugin interface {
	Plugin
	Bind(ctx context.Context, state *CycleState, pod *v1.Pod, nodeName string) *Status
}

// EnqueueExtensions names the cluster events that may make a pod this
// plugin rejected schedulable; the queue moves such pods back only on those.
// Plugins that do not implement it are assumed to care about every event.
type EnqueueExtensions interface {
	EventsToRegister() []ClusterEvent
}

// NodeScore is one node's score.
type NodeScore struct {
	Name  string
	Score int64
}

// NodeScoreList holds one plugin's scores, in node order.
type NodeScoreList []NodeScore

// NodeInfoLister reads the cycle's snapshot.
type NodeInfoLister interface {
	// List returns every node.
	List() []*NodeInfo
	// HavePodsWithAffinityList returns the nodes with pods that have
	// affinity or anti-affinity terms.
	HavePodsWithAffinityList() []*NodeInfo
	// HavePodsWithRequiredAntiAffinityList returns the nodes with pods that
	// have required anti-affinity terms.
	HavePodsWithRequiredAntiAffinityList() []*NodeInfo
	// Get returns one node, or an error if it is not in the snapshot.
	Get(name string) (*NodeInfo, error)
}

// Handle is what plugins get from the framework at construction.
type Handle interface {
	// SnapshotNodeInfos reads the snapshot of the current cycle.
	SnapshotNodeInfos() NodeInfoLister
	ClientSet() kubernetes.Interface
	SharedInformerFactory() informers.SharedInformerFactory
	EventRecorder() record.EventRecorder
	// Parallelize runs do(i) for i in [0, pieces) on the scheduler's workers.
	Parallelize(ctx context.Context, pieces int, do func(i int))
	// Preemption helpers; see PreemptionHandle.
	PreemptionHandle
}

// PreemptionHandle lets PostFilter plugins simulate the filters.
type PreemptionHandle interface {
	// RunFilterPlugins runs every enabled filter against nodeInfo.
	RunFilterPlugins(ctx context.Context, state *CycleState, pod *v1.Pod, nodeInfo *NodeInfo) *Status
	// RunPreFilterExtensionAddPod / RemovePod update PreFilter state.
	RunPreFilterExtensionAddPod(ctx context.Context, state *CycleState, podToSchedule *v1.Pod, podToAdd *PodInfo, nodeInfo *NodeInfo) *Status
	RunPreFilterExtensionRemovePod(ctx context.Context, state *CycleState, podToSchedule *v1.Pod, podToRemove *PodInfo, nodeInfo *NodeInfo) *Status
	// NominatedPodsForNode returns pods nominated to run on a node.
	NominatedPodsForNode(nodeName string) []*PodInfo
}
