package garbagecollector

import (
	"context"
	"fmt"
	"slices"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	fakediscovery "k8s.io/client-go/discovery/fake"
	metadatafake "k8s.io/client-go/metadata/fake"
	"k8s.io/client-go/metadata/metadatainformer"
	clienttesting "k8s.io/client-go/testing"
)

const hold = "example.com/hold"

// kind is a resource the fake apiserver serves.
type kind struct {
	gvk        schema.GroupVersionKind
	resource   string
	namespaced bool
}

func (k kind) gvr() schema.GroupVersionResource { return k.gvk.GroupVersion().WithResource(k.resource) }

var (
	deploymentKind = kind{schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, "deployments", true}
	replicaSetKind = kind{schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "ReplicaSet"}, "replicasets", true}
	podKind        = kind{schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, "pods", true}
	configMapKind  = kind{schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, "configmaps", true}
	nodeKind       = kind{schema.GroupVersionKind{Version: "v1", Kind: "Node"}, "nodes", false}
	// widgetKind is a custom resource, served only when a test says so.
	widgetKind = kind{schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"}, "widgets", true}

	builtinKinds = []kind{deploymentKind, replicaSetKind, podKind, configMapKind, nodeKind}
)

// discoveryOf is client-go's fake discovery serving kinds, plus events
// (which the collector ignores), with the preferred resources worked out
// as the real client does (the fake leaves them empty).
type discoveryOf struct{ *fakediscovery.FakeDiscovery }

func (d discoveryOf) ServerPreferredResources() ([]*metav1.APIResourceList, error) {
	return discovery.ServerPreferredResources(d.FakeDiscovery)
}

func (d discoveryOf) serve(kinds ...kind) {
	verbs := []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
	byGV := map[string]*metav1.APIResourceList{"v1": {GroupVersion: "v1", APIResources: []metav1.APIResource{
		{Name: "events", Kind: "Event", Namespaced: true, Verbs: verbs},
	}}}
	d.Resources = []*metav1.APIResourceList{byGV["v1"]}
	for _, k := range kinds {
		gv := k.gvk.GroupVersion().String()
		l := byGV[gv]
		if l == nil {
			l = &metav1.APIResourceList{GroupVersion: gv}
			byGV[gv] = l
			d.Resources = append(d.Resources, l)
		}
		l.APIResources = append(l.APIResources,
			metav1.APIResource{Name: k.resource, Kind: k.gvk.Kind, Namespaced: k.namespaced, Verbs: verbs},
			metav1.APIResource{Name: k.resource + "/status", Kind: k.gvk.Kind, Namespaced: k.namespaced, Verbs: []string{"get", "patch", "update"}})
	}
}

type objOpt func(*metav1.PartialObjectMetadata)

func newObject(k kind, name string, opts ...objOpt) *metav1.PartialObjectMetadata {
	o := &metav1.PartialObjectMetadata{
		TypeMeta:   metav1.TypeMeta{APIVersion: k.gvk.GroupVersion().String(), Kind: k.gvk.Kind},
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("uid-" + name), ResourceVersion: "1"},
	}
	if k.namespaced {
		o.Namespace = "default"
	}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

func deployment(name string, opts ...objOpt) *metav1.PartialObjectMetadata {
	return newObject(deploymentKind, name, opts...)
}
func replicaSet(name string, opts ...objOpt) *metav1.PartialObjectMetadata {
	return newObject(replicaSetKind, name, opts...)
}
func pod(name string, opts ...objOpt) *metav1.PartialObjectMetadata {
	return newObject(podKind, name, opts...)
}
func configMap(name string, opts ...objOpt) *metav1.PartialObjectMetadata {
	return newObject(configMapKind, name, opts...)
}
func clusterNode(name string, opts ...objOpt) *metav1.PartialObjectMetadata {
	return newObject(nodeKind, name, opts...)
}
func widget(name string, opts ...objOpt) *metav1.PartialObjectMetadata {
	return newObject(widgetKind, name, opts...)
}

func ref(owner *metav1.PartialObjectMetadata, controller, block bool) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: owner.APIVersion, Kind: owner.Kind, Name: owner.Name, UID: owner.UID,
		Controller: &controller, BlockOwnerDeletion: &block}
}

