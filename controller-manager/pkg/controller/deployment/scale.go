package deployment

import (
	"context"
	"sort"
	"strconv"

	apps "k8s.io/api/apps/v1"
)

func annotatedInt(rs *apps.ReplicaSet, key string) (int32, bool) {
	v, ok := rs.Annotations[key]
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0, false
	}
	return int32(n), true
}

func annotatedMaxReplicas(rs *apps.ReplicaSet) (int32, bool) {
	return annotatedInt(rs, MaxReplicasAnnotation)
}

// isScalingEvent reports whether d's size changed since its active
// ReplicaSets were last annotated: then the ReplicaSets are resized in
// proportion rather than rolled.
func (c *Controller) isScalingEvent(d *apps.Deployment, rsList []*apps.ReplicaSet) bool {
	for _, rs := range activeReplicaSets(rsList) {
		desired, ok := annotatedInt(rs, DesiredReplicasAnnotation)
		if ok && desired != dReplicas(d) {
			return true
		}
	}
	return false
}

// syncScale resizes d's ReplicaSets without rolling (a scaling event or a
// paused Deployment) and updates status.
func (c *Controller) syncScale(ctx context.Context, d *apps.Deployment, rsList []*apps.ReplicaSet) error {
	newRS, oldRSs, err := c.getReplicaSets(ctx, d, rsList, false)
	if err != nil {
		return err
	}
	if err := c.scale(ctx, d, newRS, oldRSs); err != nil {
		return err
	}
	if d.Spec.Paused {
		if err := c.cleanupDeployment(ctx, oldRSs, d); err != nil {
			return err
		}
	}
	allRSs := append(append([]*apps.ReplicaSet(nil), oldRSs...), newRS)
	return c.syncDeploymentStatus(ctx, allRSs, newRS, d)
}

// scale spreads a change of d's size over its active ReplicaSets in
// proportion to their sizes, so a rollout in progress keeps its ratio.
func (c *Controller) scale(ctx context.Context, d *apps.Deployment, newRS *apps.ReplicaSet, oldRSs []*apps.ReplicaSet) error {
	// One active ReplicaSet (or none: the newest) simply takes the size.
	active := activeReplicaSets(append(append([]*apps.ReplicaSet(nil), oldRSs...), newRS))
	if len(active) <= 1 {
		target := newRS
		if len(active) == 1 {
			target = active[0]
		} else if target == nil {
			target = newest(oldRSs)
		}
		if target == nil {
			return nil
		}
		_, _, err := c.scaleReplicaSet(ctx, target, dReplicas(d), d)
		return err
	}
	// The new ReplicaSet has all pods available: the old ones go to zero.
	if newRS != nil && replicas(newRS) == dReplicas(d) && newRS.Status.AvailableReplicas == dReplicas(d) {
		if desired, ok := annotatedInt(newRS, DesiredReplicasAnnotation); ok && desired == dReplicas(d) {
			for _, rs := range activeReplicaSets(oldRSs) {
				if _, _, err := c.scaleReplicaSet(ctx, rs, 0, d); err != nil {
					return err
				}
			}
			return nil
		}
	}
	if d.Spec.Strategy.Type == apps.RecreateDeploymentStrategyType {
		return nil
	}
	allowed := dReplicas(d)
	if dReplicas(d) > 0 {
		allowed += maxSurge(d)
	}
	toAdd := allowed - totalReplicas(active)
	switch {
	case toAdd > 0:
		// Larger ReplicaSets first, newer first among equals.
		sort.SliceStable(active, func(i, j int) bool {
			if replicas(active[i]) != replicas(active[j]) {
				return replicas(active[i]) > replicas(active[j])
			}
			return olderFirst(active[j], active[i])
		})
	case toAdd < 0:
		// Larger first, older first among equals.
		sort.SliceStable(active, func(i, j int) bool {
			if replicas(active[i]) != replicas(active[j]) {
				return replicas(active[i]) > replicas(active[j])
			}
			return olderFirst(active[i], active[j])
		})
	}
	sizes := make([]int32, len(active))
	var added int32
	for i, rs := range active {
		p := getProportion(rs, d, toAdd, added)
		sizes[i] = replicas(rs) + p
		added += p
	}
	// The rounding leftover goes to the largest ReplicaSet.
	if leftover := toAdd - added; leftover != 0 && len(active) > 0 {
		sizes[0] = max(sizes[0]+leftover, 0)
	}
	for i, rs := range active {
		if _, _, err := c.scaleReplicaSet(ctx, rs, sizes[i], d); err != nil {
			return err
		}
	}
	return nil
}

func newest(rsList []*apps.ReplicaSet) *apps.ReplicaSet {
	var n *apps.ReplicaSet
	for _, rs := range rsList {
		if n == nil || olderFirst(n, rs) {
			n = rs
		}
	}
	return n
}
