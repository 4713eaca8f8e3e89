package framework

import (
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
)

// EventResource is the kind a cluster event is about.
type EventResource string

// Resources whose changes can make pods schedulable.
const (
	Pod                   EventResource = "Pod"
	AssignedPod           EventResource = "AssignedPod"
	Node                  EventResource = "Node"
	PersistentVolume      EventResource = "PersistentVolume"
	PersistentVolumeClaim EventResource = "PersistentVolumeClaim"
	StorageClass          EventResource = "StorageClass"
	WildCard              EventResource = "*"
)

// ActionType is what happened, a bit set.
type ActionType int

// Actions.
const (
	Add ActionType = 1 << iota
	Delete
	UpdateNodeAllocatable
	UpdateNodeLabel
	UpdateNodeTaint
	UpdateNodeCondition
	Update
	All ActionType = 1<<iota - 1
)

// ClusterEvent is a change in the cluster, e.g. {Node, Add}.
type ClusterEvent struct {
	Resource   EventResource
	ActionType ActionType
	Label      string
}

// Match reports whether event e (what happened) is covered by registered
// interest r.
func (r ClusterEvent) Match(e ClusterEvent) bool {
	if r.Resource == WildCard || e.Resource == WildCard {
		return true
	}
	return r.Resource == e.Resource && r.ActionType&e.ActionType != 0
}

// EventUnscheduledPodUpdate is not a cluster change but the pod itself.
var (
	EventAssignedPodDelete    = ClusterEvent{Resource: AssignedPod, ActionType: Delete, Label: "AssignedPodDelete"}
	EventNodeAdd              = ClusterEvent{Resource: Node, ActionType: Add, Label: "NodeAdd"}
	EventUnschedulableTimeout = ClusterEvent{Resource: WildCard, ActionType: All, Label: "UnschedulableTimeout"}
	EventForceActivate        = ClusterEvent{Resource: WildCard, ActionType: All, Label: "ForceActivate"}
)

// QueuedPodInfo is a pod in the scheduling queue.
type QueuedPodInfo struct {
	*PodInfo
	// Timestamp is when the pod was last added to the queue.
	Timestamp time.Time
	// Attempts counts scheduling attempts.
	Attempts int
	// InitialAttemptTimestamp is the first pop, for the e2e latency metric.
	InitialAttemptTimestamp *time.Time
	// UnschedulablePlugins rejected the pod in its last attempt.
	UnschedulablePlugins sets.Set[string]
}

// NewQueuedPodInfo wraps pod for the queue.
func NewQueuedPodInfo(pod *v1.Pod, now time.Time) *QueuedPodInfo {
	return &QueuedPodInfo{PodInfo: NewPodInfo(pod), Timestamp: now}
}

// PodPriority returns the pod's priority, 0 when unset.
func PodPriority(pod *v1.Pod) int32 {
	if pod.Spec.Priority != nil {
		return *pod.Spec.Priority
	}
	return 0
}
