package statefulset

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"navarch.dev/controller-manager/pkg/controller/controllertest"
	"navarch.dev/controller-manager/pkg/controller/revision"
)

var now = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

type setOpt func(*appsv1.StatefulSet)

func makeSet(replicas int32, opts ...setOpt) *appsv1.StatefulSet {
	s := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "set-uid", Generation: 1},
		Spec: appsv1.StatefulSetSpec{
			Replicas:    ptr.To(replicas),
			ServiceName: "web",
			Selector:    &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "web:1"}}},
			},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "data"},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
				},
			}},
			PodManagementPolicy: appsv1.OrderedReadyPodManagement,
			UpdateStrategy:      appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType},
		},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

type harness struct {
	t      *testing.T
	client *fake.Clientset
	f      informers.SharedInformerFactory
	c      *Controller
}

func newHarness(t *testing.T, set *appsv1.StatefulSet) *harness {
	client := fake.NewClientset(set)
	controllertest.GenerateNames(client)
	f := informers.NewSharedInformerFactory(client, 0)
	c := NewController(client, f.Apps().V1().StatefulSets(), f.Core().V1().Pods(), f.Core().V1().PersistentVolumeClaims(),
		f.Apps().V1().ControllerRevisions(), record.NewFakeRecorder(1000), clocktesting.NewFakeClock(now))
	h := &harness{t: t, client: client, f: f, c: c}
	h.refresh()
	return h
}

// refresh copies the fake apiserver's state into the informer caches.
func (h *harness) refresh() {
	ctx := context.Background()
	sets, _ := h.client.AppsV1().StatefulSets("default").List(ctx, metav1.ListOptions{})
	pods, _ := h.client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
	pvcs, _ := h.client.CoreV1().PersistentVolumeClaims("default").List(ctx, metav1.ListOptions{})
	revs, _ := h.client.AppsV1().ControllerRevisions("default").List(ctx, metav1.ListOptions{})
	var objs []any
	for i := range sets.Items {
		objs = append(objs, &sets.Items[i])
	}
	_ = h.f.Apps().V1().StatefulSets().Informer().GetIndexer().Replace(objs, "")
	objs = nil
	for i := range pods.Items {
		objs = append(objs, &pods.Items[i])
	}
	_ = h.f.Core().V1().Pods().Informer().GetIndexer().Replace(objs, "")
	objs = nil
	for i := range pvcs.Items {
		objs = append(objs, &pvcs.Items[i])
	}
	_ = h.f.Core().V1().PersistentVolumeClaims().Informer().GetIndexer().Replace(objs, "")
	objs = nil
	for i := range revs.Items {
		objs = append(objs, &revs.Items[i])
	}
	_ = h.f.Apps().V1().ControllerRevisions().Informer().GetIndexer().Replace(objs, "")
}

func (h *harness) sync() {
	h.t.Helper()
	if err := h.c.sync(context.Background(), "default/web"); err != nil {
		h.t.Fatalf("sync: %v", err)
	}
	h.refresh()
}

func (h *harness) pods() []string {
	pods, _ := h.client.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{})
	var out []string
	for _, p := range pods.Items {
		out = append(out, p.Name)
	}
	sort.Strings(out)
	return out
}

// makeReady plays the kubelet: every pod runs and is ready.
func (h *harness) makeReady() {
	ctx := context.Background()
	pods, _ := h.client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
	for _, p := range pods.Items {
		p.Status.Phase = corev1.PodRunning
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Time{Time: now.Add(-time.Minute)}}}
		_, _ = h.client.CoreV1().Pods("default").UpdateStatus(ctx, &p, metav1.UpdateOptions{})
	}
	h.refresh()
}

