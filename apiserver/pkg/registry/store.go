package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/util/validation/field"
	kjson "sigs.k8s.io/json"

	"navarch.dev/apiserver/pkg/storage"
	"navarch.dev/apiserver/pkg/storage/etcd"
	"navarch.dev/apiserver/pkg/storage/watchcache"
)

// Hooks let the server attach side effects to a resource's writes (allocating
// a Service's ClusterIP, releasing it on delete). Each may be nil.
type Hooks struct {
	// BeforeCreate runs after validation and before the object is stored. When
	// the store write fails, the returned undo runs.
	BeforeCreate func(ctx context.Context, obj runtime.Object, dryRun bool) (undo func(), err error)
	// BeforeUpdate runs after validation of an update and before it is stored.
	// commit runs once the write succeeded, undo when it failed.
	BeforeUpdate func(ctx context.Context, obj, old runtime.Object, dryRun bool) (commit, undo func(), err error)
	// AfterDelete runs once the object is gone from storage.
	AfterDelete func(ctx context.Context, obj runtime.Object)
}

// Admission is asked before any write is stored; an error rejects the write.
type Admission interface {
	Admit(ctx context.Context, a *AdmissionAttributes) error
}

// AdmissionAttributes describe one write to admission.
type AdmissionAttributes struct {
	Operation   string // CREATE, UPDATE, DELETE
	Resource    *Resource
	Subresource string
	Namespace   string
	Name        string
	Object      runtime.Object
	OldObject   runtime.Object
	DryRun      bool
}

// Store serves one resource from etcd and its watch cache.
type Store struct {
	Resource  *Resource
	Hooks     Hooks
	Admission Admission

	strategy Strategy
	status   StatusStrategy
	storage  *etcd.Store
	cache    *watchcache.Cache
	prefix   string // key prefix of this resource, ending in "/"
	gvk      schema.GroupVersionKind
	now      func() time.Time
	// lastWrite is the highest revision this store has written.
	lastWrite atomic.Int64
}

// LastWriteRevision is the revision of the newest write made through this
// store; reading the watch cache at it sees this server's own writes.
func (s *Store) LastWriteRevision() int64 { return s.lastWrite.Load() }

func (s *Store) wrote(rev int64) {
	for {
		cur := s.lastWrite.Load()
		if rev <= cur || s.lastWrite.CompareAndSwap(cur, rev) {
			return
		}
	}
}

// NewStore returns the store of res. Keys live under keyPrefix (e.g.
// "/registry/pods/"). Call Run to start its watch cache.
func NewStore(res *Resource, st *etcd.Store, keyPrefix string, cacheCapacity int) *Store {
	s := &Store{
		Resource: res,
		strategy: res.Strategy,
		status:   res.StatusStrategy,
		storage:  st,
		prefix:   strings.TrimSuffix(keyPrefix, "/") + "/",
		gvk:      res.GroupVersionKind(),
		now:      time.Now,
	}
	if s.strategy == nil {
		s.strategy = DefaultStrategy{}
	}
	if s.status == nil {
		s.status = DefaultStrategy{}
	}
	s.cache = watchcache.New(st, s.prefix, s.decodeCached, cacheCapacity)
	return s
}

// Run keeps the watch cache current until ctx ends.
func (s *Store) Run(ctx context.Context) { s.cache.Run(ctx) }

// Cache is the store's watch cache.
func (s *Store) Cache() *watchcache.Cache { return s.cache }

// Key is where the object ns/name is stored.
func (s *Store) Key(ns, name string) string {
	if s.Resource.Namespaced {
		return s.prefix + ns + "/" + name
	}
	return s.prefix + name
}

// nsPrefix is the key prefix of a namespace's objects ("" = all).
func (s *Store) nsPrefix(ns string) string {
	if s.Resource.Namespaced && ns != "" {
		return s.prefix + ns + "/"
	}
	return s.prefix
}

func (s *Store) qualified() schema.GroupResource {
	return s.Resource.GroupVersionResource().GroupResource()
}

