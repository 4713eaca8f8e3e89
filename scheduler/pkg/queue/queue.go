// Package queue is the scheduling queue: an active heap of pods to try now
// (ordered by the QueueSort plugin), a backoff heap of pods that failed
// recently and wait out an exponential backoff, and the unschedulable pods
// that wait for a cluster event which may make them fit.
package queue

import (
	"container/heap"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"navarch.dev/scheduler/pkg/framework"
)

// ErrClosed is returned by Pop once the queue is closed.
var ErrClosed = errors.New("queue: closed")

// DefaultMaxInUnschedulable is how long a pod may stay unschedulable
// before it is retried without an event, as upstream.
const DefaultMaxInUnschedulable = 5 * time.Minute

// Options configure a queue.
type Options struct {
	Less           func(a, b *framework.QueuedPodInfo) bool
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	// EventsByPlugin says which events may help pods each plugin rejected.
	EventsByPlugin map[string][]framework.ClusterEvent
	// Now is the clock (tests may fake it).
	Now func() time.Time
	// Metrics observe queue depths; may be nil.
	Metrics Metrics
}

// Metrics are told the size of each sub-queue after every change.
type Metrics interface {
	SetPending(queue string, n int)
}

// PriorityQueue is safe for concurrent use.
type PriorityQueue struct {
	opts Options
	mu   sync.Mutex
	cond *sync.Cond

	active        *podHeap
	backoff       *podHeap
	unschedulable map[types.UID]*framework.QueuedPodInfo
	// inFlight holds pods popped and not yet done.
	inFlight map[types.UID]bool

	schedulingCycle int64
	// moveRequestCycle is the cycle at which pods were last moved on an
	// event; a pod that failed in a cycle before that missed the event
	// and goes to backoff instead of unschedulable.
	moveRequestCycle int64

	// nominated: pods nominated to nodes by preemption.
	nominated    map[string][]*framework.PodInfo
	nominatedFor map[types.UID]string
	// numNominated lets NominatedPodsForNode skip the lock when no pod
	// is nominated anywhere (the common case).
	numNominated atomic.Int64

	closed bool
}

// New returns an empty queue.
func New(opts Options) *PriorityQueue {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.InitialBackoff == 0 {
		opts.InitialBackoff = time.Second
	}
	if opts.MaxBackoff == 0 {
		opts.MaxBackoff = 10 * time.Second
	}
	q := &PriorityQueue{
		opts:             opts,
		unschedulable:    map[types.UID]*framework.QueuedPodInfo{},
		inFlight:         map[types.UID]bool{},
		nominated:        map[string][]*framework.PodInfo{},
		nominatedFor:     map[types.UID]string{},
		moveRequestCycle: -1,
	}
	q.cond = sync.NewCond(&q.mu)
	q.active = newHeap(opts.Less)
	q.backoff = newHeap(func(a, b *framework.QueuedPodInfo) bool {
		return q.backoffExpiry(a).Before(q.backoffExpiry(b))
	})
	return q
}

func (q *PriorityQueue) backoffDuration(p *framework.QueuedPodInfo) time.Duration {
	d := q.opts.InitialBackoff
	for i := 1; i < p.Attempts; i++ {
		if d > q.opts.MaxBackoff-d {
			return q.opts.MaxBackoff
		}
		d += d
	}
	return d
}

func (q *PriorityQueue) backoffExpiry(p *framework.QueuedPodInfo) time.Time {
	return p.Timestamp.Add(q.backoffDuration(p))
}

func (q *PriorityQueue) isBackingOff(p *framework.QueuedPodInfo) bool {
	return q.backoffExpiry(p).After(q.opts.Now())
}

func (q *PriorityQueue) reportLocked() {
	if q.opts.Metrics == nil {
		return
	}
	q.opts.Metrics.SetPending("active", q.active.Len())
	q.opts.Metrics.SetPending("backoff", q.backoff.Len())
	q.opts.Metrics.SetPending("unschedulable", len(q.unschedulable))
}

// Add queues a new pending pod for scheduling now.
func (q *PriorityQueue) Add(pod *v1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.addNominatedLocked(pod)
	if q.active.has(pod.UID) || q.backoff.has(pod.UID) || q.unschedulable[pod.UID] != nil {
		q.updateLocked(pod)
		return
	}
	q.active.push(framework.NewQueuedPodInfo(pod, q.opts.Now()))
	q.reportLocked()
	q.cond.Broadcast()
}

// Update replaces a queued pod. An unschedulable pod whose spec or labels
// changed is retried (the change may make it fit).
func (q *PriorityQueue) Update(old, pod *v1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.addNominatedLocked(pod)
	if q.inFlight[pod.UID] && !q.active.has(pod.UID) && !q.backoff.has(pod.UID) && q.unschedulable[pod.UID] == nil {
		return
	}
	if !q.updateLocked(pod) {
		q.active.push(framework.NewQueuedPodInfo(pod, q.opts.Now()))
		q.cond.Broadcast()
	}
	q.reportLocked()
}

