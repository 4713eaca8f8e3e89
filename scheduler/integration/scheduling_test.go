package integration

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestPodsLandWherePluginsSay checks each default filter and score with
// real objects: the pod must end up on the one node the plugins allow or
// prefer.
func TestPodsLandWherePluginsSay(t *testing.T) {
	e := newEnv(t)
	e.createNode(makeNode("small", "1", "1Gi", labels("zone", "a", "disk", "hdd")))
	e.createNode(makeNode("big", "8", "16Gi", labels("zone", "b", "disk", "ssd")))
	e.createNode(makeNode("tainted", "8", "16Gi", labels("zone", "c", "disk", "ssd"),
		taints(v1.Taint{Key: "dedicated", Value: "gpu", Effect: v1.TaintEffectNoSchedule})))
	cordoned := makeNode("cordoned", "8", "16Gi", labels("zone", "d"))
	cordoned.Spec.Unschedulable = true
	e.createNode(cordoned)
	e.startScheduler(nil)

	tests := []struct {
		name string
		pod  *v1.Pod
		want string
	}{
		{name: "resources: only big has 4 cpu", pod: makePod("fit", requests("4", "1Gi")), want: "big"},
		{name: "nodeSelector", pod: makePod("selector", nodeSelector("disk", "hdd")), want: "small"},
		{name: "required affinity NotIn", pod: func() *v1.Pod {
			p := makePod("affinity")
			p.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{
				NodeSelectorTerms: []v1.NodeSelectorTerm{{MatchExpressions: []v1.NodeSelectorRequirement{
					{Key: "zone", Operator: v1.NodeSelectorOpNotIn, Values: []string{"a", "b", "d"}}}}}}}}
			p.Spec.Tolerations = []v1.Toleration{{Key: "dedicated", Operator: v1.TolerationOpExists}}
			return p
		}(), want: "tainted"},
		{name: "preferred affinity", pod: func() *v1.Pod {
			p := makePod("preferred")
			p.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []v1.PreferredSchedulingTerm{
				{Weight: 100, Preference: v1.NodeSelectorTerm{MatchExpressions: []v1.NodeSelectorRequirement{{Key: "zone", Operator: v1.NodeSelectorOpIn, Values: []string{"a"}}}}}}}}
			return p
		}(), want: "small"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			e.createPod(tt.pod)
			if got := e.waitBound("default", tt.pod.Name); got != tt.want {
				t.Errorf("pod %s bound to %s, want %s", tt.pod.Name, got, tt.want)
			}
			ev := e.waitEvent("default", tt.pod.Name, "Scheduled", "Successfully assigned default/"+tt.pod.Name+" to "+tt.want)
			if ev.Source.Component != "default-scheduler" {
				t.Errorf("event source = %q, want default-scheduler", ev.Source.Component)
			}
		})
	}
}

// TestUnschedulableThenScheduled: a pod no node fits gets PodScheduled=False
// and a FailedScheduling event with the summary, then lands once a node
// that fits is added.
func TestUnschedulableThenScheduled(t *testing.T) {
	e := newEnv(t)
	e.createNode(makeNode("n1", "1", "1Gi"))
	e.createNode(makeNode("n2", "1", "1Gi"))
	e.createNode(makeNode("n3", "8", "16Gi", taints(v1.Taint{Key: "dedicated", Value: "db", Effect: v1.TaintEffectNoSchedule})))
	_, store := e.startScheduler(nil)

	e.createPod(makePod("big", requests("4", "1Gi")))
	const want = "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: db}, 2 Insufficient cpu. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
	if msg := e.waitUnschedulable("default", "big"); msg != want {
		t.Errorf("condition message = %q, want %q", msg, want)
	}
	ev := e.waitEvent("default", "big", "FailedScheduling", "0/3 nodes are available")
	if ev.Message != want || ev.Type != v1.EventTypeWarning {
		t.Errorf("event = %s %q, want Warning %q", ev.Type, ev.Message, want)
	}
	d := store.Get("default", "big")
	if d == nil || d.Result != "Unschedulable" || len(d.Nodes) != 3 {
		t.Fatalf("decision = %+v", d)
	}

	e.createNode(makeNode("n4", "8", "16Gi"))
	if got := e.waitBound("default", "big"); got != "n4" {
		t.Errorf("bound to %s, want n4", got)
	}
	if d := store.Get("default", "big"); d == nil || d.Result != "Scheduled" || d.Node != "n4" {
		t.Errorf("decision after scheduling = %+v", d)
	}
}

// TestOtherSchedulerNameIgnored: pods for another scheduler stay pending.
func TestOtherSchedulerNameIgnored(t *testing.T) {
	e := newEnv(t)
	e.createNode(makeNode("n1", "4", "8Gi"))
	e.startScheduler(nil)
	e.createPod(makePod("other", schedulerName("other-scheduler")))
	e.createPod(makePod("mine"))
	e.waitBound("default", "mine")
	// "mine" was created after "other" and the queue is FIFO at equal
	// priority, so "other" would have been bound first had it been ours.
	p, err := e.client.CoreV1().Pods("default").Get(e.ctx, "other", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Spec.NodeName != "" || len(p.Status.Conditions) != 0 {
		t.Errorf("pod of other scheduler touched: node %q, conditions %v", p.Spec.NodeName, p.Status.Conditions)
	}
	if evs := e.events("default", "other", "FailedScheduling"); len(evs) != 0 {
		t.Errorf("events for other scheduler's pod: %v", evs)
	}
}