// Decode turns a stored value into a typed object with rev as resourceVersion.
func (s *Store) Decode(value []byte, rev int64) (runtime.Object, error) {
	obj := s.Resource.New()
	if err := kjson.UnmarshalCaseSensitivePreserveInts(value, obj); err != nil {
		return nil, fmt.Errorf("decode %s: %w", s.gvk.Kind, err)
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	m.SetResourceVersion(fmt.Sprint(rev))
	obj.GetObjectKind().SetGroupVersionKind(s.gvk)
	return obj, nil
}

func (s *Store) decodeCached(key string, value []byte, rev int64) (*watchcache.Object, error) {
	obj, err := s.Decode(value, rev)
	if err != nil {
		return nil, err
	}
	l, f := s.Attrs(obj)
	return &watchcache.Object{Key: key, Obj: obj, Rev: rev, Labels: l, Fields: f}, nil
}

// Attrs returns the object's labels and selectable fields.
func (s *Store) Attrs(obj runtime.Object) (labels.Set, fields.Set) {
	m, _ := meta.Accessor(obj)
	f := fields.Set{}
	if s.Resource.Fields != nil {
		f = s.Resource.Fields(obj)
		if f == nil {
			f = fields.Set{}
		}
	}
	f["metadata.name"] = m.GetName()
	if s.Resource.Namespaced {
		f["metadata.namespace"] = m.GetNamespace()
	}
	return labels.Set(m.GetLabels()), f
}

// encode is the stored form: the object without its resourceVersion.
func (s *Store) encode(obj runtime.Object) ([]byte, error) {
	m, _ := meta.Accessor(obj)
	rv := m.GetResourceVersion()
	m.SetResourceVersion("")
	obj.GetObjectKind().SetGroupVersionKind(s.gvk)
	b, err := json.Marshal(obj)
	m.SetResourceVersion(rv)
	return b, err
}

func (s *Store) setRV(obj runtime.Object, rev int64) {
	m, _ := meta.Accessor(obj)
	m.SetResourceVersion(fmt.Sprint(rev))
}

// Get returns the object ns/name. resourceVersion "" reads etcd; anything else
// may be served from the watch cache once it is at least that fresh.
func (s *Store) Get(ctx context.Context, ns, name, resourceVersion string) (runtime.Object, error) {
	key := s.Key(ns, name)
	if resourceVersion != "" {
		rv, err := parseRV(resourceVersion)
		if err != nil {
			return nil, err
		}
		o, _, err := s.cache.Get(ctx, key, rv)
		if err != nil {
			return nil, apierrors.NewTimeoutError(err.Error(), 1)
		}
		if o == nil {
			return nil, apierrors.NewNotFound(s.qualified(), name)
		}
		return o.Obj.DeepCopyObject(), nil
	}
	kv, err := s.storage.Get(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, apierrors.NewNotFound(s.qualified(), name)
	}
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	return s.Decode(kv.Value, kv.ModRevision)
}

// WriteOptions are the options common to writes.
type WriteOptions struct {
	DryRun bool
}

// Create stores a new object in namespace ns (ignored for cluster-scoped kinds).
func (s *Store) Create(ctx context.Context, ns string, obj runtime.Object, opts WriteOptions) (runtime.Object, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	if s.Resource.Namespaced {
		if m.GetNamespace() != "" && m.GetNamespace() != ns {
			return nil, apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
		}
		m.SetNamespace(ns)
	} else {
		m.SetNamespace("")
	}
	if m.GetName() == "" && m.GetGenerateName() != "" {
		m.SetName(generateName(m.GetGenerateName()))
	}
	if m.GetName() == "" {
		return nil, apierrors.NewInvalid(s.gvk.GroupKind(), "", field.ErrorList{
			field.Required(field.NewPath("metadata", "name"), "name or generateName is required"),
		})
	}
	m.SetUID(uuid.NewUUID())
	m.SetCreationTimestamp(metav1.NewTime(s.now().Truncate(time.Second)))
	m.SetResourceVersion("")
	m.SetDeletionTimestamp(nil)
	m.SetDeletionGracePeriodSeconds(nil)
	m.SetSelfLink("")
	if s.Resource.Status {
		if !s.Resource.CreateWithStatus {
			resetStatus(obj)
		}
		m.SetGeneration(1)
	}
	s.strategy.PrepareForCreate(obj)
	s.strategy.Default(obj)
	if errs := s.strategy.Validate(obj); len(errs) > 0 {
		return nil, apierrors.NewInvalid(s.gvk.GroupKind(), m.GetName(), errs)
	}
	if s.Admission != nil {
		if err := s.Admission.Admit(ctx, &AdmissionAttributes{Operation: "CREATE", Resource: s.Resource, Namespace: ns, Name: m.GetName(), Object: obj, DryRun: opts.DryRun}); err != nil {
			return nil, err
		}
	}
	var undo func()
	if s.Hooks.BeforeCreate != nil {
		if undo, err = s.Hooks.BeforeCreate(ctx, obj, opts.DryRun); err != nil {
			return nil, err
		}
	}
	if opts.DryRun {
		return obj, nil
	}
	b, err := s.encode(obj)
	if err != nil {
		runUndo(undo)
		return nil, apierrors.NewInternalError(err)
	}
	rev, err := s.storage.Create(ctx, s.Key(ns, m.GetName()), b)
	if err != nil {
		runUndo(undo)
		if errors.Is(err, storage.ErrExists) {
			return nil, apierrors.NewAlreadyExists(s.qualified(), m.GetName())
		}
		return nil, apierrors.NewInternalError(err)
	}
	s.wrote(rev)
	s.setRV(obj, rev)
	obj.GetObjectKind().SetGroupVersionKind(s.gvk)
	return obj, nil
}

func runUndo(f func()) {
	if f != nil {
		f()
	}
}

// UpdateFunc computes the new object from a copy of the current one. A nil
// current means the object does not exist (only when creating on update).
type UpdateFunc func(current runtime.Object) (runtime.Object, error)

// UpdateOptions are the options of Update.
type UpdateOptions struct {
	WriteOptions
	// Subresource is "", "status", or another subresource name whose update the
	// caller computes itself ("scale", "finalize", "binding").
	Subresource string
	// AllowCreate creates the object when it does not exist (PUT on some kinds).
	AllowCreate bool
	// Force skips the status split (internal writes such as bindings).
	Force bool
}

// Update reads the current object, applies fn, validates and stores the result
// with a compare-and-swap, retrying with a fresh read on conflict unless the
// new object names a resourceVersion, which must then match (409 otherwise).
// It reports whether the object was created.
func (s *Store) Update(ctx context.Context, ns, name string, fn UpdateFunc, opts UpdateOptions) (runtime.Object, bool, error) {
	key := s.Key(ns, name)
	// The first attempt starts from the watch cache's copy, as upstream's
	// GuaranteedUpdate does with a cached object: the write is conditional
	// on its revision, so a stale copy costs a retry, not a lost update.
	// Any failure, and a no-op (which writes nothing, so nothing checks
	// the revision), is redone from etcd, so a stale copy decides nothing.
	if o := s.cache.Current(key); o != nil && !opts.DryRun {
		old := o.Obj.DeepCopyObject()
		if obj, err := fn(old.DeepCopyObject()); err == nil {
			if out, _, err := s.update(ctx, ns, name, obj, old, o.Rev, opts); err == nil && out != old {
				return out, false, nil
			}
		}
	}
	for attempt := 0; ; attempt++ {
		kv, err := s.storage.Get(ctx, key)
		if errors.Is(err, storage.ErrNotFound) {
			if !opts.AllowCreate || opts.Subresource != "" {
				return nil, false, apierrors.NewNotFound(s.qualified(), name)
			}
			obj, err := fn(nil)
			if err != nil {
				return nil, false, err
			}
			m, err := meta.Accessor(obj)
			if err != nil {
				return nil, false, apierrors.NewBadRequest(err.Error())
			}
			if m.GetName() != name {
				return nil, false, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", m.GetName(), name))
			}
			created, err := s.Create(ctx, ns, obj, opts.WriteOptions)
			if apierrors.IsAlreadyExists(err) && attempt < 5 {
				continue
			}
			return created, err == nil, err
		}
		if err != nil {
			return nil, false, apierrors.NewInternalError(err)
		}
		old, err := s.Decode(kv.Value, kv.ModRevision)
		if err != nil {
			return nil, false, apierrors.NewInternalError(err)
		}
		obj, err := fn(old.DeepCopyObject())
		if err != nil {
			return nil, false, err
		}
		out, retry, err := s.update(ctx, ns, name, obj, old, kv.ModRevision, opts)
		if retry && attempt < 100 {
			continue
		}
		return out, false, err
	}
}

func (s *Store) update(ctx context.Context, ns, name string, obj, old runtime.Object, rev int64, opts UpdateOptions) (runtime.Object, bool, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, false, apierrors.NewBadRequest(err.Error())
	}
	om, _ := meta.Accessor(old)
	if m.GetName() != "" && m.GetName() != name {
		return nil, false, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", m.GetName(), name))
	}
	if s.Resource.Namespaced && m.GetNamespace() != "" && m.GetNamespace() != ns {
		return nil, false, apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
	}
	clientRV := m.GetResourceVersion()
	if clientRV != "" && clientRV != om.GetResourceVersion() {
		return nil, false, s.conflict(name, errors.New("the object has been modified; please apply your changes to the latest version and try again"))
	}
	if uid := m.GetUID(); uid != "" && uid != om.GetUID() {
		return nil, false, s.conflict(name, fmt.Errorf("Precondition failed: UID in precondition: %s, UID in object meta: %s", uid, om.GetUID()))
	}
	// System-owned metadata is kept from the stored object.
	m.SetName(name)
	m.SetNamespace(om.GetNamespace())
	m.SetUID(om.GetUID())
	m.SetCreationTimestamp(om.GetCreationTimestamp())
	m.SetDeletionTimestamp(om.GetDeletionTimestamp())
	m.SetDeletionGracePeriodSeconds(om.GetDeletionGracePeriodSeconds())
	m.SetGeneration(om.GetGeneration())
	m.SetResourceVersion(om.GetResourceVersion())
	m.SetSelfLink("")
	if om.GetDeletionTimestamp() != nil && len(m.GetFinalizers()) > len(om.GetFinalizers()) && !sameStrings(m.GetFinalizers(), om.GetFinalizers()) && hasNew(m.GetFinalizers(), om.GetFinalizers()) {
		return nil, false, apierrors.NewForbidden(s.qualified(), name, errors.New("no new finalizers can be added if the object is being deleted"))
	}

	var errs field.ErrorList
	switch {
	case opts.Force:
	case opts.Subresource == "status":
		// Writes to /status change the status and nothing else.
		status := statusOf(obj)
		obj = old.DeepCopyObject()
		setStatus(obj, status)
		m, _ = meta.Accessor(obj)
		errs = s.status.ValidateStatusUpdate(obj, old)
	case opts.Subresource == "":
		if s.Resource.Status {
			setStatus(obj, statusOf(old))
		}
		s.strategy.PrepareForUpdate(obj, old)
		s.strategy.Default(obj)
		errs = s.strategy.ValidateUpdate(obj, old)
	default:
		s.strategy.Default(obj)
		errs = s.strategy.ValidateUpdate(obj, old)
	}
	if len(errs) > 0 {
		return nil, false, apierrors.NewInvalid(s.gvk.GroupKind(), name, errs)
	}
	if s.Resource.Status && specChanged(obj, old) {
		m.SetGeneration(om.GetGeneration() + 1)
	}
	if s.Admission != nil {
		if err := s.Admission.Admit(ctx, &AdmissionAttributes{Operation: "UPDATE", Resource: s.Resource, Subresource: opts.Subresource, Namespace: ns, Name: name, Object: obj, OldObject: old, DryRun: opts.DryRun}); err != nil {
			return nil, false, err
		}
	}
	var commit, undo func()
	if s.Hooks.BeforeUpdate != nil {
		if commit, undo, err = s.Hooks.BeforeUpdate(ctx, obj, old, opts.DryRun); err != nil {
			return nil, false, err
		}
	}
	b, err := s.encode(obj)
	if err != nil {
		runUndo(undo)
		return nil, false, apierrors.NewInternalError(err)
	}
	ob, _ := s.encode(old)
	if string(b) == string(ob) {
		// Nothing changed: no write, and the resourceVersion stays.
		runUndo(undo)
		return old, false, nil
	}
	if finalizeDeletion(m) {
		if opts.DryRun {
			runUndo(undo)
			return obj, false, nil
		}
		delRev, _, err := s.storage.Delete(ctx, s.Key(ns, name), rev)
		if err == nil {
			s.wrote(delRev)
		}
		if errors.Is(err, storage.ErrConflict) {
			runUndo(undo)
			return nil, clientRV == "", s.conflict(name, errors.New("the object has been modified; please apply your changes to the latest version and try again"))
		}
		if err != nil {
			runUndo(undo)
			return nil, false, apierrors.NewInternalError(err)
		}
		runUndo(commit)
		if s.Hooks.AfterDelete != nil {
			s.Hooks.AfterDelete(ctx, obj)
		}
		return obj, false, nil
	}
	if opts.DryRun {
		runUndo(undo)
		return obj, false, nil
	}
	newRev, _, err := s.storage.Update(ctx, s.Key(ns, name), b, rev)
	if errors.Is(err, storage.ErrConflict) || errors.Is(err, storage.ErrNotFound) {
		runUndo(undo)
		if errors.Is(err, storage.ErrNotFound) {
			return nil, false, apierrors.NewNotFound(s.qualified(), name)
		}
		return nil, clientRV == "", s.conflict(name, errors.New("the object has been modified; please apply your changes to the latest version and try again"))
	}
	if err != nil {
		runUndo(undo)
		return nil, false, apierrors.NewInternalError(err)
	}
	runUndo(commit)
	s.wrote(newRev)
	s.setRV(obj, newRev)
	obj.GetObjectKind().SetGroupVersionKind(s.gvk)
	return obj, false, nil
}

