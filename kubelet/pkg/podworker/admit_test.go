package podworker

import (
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"navarch.dev/kubelet/pkg/admission"
)

func runningContainers(e *env) int {
	n := 0
	for _, c := range e.cri.Containers() {
		if c.State == runtimeapi.ContainerState_CONTAINER_RUNNING {
			n++
		}
	}
	return n
}

// TestMaxPods binds three pods to a node with room for two: the third is
// failed with OutOfpods and never runs; once one of the first two is gone,
// a new pod fits again.
func TestMaxPods(t *testing.T) {
	e := newEnv(t, makePod("a"), makePod("b"), makePod("c"))
	e.w.admitter = admission.New(v1.ResourceList{v1.ResourcePods: resource.MustParse("2")}, nil)
	for _, k := range []string{"default/a", "default/b"} {
		if st := e.sync(k); st.Phase != v1.PodRunning {
			t.Fatalf("%s: phase %s, want Running", k, st.Phase)
		}
	}
	st := e.sync("default/c")
	if st.Phase != v1.PodFailed || st.Reason != "OutOfpods" ||
		st.Message != "Pod was rejected: Node didn't have enough resource: pods, requested: 1, used: 2, capacity: 2" {
		t.Fatalf("third pod status = phase %s reason %q message %q, want Failed OutOfpods", st.Phase, st.Reason, st.Message)
	}
	if n := runningContainers(e); n != 2 {
		t.Errorf("%d running containers, want 2 (the rejected pod never starts)", n)
	}
	// Synced again, the rejected pod stays as it was.
	if st2 := e.sync("default/c"); !statusEqual(st, st2) {
		t.Errorf("rejected pod's status changed:\n%+v\n%+v", st, st2)
	}

	// Pod a is deleted; d now fits.
	grace := int64(0)
	now := metav1.Now()
	e.store.update("default/a", func(p *v1.Pod) { p.DeletionTimestamp, p.DeletionGracePeriodSeconds = &now, &grace })
	e.sync("default/a")
	e.store.mu.Lock()
	e.store.pods["default/d"] = makePod("d")
	e.store.mu.Unlock()
	if st := e.sync("default/d"); st.Phase != v1.PodRunning {
		t.Errorf("pod d after a was deleted: phase %s reason %q, want Running", st.Phase, st.Reason)
	}
}

// TestEvict stops an evicted pod and fails it with reason Evicted and the
// eviction message; it is not restarted.
func TestEvict(t *testing.T) {
	e := newEnv(t, makePod("hog"), makePod("calm"))
	e.sync("default/hog")
	e.sync("default/calm")
	if n := len(e.w.ActivePods()); n != 2 {
		t.Fatalf("%d active pods, want 2", n)
	}
	hog, _ := e.store.Get("default/hog")
	e.w.Evict(hog, "The node was low on resource: memory.", time.Second)
	if active := e.w.ActivePods(); len(active) != 1 || active[0].Name != "calm" {
		t.Errorf("active pods once hog is being evicted = %d, want only calm", len(active))
	}
	st := e.sync("default/hog")
	if st.Phase != v1.PodFailed || st.Reason != "Evicted" || st.Message != "The node was low on resource: memory." {
		t.Fatalf("evicted pod status = phase %s reason %q message %q", st.Phase, st.Reason, st.Message)
	}
	if len(st.ContainerStatuses) != 1 || st.ContainerStatuses[0].State.Terminated == nil {
		t.Errorf("container statuses = %+v, want the container terminated", st.ContainerStatuses)
	}
	if n := runningContainers(e); n != 1 {
		t.Errorf("%d running containers, want 1 (calm's)", n)
	}
	e.advance(time.Minute)
	if st2 := e.sync("default/hog"); st2.Phase != v1.PodFailed || st2.Reason != "Evicted" || runningContainers(e) != 1 {
		t.Errorf("evicted pod after a minute: phase %s reason %q, %d running containers", st2.Phase, st2.Reason, runningContainers(e))
	}
	active := e.w.ActivePods()
	if len(active) != 1 || active[0].Name != "calm" {
		t.Errorf("active pods after eviction = %d, want only calm", len(active))
	}
}
