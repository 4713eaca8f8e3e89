package replicaset

import (
	"context"

	apps "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	appsinformers "k8s.io/client-go/informers/apps/v1"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	"k8s.io/client-go/tools/cache"
)

// Workload is the kind of object a Controller keeps at its replica count,
// seen through ReplicaSets. The sync logic exists once, written against
// ReplicaSets; a kind with the same semantics (the core
// ReplicationController) converts to and from ReplicaSets here, at the
// boundary, and gets the same controller.
//
// The ReplicaSets a Workload returns may be shared with its cache: callers
// never mutate them.
type Workload interface {
	// Name names the controller in logs and its workqueue (and so its
	// metrics), e.g. "replicaset".
	Name() string
	// Kind is the group, version and kind of the objects, as set in the
	// controller references of their pods.
	Kind() schema.GroupVersionKind
	// Informer is the shared informer of the objects. The controller adds
	// its event handlers to it and waits for it to sync.
	Informer() cache.SharedIndexInformer
	// Get returns namespace/name from the informer cache; a NotFound error
	// when it is not there.
	Get(namespace, name string) (*apps.ReplicaSet, error)
	// List returns every object of namespace in the informer cache.
	List(namespace string) ([]*apps.ReplicaSet, error)
	// Fetch reads namespace/name from the API, bypassing the cache.
	Fetch(ctx context.Context, namespace, name string) (*apps.ReplicaSet, error)
	// UpdateStatus writes rs's status (with rs's resourceVersion, so a
	// stale write is a Conflict) and returns the object as written.
	UpdateStatus(ctx context.Context, rs *apps.ReplicaSet) (*apps.ReplicaSet, error)
	// Original returns the object of the workload's own kind that rs
	// stands for: events are recorded on it, so users find them on the
	// object they created.
	Original(rs *apps.ReplicaSet) runtime.Object
}

// ReplicaSets is the Workload of apps/v1 ReplicaSets: the identity.
func ReplicaSets(informer appsinformers.ReplicaSetInformer, client kubernetes.Interface) Workload {
	return replicaSets{informer: informer.Informer(), lister: informer.Lister(), client: client}
}

type replicaSets struct {
	informer cache.SharedIndexInformer
	lister   appslisters.ReplicaSetLister
	client   kubernetes.Interface
}

var _ Workload = replicaSets{}

func (replicaSets) Name() string { return "replicaset" }

func (replicaSets) Kind() schema.GroupVersionKind { return controllerKind }

func (w replicaSets) Informer() cache.SharedIndexInformer { return w.informer }

func (w replicaSets) Get(namespace, name string) (*apps.ReplicaSet, error) {
	return w.lister.ReplicaSets(namespace).Get(name)
}

func (w replicaSets) List(namespace string) ([]*apps.ReplicaSet, error) {
	return w.lister.ReplicaSets(namespace).List(labels.Everything())
}

func (w replicaSets) Fetch(ctx context.Context, namespace, name string) (*apps.ReplicaSet, error) {
	return w.client.AppsV1().ReplicaSets(namespace).Get(ctx, name, metav1.GetOptions{})
}

func (w replicaSets) UpdateStatus(ctx context.Context, rs *apps.ReplicaSet) (*apps.ReplicaSet, error) {
	return w.client.AppsV1().ReplicaSets(rs.Namespace).UpdateStatus(ctx, rs, metav1.UpdateOptions{})
}

func (replicaSets) Original(rs *apps.ReplicaSet) runtime.Object { return rs }