func (s *Store) conflict(name string, err error) error {
	return apierrors.NewConflict(s.qualified(), name, err)
}

// finalizeDeletion reports whether an object being deleted has nothing left
// holding it: no finalizers and no grace period still running.
func finalizeDeletion(m metav1.Object) bool {
	if m.GetDeletionTimestamp() == nil || len(m.GetFinalizers()) > 0 {
		return false
	}
	g := m.GetDeletionGracePeriodSeconds()
	return g == nil || *g == 0
}

func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func hasNew(now, before []string) bool {
	seen := map[string]bool{}
	for _, f := range before {
		seen[f] = true
	}
	for _, f := range now {
		if !seen[f] {
			return true
		}
	}
	return false
}

// DeleteOptions are the parts of metav1.DeleteOptions the store acts on.
type DeleteOptions struct {
	WriteOptions
	GracePeriodSeconds *int64
	Preconditions      *metav1.Preconditions
	PropagationPolicy  *metav1.DeletionPropagation
}

// Delete deletes ns/name. Objects with finalizers, and pods with a grace period
// on a node, get a deletionTimestamp and stay until their finalizers are gone
// or the kubelet finishes; immediate reports whether the object is gone now.
// The returned object is the last state seen.
func (s *Store) Delete(ctx context.Context, ns, name string, opts DeleteOptions) (obj runtime.Object, immediate bool, err error) {
	key := s.Key(ns, name)
	for attempt := 0; attempt < 100; attempt++ {
		kv, err := s.storage.Get(ctx, key)
		if errors.Is(err, storage.ErrNotFound) {
			return nil, false, apierrors.NewNotFound(s.qualified(), name)
		}
		if err != nil {
			return nil, false, apierrors.NewInternalError(err)
		}
		cur, err := s.Decode(kv.Value, kv.ModRevision)
		if err != nil {
			return nil, false, apierrors.NewInternalError(err)
		}
		m, _ := meta.Accessor(cur)
		if p := opts.Preconditions; p != nil {
			if p.UID != nil && *p.UID != m.GetUID() {
				return nil, false, s.conflict(name, fmt.Errorf("Precondition failed: UID in precondition: %s, UID in object meta: %s", *p.UID, m.GetUID()))
			}
			if p.ResourceVersion != nil && *p.ResourceVersion != m.GetResourceVersion() {
				return nil, false, s.conflict(name, fmt.Errorf("Precondition failed: ResourceVersion in precondition: %s, ResourceVersion in object meta: %s", *p.ResourceVersion, m.GetResourceVersion()))
			}
		}
		if s.Admission != nil {
			if err := s.Admission.Admit(ctx, &AdmissionAttributes{Operation: "DELETE", Resource: s.Resource, Namespace: ns, Name: name, OldObject: cur, DryRun: opts.DryRun}); err != nil {
				return nil, false, err
			}
		}
		updated := cur.DeepCopyObject()
		um, _ := meta.Accessor(updated)
		pending := s.markDeletion(updated, um, opts)
		if pending {
			if opts.DryRun {
				return updated, false, nil
			}
			if s.encodeEqual(updated, cur) {
				return cur, false, nil
			}
			b, err := s.encode(updated)
			if err != nil {
				return nil, false, apierrors.NewInternalError(err)
			}
			rev, _, err := s.storage.Update(ctx, key, b, kv.ModRevision)
			if errors.Is(err, storage.ErrConflict) {
				continue
			}
			if err == nil {
				s.wrote(rev)
			}
			if errors.Is(err, storage.ErrNotFound) {
				return nil, false, apierrors.NewNotFound(s.qualified(), name)
			}
			if err != nil {
				return nil, false, apierrors.NewInternalError(err)
			}
			s.setRV(updated, rev)
			return updated, false, nil
		}
		if opts.DryRun {
			return cur, true, nil
		}
		delRev, _, err := s.storage.Delete(ctx, key, kv.ModRevision)
		if errors.Is(err, storage.ErrConflict) {
			continue
		}
		if err == nil {
			s.wrote(delRev)
		}
		if errors.Is(err, storage.ErrNotFound) {
			return nil, false, apierrors.NewNotFound(s.qualified(), name)
		}
		if err != nil {
			return nil, false, apierrors.NewInternalError(err)
		}
		if s.Hooks.AfterDelete != nil {
			s.Hooks.AfterDelete(ctx, cur)
		}
		return cur, true, nil
	}
	return nil, false, s.conflict(name, errors.New("too many concurrent changes, try again"))
}

