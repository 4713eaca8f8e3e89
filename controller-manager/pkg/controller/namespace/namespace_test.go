package namespace

import (
	"context"
	"errors"
	"slices"
	"testing"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	fakediscovery "k8s.io/client-go/discovery/fake"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	metadatafake "k8s.io/client-go/metadata/fake"
	clienttesting "k8s.io/client-go/testing"
)

var (
	allVerbs     = []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
	noCollection = []string{"create", "delete", "get", "list", "patch", "update", "watch"}

	podsGVR    = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	configsGVR = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	widgetsGVR = schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}
)

// served is what discovery reports: core pods and configmaps, the
// cluster-scoped namespaces and a subresource (neither to be emptied), a
// create-only resource, and a custom resource that cannot be deleted as a
// collection.
func served() []*metav1.APIResourceList {
	return []*metav1.APIResourceList{
		{GroupVersion: "v1", APIResources: []metav1.APIResource{
			{Name: "pods", Kind: "Pod", Namespaced: true, Verbs: allVerbs},
			{Name: "pods/log", Kind: "Pod", Namespaced: true, Verbs: []string{"get"}},
			{Name: "configmaps", Kind: "ConfigMap", Namespaced: true, Verbs: allVerbs},
			{Name: "bindings", Kind: "Binding", Namespaced: true, Verbs: []string{"create"}},
			{Name: "namespaces", Kind: "Namespace", Verbs: allVerbs},
		}},
		{GroupVersion: "example.com/v1", APIResources: []metav1.APIResource{
			{Name: "widgets", Kind: "Widget", Namespaced: true, Verbs: noCollection},
		}},
	}
}

// fakeDiscovery is client-go's fake discovery, which leaves the preferred
// resources to the caller, with them worked out as the real client does;
// failed makes those groups' discovery fail, as when an aggregated API is
// down.
type fakeDiscovery struct {
	*fakediscovery.FakeDiscovery
	failed map[schema.GroupVersion]error
}

func (d fakeDiscovery) ServerPreferredNamespacedResources() ([]*metav1.APIResourceList, error) {
	lists, err := discovery.ServerPreferredNamespacedResources(d.FakeDiscovery)
	if err != nil || len(d.failed) == 0 {
		return lists, err
	}
	var kept []*metav1.APIResourceList
	for _, l := range lists {
		if gv, _ := schema.ParseGroupVersion(l.GroupVersion); d.failed[gv] == nil {
			kept = append(kept, l)
		}
	}
	return kept, &discovery.ErrGroupDiscoveryFailed{Groups: d.failed}
}

type objOpt func(*metav1.PartialObjectMetadata)

// held gives the object a finalizer nobody removes during the test, as a
// pod still shutting down.
func held(o *metav1.PartialObjectMetadata) { o.Finalizers = []string{"example.com/hold"} }

func object(gvr schema.GroupVersionResource, kind, ns, name string, opts ...objOpt) *metav1.PartialObjectMetadata {
	o := &metav1.PartialObjectMetadata{
		TypeMeta:   metav1.TypeMeta{APIVersion: gvr.GroupVersion().String(), Kind: kind},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
	}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

func pod(ns, name string, opts ...objOpt) *metav1.PartialObjectMetadata {
	return object(podsGVR, "Pod", ns, name, opts...)
}
func configMap(ns, name string) *metav1.PartialObjectMetadata {
	return object(configsGVR, "ConfigMap", ns, name)
}
func widget(ns, name string) *metav1.PartialObjectMetadata {
	return object(widgetsGVR, "Widget", ns, name)
}

type nsOpt func(*v1.Namespace)

func terminating(ns *v1.Namespace) {
	now := metav1.Now()
	ns.DeletionTimestamp = &now
	ns.Status.Phase = v1.NamespaceTerminating
}

func withoutFinalizer(ns *v1.Namespace) { ns.Spec.Finalizers = nil }

func namespace(name string, opts ...nsOpt) *v1.Namespace {
	ns := &v1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       v1.NamespaceSpec{Finalizers: []v1.FinalizerName{v1.FinalizerKubernetes}},
	}
	for _, o := range opts {
		o(ns)
	}
	return ns
}

type fixture struct {
	client *fake.Clientset
	md     *metadatafake.FakeMetadataClient
	c      *Controller
}

