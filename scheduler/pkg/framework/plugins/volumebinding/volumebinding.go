// Package volumebinding is the VolumeBinding plugin, reduced to the checks
// (upstream's CheckVolumeBinding predicate for bound claims): every
// PersistentVolumeClaim the pod uses must exist, and the node must satisfy
// the node affinity of each bound PersistentVolume. Unbound claims are not
// bound by the scheduler (no delayed binding or provisioning yet): a pod
// with an unbound claim waits until the claim is bound.
package volumebinding

import (
	"context"
	"fmt"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"

	"navarch.dev/scheduler/pkg/framework"
)

// Name is the plugin's name.
const Name = "VolumeBinding"

// Reasons, as upstream.
const (
	ErrReasonBindConflict     = "node(s) didn't find available persistent volumes to bind"
	ErrReasonNodeConflict     = "node(s) had volume node affinity conflict"
	ErrReasonUnboundImmediate = "pod has unbound immediate PersistentVolumeClaims"
	ErrReasonPVNotExist       = "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)"
)

const stateKey framework.StateKey = "PreFilter" + Name

type preFilterState struct {
	// bound are the PVs of the pod's bound claims.
	bound []*v1.PersistentVolume
	// waiting: unbound claims with WaitForFirstConsumer binding.
	waiting bool
}

func (s *preFilterState) Clone() framework.StateData { return s }

// VolumeBinding is the plugin.
type VolumeBinding struct {
	pvcs    corelisters.PersistentVolumeClaimLister
	pvs     corelisters.PersistentVolumeLister
	classes storagelisters.StorageClassLister
}

var (
	_ framework.PreFilterPlugin   = (*VolumeBinding)(nil)
	_ framework.FilterPlugin      = (*VolumeBinding)(nil)
	_ framework.EnqueueExtensions = (*VolumeBinding)(nil)
)

// Name implements framework.Plugin.
func (*VolumeBinding) Name() string { return Name }

// EventsToRegister implements framework.EnqueueExtensions.
func (*VolumeBinding) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{
		{Resource: framework.PersistentVolumeClaim, ActionType: framework.Add | framework.Update},
		{Resource: framework.PersistentVolume, ActionType: framework.Add | framework.Update},
		{Resource: framework.Node, ActionType: framework.Add | framework.UpdateNodeLabel},
	}
}

// PreFilter resolves the pod's claims; pods without claims skip the
// filter.
func (b *VolumeBinding) PreFilter(_ context.Context, state *framework.CycleState, pod *v1.Pod, _ []*framework.NodeInfo) *framework.Status {
	s := &preFilterState{}
	any := false
	for _, vol := range pod.Spec.Volumes {
		var claim string
		switch {
		case vol.PersistentVolumeClaim != nil:
			claim = vol.PersistentVolumeClaim.ClaimName
		case vol.Ephemeral != nil:
			claim = pod.Name + "-" + vol.Name
		default:
			continue
		}
		any = true
		pvc, err := b.pvcs.PersistentVolumeClaims(pod.Namespace).Get(claim)
		if apierrors.IsNotFound(err) {
			return framework.NewStatus(framework.UnschedulableAndUnresolvable, fmt.Sprintf("persistentvolumeclaim %q not found", claim))
		}
		if err != nil {
			return framework.AsStatus(err)
		}
		if pvc.DeletionTimestamp != nil {
			return framework.NewStatus(framework.UnschedulableAndUnresolvable, fmt.Sprintf("persistentvolumeclaim %q is being deleted", claim))
		}
		if pvc.Spec.VolumeName == "" {
			if b.delayed(pvc) {
				s.waiting = true
				continue
			}
			return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonUnboundImmediate)
		}
		pv, err := b.pvs.Get(pvc.Spec.VolumeName)
		if apierrors.IsNotFound(err) {
			return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonPVNotExist)
		}
		if err != nil {
			return framework.AsStatus(err)
		}
		s.bound = append(s.bound, pv)
	}
	if !any {
		return framework.NewStatus(framework.Skip)
	}
	state.Write(stateKey, s)
	return nil
}

// delayed reports WaitForFirstConsumer binding.
func (b *VolumeBinding) delayed(pvc *v1.PersistentVolumeClaim) bool {
	name := ""
	if pvc.Spec.StorageClassName != nil {
		name = *pvc.Spec.StorageClassName
	}
	if name == "" {
		return false
	}
	sc, err := b.classes.Get(name)
	if err != nil || sc.VolumeBindingMode == nil {
		return false
	}
	return *sc.VolumeBindingMode == "WaitForFirstConsumer"
}

// PreFilterExtensions implements framework.PreFilterPlugin.
func (*VolumeBinding) PreFilterExtensions() framework.PreFilterExtensions { return nil }

// Filter implements framework.FilterPlugin.
func (b *VolumeBinding) Filter(_ context.Context, state *framework.CycleState, pod *v1.Pod, ni *framework.NodeInfo) *framework.Status {
	d, err := state.Read(stateKey)
	if err != nil {
		return framework.AsStatus(err)
	}
	s := d.(*preFilterState)
	var reasons []string
	for _, pv := range s.bound {
		if pv.Spec.NodeAffinity != nil && pv.Spec.NodeAffinity.Required != nil &&
			!framework.NodeSelectorMatches(pv.Spec.NodeAffinity.Required, ni.Node()) {
			reasons = append(reasons, ErrReasonNodeConflict)
			break
		}
	}
	if s.waiting {
		reasons = append(reasons, ErrReasonBindConflict)
	}
	if len(reasons) > 0 {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, reasons...)
	}
	return nil
}
