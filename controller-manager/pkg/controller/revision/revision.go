// Package revision keeps the ControllerRevisions of a StatefulSet or
// DaemonSet: one per distinct pod template, numbered in order of use, named
// <owner>-<hash>, owned by the workload, trimmed to revisionHistoryLimit.
package revision

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
)

// HashLabel is the label carrying a revision's hash, on the revision and on
// the pods made from it.
const HashLabel = appsv1.ControllerRevisionHashLabelKey

// Owner is the workload whose revisions are kept.
type Owner struct {
	Object   metav1.Object
	GVK      schema.GroupVersionKind
	Selector labels.Selector
	// Template is the pod template a revision records.
	Template *corev1.PodTemplateSpec
	// CollisionCount is the owner's status.collisionCount, bumped when a
	// hash names a revision with other data.
	CollisionCount *int32
	// HistoryLimit is how many old revisions to keep.
	HistoryLimit int32
}

// Data is what a revision stores: a patch that restores the pod template,
// in upstream's shape ({"spec":{"template":{…,"$patch":"replace"}}}).
func Data(template *corev1.PodTemplateSpec) ([]byte, error) {
	raw, err := json.Marshal(template)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	m["$patch"] = "replace"
	return json.Marshal(map[string]any{"spec": map[string]any{"template": m}})
}

// Hash is the short, stable, label-safe hash of data and collisionCount.
func Hash(data []byte, collisionCount *int32) string {
	h := fnv.New32a()
	h.Write(data)
	if collisionCount != nil {
		fmt.Fprintf(h, "%d", *collisionCount)
	}
	return rand.SafeEncodeString(fmt.Sprint(h.Sum32()))
}

// List returns the owner's revisions, oldest revision number first.
func List(lister appslisters.ControllerRevisionLister, o *Owner) ([]*appsv1.ControllerRevision, error) {
	all, err := lister.ControllerRevisions(o.Object.GetNamespace()).List(o.Selector)
	if err != nil {
		return nil, err
	}
	var out []*appsv1.ControllerRevision
	for _, r := range all {
		if ref := metav1.GetControllerOf(r); ref != nil && ref.UID == o.Object.GetUID() {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, k int) bool { return out[i].Revision < out[k].Revision })
	return out, nil
}

// Sync makes sure a revision of the owner's current template exists and is
// the newest, and returns it (the update revision) with all revisions after
// the change. A hash collision bumps *o.CollisionCount (the caller writes it
// to status) and retries.
func Sync(ctx context.Context, client kubernetes.Interface, revs []*appsv1.ControllerRevision, o *Owner) (*appsv1.ControllerRevision, []*appsv1.ControllerRevision, error) {
	data, err := Data(o.Template)
	if err != nil {
		return nil, nil, err
	}
	next := int64(1)
	if n := len(revs); n > 0 {
		next = revs[n-1].Revision + 1
	}
	for _, r := range revs {
		if string(r.Data.Raw) != string(data) {
			continue
		}
		if r.Revision == next-1 {
			return r, revs, nil
		}
		// Going back to an old template: it becomes the newest revision.
		upd := r.DeepCopy()
		upd.Revision = next
		got, err := client.AppsV1().ControllerRevisions(upd.Namespace).Update(ctx, upd, metav1.UpdateOptions{})
		if err != nil {
			return nil, nil, fmt.Errorf("renumber revision %s: %w", r.Name, err)
		}
		out := slices.DeleteFunc(slices.Clone(revs), func(x *appsv1.ControllerRevision) bool { return x.UID == r.UID })
		return got, append(out, got), nil
	}
	ns := o.Object.GetNamespace()
	for {
		hash := Hash(data, o.CollisionCount)
		cr := &appsv1.ControllerRevision{
			ObjectMeta: metav1.ObjectMeta{
				Name:            o.Object.GetName() + "-" + hash,
				Namespace:       ns,
				Labels:          map[string]string{HashLabel: hash},
				OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(o.Object, o.GVK)},
			},
			Data:     runtime.RawExtension{Raw: data},
			Revision: next,
		}
		for k, v := range o.Template.Labels {
			cr.Labels[k] = v
		}
		got, err := client.AppsV1().ControllerRevisions(ns).Create(ctx, cr, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			existing, getErr := client.AppsV1().ControllerRevisions(ns).Get(ctx, cr.Name, metav1.GetOptions{})
			if getErr != nil {
				return nil, nil, getErr
			}
			if ref := metav1.GetControllerOf(existing); ref != nil && ref.UID == o.Object.GetUID() && string(existing.Data.Raw) == string(data) {
				got, err = existing, nil
			} else {
				if o.CollisionCount == nil {
					o.CollisionCount = new(int32)
				}
				*o.CollisionCount++
				continue
			}
		}
		if err != nil {
			return nil, nil, fmt.Errorf("create revision: %w", err)
		}
		return got, append(slices.Clone(revs), got), nil
	}
}

// Truncate deletes the oldest revisions beyond o.HistoryLimit, never one in
// live use (named in inUse, by revision name or hash).
func Truncate(ctx context.Context, client kubernetes.Interface, revs []*appsv1.ControllerRevision, o *Owner, inUse map[string]bool) error {
	var old []*appsv1.ControllerRevision
	for _, r := range revs {
		if !inUse[r.Name] && !inUse[r.Labels[HashLabel]] {
			old = append(old, r)
		}
	}
	excess := len(old) - int(o.HistoryLimit)
	for i := 0; i < excess; i++ {
		err := client.AppsV1().ControllerRevisions(old[i].Namespace).Delete(ctx, old[i].Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete revision %s: %w", old[i].Name, err)
		}
	}
	return nil
}

// Template reads the pod template back out of a revision.
func Template(r *appsv1.ControllerRevision) (*corev1.PodTemplateSpec, error) {
	var d struct {
		Spec struct {
			Template corev1.PodTemplateSpec `json:"template"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(r.Data.Raw, &d); err != nil {
		return nil, fmt.Errorf("revision %s: %w", r.Name, err)
	}
	return &d.Spec.Template, nil
}