func (s *Store) encodeEqual(a, b runtime.Object) bool {
	x, err1 := s.encode(a)
	y, err2 := s.encode(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

// markDeletion sets the deletion state on obj and reports whether the object
// must stay (finalizers, or a pod's grace period), or may be removed now.
func (s *Store) markDeletion(obj runtime.Object, m metav1.Object, opts DeleteOptions) bool {
	now := metav1.NewTime(s.now())
	if opts.PropagationPolicy != nil {
		switch *opts.PropagationPolicy {
		case metav1.DeletePropagationForeground:
			m.SetFinalizers(addString(removeString(m.GetFinalizers(), metav1.FinalizerOrphanDependents), metav1.FinalizerDeleteDependents))
		case metav1.DeletePropagationOrphan:
			m.SetFinalizers(addString(removeString(m.GetFinalizers(), metav1.FinalizerDeleteDependents), metav1.FinalizerOrphanDependents))
		}
	}
	grace := int64(0)
	if pod, ok := obj.(*corev1.Pod); ok {
		grace = podGracePeriod(pod, opts.GracePeriodSeconds)
	}
	if ns, ok := obj.(*corev1.Namespace); ok && len(ns.Spec.Finalizers) > 0 {
		ns.Status.Phase = corev1.NamespaceTerminating
		if m.GetDeletionTimestamp() == nil {
			m.SetDeletionTimestamp(&now)
			m.SetDeletionGracePeriodSeconds(&grace)
		}
		return true
	}
	if grace > 0 {
		// A pod on a node gets its grace period: the kubelet stops it and then
		// deletes it with grace 0. A second delete may only shorten the period.
		deadline := metav1.NewTime(now.Add(time.Duration(grace) * time.Second))
		if cur := m.GetDeletionGracePeriodSeconds(); cur == nil || grace < *cur {
			m.SetDeletionTimestamp(&deadline)
			m.SetDeletionGracePeriodSeconds(&grace)
			if m.GetGeneration() > 0 {
				m.SetGeneration(m.GetGeneration() + 1)
			}
		}
		return true
	}
	if len(m.GetFinalizers()) > 0 {
		if m.GetDeletionTimestamp() == nil {
			m.SetDeletionTimestamp(&now)
			zero := int64(0)
			m.SetDeletionGracePeriodSeconds(&zero)
			if m.GetGeneration() > 0 {
				m.SetGeneration(m.GetGeneration() + 1)
			}
		} else if g := m.GetDeletionGracePeriodSeconds(); g != nil && *g > 0 {
			zero := int64(0)
			m.SetDeletionGracePeriodSeconds(&zero)
		}
		return true
	}
	return false
}

// podGracePeriod is the grace a pod gets: none when it never ran on a node or
// has finished, else the request's or the pod's terminationGracePeriodSeconds.
func podGracePeriod(pod *corev1.Pod, requested *int64) int64 {
	if pod.Spec.NodeName == "" || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return 0
	}
	if requested != nil {
		if *requested < 0 {
			return 1
		}
		return *requested
	}
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		return *pod.Spec.TerminationGracePeriodSeconds
	}
	return corev1.DefaultTerminationGracePeriodSeconds
}

