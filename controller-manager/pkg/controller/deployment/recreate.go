package deployment

import (
	"context"

	apps "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

// rolloutRecreate scales every old ReplicaSet to zero, waits until none of
// their pods runs, then scales the new ReplicaSet up.
func (c *Controller) rolloutRecreate(ctx context.Context, d *apps.Deployment, rsList []*apps.ReplicaSet) error {
	newRS, oldRSs, err := c.getReplicaSets(ctx, d, rsList, false)
	if err != nil {
		return err
	}
	allRSs := append(append([]*apps.ReplicaSet(nil), oldRSs...), newRS)

	scaledDown := false
	for _, rs := range activeReplicaSets(oldRSs) {
		scaled, _, err := c.scaleReplicaSet(ctx, rs, 0, d)
		if err != nil {
			return err
		}
		scaledDown = scaledDown || scaled
	}
	if scaledDown {
		return c.syncRolloutStatus(ctx, allRSs, newRS, d)
	}
	running, err := c.oldPodsRunning(newRS, oldRSs)
	if err != nil {
		return err
	}
	if running {
		return c.syncRolloutStatus(ctx, allRSs, newRS, d)
	}
	if newRS == nil {
		if newRS, oldRSs, err = c.getReplicaSets(ctx, d, rsList, true); err != nil {
			return err
		}
		allRSs = append(append([]*apps.ReplicaSet(nil), oldRSs...), newRS)
	}
	if _, updated, err := c.scaleReplicaSet(ctx, newRS, dReplicas(d), d); err != nil {
		return err
	} else {
		*newRS = *updated
	}
	if deploymentComplete(d, &d.Status) {
		if err := c.cleanupDeployment(ctx, oldRSs, d); err != nil {
			return err
		}
	}
	return c.syncRolloutStatus(ctx, allRSs, newRS, d)
}

// oldPodsRunning reports whether an old ReplicaSet still has a pod that
// is not finished (including terminating ones), or claims pods it has not
// yet been seen to remove.
func (c *Controller) oldPodsRunning(newRS *apps.ReplicaSet, oldRSs []*apps.ReplicaSet) (bool, error) {
	for _, rs := range oldRSs {
		if rs.Status.Replicas > 0 {
			return true, nil
		}
	}
	old := map[types.UID]bool{}
	for _, rs := range oldRSs {
		old[rs.UID] = true
	}
	if len(old) == 0 {
		return false, nil
	}
	ns := oldRSs[0].Namespace
	pods, err := c.podLister.Pods(ns).List(labels.Everything())
	if err != nil {
		return false, err
	}
	for _, p := range pods {
		ref := metav1GetControllerUID(p)
		if ref == "" || !old[ref] {
			continue
		}
		if p.Status.Phase == v1.PodFailed || p.Status.Phase == v1.PodSucceeded {
			continue
		}
		return true, nil
	}
	return false, nil
}

func metav1GetControllerUID(p *v1.Pod) types.UID {
	for _, r := range p.OwnerReferences {
		if r.Controller != nil && *r.Controller {
			return r.UID
		}
	}
	return ""
}
