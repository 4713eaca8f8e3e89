package queue

import (
	"context"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"

	"navarch.dev/scheduler/pkg/framework"
)

func makePod(name string, prio int32) *v1.Pod {
	return &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(name)}, Spec: v1.PodSpec{Priority: &prio}}
}

type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func newQueue(c *clock) *PriorityQueue {
	return New(Options{
		Less: func(a, b *framework.QueuedPodInfo) bool {
			pa, pb := framework.PodPriority(a.Pod), framework.PodPriority(b.Pod)
			return pa > pb || (pa == pb && a.Timestamp.Before(b.Timestamp))
		},
		Now: c.Now,
		EventsByPlugin: map[string][]framework.ClusterEvent{
			"Fit":   {{Resource: framework.Node, ActionType: framework.Add}},
			"Ports": {{Resource: framework.AssignedPod, ActionType: framework.Delete}},
		},
	})
}

func pop(t *testing.T, q *PriorityQueue) string {
	t.Helper()
	if a, _, _ := q.Len(); a == 0 {
		t.Fatal("active queue empty")
	}
	p, err := q.Pop(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return p.Pod.Name
}

func TestPopOrder(t *testing.T) {
	c := &clock{now: time.Unix(1000, 0)}
	q := newQueue(c)
	q.Add(makePod("low", 1))
	c.now = c.now.Add(time.Second)
	q.Add(makePod("high", 10))
	q.Add(makePod("low2", 1))
	for _, want := range []string{"high", "low", "low2"} {
		if got := pop(t, q); got != want {
			t.Errorf("pop = %s, want %s", got, want)
		}
	}
}

func TestRequeue(t *testing.T) {
	tests := []struct {
		name        string
		rejectedBy  []string
		event       framework.ClusterEvent
		eventBefore bool // the event arrives while the pod is in flight
		advance     time.Duration
		wantActive  int
		wantBackoff int
		wantUnsched int
	}{
		{name: "no event: stays unschedulable", rejectedBy: []string{"Fit"}, wantUnsched: 1},
		{name: "relevant event after backoff: active", rejectedBy: []string{"Fit"}, event: framework.EventNodeAdd, advance: 2 * time.Second, wantActive: 1},
		{name: "relevant event during backoff: backoff", rejectedBy: []string{"Fit"}, event: framework.EventNodeAdd, wantBackoff: 1},
		{name: "irrelevant event: stays", rejectedBy: []string{"Ports"}, event: framework.EventNodeAdd, advance: 2 * time.Second, wantUnsched: 1},
		{name: "event while in flight: backoff", rejectedBy: []string{"Ports"}, event: framework.EventAssignedPodDelete, eventBefore: true, wantBackoff: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &clock{now: time.Unix(1000, 0)}
			q := newQueue(c)
			q.Add(makePod("p", 0))
			qp, _ := q.Pop(context.Background())
			cycle := q.SchedulingCycle()
			if tt.eventBefore {
				q.MoveAllToActiveOrBackoffQueue(tt.event)
			}
			qp.UnschedulablePlugins = sets.New(tt.rejectedBy...)
			q.AddUnschedulableIfNotPresent(qp, cycle, false)
			c.now = c.now.Add(tt.advance)
			if !tt.eventBefore && tt.event.Resource != "" {
				q.MoveAllToActiveOrBackoffQueue(tt.event)
			}
			a, b, u := q.Len()
			if a != tt.wantActive || b != tt.wantBackoff || u != tt.wantUnsched {
				t.Errorf("active/backoff/unschedulable = %d/%d/%d, want %d/%d/%d", a, b, u, tt.wantActive, tt.wantBackoff, tt.wantUnsched)
			}
		})
	}
}

func TestBackoffGrowsAndFlushes(t *testing.T) {
	c := &clock{now: time.Unix(1000, 0)}
	q := newQueue(c)
	q.Add(makePod("p", 0))
	for attempt, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second} {
		qp := func() *framework.QueuedPodInfo { p, _ := q.Pop(context.Background()); return p }()
		if got := q.backoffDuration(qp); got != want {
			t.Errorf("attempt %d: backoff %v, want %v", attempt+1, got, want)
		}
		q.AddUnschedulableIfNotPresent(qp, q.SchedulingCycle(), true) // errors go to backoff
		c.now = c.now.Add(want - time.Millisecond)
		q.flush()
		if a, b, _ := q.Len(); a != 0 || b != 1 {
			t.Fatalf("attempt %d: before expiry active/backoff = %d/%d", attempt+1, a, b)
		}
		c.now = c.now.Add(2 * time.Millisecond)
		q.flush()
		if a, _, _ := q.Len(); a != 1 {
			t.Fatalf("attempt %d: not flushed after backoff", attempt+1)
		}
	}
}

func TestUnschedulableTimeout(t *testing.T) {
	c := &clock{now: time.Unix(1000, 0)}
	q := newQueue(c)
	q.Add(makePod("p", 0))
	qp, _ := q.Pop(context.Background())
	q.AddUnschedulableIfNotPresent(qp, q.SchedulingCycle(), false)
	c.now = c.now.Add(DefaultMaxInUnschedulable + time.Second)
	q.flush()
	if a, _, u := q.Len(); a != 1 || u != 0 {
		t.Errorf("after timeout active/unschedulable = %d/%d, want 1/0", a, u)
	}
}

func TestUpdateAndDelete(t *testing.T) {
	c := &clock{now: time.Unix(1000, 0)}
	q := newQueue(c)
	p := makePod("p", 0)
	q.Add(p)
	qp, _ := q.Pop(context.Background())
	q.AddUnschedulableIfNotPresent(qp, q.SchedulingCycle(), false)
	// A status-only update leaves it; a label change retries it.
	q.Update(p, p.DeepCopy())
	if _, _, u := q.Len(); u != 1 {
		t.Fatalf("status update moved the pod")
	}
	c.now = c.now.Add(time.Minute)
	changed := p.DeepCopy()
	changed.Labels = map[string]string{"a": "b"}
	q.Update(p, changed)
	if a, _, _ := q.Len(); a != 1 {
		t.Fatalf("label update did not activate the pod")
	}
	q.Delete(changed)
	if a, b, u := q.Len(); a+b+u != 0 {
		t.Errorf("delete left %d/%d/%d", a, b, u)
	}
}

func TestPopUnblocksOnClose(t *testing.T) {
	q := newQueue(&clock{now: time.Unix(1000, 0)})
	done := make(chan error)
	go func() { _, err := q.Pop(context.Background()); done <- err }()
	q.Close()
	if err := <-done; err != ErrClosed {
		t.Errorf("Pop = %v, want ErrClosed", err)
	}
}