// ownedBy makes owner (which need not exist) the controller of the
// object, blocking its foreground deletion, as controllers do.
func ownedBy(owner *metav1.PartialObjectMetadata) objOpt {
	return func(o *metav1.PartialObjectMetadata) {
		o.OwnerReferences = append(o.OwnerReferences, ref(owner, true, true))
	}
}

// alsoOwnedBy adds a plain reference to owner, as users set.
func alsoOwnedBy(owner *metav1.PartialObjectMetadata) objOpt {
	return func(o *metav1.PartialObjectMetadata) {
		o.OwnerReferences = append(o.OwnerReferences, ref(owner, false, false))
	}
}

func withUID(uid string) objOpt {
	return func(o *metav1.PartialObjectMetadata) { o.UID = types.UID(uid) }
}

// held gives the object a finalizer nobody removes during the test, as
// a pod still shutting down.
func held(o *metav1.PartialObjectMetadata) { o.Finalizers = append(o.Finalizers, hold) }

type fixture struct {
	t         *testing.T
	md        *metadatafake.FakeMetadataClient
	discovery discoveryOf
	c         *Controller
	byGVK     map[schema.GroupVersionKind]kind
}

// newFixture starts a collector whose graph has seen objects; unseen
// objects exist in the API but their informer has not delivered them yet.
//
// The metadata fake behaves like the apiserver where the collector relies
// on it: deletion honours finalizers and propagation policies (foreground
// and orphan deletion add their finalizer), an object being deleted goes
// once its last finalizer is removed, and every change reaches the graph
// as the informers would deliver it.
func newFixture(t *testing.T, objects, unseen []*metav1.PartialObjectMetadata) *fixture {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := metav1.AddMetaToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	var objs []runtime.Object
	for _, o := range slices.Concat(objects, unseen) {
		objs = append(objs, o)
	}
	md := metadatafake.NewSimpleMetadataClient(scheme, objs...)
	f := &fixture{
		t:         t,
		md:        md,
		discovery: discoveryOf{&fakediscovery.FakeDiscovery{Fake: &clienttesting.Fake{}}},
		byGVK:     map[schema.GroupVersionKind]kind{},
	}
	for _, k := range append([]kind{widgetKind}, builtinKinds...) {
		f.byGVK[k.gvk] = k
	}
	f.discovery.serve(builtinKinds...)
	f.c = New(md, f.discovery, metadatainformer.NewSharedInformerFactory(md, 0))
	t.Cleanup(func() {
		f.c.queue.ShutDown()
		f.c.changes.ShutDown()
	})
	if err := f.c.Sync(); err != nil {
		t.Fatal(err)
	}

	tracker := md.Tracker()
	md.PrependReactor("delete", "*", func(a clienttesting.Action) (bool, runtime.Object, error) {
		gvr, ns, name := a.GetResource(), a.GetNamespace(), a.(clienttesting.DeleteAction).GetName()
		opts := a.(clienttesting.DeleteAction).GetDeleteOptions()
		obj, err := tracker.Get(gvr, ns, name)
		if err != nil {
			return true, nil, err
		}
		m := obj.(*metav1.PartialObjectMetadata)
		if p := opts.Preconditions; p != nil && p.UID != nil && *p.UID != m.UID {
			return true, nil, apierrors.NewConflict(gvr.GroupResource(), name, fmt.Errorf("uid precondition %s, object has %s", *p.UID, m.UID))
		}
		if m.DeletionTimestamp != nil {
			return true, nil, nil
		}
		if opts.PropagationPolicy != nil {
			switch *opts.PropagationPolicy {
			case metav1.DeletePropagationForeground:
				m.Finalizers = append(m.Finalizers, metav1.FinalizerDeleteDependents)
			case metav1.DeletePropagationOrphan:
				m.Finalizers = append(m.Finalizers, metav1.FinalizerOrphanDependents)
			}
		}
		now := metav1.Now()
		m.DeletionTimestamp = &now
		return true, nil, f.store(gvr, m)
	})
	md.PrependReactor("patch", "*", func(a clienttesting.Action) (bool, runtime.Object, error) {
		_, obj, err := clienttesting.ObjectReaction(tracker)(a)
		if err != nil {
			return true, nil, err
		}
		return true, obj, f.store(a.GetResource(), obj.(*metav1.PartialObjectMetadata))
	})

	for _, o := range objects {
		f.c.handler(o.GroupVersionKind()).OnAdd(o.DeepCopy(), true)
	}
	return f
}

