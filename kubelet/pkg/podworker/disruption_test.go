package podworker

import (
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"navarch.dev/kubelet/pkg/admission"
)

func condition(st v1.PodStatus, t v1.PodConditionType) []v1.PodCondition {
	var out []v1.PodCondition
	for _, c := range st.Conditions {
		if c.Type == t {
			out = append(out, c)
		}
	}
	return out
}

// TestEvictedPodDisruptionTarget: an evicted pod's status carries, besides
// phase Failed and reason Evicted, the DisruptionTarget condition (True,
// TerminationByKubelet, the eviction message) once; later syncs leave the
// status as it is, and a kubelet restarted since keeps the condition.
func TestEvictedPodDisruptionTarget(t *testing.T) {
	e := newEnv(t, makePod("hog"))
	e.sync("default/hog")
	hog, _ := e.store.Get("default/hog")
	if got := condition(hog.Status, v1.DisruptionTarget); len(got) != 0 {
		t.Fatalf("running pod has DisruptionTarget %+v", got)
	}
	const msg = "The node was low on resource: pids. Threshold quantity: 1k, available: 500. "
	e.w.Evict(hog, msg, time.Second)
	st := e.sync("default/hog")
	if st.Phase != v1.PodFailed || st.Reason != "Evicted" || st.Message != msg {
		t.Fatalf("evicted pod status = phase %s reason %q message %q", st.Phase, st.Reason, st.Message)
	}
	got := condition(st, v1.DisruptionTarget)
	if len(got) != 1 {
		t.Fatalf("DisruptionTarget conditions = %+v, want one", got)
	}
	c := got[0]
	if c.Status != v1.ConditionTrue || c.Reason != "TerminationByKubelet" || c.Message != msg || c.LastTransitionTime.IsZero() {
		t.Errorf("DisruptionTarget = %+v, want True, TerminationByKubelet, the eviction message, a transition time", c)
	}

	e.advance(time.Minute)
	if st2 := e.sync("default/hog"); !statusEqual(st, st2) {
		t.Errorf("evicted pod's status changed on a later sync:\n%+v\n%+v", st, st2)
	}

	// A new worker (the kubelet restarted) no longer knows of the eviction;
	// the pod's status, condition included, stands.
	w2 := New(Config{NodeName: "n1", NodeIP: "192.0.2.10", PodLogRoot: t.TempDir()},
		Options{Runtime: e.w.rt, Client: e.w.client, Source: e.store, Writer: e.store})
	w2.now = e.now
	e.w = w2
	st3 := e.sync("default/hog")
	if st3.Phase != v1.PodFailed || st3.Reason != "Evicted" || len(condition(st3, v1.DisruptionTarget)) != 1 ||
		!condition(st3, v1.DisruptionTarget)[0].LastTransitionTime.Equal(&c.LastTransitionTime) {
		t.Errorf("after a restart: phase %s reason %q conditions %+v, want the eviction's status kept", st3.Phase, st3.Reason, st3.Conditions)
	}
}

// TestRejectedPodNoDisruptionTarget: a pod refused at admission fails
// without a DisruptionTarget condition, as upstream: it was never running,
// so nothing was disrupted.
func TestRejectedPodNoDisruptionTarget(t *testing.T) {
	e := newEnv(t, makePod("a"), makePod("b"))
	e.w.admitter = admission.New(v1.ResourceList{v1.ResourcePods: resource.MustParse("1")}, nil)
	e.sync("default/a")
	st := e.sync("default/b")
	if st.Phase != v1.PodFailed || st.Reason != "OutOfpods" {
		t.Fatalf("second pod: phase %s reason %q, want Failed OutOfpods", st.Phase, st.Reason)
	}
	if got := condition(st, v1.DisruptionTarget); len(got) != 0 {
		t.Errorf("rejected pod has DisruptionTarget %+v", got)
	}
}