// newFixture serves namespaces from client (and the controller's cache)
// and their content as metadata. The metadata fake deletes like the
// apiserver: an object with finalizers is only marked for deletion, and
// deletecollection deletes each object of the namespace.
func newFixture(t *testing.T, namespaces []*v1.Namespace, content []*metav1.PartialObjectMetadata, failed map[schema.GroupVersion]error) *fixture {
	t.Helper()
	var objs []runtime.Object
	for _, ns := range namespaces {
		objs = append(objs, ns)
	}
	client := fake.NewClientset(objs...)
	client.Fake.Resources = served()

	scheme := runtime.NewScheme()
	if err := metav1.AddMetaToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	objs = nil
	for _, o := range content {
		objs = append(objs, o)
	}
	md := metadatafake.NewSimpleMetadataClient(scheme, objs...)
	tracker := md.Tracker()
	deleteOne := func(gvr schema.GroupVersionResource, ns, name string) error {
		obj, err := tracker.Get(gvr, ns, name)
		if err != nil {
			return err
		}
		m := obj.(*metav1.PartialObjectMetadata).DeepCopy()
		if len(m.Finalizers) == 0 {
			return tracker.Delete(gvr, ns, name)
		}
		if m.DeletionTimestamp == nil {
			now := metav1.Now()
			m.DeletionTimestamp = &now
		}
		return tracker.Update(gvr, m, ns)
	}
	md.PrependReactor("delete", "*", func(a clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, deleteOne(a.GetResource(), a.GetNamespace(), a.(clienttesting.DeleteAction).GetName())
	})
	md.PrependReactor("delete-collection", "*", func(a clienttesting.Action) (bool, runtime.Object, error) {
		// The metadata fake lists with this kind; the reactor runs under
		// the fake's lock, so it reads the tracker directly.
		list, err := tracker.List(a.GetResource(), schema.GroupVersionKind{Group: "fake-metadata-client-group", Version: "v1"}, a.GetNamespace())
		if err != nil {
			return true, nil, err
		}
		for _, item := range list.(*metav1.List).Items {
			m := item.Object.(*metav1.PartialObjectMetadata)
			if err := deleteOne(a.GetResource(), m.Namespace, m.Name); err != nil {
				return true, nil, err
			}
		}
		return true, nil, nil
	})

	f := informers.NewSharedInformerFactory(client, 0)
	disc := fakeDiscovery{FakeDiscovery: client.Discovery().(*fakediscovery.FakeDiscovery), failed: failed}
	c, err := New(f.Core().V1().Namespaces(), client, md, disc, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range namespaces {
		if err := f.Core().V1().Namespaces().Informer().GetIndexer().Add(ns); err != nil {
			t.Fatal(err)
		}
	}
	return &fixture{client: client, md: md, c: c}
}

// remaining lists the objects left in ns, each as resource/name.
func (f *fixture) remaining(t *testing.T, ns string) []string {
	t.Helper()
	var out []string
	for _, gvr := range []schema.GroupVersionResource{podsGVR, configsGVR, widgetsGVR} {
		list, err := f.md.Resource(gvr).Namespace(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, item := range list.Items {
			out = append(out, gvr.Resource+"/"+item.Name)
		}
	}
	return out
}

// finalized reports whether the namespace has lost its "kubernetes"
// finalizer, so the apiserver can remove it.
func (f *fixture) finalized(t *testing.T, name string) bool {
	t.Helper()
	ns, err := f.client.CoreV1().Namespaces().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return !slices.Contains(ns.Spec.Finalizers, v1.FinalizerKubernetes)
}

func finalizeCalls(client *fake.Clientset) int {
	n := 0
	for _, a := range client.Actions() {
		if a.GetResource().Resource == "namespaces" && a.GetSubresource() == "finalize" {
			n++
		}
	}
	return n
}

func TestSync(t *testing.T) {
	tests := []struct {
		name          string
		namespace     *v1.Namespace
		content       []*metav1.PartialObjectMetadata
		failed        map[schema.GroupVersion]error
		setup         func(*fixture)
		wantErr       error // nil: none; errContentRemaining; or any other error
		wantRemaining []string
		wantFinalized bool
	}{
		{
			name:      "empties a deleted namespace of every kind and finalizes it",
			namespace: namespace("team-a", terminating),
			content: []*metav1.PartialObjectMetadata{
				pod("team-a", "web-1"), pod("team-a", "web-2"), configMap("team-a", "settings"), widget("team-a", "w"),
			},
			wantFinalized: true,
		},
		{
			name:          "finalizes an empty namespace",
			namespace:     namespace("team-a", terminating),
			wantFinalized: true,
		},
		{
			name:          "waits while objects are still going away",
			namespace:     namespace("team-a", terminating),
			content:       []*metav1.PartialObjectMetadata{pod("team-a", "draining", held), configMap("team-a", "settings")},
			wantErr:       errContentRemaining,
			wantRemaining: []string{"pods/draining"},
		},
		{
			name:      "deletes one by one where collections cannot be deleted",
			namespace: namespace("team-a", terminating),
			content:   []*metav1.PartialObjectMetadata{pod("team-a", "web-1"), configMap("team-a", "settings")},
			setup: func(f *fixture) {
				f.md.PrependReactor("delete-collection", "*", func(a clienttesting.Action) (bool, runtime.Object, error) {
					return true, nil, apierrors.NewMethodNotSupported(a.GetResource().GroupResource(), "deletecollection")
				})
			},
			wantFinalized: true,
		},
		{
			name:          "does not finalize while a group cannot be discovered",
			namespace:     namespace("team-a", terminating),
			content:       []*metav1.PartialObjectMetadata{pod("team-a", "web-1"), widget("team-a", "w")},
			failed:        map[schema.GroupVersion]error{{Group: "example.com", Version: "v1"}: errors.New("service unavailable")},
			wantErr:       errors.New("any"),
			wantRemaining: []string{"widgets/w"},
		},
		{
			name:          "leaves a live namespace alone",
			namespace:     namespace("team-a"),
			content:       []*metav1.PartialObjectMetadata{pod("team-a", "web-1")},
			wantRemaining: []string{"pods/web-1"},
		},
		{
			name:          "leaves a namespace finalized already alone",
			namespace:     namespace("team-a", terminating, withoutFinalizer),
			content:       []*metav1.PartialObjectMetadata{pod("team-a", "web-1")},
			wantRemaining: []string{"pods/web-1"},
			wantFinalized: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Another namespace's objects must survive whatever happens.
			bystanders := []*metav1.PartialObjectMetadata{pod("team-b", "web-1"), widget("team-b", "w")}
			f := newFixture(t, []*v1.Namespace{tt.namespace, namespace("team-b")}, append(tt.content, bystanders...), tt.failed)
			if tt.setup != nil {
				tt.setup(f)
			}
			err := f.c.sync(context.Background(), "team-a")
			switch {
			case tt.wantErr == nil && err != nil, tt.wantErr != nil && err == nil:
				t.Fatalf("sync() error = %v, want %v", err, tt.wantErr)
			case errors.Is(tt.wantErr, errContentRemaining) && !errors.Is(err, errContentRemaining):
				t.Fatalf("sync() error = %v, want %v", err, tt.wantErr)
			}
			if got := f.remaining(t, "team-a"); !slices.Equal(got, tt.wantRemaining) {
				t.Errorf("left in team-a: %v, want %v", got, tt.wantRemaining)
			}
			if got := f.remaining(t, "team-b"); len(got) != 2 {
				t.Errorf("left in team-b: %v, want both objects", got)
			}
			if got := f.finalized(t, "team-a"); got != tt.wantFinalized {
				t.Errorf("finalized = %v, want %v", got, tt.wantFinalized)
			}
			if f.finalized(t, "team-b") {
				t.Errorf("team-b was finalized")
			}
		})
	}
}

// Once the last object is gone, the next sync finalizes the namespace.
func TestSyncFinalizesWhenContentIsGone(t *testing.T) {
	f := newFixture(t, []*v1.Namespace{namespace("team-a", terminating)}, []*metav1.PartialObjectMetadata{pod("team-a", "draining", held)}, nil)
	ctx := context.Background()
	if err := f.c.sync(ctx, "team-a"); !errors.Is(err, errContentRemaining) {
		t.Fatalf("first sync() error = %v, want %v", err, errContentRemaining)
	}
	if finalizeCalls(f.client) != 0 {
		t.Fatal("finalized with a pod left")
	}
	// The pod finishes shutting down and the apiserver removes it.
	if err := f.md.Tracker().Delete(podsGVR, "team-a", "draining"); err != nil {
		t.Fatal(err)
	}
	if err := f.c.sync(ctx, "team-a"); err != nil {
		t.Fatalf("second sync() error = %v", err)
	}
	if !f.finalized(t, "team-a") || finalizeCalls(f.client) != 1 {
		t.Errorf("namespace not finalized through namespaces/finalize: %v", f.client.Actions())
	}
}

// A namespace already gone from the cache needs nothing.
func TestSyncNamespaceGone(t *testing.T) {
	f := newFixture(t, nil, []*metav1.PartialObjectMetadata{pod("team-a", "web-1")}, nil)
	if err := f.c.sync(context.Background(), "team-a"); err != nil {
		t.Fatalf("sync() error = %v", err)
	}
	if got := f.remaining(t, "team-a"); len(got) != 1 {
		t.Errorf("left in team-a: %v, want the pod untouched", got)
	}
}
