// Package controllerref decides which objects a controller owns: it adopts
// orphans its selector matches and releases owned objects its selector no
// longer matches, by patching their ownerReferences.
package controllerref

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// NewControllerRef returns a controller reference to owner of kind gvk,
// blocking the owner's foreground deletion, as controllers set on children.
func NewControllerRef(owner metav1.Object, gvk schema.GroupVersionKind) *metav1.OwnerReference {
	yes := true
	return &metav1.OwnerReference{
		APIVersion:         gvk.GroupVersion().String(),
		Kind:               gvk.Kind,
		Name:               owner.GetName(),
		UID:                owner.GetUID(),
		Controller:         &yes,
		BlockOwnerDeletion: &yes,
	}
}

// PatchFunc applies a strategic merge patch to the named child.
type PatchFunc func(ctx context.Context, namespace, name string, patch []byte) error

// Manager claims children of type T for one owner.
type Manager[T metav1.Object] struct {
	Owner    metav1.Object
	OwnerGVK schema.GroupVersionKind
	Selector labels.Selector
	// CanAdopt is called at most once, before the first adoption; it
	// should re-read the owner from the API (not the cache) and fail when
	// the owner is gone or being deleted, so a stale cache never adopts
	// for a dead owner.
	CanAdopt func(ctx context.Context) error
	Patch    PatchFunc

	once     sync.Once
	adoptErr error
}

// Claim returns the objects among objs that belong to the owner after
// adopting matching orphans and releasing owned non-matching ones. Children
// that vanish meanwhile are skipped; other errors are returned with the
// claimed objects found so far.
func (m *Manager[T]) Claim(ctx context.Context, objs []T) ([]T, error) {
	var claimed []T
	var errs []error
	for _, obj := range objs {
		ok, err := m.claimOne(ctx, obj)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			claimed = append(claimed, obj)
		}
	}
	if len(errs) > 0 {
		return claimed, fmt.Errorf("claim children of %s/%s: %v", m.Owner.GetNamespace(), m.Owner.GetName(), errs)
	}
	return claimed, nil
}

func (m *Manager[T]) claimOne(ctx context.Context, obj T) (bool, error) {
	matches := m.Selector.Matches(labels.Set(obj.GetLabels()))
	if ref := metav1.GetControllerOfNoCopy(obj); ref != nil {
		if ref.UID != m.Owner.GetUID() {
			return false, nil
		}
		if matches {
			return true, nil
		}
		// Ours but no longer selected: release, unless the owner is going
		// away anyway (the garbage collector handles its children then).
		if m.Owner.GetDeletionTimestamp() != nil {
			return false, nil
		}
		if err := m.release(ctx, obj); err != nil {
			if apierrors.IsNotFound(err) {
				return false, nil
			}
			return false, err
		}
		return false, nil
	}
	if m.Owner.GetDeletionTimestamp() != nil || !matches || obj.GetDeletionTimestamp() != nil {
		return false, nil
	}
	m.once.Do(func() {
		if m.CanAdopt != nil {
			m.adoptErr = m.CanAdopt(ctx)
		}
	})
	if m.adoptErr != nil {
		return false, m.adoptErr
	}
	if err := m.adopt(ctx, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

type patchMeta struct {
	Metadata patchObjectMeta `json:"metadata"`
}

type patchObjectMeta struct {
	OwnerReferences []map[string]any `json:"ownerReferences"`
	UID             types.UID        `json:"uid"`
}

func (m *Manager[T]) adopt(ctx context.Context, obj T) error {
	ref := NewControllerRef(m.Owner, m.OwnerGVK)
	patch, err := json.Marshal(patchMeta{Metadata: patchObjectMeta{
		OwnerReferences: []map[string]any{{
			"apiVersion": ref.APIVersion, "kind": ref.Kind, "name": ref.Name, "uid": ref.UID,
			"controller": true, "blockOwnerDeletion": true,
		}},
		// The uid makes the patch fail if the child was replaced by a
		// namesake since it was listed.
		UID: obj.GetUID(),
	}})
	if err != nil {
		return err
	}
	return m.Patch(ctx, obj.GetNamespace(), obj.GetName(), patch)
}

func (m *Manager[T]) release(ctx context.Context, obj T) error {
	patch, err := json.Marshal(patchMeta{Metadata: patchObjectMeta{
		OwnerReferences: []map[string]any{{"$patch": "delete", "uid": m.Owner.GetUID()}},
		UID:             obj.GetUID(),
	}})
	if err != nil {
		return err
	}
	err = m.Patch(ctx, obj.GetNamespace(), obj.GetName(), patch)
	if apierrors.IsInvalid(err) {
		// The child is being deleted or changed under us; nothing to release.
		return nil
	}
	return err
}

// RecheckDeletionTimestamp returns a CanAdopt function from a fresh read of
// the owner: it fails when the owner was replaced or is being deleted.
func RecheckDeletionTimestamp(uid types.UID, get func(ctx context.Context) (metav1.Object, error)) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		fresh, err := get(ctx)
		if err != nil {
			return err
		}
		if fresh.GetUID() != uid {
			return fmt.Errorf("original owner %v is gone: got uid %v", uid, fresh.GetUID())
		}
		if fresh.GetDeletionTimestamp() != nil {
			return fmt.Errorf("%s/%s has just been deleted at %v", fresh.GetNamespace(), fresh.GetName(), fresh.GetDeletionTimestamp())
		}
		return nil
	}
}