func addString(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

func removeString(list []string, s string) []string {
	out := list[:0:0]
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

// generateName appends five random characters, as upstream does.
func generateName(base string) string {
	const maxGeneratedNameLength = 63 - 5
	if len(base) > maxGeneratedNameLength {
		base = base[:maxGeneratedNameLength]
	}
	return base + utilrand.String(5)
}

func parseRV(rv string) (int64, error) {
	var n int64
	if _, err := fmt.Sscan(rv, &n); err != nil || n < 0 {
		return 0, apierrors.NewBadRequest(fmt.Sprintf("invalid resource version: %q", rv))
	}
	return n, nil
}

// statusOf returns the object's Status field value (invalid when it has none).
func statusOf(obj runtime.Object) reflect.Value {
	v := reflect.ValueOf(obj).Elem().FieldByName("Status")
	if !v.IsValid() {
		return reflect.Value{}
	}
	c := reflect.New(v.Type()).Elem()
	c.Set(v)
	return c
}

func setStatus(obj runtime.Object, status reflect.Value) {
	v := reflect.ValueOf(obj).Elem().FieldByName("Status")
	if v.IsValid() && status.IsValid() && v.CanSet() {
		v.Set(status)
	}
}

func resetStatus(obj runtime.Object) {
	v := reflect.ValueOf(obj).Elem().FieldByName("Status")
	if v.IsValid() && v.CanSet() {
		v.Set(reflect.Zero(v.Type()))
	}
}

// specChanged reports whether anything but metadata and status differs.
func specChanged(a, b runtime.Object) bool {
	va, vb := reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem()
	for i := 0; i < va.NumField(); i++ {
		name := va.Type().Field(i).Name
		if name == "TypeMeta" || name == "ObjectMeta" || name == "Status" {
			continue
		}
		// Compare through pointers: boxing the fields would copy them.
		if !reflect.DeepEqual(va.Field(i).Addr().Interface(), vb.Field(i).Addr().Interface()) {
			return true
		}
	}
	return false
}