func (q *PriorityQueue) updateLocked(pod *v1.Pod) bool {
	if p := q.active.get(pod.UID); p != nil {
		p.Update(pod)
		q.active.fix(pod.UID)
		return true
	}
	if p := q.backoff.get(pod.UID); p != nil {
		p.Update(pod)
		q.backoff.fix(pod.UID)
		return true
	}
	if p, ok := q.unschedulable[pod.UID]; ok {
		oldPod := p.Pod
		p.Update(pod)
		if specOrLabelsChanged(oldPod, pod) {
			delete(q.unschedulable, pod.UID)
			if q.isBackingOff(p) {
				q.backoff.push(p)
			} else {
				q.active.push(p)
				q.cond.Broadcast()
			}
		}
		return true
	}
	return false
}

func specOrLabelsChanged(a, b *v1.Pod) bool {
	if a.Generation != b.Generation {
		return true
	}
	if len(a.Labels) != len(b.Labels) {
		return true
	}
	for k, v := range a.Labels {
		if b.Labels[k] != v {
			return true
		}
	}
	return false
}

// Delete removes a pod from every sub-queue.
func (q *PriorityQueue) Delete(pod *v1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.deleteNominatedLocked(pod.UID)
	q.active.remove(pod.UID)
	q.backoff.remove(pod.UID)
	delete(q.unschedulable, pod.UID)
	q.reportLocked()
}

// Pop blocks until a pod is active, ctx ends or the queue closes. The pod
// is in flight until Done.
func (q *PriorityQueue) Pop(ctx context.Context) (*framework.QueuedPodInfo, error) {
	stop := context.AfterFunc(ctx, func() {
		q.mu.Lock()
		q.cond.Broadcast()
		q.mu.Unlock()
	})
	defer stop()
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.active.Len() == 0 {
		if q.closed {
			return nil, ErrClosed
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		q.cond.Wait()
	}
	p := q.active.pop()
	p.Attempts++
	q.schedulingCycle++
	if p.InitialAttemptTimestamp == nil {
		now := q.opts.Now()
		p.InitialAttemptTimestamp = &now
	}
	q.inFlight[p.Pod.UID] = true
	q.reportLocked()
	return p, nil
}

// SchedulingCycle returns the number of pods popped so far.
func (q *PriorityQueue) SchedulingCycle() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.schedulingCycle
}

// Done marks a popped pod as no longer in flight.
func (q *PriorityQueue) Done(uid types.UID) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.inFlight, uid)
}

// AddUnschedulableIfNotPresent puts a pod that failed in cycle back: to
// backoff if an event arrived since cycle (it may fit now) or if the
// failure was an error, to the unschedulable pods otherwise.
func (q *PriorityQueue) AddUnschedulableIfNotPresent(p *framework.QueuedPodInfo, cycle int64, isError bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.inFlight, p.Pod.UID)
	if q.active.has(p.Pod.UID) || q.backoff.has(p.Pod.UID) || q.unschedulable[p.Pod.UID] != nil {
		return
	}
	p.Timestamp = q.opts.Now()
	if isError || q.moveRequestCycle >= cycle {
		q.backoff.push(p)
	} else {
		q.unschedulable[p.Pod.UID] = p
	}
	q.reportLocked()
}

// MoveAllToActiveOrBackoffQueue moves the unschedulable pods that event
// may help (per the plugins that rejected them) to active, or to backoff
// if they are still backing off.
func (q *PriorityQueue) MoveAllToActiveOrBackoffQueue(event framework.ClusterEvent) {
	q.mu.Lock()
	defer q.mu.Unlock()
	moved := false
	for uid, p := range q.unschedulable {
		if !q.mayHelp(p, event) {
			continue
		}
		delete(q.unschedulable, uid)
		if q.isBackingOff(p) {
			q.backoff.push(p)
		} else {
			q.active.push(p)
			moved = true
		}
	}
	q.moveRequestCycle = q.schedulingCycle
	if moved {
		q.cond.Broadcast()
	}
	q.reportLocked()
}

func (q *PriorityQueue) mayHelp(p *framework.QueuedPodInfo, event framework.ClusterEvent) bool {
	if event.Resource == framework.WildCard || len(p.UnschedulablePlugins) == 0 || q.opts.EventsByPlugin == nil {
		return true
	}
	for name := range p.UnschedulablePlugins {
		events, ok := q.opts.EventsByPlugin[name]
		if !ok {
			return true
		}
		for _, e := range events {
			if e.Match(event) {
				return true
			}
		}
	}
	return false
}

// Activate moves the given pods from unschedulable or backoff to active.
func (q *PriorityQueue) Activate(uids ...types.UID) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, uid := range uids {
		if p, ok := q.unschedulable[uid]; ok {
			delete(q.unschedulable, uid)
			q.active.push(p)
		} else if p := q.backoff.remove(uid); p != nil {
			q.active.push(p)
		}
	}
	q.cond.Broadcast()
	q.reportLocked()
}

