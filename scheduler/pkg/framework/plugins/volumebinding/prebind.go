package volumebinding

import (
	"context"
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"navarch.dev/scheduler/pkg/framework"
)

// PreBind implements framework.PreBindPlugin: it writes the bindings Reserve
// took and waits until the informers show each claim bound, so the pod is
// bound to the node only once its volumes are.
func (b *VolumeBinding) PreBind(ctx context.Context, state *framework.CycleState, pod *v1.Pod, nodeName string) *framework.Status {
	s, err := readState(state)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	chosen := s.chosen
	s.mu.Unlock()
	if len(chosen) == 0 {
		return nil
	}
	for _, bd := range chosen {
		if err := b.write(ctx, bd, nodeName); err != nil {
			return framework.AsStatus(fmt.Errorf("binding volumes: %w", err))
		}
	}
	if err := b.waitBound(ctx, chosen); err != nil {
		return framework.AsStatus(fmt.Errorf("binding volumes: %w", err))
	}
	// The informers now show the bindings: nothing needs assuming.
	b.forget(chosen)
	return nil
}

// write sends one binding to the apiserver. For a volume: its claimRef
// first (a crash then leaves the volume reserved for the claim, which the
// next attempt or the PersistentVolume controller completes), then the
// claim's volumeName and bind-completed annotation. For provisioning: the
// claim's selected-node annotation, for the provisioner.
func (b *VolumeBinding) write(ctx context.Context, bd binding, nodeName string) error {
	claims := b.client.CoreV1().PersistentVolumeClaims(bd.pvc.Namespace)
	pvc, err := claims.Get(ctx, bd.pvc.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get claim %s: %w", claimKey(bd.pvc), err)
	}
	if pvc.UID != bd.pvc.UID {
		return fmt.Errorf("claim %s was recreated", claimKey(bd.pvc))
	}
	if bd.pv == nil {
		if pvc.Annotations[AnnSelectedNode] == nodeName {
			return nil
		}
		pvc = pvc.DeepCopy()
		setAnnotation(&pvc.ObjectMeta, AnnSelectedNode, nodeName)
		if _, err := claims.Update(ctx, pvc, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("select node %s for claim %s: %w", nodeName, claimKey(bd.pvc), err)
		}
		return nil
	}
	pv, err := b.client.CoreV1().PersistentVolumes().Get(ctx, bd.pv.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get volume %s: %w", bd.pv.Name, err)
	}
	if ref := pv.Spec.ClaimRef; ref == nil || ref.UID != pvc.UID {
		if ref != nil && (ref.Namespace != pvc.Namespace || ref.Name != pvc.Name || ref.UID != "") {
			return fmt.Errorf("volume %s was taken by claim %s/%s", pv.Name, ref.Namespace, ref.Name)
		}
		pv = pv.DeepCopy()
		if pv.Spec.ClaimRef == nil {
			setAnnotation(&pv.ObjectMeta, AnnBoundByController, "yes")
		}
		pv.Spec.ClaimRef = &v1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1",
			Namespace: pvc.Namespace, Name: pvc.Name, UID: pvc.UID, ResourceVersion: pvc.ResourceVersion}
		if _, err := b.client.CoreV1().PersistentVolumes().Update(ctx, pv, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("bind volume %s to claim %s: %w", pv.Name, claimKey(pvc), err)
		}
	}
	// The PersistentVolume controller, seeing the claimRef, may complete
	// the claim side at the same time: on a conflict, look again.
	for attempt := 0; ; attempt++ {
		if pvc.Spec.VolumeName == pv.Name && pvc.Annotations[AnnBindCompleted] == "yes" {
			return nil
		}
		if pvc.Spec.VolumeName != "" && pvc.Spec.VolumeName != pv.Name {
			return fmt.Errorf("claim %s was bound to volume %s meanwhile", claimKey(pvc), pvc.Spec.VolumeName)
		}
		update := pvc.DeepCopy()
		if update.Spec.VolumeName == "" {
			setAnnotation(&update.ObjectMeta, AnnBoundByController, "yes")
		}
		update.Spec.VolumeName = pv.Name
		setAnnotation(&update.ObjectMeta, AnnBindCompleted, "yes")
		_, err := claims.Update(ctx, update, metav1.UpdateOptions{})
		if err == nil {
			return nil
		}
		if !apierrors.IsConflict(err) || attempt == 4 {
			return fmt.Errorf("bind claim %s to volume %s: %w", claimKey(pvc), pv.Name, err)
		}
		if pvc, err = claims.Get(ctx, pvc.Name, metav1.GetOptions{}); err != nil {
			return fmt.Errorf("get claim %s: %w", claimKey(bd.pvc), err)
		}
	}
}

func setAnnotation(m *metav1.ObjectMeta, k, v string) {
	if m.Annotations == nil {
		m.Annotations = map[string]string{}
	}
	m.Annotations[k] = v
}

// waitBound polls the informers until every claim is bound (volumeName set,
// bind-completed, and its volume's claimRef pointing back), or fails when a
// claim is gone, a provisioning was given up (selected-node removed), or
// the bind timeout passes.
func (b *VolumeBinding) waitBound(ctx context.Context, bindings []binding) error {
	deadline := time.Now().Add(b.bindTimeout)
	tick := time.NewTicker(b.poll)
	defer tick.Stop()
	// The informers may not show the selected-node annotation PreBind just
	// wrote yet: its absence means failure only once it was seen.
	selected := map[string]bool{}
	for {
		done, err := b.allBound(bindings, selected)
		if err != nil || done {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %v waiting for the claims to be bound", b.bindTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

func (b *VolumeBinding) allBound(bindings []binding, selected map[string]bool) (bool, error) {
	for _, bd := range bindings {
		pvc, err := b.pvcs.PersistentVolumeClaims(bd.pvc.Namespace).Get(bd.pvc.Name)
		if apierrors.IsNotFound(err) {
			return false, fmt.Errorf("claim %s was deleted", claimKey(bd.pvc))
		}
		if err != nil {
			return false, err
		}
		if pvc.UID != bd.pvc.UID {
			return false, fmt.Errorf("claim %s was recreated", claimKey(bd.pvc))
		}
		if pvc.Spec.VolumeName == "" || pvc.Annotations[AnnBindCompleted] == "" {
			if bd.pv == nil {
				// The provisioner removes the annotation when it gives up.
				switch {
				case pvc.Annotations[AnnSelectedNode] != "":
					selected[claimKey(pvc)] = true
				case selected[claimKey(pvc)]:
					return false, fmt.Errorf("provisioning failed for claim %s", claimKey(pvc))
				}
			}
			return false, nil
		}
		if bd.pv != nil && pvc.Spec.VolumeName != bd.pv.Name {
			return false, fmt.Errorf("claim %s was bound to volume %s, not %s", claimKey(pvc), pvc.Spec.VolumeName, bd.pv.Name)
		}
		pv, err := b.pvs.Get(pvc.Spec.VolumeName)
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if ref := pv.Spec.ClaimRef; ref == nil || ref.UID != pvc.UID {
			return false, nil
		}
	}
	return true, nil
}
