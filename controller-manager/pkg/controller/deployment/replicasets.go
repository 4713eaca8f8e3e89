package deployment

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"sort"
	"strconv"

	apps "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"

	"navarch.dev/controller-manager/pkg/controller/controllerref"
)

// Annotations the controller keeps on Deployments and ReplicaSets, as
// upstream (kubectl rollout history/undo reads them).
const (
	RevisionAnnotation        = "deployment.kubernetes.io/revision"
	RevisionHistoryAnnotation = "deployment.kubernetes.io/revision-history"
	DesiredReplicasAnnotation = "deployment.kubernetes.io/desired-replicas"
	MaxReplicasAnnotation     = "deployment.kubernetes.io/max-replicas"
	lastAppliedAnnotation     = "kubectl.kubernetes.io/last-applied-configuration"
	rollbackToAnnotation      = "deprecated.deployment.rollback.to"
)

// skippedAnnotations are not copied from a Deployment to its ReplicaSets.
var skippedAnnotations = map[string]bool{
	lastAppliedAnnotation:     true,
	RevisionAnnotation:        true,
	RevisionHistoryAnnotation: true,
	DesiredReplicasAnnotation: true,
	MaxReplicasAnnotation:     true,
	rollbackToAnnotation:      true,
}

func (c *Controller) claimReplicaSets(ctx context.Context, d *apps.Deployment, selector labels.Selector) ([]*apps.ReplicaSet, error) {
	all, err := c.rsLister.ReplicaSets(d.Namespace).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	m := &controllerref.Manager[*apps.ReplicaSet]{
		Owner:    d,
		OwnerGVK: controllerKind,
		Selector: selector,
		CanAdopt: controllerref.RecheckDeletionTimestamp(d.UID, func(ctx context.Context) (metav1.Object, error) {
			return c.client.AppsV1().Deployments(d.Namespace).Get(ctx, d.Name, metav1.GetOptions{})
		}),
		Patch: func(ctx context.Context, ns, name string, patch []byte) error {
			_, err := c.client.AppsV1().ReplicaSets(ns).Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
			return err
		},
	}
	return m.Claim(ctx, all)
}

// PodTemplateHash names a pod template: the hash of its content and the
// collision count, encoded to be safe in names and labels.
func PodTemplateHash(template *v1.PodTemplateSpec, collisionCount *int32) string {
	h := fnv.New32a()
	b, _ := json.Marshal(template)
	h.Write(b)
	if collisionCount != nil {
		fmt.Fprintf(h, "/%d", *collisionCount)
	}
	return rand.SafeEncodeString(strconv.FormatUint(uint64(h.Sum32()), 10))
}

// equalIgnoreHash compares two templates ignoring the pod-template-hash
// label the controller adds.
func equalIgnoreHash(a, b *v1.PodTemplateSpec) bool {
	a, b = a.DeepCopy(), b.DeepCopy()
	delete(a.Labels, apps.DefaultDeploymentUniqueLabelKey)
	delete(b.Labels, apps.DefaultDeploymentUniqueLabelKey)
	if len(a.Labels) == 0 {
		a.Labels = nil
	}
	if len(b.Labels) == 0 {
		b.Labels = nil
	}
	return apiequality.Semantic.DeepEqual(a, b)
}

// findNewReplicaSet returns the ReplicaSet running d's current template:
// the oldest one with an equal template (there should be only one).
func findNewReplicaSet(d *apps.Deployment, rsList []*apps.ReplicaSet) *apps.ReplicaSet {
	sorted := append([]*apps.ReplicaSet(nil), rsList...)
	sort.SliceStable(sorted, func(i, j int) bool { return olderFirst(sorted[i], sorted[j]) })
	for _, rs := range sorted {
		if equalIgnoreHash(&rs.Spec.Template, &d.Spec.Template) {
			return rs
		}
	}
	return nil
}

func olderFirst(a, b *apps.ReplicaSet) bool {
	if a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.Name < b.Name
	}
	return a.CreationTimestamp.Before(&b.CreationTimestamp)
}

