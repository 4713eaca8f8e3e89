// Package registry serves every API resource through one generic store. A kind
// takes part by describing itself as a Resource: its names, its Go types and the
// Strategy hooks that default, validate and prepare its objects.
package registry

import (
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Resource describes one API resource (one URL collection) to the generic store,
// discovery, the Table printers and the OpenAPI documents.
type Resource struct {
	// GroupVersion served, e.g. {Group: "apps", Version: "v1"}; core is {"", "v1"}.
	GroupVersion schema.GroupVersion
	// Plural is the URL segment ("pods"), Singular the lower-case kind ("pod").
	Plural, Singular string
	// Kind and ListKind as in the JSON bodies ("Pod", "PodList").
	Kind, ListKind string
	// Namespaced resources live under /namespaces/<ns>/.
	Namespaced bool
	// ShortNames and Categories as upstream's discovery lists them.
	ShortNames, Categories []string
	// New and NewList return empty typed objects (&corev1.Pod{}, &corev1.PodList{}).
	New     func() runtime.Object
	NewList func() runtime.Object
	// Strategy defaults and validates objects; nil means DefaultStrategy.
	Strategy Strategy
	// Status is true when the resource has a status subresource: writes to the
	// main resource keep the stored status and writes to /status keep everything else.
	Status bool
	// StatusStrategy validates writes to /status; nil accepts any status.
	StatusStrategy StatusStrategy
	// CreateWithStatus keeps the status a client sends on create (a kubelet
	// registering its Node); otherwise create starts from an empty status.
	CreateWithStatus bool
	// Scale is true when the resource has a scale subresource (spec.replicas,
	// status.replicas and the selector, served as autoscaling/v1 Scale).
	Scale bool
	// Fields returns the kind's selectable fields beyond metadata.name and
	// metadata.namespace (for pods: spec.nodeName, status.phase, ...). May be nil.
	Fields func(obj runtime.Object) fields.Set
	// Storage, when set, says that objects of this resource are stored as another
	// resource's version (events.k8s.io/v1 events are stored as core/v1 events) and
	// how to convert between the two.
	Storage *StorageVersion
}

// StorageVersion names the resource whose stored objects a Resource shares, and
// the conversions between the served and the stored type.
type StorageVersion struct {
	GroupVersion schema.GroupVersion
	Plural       string
	// ToStorage converts a served object to the stored type.
	ToStorage func(runtime.Object) (runtime.Object, error)
	// FromStorage converts a stored object to the served type.
	FromStorage func(runtime.Object) (runtime.Object, error)
}

// GroupVersionResource is the resource's served identity.
func (r *Resource) GroupVersionResource() schema.GroupVersionResource {
	return r.GroupVersion.WithResource(r.Plural)
}

// GroupVersionKind is the kind served at the resource.
func (r *Resource) GroupVersionKind() schema.GroupVersionKind {
	return r.GroupVersion.WithKind(r.Kind)
}

// Strategy holds a kind's hooks. The store calls them in this order: on create,
// PrepareForCreate, Default, Validate; on update, PrepareForUpdate, Default,
// ValidateUpdate. Objects handed in are the store's own copies and may be changed.
// The store itself already handles metadata (name, uid, resourceVersion,
// generation, timestamps) and the status split for resources with Status set.
type Strategy interface {
	// PrepareForCreate sets what a new object gets regardless of what the client
	// sent (a pod's status.phase Pending, a namespace's finalizers).
	PrepareForCreate(obj runtime.Object)
	// PrepareForUpdate carries over from old what an update may not change beyond
	// the status split (e.g. a Service's allocated clusterIP when left empty).
	PrepareForUpdate(obj, old runtime.Object)
	// Default fills unset fields the way upstream's defaulters do.
	Default(obj runtime.Object)
	// Validate checks a new object; a non-empty list is a 422 Invalid.
	Validate(obj runtime.Object) field.ErrorList
	// ValidateUpdate checks an update against the stored object (immutable fields).
	ValidateUpdate(obj, old runtime.Object) field.ErrorList
}

// StatusStrategy validates writes to the status subresource.
type StatusStrategy interface {
	ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList
}

// DefaultStrategy accepts every object unchanged. Kinds embed it and override
// what they need.
type DefaultStrategy struct{}

func (DefaultStrategy) PrepareForCreate(runtime.Object)                          {}
func (DefaultStrategy) PrepareForUpdate(_, _ runtime.Object)                     {}
func (DefaultStrategy) Default(runtime.Object)                                   {}
func (DefaultStrategy) Validate(runtime.Object) field.ErrorList                  { return nil }
func (DefaultStrategy) ValidateUpdate(_, _ runtime.Object) field.ErrorList       { return nil }
func (DefaultStrategy) ValidateStatusUpdate(_, _ runtime.Object) field.ErrorList { return nil }

var (
	_ Strategy       = DefaultStrategy{}
	_ StatusStrategy = DefaultStrategy{}
)
