// Package volumerestrictions is the VolumeRestrictions filter (upstream's
// NoDiskConflict): a pod may not share a node with another pod using the
// same GCE PD, AWS EBS volume, RBD image or iSCSI target unless both mount
// it read-only, and a ReadWriteOncePod claim already in use anywhere
// blocks the pod.
package volumerestrictions

import (
	"context"

	v1 "k8s.io/api/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"

	"navarch.dev/scheduler/pkg/framework"
)

// Name is the plugin's name.
const Name = "VolumeRestrictions"

// Reasons, as upstream.
const (
	ErrReasonDiskConflict             = "node(s) had no available disk"
	ErrReasonReadWriteOncePodConflict = "node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode"
)

// VolumeRestrictions is the plugin.
type VolumeRestrictions struct {
	pvcs corelisters.PersistentVolumeClaimLister
}

var (
	_ framework.PreFilterPlugin   = (*VolumeRestrictions)(nil)
	_ framework.FilterPlugin      = (*VolumeRestrictions)(nil)
	_ framework.EnqueueExtensions = (*VolumeRestrictions)(nil)
)

// Name implements framework.Plugin.
func (*VolumeRestrictions) Name() string { return Name }

// EventsToRegister implements framework.EnqueueExtensions.
func (*VolumeRestrictions) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{
		{Resource: framework.AssignedPod, ActionType: framework.Delete},
		{Resource: framework.Node, ActionType: framework.Add},
		{Resource: framework.PersistentVolumeClaim, ActionType: framework.Add | framework.Update},
	}
}

func conflicting(pod *v1.Pod) bool {
	for _, v := range pod.Spec.Volumes {
		if v.GCEPersistentDisk != nil || v.AWSElasticBlockStore != nil || v.RBD != nil || v.ISCSI != nil {
			return true
		}
	}
	return false
}

// PreFilter rejects pods whose ReadWriteOncePod claims are in use, and
// skips the filter for pods without volumes that can conflict.
func (p *VolumeRestrictions) PreFilter(_ context.Context, _ *framework.CycleState, pod *v1.Pod, nodes []*framework.NodeInfo) *framework.Status {
	if p.pvcs != nil {
		for _, v := range pod.Spec.Volumes {
			if v.PersistentVolumeClaim == nil {
				continue
			}
			pvc, err := p.pvcs.PersistentVolumeClaims(pod.Namespace).Get(v.PersistentVolumeClaim.ClaimName)
			if err != nil {
				continue // VolumeBinding reports missing claims.
			}
			rwop := false
			for _, m := range pvc.Spec.AccessModes {
				rwop = rwop || m == v1.ReadWriteOncePod
			}
			if !rwop {
				continue
			}
			key := pod.Namespace + "/" + pvc.Name
			for _, ni := range nodes {
				if ni.PVCRefCounts[key] > 0 {
					return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonReadWriteOncePodConflict)
				}
			}
		}
	}
	if !conflicting(pod) {
		return framework.NewStatus(framework.Skip)
	}
	return nil
}

// PreFilterExtensions implements framework.PreFilterPlugin.
func (*VolumeRestrictions) PreFilterExtensions() framework.PreFilterExtensions { return nil }

// Filter implements framework.FilterPlugin.
func (*VolumeRestrictions) Filter(_ context.Context, _ *framework.CycleState, pod *v1.Pod, ni *framework.NodeInfo) *framework.Status {
	for i := range pod.Spec.Volumes {
		for _, existing := range ni.Pods {
			for j := range existing.Pod.Spec.Volumes {
				if IsVolumeConflict(&pod.Spec.Volumes[i], &existing.Pod.Spec.Volumes[j]) {
					return framework.NewStatus(framework.Unschedulable, ErrReasonDiskConflict)
				}
			}
		}
	}
	return nil
}

// IsVolumeConflict reports whether two volumes cannot be mounted on one
// node at once, as upstream judges it.
func IsVolumeConflict(a, b *v1.Volume) bool {
	if a.GCEPersistentDisk != nil && b.GCEPersistentDisk != nil {
		x, y := a.GCEPersistentDisk, b.GCEPersistentDisk
		return x.PDName == y.PDName && !(x.ReadOnly && y.ReadOnly)
	}
	if a.AWSElasticBlockStore != nil && b.AWSElasticBlockStore != nil {
		return a.AWSElasticBlockStore.VolumeID == b.AWSElasticBlockStore.VolumeID
	}
	if a.ISCSI != nil && b.ISCSI != nil {
		return a.ISCSI.IQN == b.ISCSI.IQN && !(a.ISCSI.ReadOnly && b.ISCSI.ReadOnly)
	}
	if a.RBD != nil && b.RBD != nil {
		x, y := a.RBD, b.RBD
		if x.RBDPool != y.RBDPool || x.RBDImage != y.RBDImage || x.ReadOnly && y.ReadOnly {
			return false
		}
		for _, m := range x.CephMonitors {
			for _, n := range y.CephMonitors {
				if m == n {
					return true
				}
			}
		}
	}
	return false
}
