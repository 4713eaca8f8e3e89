package deployment

import (
	"context"
	"testing"

	apps "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"

	"navarch.dev/controller-manager/pkg/controller/controllerref"
)

func newD(replicas int32, surge, unavailable intstr.IntOrString) *apps.Deployment {
	sel := map[string]string{"app": "web"}
	return &apps.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "d-uid", Generation: 1},
		Spec: apps.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			Strategy: apps.DeploymentStrategy{Type: apps.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &apps.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavailable}},
			Template: v1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: sel},
				Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: "v1"}}}},
		},
	}
}

func newRSFor(d *apps.Deployment, name, image string, size, available int32, created int64) *apps.ReplicaSet {
	tmpl := *d.Spec.Template.DeepCopy()
	tmpl.Spec.Containers[0].Image = image
	tmpl.Labels = withLabel(tmpl.Labels, apps.DefaultDeploymentUniqueLabelKey, name)
	return &apps.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID(name), Labels: tmpl.Labels,
			CreationTimestamp: metav1.Unix(created, 0),
			OwnerReferences:   []metav1.OwnerReference{*controllerref.NewControllerRef(d, controllerKind)},
			Annotations:       map[string]string{DesiredReplicasAnnotation: "", RevisionAnnotation: "1"}},
		Spec:   apps.ReplicaSetSpec{Replicas: &size, Selector: &metav1.LabelSelector{MatchLabels: tmpl.Labels}, Template: tmpl},
		Status: apps.ReplicaSetStatus{Replicas: size, ReadyReplicas: available, AvailableReplicas: available},
	}
}

func TestResolveFenceposts(t *testing.T) {
	tests := []struct {
		name                   string
		replicas               int32
		surge, unavailable     intstr.IntOrString
		wantSurge, wantUnavail int32
	}{
		{name: "defaults of 25% on 10", replicas: 10, surge: intstr.FromString("25%"), unavailable: intstr.FromString("25%"), wantSurge: 3, wantUnavail: 2},
		{name: "both zero allows one unavailable", replicas: 3, surge: intstr.FromInt32(0), unavailable: intstr.FromInt32(0), wantSurge: 0, wantUnavail: 1},
		{name: "absolute", replicas: 3, surge: intstr.FromInt32(1), unavailable: intstr.FromInt32(1), wantSurge: 1, wantUnavail: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, u := resolveFenceposts(newD(tt.replicas, tt.surge, tt.unavailable))
			if s != tt.wantSurge || u != tt.wantUnavail {
				t.Errorf("got surge %d unavailable %d, want %d %d", s, u, tt.wantSurge, tt.wantUnavail)
			}
		})
	}
}

type fixture struct {
	client *fake.Clientset
	c      *Controller
}

func newFixture(t *testing.T, d *apps.Deployment, rss ...*apps.ReplicaSet) *fixture {
	objs := []runtime.Object{d}
	for _, rs := range rss {
		objs = append(objs, rs)
	}
	client := fake.NewClientset(objs...)
	f := informers.NewSharedInformerFactory(client, 0)
	c, err := New(f.Apps().V1().Deployments(), f.Apps().V1().ReplicaSets(), f.Core().V1().Pods(), client, record.NewFakeRecorder(100))
	if err != nil {
		t.Fatal(err)
	}
	f.Apps().V1().Deployments().Informer().GetIndexer().Add(d)
	for _, rs := range rss {
		f.Apps().V1().ReplicaSets().Informer().GetIndexer().Add(rs)
	}
	return &fixture{client: client, c: c}
}

// replicaSetWrites returns the ReplicaSets created or updated, by name.
func (f *fixture) replicaSetWrites() map[string]*apps.ReplicaSet {
	out := map[string]*apps.ReplicaSet{}
	for _, a := range f.client.Actions() {
		if a.GetResource().Resource != "replicasets" || a.GetSubresource() != "" {
			continue
		}
		switch a := a.(type) {
		case clienttesting.CreateAction:
			rs := a.GetObject().(*apps.ReplicaSet)
			out[rs.Name] = rs
		case clienttesting.UpdateAction:
			rs := a.GetObject().(*apps.ReplicaSet)
			out[rs.Name] = rs
		}
	}
	return out
}

