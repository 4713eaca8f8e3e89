package deployment

import (
	"context"
	"math"
	"sort"

	apps "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// resolveFenceposts turns maxSurge and maxUnavailable into pod counts for
// d's size: surge rounds up, unavailable rounds down, and both zero means
// one unavailable pod, so a rollout can always progress.
func resolveFenceposts(d *apps.Deployment) (surge, unavailable int32) {
	if d.Spec.Strategy.Type != apps.RollingUpdateDeploymentStrategyType && d.Spec.Strategy.Type != "" {
		return 0, 0
	}
	desired := int(dReplicas(d))
	ms, mu := intstr.FromString("25%"), intstr.FromString("25%")
	if ru := d.Spec.Strategy.RollingUpdate; ru != nil {
		if ru.MaxSurge != nil {
			ms = *ru.MaxSurge
		}
		if ru.MaxUnavailable != nil {
			mu = *ru.MaxUnavailable
		}
	}
	s, err := intstr.GetScaledValueFromIntOrPercent(&ms, desired, true)
	if err != nil {
		s = 0
	}
	u, err := intstr.GetScaledValueFromIntOrPercent(&mu, desired, false)
	if err != nil {
		u = 0
	}
	if s == 0 && u == 0 {
		u = 1
	}
	return int32(s), int32(u)
}

func maxSurge(d *apps.Deployment) int32 {
	s, _ := resolveFenceposts(d)
	return s
}

// maxUnavailable is the number of pods that may be unavailable during a
// rollout, never more than the Deployment's size.
func maxUnavailable(d *apps.Deployment) int32 {
	if d.Spec.Strategy.Type != apps.RollingUpdateDeploymentStrategyType && d.Spec.Strategy.Type != "" || dReplicas(d) == 0 {
		return 0
	}
	_, u := resolveFenceposts(d)
	return min(u, dReplicas(d))
}

// newRSNewReplicas is the size the new ReplicaSet may grow to now.
func newRSNewReplicas(d *apps.Deployment, allRSs []*apps.ReplicaSet, newRS *apps.ReplicaSet) int32 {
	if d.Spec.Strategy.Type == apps.RecreateDeploymentStrategyType {
		return dReplicas(d)
	}
	current := totalReplicas(allRSs)
	maxTotal := dReplicas(d) + maxSurge(d)
	if current >= maxTotal {
		return replicas(newRS)
	}
	scaleUp := min(maxTotal-current, dReplicas(d)-replicas(newRS))
	return replicas(newRS) + max(scaleUp, 0)
}

func (c *Controller) rolloutRolling(ctx context.Context, d *apps.Deployment, rsList []*apps.ReplicaSet) error {
	newRS, oldRSs, err := c.getReplicaSets(ctx, d, rsList, true)
	if err != nil {
		return err
	}
	allRSs := append(append([]*apps.ReplicaSet(nil), oldRSs...), newRS)

	scaledUp, err := c.reconcileNewReplicaSet(ctx, allRSs, newRS, d)
	if err != nil {
		return err
	}
	if scaledUp {
		return c.syncRolloutStatus(ctx, allRSs, newRS, d)
	}
	scaledDown, err := c.reconcileOldReplicaSets(ctx, allRSs, activeReplicaSets(oldRSs), newRS, d)
	if err != nil {
		return err
	}
	if scaledDown {
		return c.syncRolloutStatus(ctx, allRSs, newRS, d)
	}
	if deploymentComplete(d, &d.Status) {
		if err := c.cleanupDeployment(ctx, oldRSs, d); err != nil {
			return err
		}
	}
	return c.syncRolloutStatus(ctx, allRSs, newRS, d)
}

func (c *Controller) reconcileNewReplicaSet(ctx context.Context, allRSs []*apps.ReplicaSet, newRS *apps.ReplicaSet, d *apps.Deployment) (bool, error) {
	want := dReplicas(d)
	if replicas(newRS) != want {
		if replicas(newRS) < want {
			want = newRSNewReplicas(d, allRSs, newRS)
		}
	}
	if want == replicas(newRS) {
		return false, nil
	}
	scaled, updated, err := c.scaleReplicaSet(ctx, newRS, want, d)
	if err == nil {
		*newRS = *updated
	}
	return scaled, err
}

// reconcileOldReplicaSets scales old ReplicaSets down as far as
// maxUnavailable allows: first their unavailable pods (which cost no
// availability), then available ones down to the minimum.
func (c *Controller) reconcileOldReplicaSets(ctx context.Context, allRSs, oldRSs []*apps.ReplicaSet, newRS *apps.ReplicaSet, d *apps.Deployment) (bool, error) {
	if totalReplicas(oldRSs) == 0 {
		return false, nil
	}
	minAvailable := dReplicas(d) - maxUnavailable(d)
	newRSUnavailable := replicas(newRS) - newRS.Status.AvailableReplicas
	maxScaledDown := totalReplicas(allRSs) - minAvailable - newRSUnavailable
	if maxScaledDown <= 0 {
		return false, nil
	}
	oldRSs, cleaned, err := c.cleanupUnhealthyReplicas(ctx, oldRSs, d, maxScaledDown)
	if err != nil {
		return false, err
	}
	allRSs = append(append([]*apps.ReplicaSet(nil), oldRSs...), newRS)
	scaledDown, err := c.scaleDownOldForRollingUpdate(ctx, allRSs, oldRSs, d)
	if err != nil {
		return false, err
	}
	return cleaned+scaledDown > 0, nil
}

// cleanupUnhealthyReplicas removes up to maxCleanup pods that are not
// available from old ReplicaSets, oldest ReplicaSets first.
func (c *Controller) cleanupUnhealthyReplicas(ctx context.Context, oldRSs []*apps.ReplicaSet, d *apps.Deployment, maxCleanup int32) ([]*apps.ReplicaSet, int32, error) {
	sort.SliceStable(oldRSs, func(i, j int) bool { return olderFirst(oldRSs[i], oldRSs[j]) })
	var total int32
	out := make([]*apps.ReplicaSet, 0, len(oldRSs))
	for i, rs := range oldRSs {
		if total >= maxCleanup {
			out = append(out, oldRSs[i:]...)
			break
		}
		if replicas(rs) == 0 || replicas(rs) == rs.Status.AvailableReplicas {
			out = append(out, rs)
			continue
		}
		unhealthy := replicas(rs) - rs.Status.AvailableReplicas
		n := min(maxCleanup-total, unhealthy)
		_, updated, err := c.scaleReplicaSet(ctx, rs, replicas(rs)-n, d)
		if err != nil {
			return nil, total, err
		}
		total += n
		out = append(out, updated)
	}
	return out, total, nil
}

// scaleDownOldForRollingUpdate removes available pods from old ReplicaSets
// while more than the minimum are available.
func (c *Controller) scaleDownOldForRollingUpdate(ctx context.Context, allRSs, oldRSs []*apps.ReplicaSet, d *apps.Deployment) (int32, error) {
	minAvailable := dReplicas(d) - maxUnavailable(d)
	var available int32
	for _, rs := range allRSs {
		if rs != nil {
			available += rs.Status.AvailableReplicas
		}
	}
	if available <= minAvailable {
		return 0, nil
	}
	toScaleDown := available - minAvailable
	sort.SliceStable(oldRSs, func(i, j int) bool { return olderFirst(oldRSs[i], oldRSs[j]) })
	var total int32
	for _, rs := range oldRSs {
		if total >= toScaleDown {
			break
		}
		if replicas(rs) == 0 {
			continue
		}
		n := min(replicas(rs), toScaleDown-total)
		if _, _, err := c.scaleReplicaSet(ctx, rs, replicas(rs)-n, d); err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

// getProportion is how many of the replicas to add (or remove, when
// negative) rs gets: its share of the Deployment's previous size, bounded
// by what is left to distribute.
func getProportion(rs *apps.ReplicaSet, d *apps.Deployment, toAdd, added int32) int32 {
	if replicas(rs) == 0 || toAdd == 0 || toAdd == added {
		return 0
	}
	fraction := replicaSetFraction(rs, d)
	allowed := toAdd - added
	if toAdd > 0 {
		return min(fraction, allowed)
	}
	return max(fraction, allowed)
}

func replicaSetFraction(rs *apps.ReplicaSet, d *apps.Deployment) int32 {
	if dReplicas(d) == 0 {
		return -replicas(rs)
	}
	deploymentReplicas := dReplicas(d) + maxSurge(d)
	annotated, ok := annotatedMaxReplicas(rs)
	if !ok || annotated == 0 {
		annotated = d.Status.Replicas
	}
	if annotated == 0 {
		return 0
	}
	size := float64(replicas(rs)*deploymentReplicas) / float64(annotated)
	return int32(math.Round(size)) - replicas(rs)
}
