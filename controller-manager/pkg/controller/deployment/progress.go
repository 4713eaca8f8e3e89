package deployment

import (
	"context"
	"fmt"
	"time"

	apps "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

// Condition reasons, as upstream (kubectl rollout status reads them).
const (
	newRSReason                = "NewReplicaSetCreated"
	foundNewRSReason           = "FoundNewReplicaSet"
	failedRSCreateReason       = "ReplicaSetCreateError"
	rsUpdatedReason            = "ReplicaSetUpdated"
	newRSAvailableReason       = "NewReplicaSetAvailable"
	timedOutReason             = "ProgressDeadlineExceeded"
	pausedReason               = "DeploymentPaused"
	resumedReason              = "DeploymentResumed"
	minimumReplicasAvailable   = "MinimumReplicasAvailable"
	minimumReplicasUnavailable = "MinimumReplicasUnavailable"
)

func newCondition(t apps.DeploymentConditionType, status v1.ConditionStatus, reason, message string, now time.Time) apps.DeploymentCondition {
	return apps.DeploymentCondition{
		Type: t, Status: status, Reason: reason, Message: message,
		LastUpdateTime: metav1.NewTime(now), LastTransitionTime: metav1.NewTime(now),
	}
}

func getCondition(status apps.DeploymentStatus, t apps.DeploymentConditionType) *apps.DeploymentCondition {
	for i := range status.Conditions {
		if status.Conditions[i].Type == t {
			return &status.Conditions[i]
		}
	}
	return nil
}

// setCondition replaces the condition of c's type. An unchanged status and
// reason leaves the condition alone; an unchanged status keeps its
// transition time.
func setCondition(status *apps.DeploymentStatus, c apps.DeploymentCondition) {
	cur := getCondition(*status, c.Type)
	if cur != nil && cur.Status == c.Status && cur.Reason == c.Reason {
		return
	}
	if cur != nil && cur.Status == c.Status {
		c.LastTransitionTime = cur.LastTransitionTime
	}
	removeCondition(status, c.Type)
	status.Conditions = append(status.Conditions, c)
}

func removeCondition(status *apps.DeploymentStatus, t apps.DeploymentConditionType) {
	var out []apps.DeploymentCondition
	for _, c := range status.Conditions {
		if c.Type != t {
			out = append(out, c)
		}
	}
	status.Conditions = out
}

func hasProgressDeadline(d *apps.Deployment) bool {
	return d.Spec.ProgressDeadlineSeconds != nil && *d.Spec.ProgressDeadlineSeconds != 2147483647
}

// calculateStatus derives d's status from its ReplicaSets.
func (c *Controller) calculateStatus(allRSs []*apps.ReplicaSet, newRS *apps.ReplicaSet, d *apps.Deployment) apps.DeploymentStatus {
	var actual, ready, available, total int32
	for _, rs := range allRSs {
		if rs == nil {
			continue
		}
		actual += rs.Status.Replicas
		ready += rs.Status.ReadyReplicas
		available += rs.Status.AvailableReplicas
		total += replicas(rs)
	}
	status := apps.DeploymentStatus{
		ObservedGeneration:  d.Generation,
		Replicas:            actual,
		ReadyReplicas:       ready,
		AvailableReplicas:   available,
		UnavailableReplicas: max(total-available, 0),
		CollisionCount:      d.Status.CollisionCount,
	}
	if newRS != nil {
		status.UpdatedReplicas = newRS.Status.Replicas
	}
	for _, cond := range d.Status.Conditions {
		status.Conditions = append(status.Conditions, cond)
	}
	if available >= dReplicas(d)-maxUnavailable(d) {
		setCondition(&status, newCondition(apps.DeploymentAvailable, v1.ConditionTrue, minimumReplicasAvailable, "Deployment has minimum availability.", c.now()))
	} else {
		setCondition(&status, newCondition(apps.DeploymentAvailable, v1.ConditionFalse, minimumReplicasUnavailable, "Deployment does not have minimum availability.", c.now()))
	}
	return status
}

// deploymentComplete reports whether every replica runs the newest template
// and is available, with no old pods left.
func deploymentComplete(d *apps.Deployment, s *apps.DeploymentStatus) bool {
	return s.UpdatedReplicas == dReplicas(d) && s.Replicas == dReplicas(d) &&
		s.AvailableReplicas == dReplicas(d) && s.ObservedGeneration >= d.Generation
}

// deploymentProgressing reports whether the rollout moved since the status
// last written.
func deploymentProgressing(d *apps.Deployment, s *apps.DeploymentStatus) bool {
	old := d.Status
	oldStale := old.Replicas - old.UpdatedReplicas
	newStale := s.Replicas - s.UpdatedReplicas
	return s.UpdatedReplicas > old.UpdatedReplicas || newStale < oldStale ||
		s.ReadyReplicas > old.ReadyReplicas || s.AvailableReplicas > old.AvailableReplicas
}

func (c *Controller) deploymentTimedOut(d *apps.Deployment, s *apps.DeploymentStatus) bool {
	if !hasProgressDeadline(d) {
		return false
	}
	cond := getCondition(*s, apps.DeploymentProgressing)
	if cond == nil {
		return false
	}
	switch cond.Reason {
	case newRSAvailableReason:
		return false
	case timedOutReason:
		return true
	}
	deadline := time.Duration(*d.Spec.ProgressDeadlineSeconds) * time.Second
	return cond.LastUpdateTime.Add(deadline).Before(c.now())
}

// syncRolloutStatus writes d's status with the Progressing condition of a
// rollout in progress, complete or stuck past its deadline.
func (c *Controller) syncRolloutStatus(ctx context.Context, allRSs []*apps.ReplicaSet, newRS *apps.ReplicaSet, d *apps.Deployment) error {
	status := c.calculateStatus(allRSs, newRS, d)
	if !hasProgressDeadline(d) {
		removeCondition(&status, apps.DeploymentProgressing)
	}
	cur := getCondition(status, apps.DeploymentProgressing)
	isComplete := status.Replicas == status.UpdatedReplicas && cur != nil && cur.Reason == newRSAvailableReason
	if hasProgressDeadline(d) && !isComplete && newRS != nil {
		switch {
		case deploymentComplete(d, &status):
			setCondition(&status, newCondition(apps.DeploymentProgressing, v1.ConditionTrue, newRSAvailableReason,
				fmt.Sprintf("ReplicaSet %q has successfully progressed.", newRS.Name), c.now()))
		case deploymentProgressing(d, &status):
			cond := newCondition(apps.DeploymentProgressing, v1.ConditionTrue, rsUpdatedReason,
				fmt.Sprintf("ReplicaSet %q is progressing.", newRS.Name), c.now())
			// Progress refreshes the update time the deadline counts from.
			if cur != nil && cur.Status == v1.ConditionTrue {
				cond.LastTransitionTime = cur.LastTransitionTime
			}
			removeCondition(&status, apps.DeploymentProgressing)
			status.Conditions = append(status.Conditions, cond)
		case c.deploymentTimedOut(d, &status):
			setCondition(&status, newCondition(apps.DeploymentProgressing, v1.ConditionFalse, timedOutReason,
				fmt.Sprintf("ReplicaSet %q has timed out progressing.", newRS.Name), c.now()))
		}
	}
	setReplicaFailure(&status, allRSs, c.now())
	if apiequality.Semantic.DeepEqual(d.Status, status) {
		c.requeueStuck(d, status)
		return nil
	}
	return c.writeStatus(ctx, d, status)
}

// setReplicaFailure mirrors a ReplicaSet's ReplicaFailure condition.
func setReplicaFailure(status *apps.DeploymentStatus, allRSs []*apps.ReplicaSet, now time.Time) {
	for _, rs := range allRSs {
		if rs == nil {
			continue
		}
		for _, rc := range rs.Status.Conditions {
			if rc.Type == apps.ReplicaSetReplicaFailure && rc.Status == v1.ConditionTrue {
				setCondition(status, newCondition(apps.DeploymentReplicaFailure, v1.ConditionTrue, rc.Reason, rc.Message, now))
				return
			}
		}
	}
	removeCondition(status, apps.DeploymentReplicaFailure)
}

// requeueStuck looks at a rollout again when its progress deadline would
// pass, so a stuck rollout is reported without another event.
func (c *Controller) requeueStuck(d *apps.Deployment, status apps.DeploymentStatus) {
	cond := getCondition(status, apps.DeploymentProgressing)
	if !hasProgressDeadline(d) || cond == nil || cond.Reason == newRSAvailableReason || cond.Reason == timedOutReason {
		return
	}
	if deploymentComplete(d, &status) {
		return
	}
	after := cond.LastUpdateTime.Add(time.Duration(*d.Spec.ProgressDeadlineSeconds) * time.Second).Sub(c.now())
	key, err := cache.MetaNamespaceKeyFunc(d)
	if err != nil {
		return
	}
	if after < time.Second {
		c.queue.AddRateLimited(key)
		return
	}
	c.queue.AddAfter(key, after+time.Second)
}

// syncDeploymentStatus writes status without touching Progressing (paused
// Deployments and scaling events).
func (c *Controller) syncDeploymentStatus(ctx context.Context, allRSs []*apps.ReplicaSet, newRS *apps.ReplicaSet, d *apps.Deployment) error {
	status := c.calculateStatus(allRSs, newRS, d)
	if apiequality.Semantic.DeepEqual(d.Status, status) {
		return nil
	}
	return c.writeStatus(ctx, d, status)
}

// syncStatusOnly updates status of a Deployment being deleted.
func (c *Controller) syncStatusOnly(ctx context.Context, d *apps.Deployment, rsList []*apps.ReplicaSet) error {
	newRS, oldRSs, err := c.getReplicaSets(ctx, d, rsList, false)
	if err != nil {
		return err
	}
	return c.syncDeploymentStatus(ctx, append(oldRSs, newRS), newRS, d)
}

func (c *Controller) writeStatus(ctx context.Context, d *apps.Deployment, status apps.DeploymentStatus) error {
	cp := d.DeepCopy()
	cp.Status = status
	updated, err := c.client.AppsV1().Deployments(d.Namespace).UpdateStatus(ctx, cp, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("update status of deployment %s/%s: %w", d.Namespace, d.Name, err)
	}
	*d = *updated
	return nil
}

// checkPausedConditions records a pause or resume in Progressing, so a
// paused rollout never counts against its deadline.
func (c *Controller) checkPausedConditions(ctx context.Context, d *apps.Deployment) error {
	if !hasProgressDeadline(d) {
		return nil
	}
	cond := getCondition(d.Status, apps.DeploymentProgressing)
	if cond != nil && cond.Reason == timedOutReason {
		return nil
	}
	pausedNoted := cond != nil && cond.Reason == pausedReason
	status := *d.Status.DeepCopy()
	switch {
	case d.Spec.Paused && !pausedNoted:
		setCondition(&status, newCondition(apps.DeploymentProgressing, v1.ConditionUnknown, pausedReason, "Deployment is paused", c.now()))
	case !d.Spec.Paused && pausedNoted:
		setCondition(&status, newCondition(apps.DeploymentProgressing, v1.ConditionUnknown, resumedReason, "Deployment is resumed", c.now()))
	default:
		return nil
	}
	return c.writeStatus(ctx, d, status)
}