// flush moves pods whose backoff expired to active, and pods unschedulable
// for longer than DefaultMaxInUnschedulable to active or backoff.
func (q *PriorityQueue) flush() {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.opts.Now()
	moved := false
	for q.backoff.Len() > 0 {
		p := q.backoff.peek()
		if q.backoffExpiry(p).After(now) {
			break
		}
		q.backoff.pop()
		q.active.push(p)
		moved = true
	}
	for uid, p := range q.unschedulable {
		if now.Sub(p.Timestamp) > DefaultMaxInUnschedulable {
			delete(q.unschedulable, uid)
			q.active.push(p)
			moved = true
		}
	}
	if moved {
		q.cond.Broadcast()
	}
	q.reportLocked()
}

// Run flushes the backoff and unschedulable pods periodically until ctx
// ends, then closes the queue.
func (q *PriorityQueue) Run(ctx context.Context) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			q.Close()
			return
		case <-t.C:
			q.flush()
		}
	}
}

// Close wakes Pop callers with ErrClosed.
func (q *PriorityQueue) Close() {
	q.mu.Lock()
	q.closed = true
	q.cond.Broadcast()
	q.mu.Unlock()
}

// Len returns the sizes of the active, backoff and unschedulable queues.
func (q *PriorityQueue) Len() (active, backoff, unschedulable int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.active.Len(), q.backoff.Len(), len(q.unschedulable)
}

// Has reports whether pod is queued (in any sub-queue).
func (q *PriorityQueue) Has(uid types.UID) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.active.has(uid) || q.backoff.has(uid) || q.unschedulable[uid] != nil
}

// Nominator.

func (q *PriorityQueue) addNominatedLocked(pod *v1.Pod) {
	q.deleteNominatedLocked(pod.UID)
	node := pod.Status.NominatedNodeName
	if node == "" || pod.Spec.NodeName != "" {
		return
	}
	q.nominated[node] = append(q.nominated[node], framework.NewPodInfo(pod))
	q.nominatedFor[pod.UID] = node
	q.numNominated.Store(int64(len(q.nominatedFor)))
}

func (q *PriorityQueue) deleteNominatedLocked(uid types.UID) {
	node, ok := q.nominatedFor[uid]
	if !ok {
		return
	}
	delete(q.nominatedFor, uid)
	q.numNominated.Store(int64(len(q.nominatedFor)))
	list := q.nominated[node]
	for i, pi := range list {
		if pi.Pod.UID == uid {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(q.nominated, node)
	} else {
		q.nominated[node] = list
	}
}

// Nominate records that pod may run on node once preemption is done.
func (q *PriorityQueue) Nominate(pod *v1.Pod, node string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	p := pod.DeepCopy()
	p.Status.NominatedNodeName = node
	q.addNominatedLocked(p)
}

// DeleteNominated forgets a pod's nomination (it was bound or deleted).
func (q *PriorityQueue) DeleteNominated(uid types.UID) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.deleteNominatedLocked(uid)
}

// NominatedPodsForNode returns the pods nominated to node.
func (q *PriorityQueue) NominatedPodsForNode(node string) []*framework.PodInfo {
	if q.numNominated.Load() == 0 {
		return nil
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.nominated[node]) == 0 {
		return nil
	}
	return append([]*framework.PodInfo(nil), q.nominated[node]...)
}

// podHeap is a heap of queued pods with lookup by UID.
type podHeap struct {
	items []*framework.QueuedPodInfo
	index map[types.UID]int
	less  func(a, b *framework.QueuedPodInfo) bool
}

func newHeap(less func(a, b *framework.QueuedPodInfo) bool) *podHeap {
	return &podHeap{index: map[types.UID]int{}, less: less}
}

func (h *podHeap) Len() int           { return len(h.items) }
func (h *podHeap) Less(i, j int) bool { return h.less(h.items[i], h.items[j]) }
func (h *podHeap) Swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.index[h.items[i].Pod.UID] = i
	h.index[h.items[j].Pod.UID] = j
}
func (h *podHeap) Push(x any) {
	p := x.(*framework.QueuedPodInfo)
	h.index[p.Pod.UID] = len(h.items)
	h.items = append(h.items, p)
}
func (h *podHeap) Pop() any {
	p := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	delete(h.index, p.Pod.UID)
	return p
}

func (h *podHeap) push(p *framework.QueuedPodInfo) {
	if i, ok := h.index[p.Pod.UID]; ok {
		h.items[i] = p
		heap.Fix(h, i)
		return
	}
	heap.Push(h, p)
}
func (h *podHeap) pop() *framework.QueuedPodInfo  { return heap.Pop(h).(*framework.QueuedPodInfo) }
func (h *podHeap) peek() *framework.QueuedPodInfo { return h.items[0] }
func (h *podHeap) has(uid types.UID) bool         { _, ok := h.index[uid]; return ok }
func (h *podHeap) get(uid types.UID) *framework.QueuedPodInfo {
	if i, ok := h.index[uid]; ok {
		return h.items[i]
	}
	return nil
}
func (h *podHeap) fix(uid types.UID) {
	if i, ok := h.index[uid]; ok {
		heap.Fix(h, i)
	}
}
func (h *podHeap) remove(uid types.UID) *framework.QueuedPodInfo {
	i, ok := h.index[uid]
	if !ok {
		return nil
	}
	return heap.Remove(h, i).(*framework.QueuedPodInfo)
}