// store keeps m as the apiserver would, removing it once it is being
// deleted and has no finalizers left, and tells the graph.
func (f *fixture) store(gvr schema.GroupVersionResource, m *metav1.PartialObjectMetadata) error {
	tracker := f.md.Tracker()
	h := f.c.handler(m.GroupVersionKind())
	if m.DeletionTimestamp != nil && len(m.Finalizers) == 0 {
		if err := tracker.Delete(gvr, m.Namespace, m.Name); err != nil {
			return err
		}
		h.OnDelete(m)
		return nil
	}
	if err := tracker.Update(gvr, m, m.Namespace); err != nil {
		return err
	}
	h.OnUpdate(nil, m.DeepCopy())
	return nil
}

// settle runs the collector until it has nothing left to do.
func (f *fixture) settle() {
	f.t.Helper()
	ctx := context.Background()
	for range 200 {
		for f.c.changes.Len() > 0 {
			f.c.processGraphChange()
		}
		if f.c.queue.Len() == 0 {
			return
		}
		f.c.processNextWorkItem(ctx)
	}
	f.t.Fatal("the collector did not settle")
}

// delete deletes obj as a user would, with policy ("" for the default).
func (f *fixture) delete(obj *metav1.PartialObjectMetadata, policy metav1.DeletionPropagation) {
	f.t.Helper()
	k := f.byGVK[obj.GroupVersionKind()]
	opts := metav1.DeleteOptions{}
	if policy != "" {
		opts.PropagationPolicy = &policy
	}
	rc := f.md.Resource(k.gvr())
	var err error
	if k.namespaced {
		err = rc.Namespace(obj.Namespace).Delete(context.Background(), obj.Name, opts)
	} else {
		err = rc.Delete(context.Background(), obj.Name, opts)
	}
	if err != nil {
		f.t.Fatalf("delete %s: %v", obj.Name, err)
	}
}

// seen is what a user reading an object sees of it.
type seen struct {
	owners     []string // names
	finalizers []string
	deleting   bool
}

func (s *seen) String() string {
	if s == nil {
		return "gone"
	}
	return fmt.Sprintf("owners=%v finalizers=%v deleting=%v", s.owners, s.finalizers, s.deleting)
}

// read returns what the API shows of obj, nil when it is gone.
func (f *fixture) read(obj *metav1.PartialObjectMetadata) *seen {
	f.t.Helper()
	k := f.byGVK[obj.GroupVersionKind()]
	got, err := f.md.Tracker().Get(k.gvr(), obj.Namespace, obj.Name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		f.t.Fatal(err)
	}
	m := got.(*metav1.PartialObjectMetadata)
	s := &seen{finalizers: m.Finalizers, deleting: m.DeletionTimestamp != nil}
	for _, o := range m.OwnerReferences {
		s.owners = append(s.owners, o.Name)
	}
	return s
}

