// Package nodename is the NodeName filter: a pod that names a node in
// spec.nodeName fits only that node. (Pods created with spec.nodeName are
// bound already and never reach the scheduler; this matters for pods the
// scheduler was asked to place on a given node by other means.)
package nodename

import (
	"context"

	v1 "k8s.io/api/core/v1"

	"navarch.dev/scheduler/pkg/framework"
)

// Name is the plugin's name.
const Name = "NodeName"

// ErrReason is upstream's wording.
const ErrReason = "node(s) didn't match the requested node name"

// NodeName filters on spec.nodeName.
type NodeName struct{}

var (
	_ framework.FilterPlugin      = (*NodeName)(nil)
	_ framework.EnqueueExtensions = (*NodeName)(nil)
)

// Name implements framework.Plugin.
func (*NodeName) Name() string { return Name }

// EventsToRegister implements framework.EnqueueExtensions.
func (*NodeName) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{{Resource: framework.Node, ActionType: framework.Add}}
}

// Filter implements framework.FilterPlugin.
func (*NodeName) Filter(_ context.Context, _ *framework.CycleState, pod *v1.Pod, ni *framework.NodeInfo) *framework.Status {
	if pod.Spec.NodeName == "" || pod.Spec.NodeName == ni.NodeName() {
		return nil
	}
	return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReason)
}