// findOldReplicaSets returns every ReplicaSet but newRS.
func findOldReplicaSets(rsList []*apps.ReplicaSet, newRS *apps.ReplicaSet) []*apps.ReplicaSet {
	var old []*apps.ReplicaSet
	for _, rs := range rsList {
		if newRS != nil && rs.UID == newRS.UID {
			continue
		}
		old = append(old, rs)
	}
	return old
}

func revision(obj metav1.Object) int64 {
	v, err := strconv.ParseInt(obj.GetAnnotations()[RevisionAnnotation], 10, 64)
	if err != nil {
		return 0
	}
	return v
}

func maxRevision(rsList []*apps.ReplicaSet) int64 {
	var m int64
	for _, rs := range rsList {
		m = max(m, revision(rs))
	}
	return m
}

func replicas(rs *apps.ReplicaSet) int32 {
	if rs == nil || rs.Spec.Replicas == nil {
		return 0
	}
	return *rs.Spec.Replicas
}

func dReplicas(d *apps.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}

func activeReplicaSets(rsList []*apps.ReplicaSet) []*apps.ReplicaSet {
	var out []*apps.ReplicaSet
	for _, rs := range rsList {
		if rs != nil && replicas(rs) > 0 {
			out = append(out, rs)
		}
	}
	return out
}

func totalReplicas(rsList []*apps.ReplicaSet) int32 {
	var n int32
	for _, rs := range rsList {
		n += replicas(rs)
	}
	return n
}

// setReplicasAnnotations records the Deployment's size and its maximum
// with surge on rs; proportional scaling reads them back. It reports
// whether anything changed.
func setReplicasAnnotations(rs *apps.ReplicaSet, desired, maxReplicas int32) bool {
	if rs.Annotations == nil {
		rs.Annotations = map[string]string{}
	}
	d, m := strconv.Itoa(int(desired)), strconv.Itoa(int(maxReplicas))
	if rs.Annotations[DesiredReplicasAnnotation] == d && rs.Annotations[MaxReplicasAnnotation] == m {
		return false
	}
	rs.Annotations[DesiredReplicasAnnotation] = d
	rs.Annotations[MaxReplicasAnnotation] = m
	return true
}

// copyDeploymentAnnotations copies d's user annotations to rs and reports
// whether rs changed.
func copyDeploymentAnnotations(d *apps.Deployment, rs *apps.ReplicaSet) bool {
	changed := false
	if rs.Annotations == nil {
		rs.Annotations = map[string]string{}
	}
	for k, v := range d.Annotations {
		if skippedAnnotations[k] {
			continue
		}
		if cur, ok := rs.Annotations[k]; !ok || cur != v {
			rs.Annotations[k] = v
			changed = true
		}
	}
	return changed
}

// setNewRevision gives rs the revision newRevision, keeping the revisions
// it had in the revision-history annotation, and reports a change.
func setNewRevision(rs *apps.ReplicaSet, newRevision int64) bool {
	if rs.Annotations == nil {
		rs.Annotations = map[string]string{}
	}
	old := rs.Annotations[RevisionAnnotation]
	want := strconv.FormatInt(newRevision, 10)
	oldRev, _ := strconv.ParseInt(old, 10, 64)
	if old != "" && oldRev >= newRevision {
		return false
	}
	if old != "" {
		if h := rs.Annotations[RevisionHistoryAnnotation]; h != "" {
			rs.Annotations[RevisionHistoryAnnotation] = h + "," + old
		} else {
			rs.Annotations[RevisionHistoryAnnotation] = old
		}
	}
	rs.Annotations[RevisionAnnotation] = want
	return true
}

// getReplicaSets finds d's new and old ReplicaSets, creating the new one
// when create is set, and brings revisions and annotations up to date.
// newRS is nil when it does not exist and create is false.
func (c *Controller) getReplicaSets(ctx context.Context, d *apps.Deployment, rsList []*apps.ReplicaSet, create bool) (*apps.ReplicaSet, []*apps.ReplicaSet, error) {
	existing := findNewReplicaSet(d, rsList)
	oldRSs := findOldReplicaSets(rsList, existing)
	newRS, err := c.getNewReplicaSet(ctx, d, existing, oldRSs, create)
	if err != nil {
		return nil, nil, err
	}
	return newRS, oldRSs, nil
}

