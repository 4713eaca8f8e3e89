// Package integration runs the scheduler against a real apiserver (the
// in-process test server on embedded etcd) with fake Node objects: no
// kubelet, so pods are only bound, never run.
package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"

	"navarch.dev/apiserver/testserver"

	"navarch.dev/scheduler/pkg/config"
	"navarch.dev/scheduler/pkg/decisions"
	"navarch.dev/scheduler/pkg/scheduler"
)

const waitTimeout = 60 * time.Second

type env struct {
	t      *testing.T
	ctx    context.Context
	client kubernetes.Interface
	ts     *testserver.TestServer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ts := testserver.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return &env{t: t, ctx: ctx, client: ts.Client, ts: ts}
}

// startScheduler runs a scheduler (no leader election) until the test ends.
func (e *env) startScheduler(cfg *config.Configuration) (*scheduler.Scheduler, *decisions.Store) {
	e.t.Helper()
	if cfg == nil {
		cfg = config.Default()
	}
	store := decisions.NewStore(0)
	s, err := scheduler.New(scheduler.Options{Client: e.client, Config: cfg, Decisions: store})
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	e.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			e.t.Errorf("scheduler: %v", err)
		}
	})
	return s, store
}

type nodeOpt func(*v1.Node)

func labels(kv ...string) nodeOpt {
	return func(n *v1.Node) {
		for i := 0; i+1 < len(kv); i += 2 {
			n.Labels[kv[i]] = kv[i+1]
		}
	}
}

func taints(ts ...v1.Taint) nodeOpt {
	return func(n *v1.Node) { n.Spec.Taints = append(n.Spec.Taints, ts...) }
}

// makeNode returns a Ready node with cpu (cores), memory and 110 pods.
func makeNode(name, cpu, mem string, opts ...nodeOpt) *v1.Node {
	rl := v1.ResourceList{
		v1.ResourceCPU: resource.MustParse(cpu), v1.ResourceMemory: resource.MustParse(mem),
		v1.ResourcePods: resource.MustParse("110"),
	}
	n := &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{v1.LabelHostname: name}},
		Status: v1.NodeStatus{
			Capacity: rl, Allocatable: rl,
			Conditions: []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue, LastHeartbeatTime: metav1.Now()}},
		},
	}
	for _, o := range opts {
		o(n)
	}
	return n
}

func (e *env) createNode(n *v1.Node) *v1.Node {
	e.t.Helper()
	created, err := e.client.CoreV1().Nodes().Create(e.ctx, n, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatalf("create node %s: %v", n.Name, err)
	}
	// Status is a subresource: the create drops it.
	created.Status = n.Status
	created, err = e.client.CoreV1().Nodes().UpdateStatus(e.ctx, created, metav1.UpdateOptions{})
	if err != nil {
		e.t.Fatalf("update node %s status: %v", n.Name, err)
	}
	return created
}

type podOpt func(*v1.Pod)

func requests(cpu, mem string) podOpt {
	return func(p *v1.Pod) {
		rl := v1.ResourceList{}
		if cpu != "" {
			rl[v1.ResourceCPU] = resource.MustParse(cpu)
		}
		if mem != "" {
			rl[v1.ResourceMemory] = resource.MustParse(mem)
		}
		p.Spec.Containers[0].Resources.Requests = rl
	}
}

func schedulerName(n string) podOpt { return func(p *v1.Pod) { p.Spec.SchedulerName = n } }
func nodeSelector(kv ...string) podOpt {
	return func(p *v1.Pod) {
		p.Spec.NodeSelector = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			p.Spec.NodeSelector[kv[i]] = kv[i+1]
		}
	}
}
func podLabels(kv ...string) podOpt {
	return func(p *v1.Pod) {
		p.Labels = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			p.Labels[kv[i]] = kv[i+1]
		}
	}
}
func priorityClass(name string) podOpt { return func(p *v1.Pod) { p.Spec.PriorityClassName = name } }

func makePod(name string, opts ...podOpt) *v1.Pod {
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec:       v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: "busybox"}}},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func (e *env) createPod(p *v1.Pod) *v1.Pod {
	e.t.Helper()
	created, err := e.client.CoreV1().Pods(p.Namespace).Create(e.ctx, p, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatalf("create pod %s: %v", p.Name, err)
	}
	return created
}

// poll calls cond every 50ms until it returns true or the deadline passes.
func (e *env) poll(what string, cond func() (bool, error)) {
	e.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	var lastErr error
	for time.Now().Before(deadline) {
		ok, err := cond()
		if ok {
			return
		}
		lastErr = err
		time.Sleep(50 * time.Millisecond)
	}
	e.t.Fatalf("timed out waiting for %s (last error: %v)", what, lastErr)
}

// waitBound waits until the pod is bound and returns its node.
func (e *env) waitBound(ns, name string) string {
	e.t.Helper()
	var node string
	e.poll("pod "+name+" to be bound", func() (bool, error) {
		p, err := e.client.CoreV1().Pods(ns).Get(e.ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		node = p.Spec.NodeName
		return node != "", nil
	})
	return node
}

// waitUnschedulable waits for PodScheduled=False and returns its message.
func (e *env) waitUnschedulable(ns, name string) string {
	e.t.Helper()
	var msg string
	e.poll("pod "+name+" to be marked unschedulable", func() (bool, error) {
		p, err := e.client.CoreV1().Pods(ns).Get(e.ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range p.Status.Conditions {
			if c.Type == v1.PodScheduled && c.Status == v1.ConditionFalse && c.Reason == v1.PodReasonUnschedulable {
				msg = c.Message
				return true, nil
			}
		}
		return false, fmt.Errorf("conditions %v", p.Status.Conditions)
	})
	return msg
}

// events returns the events of the pod with reason.
func (e *env) events(ns, name, reason string) []v1.Event {
	e.t.Helper()
	list, err := e.client.CoreV1().Events(ns).List(e.ctx, metav1.ListOptions{
		FieldSelector: fields.Set{"involvedObject.name": name}.String(),
	})
	if err != nil {
		e.t.Fatalf("list events: %v", err)
	}
	var out []v1.Event
	for _, ev := range list.Items {
		if ev.Reason == reason {
			out = append(out, ev)
		}
	}
	return out
}

// waitEvent waits for an event of the pod with reason and a message
// containing substr.
func (e *env) waitEvent(ns, name, reason, substr string) v1.Event {
	e.t.Helper()
	var found v1.Event
	e.poll(fmt.Sprintf("event %s on %s", reason, name), func() (bool, error) {
		for _, ev := range e.events(ns, name, reason) {
			if strings.Contains(ev.Message, substr) {
				found = ev
				return true, nil
			}
		}
		return false, nil
	})
	return found
}