func TestSync(t *testing.T) {
	one := intstr.FromInt32(1)
	tests := []struct {
		name  string
		d     func() *apps.Deployment
		rss   func(d *apps.Deployment) []*apps.ReplicaSet
		check func(t *testing.T, d *apps.Deployment, writes map[string]*apps.ReplicaSet)
	}{
		{
			name: "creates the first replica set at full size",
			d:    func() *apps.Deployment { return newD(3, one, one) },
			check: func(t *testing.T, d *apps.Deployment, writes map[string]*apps.ReplicaSet) {
				if len(writes) != 1 {
					t.Fatalf("writes = %v", writes)
				}
				for _, rs := range writes {
					hash := rs.Labels[apps.DefaultDeploymentUniqueLabelKey]
					if rs.Name != "web-"+hash || *rs.Spec.Replicas != 3 || rs.Spec.Selector.MatchLabels[apps.DefaultDeploymentUniqueLabelKey] != hash {
						t.Errorf("replica set = %s size %d labels %v", rs.Name, *rs.Spec.Replicas, rs.Labels)
					}
					if rs.Annotations[RevisionAnnotation] != "1" || rs.Annotations[DesiredReplicasAnnotation] != "3" || rs.Annotations[MaxReplicasAnnotation] != "4" {
						t.Errorf("annotations = %v", rs.Annotations)
					}
					if !metav1.IsControlledBy(rs, d) {
						t.Errorf("not owned by the deployment: %+v", rs.OwnerReferences)
					}
				}
			},
		},
		{
			name: "a new template surges by maxSurge only",
			d: func() *apps.Deployment {
				d := newD(3, one, intstr.FromInt32(0))
				d.Spec.Template.Spec.Containers[0].Image = "v2"
				return d
			},
			rss: func(d *apps.Deployment) []*apps.ReplicaSet {
				rs := newRSFor(d, "old", "v1", 3, 3, 1)
				rs.Annotations[DesiredReplicasAnnotation] = "3"
				return []*apps.ReplicaSet{rs}
			},
			check: func(t *testing.T, d *apps.Deployment, writes map[string]*apps.ReplicaSet) {
				if _, ok := writes["old"]; ok {
					t.Errorf("old replica set scaled down before the new one was available")
				}
				var created *apps.ReplicaSet
				for name, rs := range writes {
					if name != "old" {
						created = rs
					}
				}
				if created == nil || *created.Spec.Replicas != 1 || created.Annotations[RevisionAnnotation] != "2" {
					t.Fatalf("new replica set = %+v", created)
				}
			},
		},
		{
			name: "old replica sets scale down within maxUnavailable",
			d: func() *apps.Deployment {
				d := newD(4, intstr.FromInt32(0), one)
				d.Spec.Template.Spec.Containers[0].Image = "v2"
				return d
			},
			rss: func(d *apps.Deployment) []*apps.ReplicaSet {
				old := newRSFor(d, "old", "v1", 4, 4, 1)
				old.Annotations[DesiredReplicasAnnotation] = "4"
				cur := newRSFor(d, "new", "v2", 0, 0, 2)
				cur.Annotations[DesiredReplicasAnnotation] = "4"
				cur.Annotations[RevisionAnnotation] = "2"
				return []*apps.ReplicaSet{old, cur}
			},
			check: func(t *testing.T, d *apps.Deployment, writes map[string]*apps.ReplicaSet) {
				old, ok := writes["old"]
				if !ok || *old.Spec.Replicas != 3 {
					t.Fatalf("old replica set = %+v, want scaled to 3", old)
				}
				if w, ok := writes["new"]; ok && *w.Spec.Replicas != 0 {
					t.Errorf("new replica set grew past maxSurge 0 to %d", *w.Spec.Replicas)
				}
			},
		},
		{
			name: "scaling mid-rollout is proportional",
			d: func() *apps.Deployment {
				d := newD(20, intstr.FromInt32(0), intstr.FromInt32(2))
				d.Spec.Template.Spec.Containers[0].Image = "v2"
				return d
			},
			rss: func(d *apps.Deployment) []*apps.ReplicaSet {
				old := newRSFor(d, "old", "v1", 6, 6, 1)
				cur := newRSFor(d, "new", "v2", 4, 4, 2)
				for _, rs := range []*apps.ReplicaSet{old, cur} {
					rs.Annotations[DesiredReplicasAnnotation] = "10"
					rs.Annotations[MaxReplicasAnnotation] = "10"
				}
				return []*apps.ReplicaSet{old, cur}
			},
			check: func(t *testing.T, d *apps.Deployment, writes map[string]*apps.ReplicaSet) {
				if *writes["old"].Spec.Replicas != 12 || *writes["new"].Spec.Replicas != 8 {
					t.Errorf("sizes old %d new %d, want 12 and 8", *writes["old"].Spec.Replicas, *writes["new"].Spec.Replicas)
				}
			},
		},
		{
			name: "revision history limit deletes the oldest unused replica sets",
			d: func() *apps.Deployment {
				d := newD(1, one, one)
				limit := int32(1)
				d.Spec.RevisionHistoryLimit = &limit
				d.Status = apps.DeploymentStatus{ObservedGeneration: 1, Replicas: 1, UpdatedReplicas: 1, AvailableReplicas: 1}
				return d
			},
			rss: func(d *apps.Deployment) []*apps.ReplicaSet {
				cur := newRSFor(d, "cur", "v1", 1, 1, 3)
				cur.Annotations[DesiredReplicasAnnotation] = "1"
				cur.Annotations[RevisionAnnotation] = "3"
				a := newRSFor(d, "rev1", "v0", 0, 0, 1)
				b := newRSFor(d, "rev2", "v-1", 0, 0, 2)
				b.Annotations[RevisionAnnotation] = "2"
				return []*apps.ReplicaSet{cur, a, b}
			},
			check: func(t *testing.T, d *apps.Deployment, _ map[string]*apps.ReplicaSet) {},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.d()
			var rss []*apps.ReplicaSet
			if tt.rss != nil {
				rss = tt.rss(d)
			}
			f := newFixture(t, d, rss...)
			if err := f.c.sync(context.Background(), "default/web"); err != nil {
				t.Fatalf("sync: %v", err)
			}
			tt.check(t, d, f.replicaSetWrites())
			if tt.name == "revision history limit deletes the oldest unused replica sets" {
				var deleted []string
				for _, a := range f.client.Actions() {
					if a.GetVerb() == "delete" {
						deleted = append(deleted, a.(clienttesting.DeleteAction).GetName())
					}
				}
				if len(deleted) != 1 || deleted[0] != "rev1" {
					t.Errorf("deleted %v, want [rev1]", deleted)
				}
			}
		})
	}
}
