package replicationcontroller

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	apps "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/reference"
	"k8s.io/utils/ptr"

	"navarch.dev/controller-manager/pkg/controller/controllerref"
	"navarch.dev/controller-manager/pkg/controller/controllertest"
	"navarch.dev/controller-manager/pkg/controller/replicaset"
)

func newRC(name string, replicas int32) *v1.ReplicationController {
	sel := map[string]string{"app": name}
	return &v1.ReplicationController{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name), Generation: 1},
		Spec: v1.ReplicationControllerSpec{
			Replicas: &replicas,
			Selector: sel,
			Template: &v1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: sel},
				Spec:       v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: "img"}}},
			},
		},
	}
}

type podOpt func(*v1.Pod)

func ownedByRC(rc *v1.ReplicationController) podOpt {
	return func(p *v1.Pod) {
		p.OwnerReferences = []metav1.OwnerReference{*controllerref.NewControllerRef(rc, controllerKind)}
	}
}

// ownedByRS makes the pod a ReplicaSet's of the RC's name.
func ownedByRS(rc *v1.ReplicationController) podOpt {
	return func(p *v1.Pod) {
		rs := &apps.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: rc.Name, Namespace: rc.Namespace, UID: "uid-rs-" + rc.UID}}
		p.OwnerReferences = []metav1.OwnerReference{*controllerref.NewControllerRef(rs, apps.SchemeGroupVersion.WithKind("ReplicaSet"))}
	}
}

func ready(p *v1.Pod) {
	p.Spec.NodeName = "node"
	p.Status.Phase = v1.PodRunning
	p.Status.Conditions = []v1.PodCondition{{Type: v1.PodReady, Status: v1.ConditionTrue}}
}

func newPod(name string, rc *v1.ReplicationController, opts ...podOpt) *v1.Pod {
	p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name),
		Labels: map[string]string{"app": rc.Name}}}
	p.Status.Phase = v1.PodPending
	for _, o := range opts {
		o(p)
	}
	return p
}

// recorder keeps each event's reason and the object reference the real
// recorder would send (upstream's involvedObject).
type recorder struct {
	mu     sync.Mutex
	events []event
}

type event struct {
	reason string
	object v1.ObjectReference
}

func (r *recorder) Event(obj runtime.Object, _, reason, _ string) {
	ref, err := reference.GetReference(scheme.Scheme, obj)
	if err != nil {
		ref = &v1.ObjectReference{Kind: fmt.Sprintf("unreferenceable %T", obj)}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, event{reason: reason, object: *ref})
}

func (r *recorder) Eventf(obj runtime.Object, eventType, reason, _ string, _ ...any) {
	r.Event(obj, eventType, reason, "")
}

func (r *recorder) AnnotatedEventf(obj runtime.Object, _ map[string]string, eventType, reason, _ string, _ ...any) {
	r.Event(obj, eventType, reason, "")
}

type fixture struct {
	client   *fake.Clientset
	recorder *recorder
	c        *replicaset.Controller
}

