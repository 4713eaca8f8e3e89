// Package nodeports is the NodePorts filter (upstream's PodFitsHostPorts):
// a pod's hostPorts must be free on the node, per host IP and protocol,
// with 0.0.0.0 colliding with every address.
package nodeports

import (
	"context"

	v1 "k8s.io/api/core/v1"

	"navarch.dev/scheduler/pkg/framework"
)

// Name is the plugin's name.
const Name = "NodePorts"

// ErrReason is upstream's wording.
const ErrReason = "node(s) didn't have free ports for the requested pod ports"

const stateKey framework.StateKey = "PreFilter" + Name

type preFilterState []v1.ContainerPort

func (s preFilterState) Clone() framework.StateData { return s }

// NodePorts is the plugin.
type NodePorts struct{}

var (
	_ framework.PreFilterPlugin   = (*NodePorts)(nil)
	_ framework.FilterPlugin      = (*NodePorts)(nil)
	_ framework.EnqueueExtensions = (*NodePorts)(nil)
)

// Name implements framework.Plugin.
func (*NodePorts) Name() string { return Name }

// EventsToRegister implements framework.EnqueueExtensions.
func (*NodePorts) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{
		{Resource: framework.AssignedPod, ActionType: framework.Delete},
		{Resource: framework.Node, ActionType: framework.Add},
	}
}

// HostPorts returns the pod's container ports that claim a host port.
func HostPorts(pod *v1.Pod) []v1.ContainerPort {
	var out []v1.ContainerPort
	for _, cs := range [][]v1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range cs {
			for _, p := range cs[i].Ports {
				if p.HostPort > 0 {
					out = append(out, p)
				}
			}
		}
	}
	return out
}

// PreFilter collects the host ports; pods without any skip the filter.
func (*NodePorts) PreFilter(_ context.Context, state *framework.CycleState, pod *v1.Pod, _ []*framework.NodeInfo) *framework.Status {
	ports := HostPorts(pod)
	if len(ports) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	state.Write(stateKey, preFilterState(ports))
	return nil
}

// PreFilterExtensions implements framework.PreFilterPlugin.
func (*NodePorts) PreFilterExtensions() framework.PreFilterExtensions { return nil }

// Filter implements framework.FilterPlugin.
func (*NodePorts) Filter(_ context.Context, state *framework.CycleState, pod *v1.Pod, ni *framework.NodeInfo) *framework.Status {
	var ports []v1.ContainerPort
	if s, err := state.Read(stateKey); err == nil {
		ports = s.(preFilterState)
	} else {
		ports = HostPorts(pod)
	}
	for _, p := range ports {
		if ni.UsedPorts.CheckConflict(p.HostIP, string(p.Protocol), p.HostPort) {
			return framework.NewStatus(framework.Unschedulable, ErrReason)
		}
	}
	return nil
}