func (c *Controller) getNewReplicaSet(ctx context.Context, d *apps.Deployment, existing *apps.ReplicaSet, oldRSs []*apps.ReplicaSet, create bool) (*apps.ReplicaSet, error) {
	newRevision := maxRevision(oldRSs) + 1
	if existing != nil {
		rs := existing.DeepCopy()
		changed := copyDeploymentAnnotations(d, rs)
		// The replica annotations stay as last scaled: proportional
		// scaling reads the size they record.
		changed = setNewRevision(rs, newRevision) || changed
		if changed {
			updated, err := c.client.AppsV1().ReplicaSets(rs.Namespace).Update(ctx, rs, metav1.UpdateOptions{})
			if err != nil {
				return nil, fmt.Errorf("update replicaset %s: %w", rs.Name, err)
			}
			rs = updated
		}
		if err := c.syncDeploymentRevision(ctx, d, rs); err != nil {
			return nil, err
		}
		// A Deployment whose template went back to an older ReplicaSet
		// (a rollback) is progressing again.
		if cond := getCondition(d.Status, apps.DeploymentProgressing); hasProgressDeadline(d) && cond == nil {
			setCondition(&d.Status, newCondition(apps.DeploymentProgressing, v1.ConditionTrue, foundNewRSReason,
				fmt.Sprintf("Found new replica set %q", rs.Name), c.now()))
		}
		return rs, nil
	}
	if !create {
		return nil, nil
	}

	hash := PodTemplateHash(&d.Spec.Template, d.Status.CollisionCount)
	template := *d.Spec.Template.DeepCopy()
	template.Labels = withLabel(template.Labels, apps.DefaultDeploymentUniqueLabelKey, hash)
	selector := d.Spec.Selector.DeepCopy()
	selector.MatchLabels = withLabel(selector.MatchLabels, apps.DefaultDeploymentUniqueLabelKey, hash)
	zero := int32(0)
	rs := &apps.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name:            d.Name + "-" + hash,
			Namespace:       d.Namespace,
			OwnerReferences: []metav1.OwnerReference{*controllerref.NewControllerRef(d, controllerKind)},
			Labels:          template.Labels,
		},
		Spec: apps.ReplicaSetSpec{
			Replicas:        &zero,
			MinReadySeconds: d.Spec.MinReadySeconds,
			Selector:        selector,
			Template:        template,
		},
	}
	allRSs := append(append([]*apps.ReplicaSet(nil), oldRSs...), rs)
	n := newRSNewReplicas(d, allRSs, rs)
	rs.Spec.Replicas = &n
	copyDeploymentAnnotations(d, rs)
	setNewRevision(rs, newRevision)
	setReplicasAnnotations(rs, dReplicas(d), dReplicas(d)+maxSurge(d))

	created, err := c.client.AppsV1().ReplicaSets(d.Namespace).Create(ctx, rs, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		// Ours already (a stale cache) or a hash collision with a foreign
		// ReplicaSet: bump the collision count and try another name.
		got, getErr := c.rsLister.ReplicaSets(d.Namespace).Get(rs.Name)
		if getErr == nil && metav1.IsControlledBy(got, d) && equalIgnoreHash(&got.Spec.Template, &d.Spec.Template) {
			return got, nil
		}
		if d.Status.CollisionCount == nil {
			d.Status.CollisionCount = new(int32)
		}
		*d.Status.CollisionCount++
		if _, uerr := c.client.AppsV1().Deployments(d.Namespace).UpdateStatus(ctx, d, metav1.UpdateOptions{}); uerr != nil {
			return nil, uerr
		}
		return nil, fmt.Errorf("replicaset %s exists with another template; collision count now %d", rs.Name, *d.Status.CollisionCount)
	}
	if err != nil {
		msg := fmt.Sprintf("Failed to create new replica set %q: %v", rs.Name, err)
		if hasProgressDeadline(d) {
			setCondition(&d.Status, newCondition(apps.DeploymentProgressing, v1.ConditionFalse, failedRSCreateReason, msg, c.now()))
			c.client.AppsV1().Deployments(d.Namespace).UpdateStatus(ctx, d, metav1.UpdateOptions{})
		}
		c.recorder.Eventf(d, v1.EventTypeWarning, failedRSCreateReason, msg)
		return nil, err
	}
	if n > 0 {
		c.recorder.Eventf(d, v1.EventTypeNormal, "ScalingReplicaSet", "Scaled up replica set %s from 0 to %d", created.Name, n)
	}
	if hasProgressDeadline(d) {
		setCondition(&d.Status, newCondition(apps.DeploymentProgressing, v1.ConditionTrue, newRSReason,
			fmt.Sprintf("Created new replica set %q", created.Name), c.now()))
	}
	if err := c.syncDeploymentRevision(ctx, d, created); err != nil {
		return nil, err
	}
	return created, nil
}