func newFixture(t *testing.T, rc *v1.ReplicationController, pods []*v1.Pod) *fixture {
	t.Helper()
	objs := []runtime.Object{rc}
	for _, p := range pods {
		objs = append(objs, p)
	}
	client := fake.NewClientset(objs...)
	controllertest.GenerateNames(client)
	f := informers.NewSharedInformerFactory(client, 0)
	rec := &recorder{}
	c, err := New(f.Core().V1().ReplicationControllers(), f.Core().V1().Pods(), client, rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Core().V1().ReplicationControllers().Informer().GetIndexer().Add(rc); err != nil {
		t.Fatal(err)
	}
	for _, p := range pods {
		if err := f.Core().V1().Pods().Informer().GetIndexer().Add(p); err != nil {
			t.Fatal(err)
		}
	}
	return &fixture{client: client, recorder: rec, c: c}
}

func actions(client *fake.Clientset, verb, resource string) []clienttesting.Action {
	var out []clienttesting.Action
	for _, a := range client.Actions() {
		if a.GetVerb() == verb && a.GetResource().Resource == resource {
			out = append(out, a)
		}
	}
	return out
}

func TestSync(t *testing.T) {
	rc3 := newRC("web", 3)
	rc1 := newRC("web", 1)
	tests := []struct {
		name        string
		rc          *v1.ReplicationController
		pods        []*v1.Pod
		wantCreates int
		wantDeletes []string
		wantPatches int
		wantStatus  *v1.ReplicationControllerStatus
	}{
		{name: "creates missing pods", rc: rc3, wantCreates: 3,
			wantStatus: &v1.ReplicationControllerStatus{ObservedGeneration: 1}},
		{name: "creates only the difference", rc: rc3, pods: []*v1.Pod{newPod("a", rc3, ownedByRC(rc3), ready)}, wantCreates: 2},
		{name: "deletes the not-ready pod first", rc: rc1, pods: []*v1.Pod{
			newPod("ready", rc1, ownedByRC(rc1), ready),
			newPod("unscheduled", rc1, ownedByRC(rc1)),
		}, wantDeletes: []string{"unscheduled"}},
		{name: "adopts a matching orphan", rc: rc1, pods: []*v1.Pod{newPod("orphan", rc1, ready)}, wantPatches: 1,
			wantStatus: &v1.ReplicationControllerStatus{Replicas: 1, FullyLabeledReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1, ObservedGeneration: 1}},
		{name: "leaves the pods of a ReplicaSet of the same name alone", rc: rc1, pods: []*v1.Pod{
			newPod("foreign", rc1, ownedByRS(rc1), ready),
		}, wantCreates: 1},
		{name: "writes status to the ReplicationController", rc: rc3, pods: []*v1.Pod{
			newPod("a", rc3, ownedByRC(rc3), ready), newPod("b", rc3, ownedByRC(rc3), ready), newPod("c", rc3, ownedByRC(rc3)),
		}, wantStatus: &v1.ReplicationControllerStatus{Replicas: 3, FullyLabeledReplicas: 3, ReadyReplicas: 2, AvailableReplicas: 2, ObservedGeneration: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.rc, tt.pods)
			if err := f.c.Sync(context.Background(), "default/web"); err != nil {
				t.Fatalf("sync: %v", err)
			}
			creates := actions(f.client, "create", "pods")
			if len(creates) != tt.wantCreates {
				t.Errorf("creates = %d, want %d", len(creates), tt.wantCreates)
			}
			for _, a := range creates {
				p := a.(clienttesting.CreateAction).GetObject().(*v1.Pod)
				ref := metav1.GetControllerOf(p)
				if ref == nil || ref.Kind != "ReplicationController" || ref.APIVersion != "v1" || ref.UID != tt.rc.UID ||
					!ptr.Deref(ref.BlockOwnerDeletion, false) {
					t.Errorf("created pod has controller ref %+v, want the ReplicationController", ref)
				}
			}
			var deleted []string
			for _, a := range actions(f.client, "delete", "pods") {
				deleted = append(deleted, a.(clienttesting.DeleteAction).GetName())
			}
			slices.Sort(deleted)
			if !slices.Equal(deleted, tt.wantDeletes) {
				t.Errorf("deleted %v, want %v", deleted, tt.wantDeletes)
			}
			if got := len(actions(f.client, "patch", "pods")); got != tt.wantPatches {
				t.Errorf("patches = %d, want %d", got, tt.wantPatches)
			}
			if got := len(actions(f.client, "update", "replicasets")); got != 0 {
				t.Errorf("%d ReplicaSet updates, want none", got)
			}
			for _, e := range f.recorder.events {
				if e.object.Kind != "ReplicationController" || e.object.APIVersion != "v1" || e.object.Name != "web" || e.object.UID != tt.rc.UID {
					t.Errorf("event %s is about %+v, want the ReplicationController", e.reason, e.object)
				}
			}
			if len(f.recorder.events) != tt.wantCreates+len(tt.wantDeletes) {
				t.Errorf("%d events, want one per create and delete", len(f.recorder.events))
			}
			if tt.wantStatus != nil {
				got, err := f.client.CoreV1().ReplicationControllers("default").Get(context.Background(), "web", metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if !apiequality.Semantic.DeepEqual(got.Status, *tt.wantStatus) {
					t.Errorf("status = %+v, want %+v", got.Status, *tt.wantStatus)
				}
			}
		})
	}
}

// A second sync before the informer saw the first sync's pods must not
// create them again: the ReplicaSet controller's expectations hold for RCs.
func TestExpectationsPreventDoubleCreate(t *testing.T) {
	f := newFixture(t, newRC("web", 2), nil)
	for range 2 {
		if err := f.c.Sync(context.Background(), "default/web"); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(actions(f.client, "create", "pods")); got != 2 {
		t.Fatalf("creates = %d, want 2", got)
	}
}

// Creation stops after the first failing slow-start batch, and the failure
// shows as the RC's ReplicaFailure condition.
func TestSlowStartStopsOnFailure(t *testing.T) {
	f := newFixture(t, newRC("web", 10), nil)
	f.client.PrependReactor("create", "pods", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, fmt.Errorf("quota exceeded")
	})
	if err := f.c.Sync(context.Background(), "default/web"); err == nil {
		t.Fatal("sync succeeded, want the create error")
	}
	if got := len(actions(f.client, "create", "pods")); got != 1 {
		t.Errorf("create attempts = %d, want 1 (the first batch)", got)
	}
	got, err := f.client.CoreV1().ReplicationControllers("default").Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Status.Conditions) != 1 || got.Status.Conditions[0].Type != v1.ReplicationControllerReplicaFailure ||
		got.Status.Conditions[0].Reason != "FailedCreate" {
		t.Errorf("conditions = %+v, want ReplicaFailure FailedCreate", got.Status.Conditions)
	}
}