func (h *harness) set() *appsv1.StatefulSet {
	s, err := h.client.AppsV1().StatefulSets("default").Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

func (h *harness) update(mut func(*appsv1.StatefulSet)) {
	s := h.set()
	mut(s)
	s.Generation++
	if _, err := h.client.AppsV1().StatefulSets("default").Update(context.Background(), s, metav1.UpdateOptions{}); err != nil {
		h.t.Fatal(err)
	}
	h.refresh()
}

func (h *harness) revisionOf(name string) string {
	p, err := h.client.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	return p.Labels[revision.HashLabel]
}

func TestOrderedReadyCreatesOneAtATime(t *testing.T) {
	h := newHarness(t, makeSet(3))
	steps := []struct {
		name      string
		makeReady bool
		want      []string
	}{
		{name: "first sync creates web-0", want: []string{"web-0"}},
		{name: "web-0 not ready: wait", want: []string{"web-0"}},
		{name: "web-0 ready: web-1", makeReady: true, want: []string{"web-0", "web-1"}},
		{name: "web-1 ready: web-2", makeReady: true, want: []string{"web-0", "web-1", "web-2"}},
	}
	for _, s := range steps {
		if s.makeReady {
			h.makeReady()
		}
		h.sync()
		if got := h.pods(); fmt.Sprint(got) != fmt.Sprint(s.want) {
			t.Fatalf("%s: pods %v, want %v", s.name, got, s.want)
		}
	}
	pvcs, _ := h.client.CoreV1().PersistentVolumeClaims("default").List(context.Background(), metav1.ListOptions{})
	var names []string
	for _, p := range pvcs.Items {
		names = append(names, p.Name)
	}
	sort.Strings(names)
	if fmt.Sprint(names) != "[data-web-0 data-web-1 data-web-2]" {
		t.Errorf("claims = %v", names)
	}
	p, _ := h.client.CoreV1().Pods("default").Get(context.Background(), "web-1", metav1.GetOptions{})
	if p.Spec.Hostname != "web-1" || p.Spec.Subdomain != "web" || p.Labels[appsv1.StatefulSetPodNameLabel] != "web-1" || p.Labels[appsv1.PodIndexLabel] != "1" {
		t.Errorf("identity of web-1: hostname %q subdomain %q labels %v", p.Spec.Hostname, p.Spec.Subdomain, p.Labels)
	}
	if len(p.Spec.Volumes) != 1 || p.Spec.Volumes[0].PersistentVolumeClaim.ClaimName != "data-web-1" {
		t.Errorf("volumes of web-1: %+v", p.Spec.Volumes)
	}
	h.makeReady()
	h.sync()
	if st := h.set().Status; st.Replicas != 3 || st.ReadyReplicas != 3 || st.UpdatedReplicas != 3 || st.CurrentRevision != st.UpdateRevision {
		t.Errorf("status = %+v", st)
	}
}

func TestParallelCreatesAll(t *testing.T) {
	h := newHarness(t, makeSet(3, func(s *appsv1.StatefulSet) { s.Spec.PodManagementPolicy = appsv1.ParallelPodManagement }))
	h.sync()
	if got := h.pods(); fmt.Sprint(got) != "[web-0 web-1 web-2]" {
		t.Fatalf("pods %v", got)
	}
}

func TestScaleDownFromHighestOrdinal(t *testing.T) {
	h := newHarness(t, makeSet(3, func(s *appsv1.StatefulSet) { s.Spec.PodManagementPolicy = appsv1.ParallelPodManagement }))
	h.sync()
	h.makeReady()
	h.update(func(s *appsv1.StatefulSet) {
		s.Spec.Replicas = ptr.To[int32](1)
		s.Spec.PodManagementPolicy = appsv1.OrderedReadyPodManagement
	})
	h.sync()
	if got := h.pods(); fmt.Sprint(got) != "[web-0 web-1]" {
		t.Fatalf("after one ordered step: %v", got)
	}
	h.sync()
	if got := h.pods(); fmt.Sprint(got) != "[web-0]" {
		t.Fatalf("after two: %v", got)
	}
}

func TestRollingUpdateWithPartition(t *testing.T) {
	h := newHarness(t, makeSet(3, func(s *appsv1.StatefulSet) { s.Spec.PodManagementPolicy = appsv1.ParallelPodManagement }))
	h.sync()
	h.makeReady()
	h.sync()
	oldRev := h.revisionOf("web-0")
	h.update(func(s *appsv1.StatefulSet) {
		s.Spec.Template.Spec.Containers[0].Image = "web:2"
		s.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr.To[int32](1)}
	})
	// Each round: the highest old pod is deleted, recreated at the update
	// revision, made ready.
	for _, victim := range []string{"web-2", "web-1"} {
		h.sync()
		if got := h.pods(); len(got) != 2 {
			t.Fatalf("expected %s deleted, pods %v", victim, got)
		}
		h.sync()
		if h.revisionOf(victim) == oldRev {
			t.Fatalf("%s recreated at the old revision", victim)
		}
		h.makeReady()
	}
	h.sync()
	if got := h.revisionOf("web-0"); got != oldRev {
		t.Errorf("web-0 below the partition was updated")
	}
	st := h.set().Status
	if st.UpdatedReplicas != 2 || st.CurrentReplicas != 1 || st.CurrentRevision == st.UpdateRevision {
		t.Errorf("status %+v", st)
	}
	revs, _ := h.client.AppsV1().ControllerRevisions("default").List(context.Background(), metav1.ListOptions{})
	if len(revs.Items) != 2 {
		t.Errorf("revisions = %d, want 2", len(revs.Items))
	}
}

func TestOnDeleteLeavesPods(t *testing.T) {
	h := newHarness(t, makeSet(2, func(s *appsv1.StatefulSet) {
		s.Spec.PodManagementPolicy = appsv1.ParallelPodManagement
		s.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}
	}))
	h.sync()
	h.makeReady()
	h.update(func(s *appsv1.StatefulSet) { s.Spec.Template.Spec.Containers[0].Image = "web:2" })
	h.sync()
	h.sync()
	if got := h.pods(); len(got) != 2 {
		t.Fatalf("pods %v", got)
	}
	if st := h.set().Status; st.UpdatedReplicas != 0 {
		t.Errorf("updatedReplicas = %d, want 0", st.UpdatedReplicas)
	}
}

func TestFailedPodIsReplaced(t *testing.T) {
	h := newHarness(t, makeSet(1))
	h.sync()
	p, _ := h.client.CoreV1().Pods("default").Get(context.Background(), "web-0", metav1.GetOptions{})
	p.Status.Phase = corev1.PodFailed
	_, _ = h.client.CoreV1().Pods("default").UpdateStatus(context.Background(), p, metav1.UpdateOptions{})
	h.refresh()
	h.sync()
	if got := h.pods(); len(got) != 0 {
		t.Fatalf("failed pod not deleted: %v", got)
	}
	h.sync()
	if got := h.pods(); fmt.Sprint(got) != "[web-0]" {
		t.Fatalf("not recreated: %v", got)
	}
}

func TestOrdinalOf(t *testing.T) {
	set := makeSet(1)
	for _, tt := range []struct {
		name string
		pod  string
		want int
	}{
		{name: "ordinal", pod: "web-12", want: 12},
		{name: "other set", pod: "webx-1", want: -1},
		{name: "leading zero", pod: "web-01", want: -1},
		{name: "not a number", pod: "web-a", want: -1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := ordinalOf(set, tt.pod); got != tt.want {
				t.Errorf("ordinalOf(%q) = %d, want %d", tt.pod, got, tt.want)
			}
		})
	}
}
