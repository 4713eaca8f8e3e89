package integration

import (
	"context"
	"encoding/json"
	"net"
	"regexp"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"navarch.dev/e2e/clitest"
	"navarch.dev/shared/leaderelect"

	"navarch.dev/scheduler/pkg/app"
	"navarch.dev/scheduler/pkg/decisions"
)

// TestNavctlShowsDecisions runs the scheduler as its command does (leader
// election, HTTP port) and the built navctl against the same apiserver:
// navctl finds the leader through its Lease and prints the per-node table;
// plain describe shows the FailedScheduling summary; an unreachable
// scheduler and a pod without a decision are clear errors.
func TestNavctlShowsDecisions(t *testing.T) {
	cli := clitest.Start(t)
	e := &env{t: t, ctx: context.Background(), client: cli.Server.Client, ts: cli.Server}
	ctx, cancel := context.WithCancel(e.ctx)
	e.ctx = ctx

	e.createNode(makeNode("n1", "1", "1Gi"))
	e.createNode(makeNode("n2", "1", "1Gi"))
	e.createNode(makeNode("n3", "8", "16Gi", taints(v1.Taint{Key: "dedicated", Value: "db", Effect: v1.TaintEffectNoSchedule})))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := app.NewOptions()
	o.Kubeconfig = cli.Kubeconfig
	o.Listener = ln
	// Upstream's lease timings: a fresh Lease is taken at once, and a
	// loaded machine does not make the leader lose it mid-test.
	o.LeaderElect = leaderelect.NewOptions("kube-scheduler")
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx, o) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("scheduler: %v", err)
		}
	})

	// The leader publishes its endpoint on the Lease.
	url := "http://" + ln.Addr().String()
	e.poll("the endpoint annotation on the lease", func() (bool, error) {
		l, err := e.client.CoordinationV1().Leases("kube-system").Get(e.ctx, "kube-scheduler", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		var ep decisions.Endpoint
		if err := json.Unmarshal([]byte(l.Annotations[decisions.EndpointAnnotation]), &ep); err != nil {
			return false, err
		}
		return ep.URL == url && l.Spec.HolderIdentity != nil && ep.HolderIdentity == *l.Spec.HolderIdentity &&
			len(ep.SchedulerNames) == 1 && ep.SchedulerNames[0] == "default-scheduler", nil
	})

	e.createPod(makePod("big", requests("4", "1Gi")))
	const summary = "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: db}, 2 Insufficient cpu. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
	e.waitEvent("default", "big", "FailedScheduling", summary)

	// Plain describe: the summary is in the events.
	out := cli.OK(t, "", "describe", "pod", "big")
	if !regexp.MustCompile(`Warning +FailedScheduling +.+ +default-scheduler +` + regexp.QuoteMeta(summary)).MatchString(out) {
		t.Errorf("describe pod big lacks the FailedScheduling summary:\n%s", out)
	}
	if strings.Contains(out, "Scheduling Decision") {
		t.Errorf("describe without --show-decision printed the decision:\n%s", out)
	}

	// With --show-decision: the per-node table, found through the Lease.
	out = cli.OK(t, "", "describe", "pod", "big", "--show-decision")
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^Scheduling Decision:\n  Scheduler: +default-scheduler \(` + regexp.QuoteMeta(url) + `\)$`),
		regexp.MustCompile(`(?m)^  Result: +Unschedulable$`),
		regexp.MustCompile(`(?m)^  Message: +` + regexp.QuoteMeta(summary) + `$`),
		regexp.MustCompile(`(?m)^  Nodes: +3 total, 3 evaluated, 0 feasible$`),
		// No node was scored: no score columns.
		regexp.MustCompile(`(?m)^    Node +Filter +Total\n    ---- +------ +-----$`),
		regexp.MustCompile(`(?m)^    n1 +NodeResourcesFit: Insufficient cpu +-$`),
		regexp.MustCompile(`(?m)^    n2 +NodeResourcesFit: Insufficient cpu +-$`),
		regexp.MustCompile(`(?m)^    n3 +TaintToleration: node\(s\) had untolerated taint \{dedicated: db\} +-$`),
	} {
		if !want.MatchString(out) {
			t.Errorf("describe --show-decision output lacks %q:\n%s", want, out)
		}
	}
	if i, j := strings.Index(out, "Scheduling Decision:"), strings.Index(out, "Events:"); i < 0 || j < i {
		t.Errorf("the decision should come before the events:\n%s", out)
	}

	// Once a node fits, the table shows the scores and the winner.
	e.createNode(makeNode("n4", "8", "16Gi"))
	e.createNode(makeNode("n5", "16", "32Gi"))
	node := e.waitBound("default", "big")
	e.poll("the decision to show the binding", func() (bool, error) {
		out = cli.OK(t, "", "describe", "pod", "big", "--show-decision")
		return strings.Contains(out, "Result:  Scheduled") || regexp.MustCompile(`Result: +Scheduled`).MatchString(out), nil
	})
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^  Node: +` + node + `$`),
		regexp.MustCompile(`(?m)^  Nodes: +5 total, 5 evaluated, 2 feasible$`),
		// A column per plugin that scored (the others had nothing to
		// score: no affinity, no spread constraints); the chosen node
		// first, with its weighted scores and their total.
		regexp.MustCompile(`(?m)^    Node +Filter +TaintToleration +NodeResourcesFit +NodeResourcesBalancedAllocation +ImageLocality +Total\n    -+ .*\n    ` + node + ` +passed \(chosen\) +300( +\d+){4}$`),
		regexp.MustCompile(`(?m)^    n1 +NodeResourcesFit: Insufficient cpu( +-){5}$`),
	} {
		if !want.MatchString(out) {
			t.Errorf("describe --show-decision output lacks %q:\n%s", want, out)
		}
	}

	// Errors: a pod the scheduler never saw, and a scheduler that is not there.
	e.createPod(makePod("other", schedulerName("other-scheduler")))
	r := cli.Run(t, "", "describe", "pod", "other", "--show-decision")
	if r.Code != 1 || !strings.Contains(r.Stdout, "Scheduling Decision:  <unavailable>") ||
		!strings.Contains(r.Stderr, `error: pod default/other: scheduling decision: no scheduler found for "other-scheduler": no lease in kube-system has an annotation scheduler.navarch.dev/endpoint naming it`) {
		t.Errorf("describe of another scheduler's pod: exit %d\nstdout: %s\nstderr: %s", r.Code, r.Stdout, r.Stderr)
	}
	r = cli.Run(t, "", "describe", "pod", "other", "--show-decision", "--scheduler-address", ln.Addr().String())
	if r.Code != 1 || !strings.Contains(r.Stderr, "error: pod default/other: scheduling decision: no scheduling decision for pod default/other at scheduler "+url) {
		t.Errorf("describe of a pod without a decision: exit %d\nstdout: %s\nstderr: %s", r.Code, r.Stdout, r.Stderr)
	}
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()
	r = cli.Run(t, "", "describe", "pod", "big", "--show-decision", "--scheduler-address", closedAddr)
	if r.Code != 1 || !strings.Contains(r.Stderr, "error: pod default/big: scheduling decision: the scheduler at http://"+closedAddr+" is not reachable: ") ||
		!strings.Contains(r.Stdout, "Name:         big") {
		t.Errorf("describe with an unreachable scheduler: exit %d\nstdout: %s\nstderr: %s", r.Code, r.Stdout, r.Stderr)
	}
}