func TestConversion(t *testing.T) {
	full := newRC("web", 3)
	full.Spec.MinReadySeconds = 5
	full.ResourceVersion = "42"
	full.Status = v1.ReplicationControllerStatus{Replicas: 3, FullyLabeledReplicas: 2, ReadyReplicas: 1, AvailableReplicas: 1,
		ObservedGeneration: 1, Conditions: []v1.ReplicationControllerCondition{{
			Type: v1.ReplicationControllerReplicaFailure, Status: v1.ConditionTrue, Reason: "FailedCreate", Message: "quota"}}}
	undefaulted := newRC("bare", 0)
	undefaulted.Spec.Replicas = nil
	undefaulted.Spec.Selector = nil

	tests := []struct {
		name          string
		rc            *v1.ReplicationController
		wantReplicas  int32
		wantSelector  map[string]string
		wantRoundTrip bool
	}{
		{name: "a defaulted RC converts both ways without loss", rc: full, wantReplicas: 3,
			wantSelector: map[string]string{"app": "web"}, wantRoundTrip: true},
		{name: "replicas default to 1 and the selector to the template labels", rc: undefaulted, wantReplicas: 1,
			wantSelector: map[string]string{"app": "bare"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := ToReplicaSet(tt.rc)
			if *rs.Spec.Replicas != tt.wantReplicas {
				t.Errorf("replicas = %d, want %d", *rs.Spec.Replicas, tt.wantReplicas)
			}
			if want := (&metav1.LabelSelector{MatchLabels: tt.wantSelector}); !apiequality.Semantic.DeepEqual(rs.Spec.Selector, want) {
				t.Errorf("selector = %+v, want %+v", rs.Spec.Selector, want)
			}
			if rs.Spec.MinReadySeconds != tt.rc.Spec.MinReadySeconds || rs.Status.Replicas != tt.rc.Status.Replicas ||
				len(rs.Status.Conditions) != len(tt.rc.Status.Conditions) {
				t.Errorf("ReplicaSet %+v does not carry the RC's minReadySeconds and status", rs)
			}
			if back := FromReplicaSet(rs); tt.wantRoundTrip && !apiequality.Semantic.DeepEqual(back, tt.rc) {
				t.Errorf("round trip:\n got %+v\nwant %+v", back, tt.rc)
			}
		})
	}
}