func TestCollect(t *testing.T) {
	web := replicaSet("web")
	settings := configMap("settings")
	tests := []struct {
		name    string
		objects []*metav1.PartialObjectMetadata
		unseen  []*metav1.PartialObjectMetadata
		// deleteObj, when set, is deleted with policy once the collector
		// has settled on objects, as `navctl delete --cascade` would.
		deleteObj *metav1.PartialObjectMetadata
		policy    metav1.DeletionPropagation
		want      map[string]*seen // by name; nil: gone
	}{
		{
			name: "deletes dependents whose owner is gone",
			objects: []*metav1.PartialObjectMetadata{
				pod("p1", ownedBy(web)), pod("p2", ownedBy(web)), pod("lonely"),
				replicaSet("db"), pod("p3", ownedBy(replicaSet("db"))),
			},
			want: map[string]*seen{"p1": nil, "p2": nil, "lonely": {}, "db": {}, "p3": {owners: []string{"db"}}},
		},
		{
			name:    "keeps a dependent whose owner the graph has not seen yet but the API has",
			objects: []*metav1.PartialObjectMetadata{pod("p1", ownedBy(web))},
			unseen:  []*metav1.PartialObjectMetadata{web},
			want:    map[string]*seen{"p1": {owners: []string{"web"}}, "web": {}},
		},
		{
			name:    "a namesake with another uid is not the owner",
			objects: []*metav1.PartialObjectMetadata{replicaSet("web", withUID("uid-web-2")), pod("p1", ownedBy(web))},
			want:    map[string]*seen{"p1": nil, "web": {}},
		},
		{
			name:    "a dependent with another live owner stays and forgets the gone one",
			objects: []*metav1.PartialObjectMetadata{settings, pod("p1", ownedBy(web), alsoOwnedBy(settings))},
			want:    map[string]*seen{"p1": {owners: []string{"settings"}}, "settings": {}},
		},
		{
			name:    "cluster-scoped owners are looked up without a namespace",
			objects: []*metav1.PartialObjectMetadata{clusterNode("n1"), pod("p1", ownedBy(clusterNode("n1"))), pod("p2", ownedBy(clusterNode("n2")))},
			want:    map[string]*seen{"p1": {owners: []string{"n1"}}, "p2": nil},
		},
		{
			name:    "an owner of a kind not (yet) served keeps its dependent",
			objects: []*metav1.PartialObjectMetadata{configMap("c1", ownedBy(widget("w")))},
			want:    map[string]*seen{"c1": {owners: []string{"w"}}},
		},
		{
			name:      "background deletion removes the owner, then its dependents",
			objects:   []*metav1.PartialObjectMetadata{web, pod("p1", ownedBy(web)), pod("p2", ownedBy(web))},
			deleteObj: web, policy: metav1.DeletePropagationBackground,
			want: map[string]*seen{"web": nil, "p1": nil, "p2": nil},
		},
		{
			name:      "foreground deletion removes the dependents, then the owner",
			objects:   []*metav1.PartialObjectMetadata{web, pod("p1", ownedBy(web)), pod("p2", ownedBy(web))},
			deleteObj: web, policy: metav1.DeletePropagationForeground,
			want: map[string]*seen{"web": nil, "p1": nil, "p2": nil},
		},
		{
			name:      "foreground deletion waits for a blocking dependent still going away",
			objects:   []*metav1.PartialObjectMetadata{web, pod("p1", ownedBy(web), held), pod("p2", ownedBy(web))},
			deleteObj: web, policy: metav1.DeletePropagationForeground,
			want: map[string]*seen{
				"web": {finalizers: []string{metav1.FinalizerDeleteDependents}, deleting: true},
				"p1":  {owners: []string{"web"}, finalizers: []string{hold}, deleting: true},
				"p2":  nil,
			},
		},
		{
			name:      "foreground deletion does not wait for dependents that do not block it",
			objects:   []*metav1.PartialObjectMetadata{web, pod("p1", alsoOwnedBy(web), held)},
			deleteObj: web, policy: metav1.DeletePropagationForeground,
			want: map[string]*seen{"web": nil, "p1": {owners: []string{"web"}, finalizers: []string{hold}, deleting: true}},
		},
		{
			name:      "foreground deletion keeps a dependent with another live owner",
			objects:   []*metav1.PartialObjectMetadata{web, settings, pod("p1", ownedBy(web), alsoOwnedBy(settings))},
			deleteObj: web, policy: metav1.DeletePropagationForeground,
			want: map[string]*seen{"web": nil, "p1": {owners: []string{"settings"}}, "settings": {}},
		},
		{
			name: "foreground deletion goes down every level first",
			objects: []*metav1.PartialObjectMetadata{
				deployment("app"), replicaSet("web", ownedBy(deployment("app"))),
				pod("p1", ownedBy(web)), pod("p2", ownedBy(web)),
			},
			deleteObj: deployment("app"), policy: metav1.DeletePropagationForeground,
			want: map[string]*seen{"app": nil, "web": nil, "p1": nil, "p2": nil},
		},
		{
			name:      "orphan deletion leaves the dependents without the reference",
			objects:   []*metav1.PartialObjectMetadata{web, settings, pod("p1", ownedBy(web)), pod("p2", ownedBy(web), alsoOwnedBy(settings))},
			deleteObj: web, policy: metav1.DeletePropagationOrphan,
			want: map[string]*seen{"web": nil, "p1": {}, "p2": {owners: []string{"settings"}}, "settings": {}},
		},
		{
			name:      "orphan deletion removes only its own finalizer",
			objects:   []*metav1.PartialObjectMetadata{replicaSet("web", held), pod("p1", ownedBy(web))},
			deleteObj: web, policy: metav1.DeletePropagationOrphan,
			want: map[string]*seen{"web": {finalizers: []string{hold}, deleting: true}, "p1": {}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.objects, tt.unseen)
			f.settle()
			if tt.deleteObj != nil {
				f.delete(tt.deleteObj, tt.policy)
				f.settle()
			}
			f.expect(tt.want, slices.Concat(tt.objects, tt.unseen))
		})
	}
}

