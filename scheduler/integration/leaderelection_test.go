package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"navarch.dev/shared/leaderelect"

	"navarch.dev/scheduler/pkg/config"
	"navarch.dev/scheduler/pkg/scheduler"
)

type candidate struct {
	name   string
	sched  *scheduler.Scheduler
	cancel context.CancelFunc
	done   chan error
}

func (e *env) startCandidate(name string) *candidate {
	e.t.Helper()
	s, err := scheduler.New(scheduler.Options{Client: e.client, Config: config.Default()})
	if err != nil {
		e.t.Fatal(err)
	}
	opts := leaderelect.NewOptions("kube-scheduler")
	opts.LeaseDuration, opts.RenewDeadline, opts.RetryPeriod = 3*time.Second, 2*time.Second, 500*time.Millisecond
	ctx, cancel := context.WithCancel(e.ctx)
	c := &candidate{name: name, sched: s, cancel: cancel, done: make(chan error, 1)}
	go func() {
		var runErr error
		err := leaderelect.Run(ctx, e.client, opts, name, func(ctx context.Context) { runErr = s.Run(ctx) })
		if err == nil {
			err = runErr
		}
		c.done <- err
	}()
	e.t.Cleanup(func() {
		cancel()
		<-c.done
	})
	return c
}

// TestLeaderElectionNeverDoubleBinds runs two schedulers with leader
// election: only the leader binds, every pod is bound exactly once, and
// after the leader stops the other takes over.
func TestLeaderElectionNeverDoubleBinds(t *testing.T) {
	e := newEnv(t)
	for i := range 3 {
		e.createNode(makeNode(fmt.Sprintf("n%d", i), "16", "32Gi"))
	}
	a := e.startCandidate("scheduler-a")
	b := e.startCandidate("scheduler-b")

	create := func(from, to int) {
		for i := from; i < to; i++ {
			e.createPod(makePod(fmt.Sprintf("p%d", i), requests("100m", "64Mi")))
		}
		for i := from; i < to; i++ {
			e.waitBound("default", fmt.Sprintf("p%d", i))
		}
	}
	create(0, 20)
	leader, other := a, b
	if b.sched.BoundCount() > 0 {
		leader, other = b, a
	}
	if leader.sched.BoundCount() != 20 || other.sched.BoundCount() != 0 {
		t.Fatalf("bound counts: %s %d, %s %d; want all 20 by one leader", leader.name, leader.sched.BoundCount(), other.name, other.sched.BoundCount())
	}

	// Events are sent asynchronously and are best effort, as upstream: let the
	// leader's reach the apiserver before it steps down.
	for i := range 20 {
		e.waitEvent("default", fmt.Sprintf("p%d", i), "Scheduled", "Successfully assigned")
	}
	// The leader steps down (releasing the lease); the other takes over.
	leader.cancel()
	if err := <-leader.done; err != nil {
		t.Fatalf("leader stopped with %v", err)
	}
	leader.done <- nil // for the cleanup
	create(20, 30)
	if leader.sched.BoundCount() != 20 || other.sched.BoundCount() != 10 {
		t.Errorf("after failover: %s bound %d (want 20), %s bound %d (want 10)", leader.name, leader.sched.BoundCount(), other.name, other.sched.BoundCount())
	}
	for i := range 30 {
		name := fmt.Sprintf("p%d", i)
		e.waitEvent("default", name, "Scheduled", "Successfully assigned")
		if evs := e.events("default", name, "Scheduled"); len(evs) != 1 || evs[0].Count > 1 {
			t.Errorf("pod %s: %d Scheduled events, want exactly 1", name, len(evs))
		}
		if evs := e.events("default", name, "FailedScheduling"); len(evs) != 0 {
			t.Errorf("pod %s: FailedScheduling %q", name, evs[0].Message)
		}
	}
	lease, err := e.client.CoordinationV1().Leases("kube-system").Get(e.ctx, "kube-scheduler", metav1.GetOptions{})
	if err != nil || lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity != other.name {
		t.Errorf("lease holder = %v (err %v), want %s", lease.Spec.HolderIdentity, err, other.name)
	}
}
