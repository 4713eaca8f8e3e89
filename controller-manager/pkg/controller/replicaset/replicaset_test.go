package replicaset

import (
	"context"
	"fmt"
	"testing"
	"time"

	apps "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"

	"navarch.dev/controller-manager/pkg/controller/controllerref"
)

func newRS(name string, replicas int32) *apps.ReplicaSet {
	sel := map[string]string{"app": name}
	return &apps.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name), Generation: 1},
		Spec: apps.ReplicaSetSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: v1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: sel},
				Spec:       v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: "img"}}},
			},
		},
	}
}

type podOpt func(*v1.Pod)

func ownedBy(rs *apps.ReplicaSet) podOpt {
	return func(p *v1.Pod) {
		p.OwnerReferences = []metav1.OwnerReference{*controllerref.NewControllerRef(rs, controllerKind)}
	}
}
func ready(p *v1.Pod) {
	p.Status.Phase = v1.PodRunning
	p.Spec.NodeName = "node"
	p.Status.Conditions = []v1.PodCondition{{Type: v1.PodReady, Status: v1.ConditionTrue}}
}
func labeled(l map[string]string) podOpt { return func(p *v1.Pod) { p.Labels = l } }
func created(sec int64) podOpt {
	return func(p *v1.Pod) { p.CreationTimestamp = metav1.Unix(sec, 0) }
}

func newPod(name string, rs *apps.ReplicaSet, opts ...podOpt) *v1.Pod {
	p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name),
		Labels: map[string]string{"app": rs.Name}}}
	p.Status.Phase = v1.PodPending
	for _, o := range opts {
		o(p)
	}
	return p
}

type fixture struct {
	t       *testing.T
	client  *fake.Clientset
	c       *Controller
	rsStore []*apps.ReplicaSet
}

func newFixture(t *testing.T, rss []*apps.ReplicaSet, pods []*v1.Pod) *fixture {
	var objs []runtime.Object
	for _, rs := range rss {
		objs = append(objs, rs)
	}
	for _, p := range pods {
		objs = append(objs, p)
	}
	client := fake.NewClientset(objs...)
	var n int
	client.PrependReactor("create", "pods", func(a clienttesting.Action) (bool, runtime.Object, error) {
		p := a.(clienttesting.CreateAction).GetObject().(*v1.Pod)
		n++
		p.Name = fmt.Sprintf("%s%d", p.GenerateName, n)
		p.UID = types.UID(p.Name)
		return false, nil, nil
	})
	f := informers.NewSharedInformerFactory(client, 0)
	c, err := New(f.Apps().V1().ReplicaSets(), f.Core().V1().Pods(), client, record.NewFakeRecorder(100))
	if err != nil {
		t.Fatal(err)
	}
	for _, rs := range rss {
		f.Apps().V1().ReplicaSets().Informer().GetIndexer().Add(rs)
	}
	for _, p := range pods {
		f.Core().V1().Pods().Informer().GetIndexer().Add(p)
	}
	return &fixture{t: t, client: client, c: c}
}

func actions(client *fake.Clientset, verb, resource string) []clienttesting.Action {
	var out []clienttesting.Action
	for _, a := range client.Actions() {
		if a.GetVerb() == verb && a.GetResource().Resource == resource && (verb != "list" && verb != "watch") {
			out = append(out, a)
		}
	}
	return out
}

