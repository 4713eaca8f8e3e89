package integration

import (
	"testing"

	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// finishDeletions plays the kubelet for terminating pods: it removes them
// for good, as the kubelet does once their containers stopped.
func (e *env) finishDeletions(ns string) {
	list, err := e.client.CoreV1().Pods(ns).List(e.ctx, metav1.ListOptions{})
	if err != nil {
		return
	}
	zero := int64(0)
	for _, p := range list.Items {
		if p.DeletionTimestamp != nil {
			e.client.CoreV1().Pods(ns).Delete(e.ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
		}
	}
}

// TestPreemptionFreesRoom: a high-priority pod (PriorityClass) that fits
// nowhere evicts a low-priority pod, is nominated, and lands once the
// victim is gone.
func TestPreemptionFreesRoom(t *testing.T) {
	e := newEnv(t)
	for _, pc := range []*schedulingv1.PriorityClass{
		{ObjectMeta: metav1.ObjectMeta{Name: "low"}, Value: 10},
		{ObjectMeta: metav1.ObjectMeta{Name: "high"}, Value: 1000},
	} {
		if _, err := e.client.SchedulingV1().PriorityClasses().Create(e.ctx, pc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	e.createNode(makeNode("n1", "2", "4Gi"))
	e.startScheduler(nil)

	e.createPod(makePod("victim", requests("2", "1Gi"), priorityClass("low")))
	e.waitBound("default", "victim")

	created := e.createPod(makePod("vip", requests("2", "1Gi"), priorityClass("high")))
	if created.Spec.Priority == nil || *created.Spec.Priority != 1000 {
		t.Fatalf("apiserver resolved priority %v, want 1000", created.Spec.Priority)
	}
	e.poll("victim to be deleted", func() (bool, error) {
		p, err := e.client.CoreV1().Pods("default").Get(e.ctx, "victim", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return err == nil && p.DeletionTimestamp != nil, err
	})
	e.waitEvent("default", "victim", "Preempted", "Preempted by pod "+string(created.UID)+" on node n1")
	e.poll("vip to be nominated", func() (bool, error) {
		p, err := e.client.CoreV1().Pods("default").Get(e.ctx, "vip", metav1.GetOptions{})
		return err == nil && (p.Status.NominatedNodeName == "n1" || p.Spec.NodeName == "n1"), err
	})
	e.finishDeletions("default")
	if got := e.waitBound("default", "vip"); got != "n1" {
		t.Errorf("vip bound to %s, want n1", got)
	}
}

// TestLowerPriorityDoesNotPreempt: equal or lower priority never evicts.
func TestLowerPriorityDoesNotPreempt(t *testing.T) {
	e := newEnv(t)
	if _, err := e.client.SchedulingV1().PriorityClasses().Create(e.ctx, &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "high"}, Value: 1000}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.createNode(makeNode("n1", "2", "4Gi"))
	e.startScheduler(nil)
	e.createPod(makePod("important", requests("2", "1Gi"), priorityClass("high")))
	e.waitBound("default", "important")
	e.createPod(makePod("plain", requests("2", "1Gi")))
	msg := e.waitUnschedulable("default", "plain")
	const want = "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
	if msg != want {
		t.Errorf("message = %q, want %q", msg, want)
	}
	p, err := e.client.CoreV1().Pods("default").Get(e.ctx, "important", metav1.GetOptions{})
	if err != nil || p.DeletionTimestamp != nil {
		t.Errorf("high-priority pod disturbed: %v %v", err, p.DeletionTimestamp)
	}
	if _, err := e.client.CoreV1().Pods("default").Create(e.ctx, makePod("nope", priorityClass("missing")), metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("pod with unknown priority class: %v, want Forbidden", err)
	}
}