// syncDeploymentRevision copies newRS's revision to d's annotation, the
// number kubectl rollout history shows.
func (c *Controller) syncDeploymentRevision(ctx context.Context, d *apps.Deployment, newRS *apps.ReplicaSet) error {
	want := newRS.Annotations[RevisionAnnotation]
	if d.Annotations[RevisionAnnotation] == want {
		return nil
	}
	if d.Annotations == nil {
		d.Annotations = map[string]string{}
	}
	d.Annotations[RevisionAnnotation] = want
	status := d.Status
	updated, err := c.client.AppsV1().Deployments(d.Namespace).Update(ctx, d, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("update revision of deployment %s/%s: %w", d.Namespace, d.Name, err)
	}
	// Keep working on the written object, with the status computed so far.
	updated.Status = status
	*d = *updated
	return nil
}

func withLabel(m map[string]string, k, v string) map[string]string {
	out := maps.Clone(m)
	if out == nil {
		out = map[string]string{}
	}
	out[k] = v
	return out
}

// scaleReplicaSet sets rs to size n with d's replica annotations, with an
// event when the size changes. It returns the updated ReplicaSet.
func (c *Controller) scaleReplicaSet(ctx context.Context, rs *apps.ReplicaSet, n int32, d *apps.Deployment) (bool, *apps.ReplicaSet, error) {
	sizeChanged := replicas(rs) != n
	cp := rs.DeepCopy()
	annotationsChanged := setReplicasAnnotations(cp, dReplicas(d), dReplicas(d)+maxSurge(d))
	if !sizeChanged && !annotationsChanged {
		return false, rs, nil
	}
	cp.Spec.Replicas = &n
	updated, err := c.client.AppsV1().ReplicaSets(cp.Namespace).Update(ctx, cp, metav1.UpdateOptions{})
	if err != nil {
		return false, nil, fmt.Errorf("scale replicaset %s/%s to %d: %w", rs.Namespace, rs.Name, n, err)
	}
	if sizeChanged {
		dir := "up"
		if n < replicas(rs) {
			dir = "down"
		}
		c.recorder.Eventf(d, v1.EventTypeNormal, "ScalingReplicaSet", "Scaled %s replica set %s from %d to %d", dir, rs.Name, replicas(rs), n)
	}
	return sizeChanged, updated, nil
}

// cleanupDeployment deletes the oldest unused ReplicaSets beyond
// revisionHistoryLimit.
func (c *Controller) cleanupDeployment(ctx context.Context, oldRSs []*apps.ReplicaSet, d *apps.Deployment) error {
	if d.Spec.RevisionHistoryLimit == nil {
		return nil
	}
	var alive []*apps.ReplicaSet
	for _, rs := range oldRSs {
		if rs.DeletionTimestamp == nil {
			alive = append(alive, rs)
		}
	}
	diff := len(alive) - int(*d.Spec.RevisionHistoryLimit)
	if diff <= 0 {
		return nil
	}
	sort.SliceStable(alive, func(i, j int) bool {
		ri, rj := revision(alive[i]), revision(alive[j])
		if ri != rj {
			return ri < rj
		}
		return olderFirst(alive[i], alive[j])
	})
	for _, rs := range alive[:diff] {
		// Only ReplicaSets that are scaled down and settled may go.
		if rs.Status.Replicas != 0 || replicas(rs) != 0 || rs.Generation > rs.Status.ObservedGeneration {
			continue
		}
		err := c.client.AppsV1().ReplicaSets(rs.Namespace).Delete(ctx, rs.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete old replicaset %s/%s: %w", rs.Namespace, rs.Name, err)
		}
	}
	return nil
}