func TestSync(t *testing.T) {
	rs3 := newRS("web", 3)
	rs1 := newRS("web", 1)
	tests := []struct {
		name        string
		rs          *apps.ReplicaSet
		pods        []*v1.Pod
		wantCreates int
		wantDeletes []string
		wantPatches int
		wantStatus  *apps.ReplicaSetStatus
	}{
		{name: "creates missing pods", rs: rs3, wantCreates: 3},
		{name: "creates only the difference", rs: rs3, pods: []*v1.Pod{newPod("a", rs3, ownedBy(rs3), ready)}, wantCreates: 2},
		{name: "ignores finished and terminating pods", rs: rs1, pods: []*v1.Pod{
			newPod("done", rs1, ownedBy(rs1), func(p *v1.Pod) { p.Status.Phase = v1.PodSucceeded }),
			newPod("going", rs1, ownedBy(rs1), func(p *v1.Pod) { now := metav1.Now(); p.DeletionTimestamp = &now }),
		}, wantCreates: 1},
		{name: "deletes not-ready and unscheduled pods first", rs: rs1, pods: []*v1.Pod{
			newPod("old-ready", rs1, ownedBy(rs1), ready, created(1)),
			newPod("unscheduled", rs1, ownedBy(rs1), created(2)),
			newPod("new-ready", rs1, ownedBy(rs1), ready, created(3)),
		}, wantDeletes: []string{"new-ready", "unscheduled"}},
		{name: "adopts a matching orphan", rs: rs1, pods: []*v1.Pod{newPod("orphan", rs1, ready)}, wantPatches: 1},
		{name: "releases a pod that no longer matches and replaces it", rs: rs1, pods: []*v1.Pod{
			newPod("relabeled", rs1, ownedBy(rs1), labeled(map[string]string{"app": "other"})),
		}, wantPatches: 1, wantCreates: 1},
		{name: "leaves pods of another controller alone", rs: rs1, pods: []*v1.Pod{
			newPod("foreign", rs1, ownedBy(newRS("other", 1))),
		}, wantCreates: 1},
		{name: "status counts ready pods", rs: rs3, pods: []*v1.Pod{
			newPod("a", rs3, ownedBy(rs3), ready), newPod("b", rs3, ownedBy(rs3), ready), newPod("c", rs3, ownedBy(rs3)),
		}, wantStatus: &apps.ReplicaSetStatus{Replicas: 3, FullyLabeledReplicas: 3, ReadyReplicas: 2, AvailableReplicas: 2, ObservedGeneration: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, []*apps.ReplicaSet{tt.rs}, tt.pods)
			if err := f.c.sync(context.Background(), "default/web"); err != nil {
				t.Fatalf("sync: %v", err)
			}
			if got := len(actions(f.client, "create", "pods")); got != tt.wantCreates {
				t.Errorf("creates = %d, want %d", got, tt.wantCreates)
			}
			var deleted []string
			for _, a := range actions(f.client, "delete", "pods") {
				deleted = append(deleted, a.(clienttesting.DeleteAction).GetName())
			}
			if fmt.Sprint(sorted(deleted)) != fmt.Sprint(sorted(tt.wantDeletes)) {
				t.Errorf("deleted %v, want %v", deleted, tt.wantDeletes)
			}
			if got := len(actions(f.client, "patch", "pods")); got != tt.wantPatches {
				t.Errorf("patches = %d, want %d", got, tt.wantPatches)
			}
			for _, a := range actions(f.client, "create", "pods") {
				p := a.(clienttesting.CreateAction).GetObject().(*v1.Pod)
				ref := metav1.GetControllerOf(p)
				if ref == nil || ref.UID != tt.rs.UID || ref.Kind != "ReplicaSet" || ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
					t.Errorf("created pod has controller ref %+v", ref)
				}
			}
			if tt.wantStatus != nil {
				got, err := f.client.AppsV1().ReplicaSets("default").Get(context.Background(), "web", metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprintf("%+v", got.Status) != fmt.Sprintf("%+v", *tt.wantStatus) {
					t.Errorf("status = %+v, want %+v", got.Status, *tt.wantStatus)
				}
			}
		})
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// A second sync before the informer saw the first sync's pods must not
// create them again.
func TestExpectationsPreventDoubleCreate(t *testing.T) {
	rs := newRS("web", 2)
	f := newFixture(t, []*apps.ReplicaSet{rs}, nil)
	for range 2 {
		if err := f.c.sync(context.Background(), "default/web"); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(actions(f.client, "create", "pods")); got != 2 {
		t.Fatalf("creates = %d, want 2", got)
	}
	if f.c.expectations.Satisfied("default/web") {
		t.Fatal("expectations satisfied before the pods were observed")
	}
	for _, a := range actions(f.client, "create", "pods") {
		p := a.(clienttesting.CreateAction).GetObject().(*v1.Pod)
		f.c.addPod(p)
	}
	if !f.c.expectations.Satisfied("default/web") {
		t.Fatal("expectations not satisfied after observing the pods")
	}
}

// Creation stops after the first failing slow-start batch.
func TestSlowStartStopsOnFailure(t *testing.T) {
	rs := newRS("web", 10)
	f := newFixture(t, []*apps.ReplicaSet{rs}, nil)
	f.client.PrependReactor("create", "pods", func(a clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, fmt.Errorf("quota exceeded")
	})
	if err := f.c.sync(context.Background(), "default/web"); err == nil {
		t.Fatal("sync succeeded, want the create error")
	}
	if got := len(actions(f.client, "create", "pods")); got != 1 {
		t.Errorf("create attempts = %d, want 1 (the first batch)", got)
	}
	if !f.c.expectations.Satisfied("default/web") {
		t.Error("failed creations still expected")
	}
	got, _ := f.client.AppsV1().ReplicaSets("default").Get(context.Background(), "web", metav1.GetOptions{})
	if c := replicaFailureCondition(got.Status.Conditions); c == nil || c.Reason != "FailedCreate" {
		t.Errorf("conditions = %+v, want ReplicaFailure FailedCreate", got.Status.Conditions)
	}
}

func TestPodsToDelete(t *testing.T) {
	rs := newRS("web", 0)
	now := time.Now()
	readyAt := func(d time.Duration) podOpt {
		return func(p *v1.Pod) {
			ready(p)
			p.Status.Conditions[0].LastTransitionTime = metav1.NewTime(now.Add(-d))
		}
	}
	pods := []*v1.Pod{
		newPod("ready-long", rs, readyAt(time.Hour)),
		newPod("ready-short", rs, readyAt(time.Minute)),
		newPod("running-not-ready", rs, func(p *v1.Pod) { p.Spec.NodeName = "n"; p.Status.Phase = v1.PodRunning }),
		newPod("pending", rs, func(p *v1.Pod) { p.Spec.NodeName = "n" }),
		newPod("unscheduled", rs),
	}
	got := PodsToDelete(pods, 5)
	want := []string{"unscheduled", "pending", "running-not-ready", "ready-short", "ready-long"}
	for i, p := range got {
		if p.Name != want[i] {
			t.Fatalf("order = %v, want %v", names(got), want)
		}
	}
}

func names(pods []*v1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	return out
}