// expect checks what the API shows of the named objects among objs.
func (f *fixture) expect(want map[string]*seen, objs []*metav1.PartialObjectMetadata) {
	f.t.Helper()
	checked := 0
	for _, o := range objs {
		w, ok := want[o.Name]
		if !ok {
			continue
		}
		checked++
		if got := f.read(o); got.String() != w.String() {
			f.t.Errorf("%s %s: %v, want %v", o.Kind, o.Name, got, w)
		}
	}
	if checked != len(want) {
		f.t.Fatalf("checked %d objects, want names %d", checked, len(want))
	}
}

// A foreground deletion finishes when the last blocking dependent goes.
func TestForegroundDeletionFinishesWithLastDependent(t *testing.T) {
	web := replicaSet("web")
	p1 := pod("p1", ownedBy(web), held)
	f := newFixture(t, []*metav1.PartialObjectMetadata{web, p1}, nil)
	f.delete(web, metav1.DeletePropagationForeground)
	f.settle()
	if got := f.read(web); got == nil || !got.deleting {
		t.Fatalf("web: %v, want it waiting for p1", got)
	}
	// The pod finishes shutting down and drops its finalizer.
	if _, err := f.md.Resource(podKind.gvr()).Namespace("default").Patch(context.Background(), "p1", types.MergePatchType,
		[]byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	f.settle()
	f.expect(map[string]*seen{"web": nil, "p1": nil}, []*metav1.PartialObjectMetadata{web, p1})
}

// A dependent whose owner's kind was unknown is collected once discovery
// serves the kind and shows the owner gone, and kept if it shows it there.
func TestCollectOnceOwnerKindIsServed(t *testing.T) {
	for _, tt := range []struct {
		name    string
		objects []*metav1.PartialObjectMetadata
		want    map[string]*seen
	}{
		{
			name:    "owner absent",
			objects: []*metav1.PartialObjectMetadata{configMap("c1", ownedBy(widget("w")))},
			want:    map[string]*seen{"c1": nil},
		},
		{
			name:    "owner present",
			objects: []*metav1.PartialObjectMetadata{widget("w"), configMap("c1", ownedBy(widget("w")))},
			want:    map[string]*seen{"c1": {owners: []string{"w"}}, "w": {}},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// The widget informer does not exist yet: only the config map
			// reaches the graph.
			cm := tt.objects[len(tt.objects)-1]
			f := newFixture(t, []*metav1.PartialObjectMetadata{cm}, tt.objects[:len(tt.objects)-1])
			f.settle()
			if got := f.read(cm); got == nil {
				t.Fatal("c1 collected while its owner's kind was unknown")
			}
			// The CRD is established; the next discovery round finds it and
			// the retried item is worked again.
			f.discovery.serve(append(builtinKinds, widgetKind)...)
			if err := f.c.Sync(); err != nil {
				t.Fatal(err)
			}
			f.c.queue.Add(item{ref: objRef{APIVersion: "v1", Kind: "ConfigMap", Namespace: "default", Name: "c1", UID: cm.UID}})
			f.settle()
			f.expect(tt.want, tt.objects)
		})
	}
}
