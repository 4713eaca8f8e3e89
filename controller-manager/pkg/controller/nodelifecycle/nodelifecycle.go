// Package nodelifecycle is the node lifecycle controller. It watches each
// node's heartbeats (the kubelet's Lease in kube-node-lease and its Ready
// condition); a node silent for longer than the grace period gets its
// conditions set to Unknown and its pods marked not ready. It keeps the
// node.kubernetes.io/not-ready and /unreachable taints (NoSchedule and
// NoExecute) in step with the Ready condition, adding NoExecute taints at a
// limited rate; the NoSchedule memory-pressure, disk-pressure, pid-pressure
// and network-unavailable taints in step with those conditions and the
// unschedulable taint with spec.unschedulable (upstream's
// taint-nodes-by-condition); and evicts the pods on a node that do not tolerate its
// NoExecute taints, after their tolerationSeconds.
package nodelifecycle

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	coordinformers "k8s.io/client-go/informers/coordination/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	coordlisters "k8s.io/client-go/listers/coordination/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"navarch.dev/controller-manager/pkg/controller/podstate"
)

// Name is the controller's name in the controller-manager's table.
const Name = "nodelifecycle"

// Taint keys this controller manages.
const (
	TaintNotReady           = "node.kubernetes.io/not-ready"
	TaintUnreachable        = "node.kubernetes.io/unreachable"
	TaintMemoryPressure     = "node.kubernetes.io/memory-pressure"
	TaintDiskPressure       = "node.kubernetes.io/disk-pressure"
	TaintPIDPressure        = "node.kubernetes.io/pid-pressure"
	TaintNetworkUnavailable = "node.kubernetes.io/network-unavailable"
	TaintUnschedulable      = "node.kubernetes.io/unschedulable"
)

// conditionTaints maps a node condition in a given status to the
// NoSchedule taint it calls for (upstream's taint-nodes-by-condition), so
// that the scheduler's TaintToleration filter keeps new pods off the node
// while the condition holds.
var conditionTaints = map[corev1.NodeConditionType]map[corev1.ConditionStatus]string{
	corev1.NodeReady:              {corev1.ConditionFalse: TaintNotReady, corev1.ConditionUnknown: TaintUnreachable},
	corev1.NodeMemoryPressure:     {corev1.ConditionTrue: TaintMemoryPressure},
	corev1.NodeDiskPressure:       {corev1.ConditionTrue: TaintDiskPressure},
	corev1.NodePIDPressure:        {corev1.ConditionTrue: TaintPIDPressure},
	corev1.NodeNetworkUnavailable: {corev1.ConditionTrue: TaintNetworkUnavailable},
}

// LeaseNamespace holds the kubelets' heartbeat Leases.
const LeaseNamespace = corev1.NamespaceNodeLease

// Config is the controller's timing.
type Config struct {
	// MonitorPeriod (--node-monitor-period) is how often every node's
	// health is checked.
	MonitorPeriod time.Duration
	// GracePeriod (--node-monitor-grace-period) is how long a node may be
	// silent before it is considered unreachable.
	GracePeriod time.Duration
	// StartupGracePeriod (--node-startup-grace-period) is the same for a
	// node that never reported Ready.
	StartupGracePeriod time.Duration
	// EvictionRate (--node-eviction-rate) is how many nodes per second may
	// get a NoExecute taint (and so have their pods evicted).
	EvictionRate float32
}

// DefaultConfig returns upstream's defaults.
func DefaultConfig() Config {
	return Config{MonitorPeriod: 5 * time.Second, GracePeriod: 40 * time.Second, StartupGracePeriod: time.Minute, EvictionRate: 0.1}
}

// health is what the controller last saw of a node's heartbeats, with the
// local time it saw them change (comparing local times only, so clock skew
// between the kubelet and here does not matter).
type health struct {
	heartbeat metav1.Time
	renew     metav1.MicroTime
	probe     time.Time
}

// Controller is the node lifecycle controller.
type Controller struct {
	client      kubernetes.Interface
	nodeLister  corelisters.NodeLister
	podLister   corelisters.PodLister
	podIndexer  cache.Indexer
	leaseLister coordlisters.LeaseLister
	synced      []cache.InformerSynced
	nodeQueue   workqueue.TypedRateLimitingInterface[string]
	podQueue    workqueue.TypedRateLimitingInterface[string]
	recorder    record.EventRecorder
	clock       clock.Clock
	cfg         Config
	limiter     flowcontrol.RateLimiter

	mu     sync.Mutex
	health map[string]*health
}

const podsByNode = "spec.nodeName"

// NewController wires the controller to its informers. clk may be nil (real time).
func NewController(client kubernetes.Interface, nodes coreinformers.NodeInformer, pods coreinformers.PodInformer, leases coordinformers.LeaseInformer,
	recorder record.EventRecorder, clk clock.Clock, cfg Config) (*Controller, error) {
	if clk == nil {
		clk = clock.RealClock{}
	}
	if cfg.MonitorPeriod <= 0 || cfg.GracePeriod <= 0 {
		return nil, fmt.Errorf("nodelifecycle: monitor period and grace period must be positive")
	}
	if cfg.StartupGracePeriod < cfg.GracePeriod {
		cfg.StartupGracePeriod = cfg.GracePeriod
	}
	var limiter flowcontrol.RateLimiter
	if cfg.EvictionRate > 0 {
		limiter = flowcontrol.NewTokenBucketRateLimiterWithClock(cfg.EvictionRate, 1, clk)
	} else {
		limiter = flowcontrol.NewFakeNeverRateLimiter()
	}
	c := &Controller{
		client:      client,
		nodeLister:  nodes.Lister(),
		podLister:   pods.Lister(),
		podIndexer:  pods.Informer().GetIndexer(),
		leaseLister: leases.Lister(),
		synced:      []cache.InformerSynced{nodes.Informer().HasSynced, pods.Informer().HasSynced, leases.Informer().HasSynced},
		nodeQueue:   workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](), workqueue.TypedRateLimitingQueueConfig[string]{Name: "node_lifecycle_nodes"}),
		podQueue:    workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](), workqueue.TypedRateLimitingQueueConfig[string]{Name: "node_lifecycle_pods"}),
		recorder:    recorder,
		clock:       clk,
		cfg:         cfg,
		limiter:     limiter,
		health:      map[string]*health{},
	}
	if err := pods.Informer().AddIndexers(cache.Indexers{podsByNode: func(obj any) ([]string, error) {
		p, ok := obj.(*corev1.Pod)
		if !ok || p.Spec.NodeName == "" {
			return nil, nil
		}
		return []string{p.Spec.NodeName}, nil
	}}); err != nil {
		return nil, err
	}
	nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.enqueueNode,
		UpdateFunc: func(o, n any) {
			c.enqueueNode(n)
			if !equality.Semantic.DeepEqual(o.(*corev1.Node).Spec.Taints, n.(*corev1.Node).Spec.Taints) {
				c.enqueuePodsOf(n.(*corev1.Node).Name)
			}
		},
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if n, ok := obj.(*corev1.Node); ok {
				c.mu.Lock()
				delete(c.health, n.Name)
				c.mu.Unlock()
			}
		},
	})
	pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.enqueuePod,
		UpdateFunc: func(o, n any) {
			if o.(*corev1.Pod).Spec.NodeName != n.(*corev1.Pod).Spec.NodeName || !equality.Semantic.DeepEqual(o.(*corev1.Pod).Spec.Tolerations, n.(*corev1.Pod).Spec.Tolerations) {
				c.enqueuePod(n)
			}
		},
	})
	leases.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, n any) {
			if l, ok := n.(*coordinationv1.Lease); ok && l.Namespace == LeaseNamespace {
				c.nodeQueue.Add(l.Name)
			}
		},
	})
	return c, nil
}

func (c *Controller) enqueueNode(obj any) {
	if n, ok := obj.(*corev1.Node); ok {
		c.nodeQueue.Add(n.Name)
	}
}

func (c *Controller) enqueuePod(obj any) {
	if p, ok := obj.(*corev1.Pod); ok && p.Spec.NodeName != "" {
		c.podQueue.Add(p.Namespace + "/" + p.Name)
	}
}

func (c *Controller) enqueuePodsOf(node string) {
	objs, err := c.podIndexer.ByIndex(podsByNode, node)
	if err != nil {
		utilruntime.HandleError(err)
		return
	}
	for _, o := range objs {
		c.enqueuePod(o)
	}
}

// Run starts workers and the periodic health check, and blocks until ctx is done.
func (c *Controller) Run(ctx context.Context, workers int) {
	defer utilruntime.HandleCrash()
	defer c.nodeQueue.ShutDown()
	defer c.podQueue.ShutDown()
	slog.Info("starting controller", "controller", Name)
	defer slog.Info("stopping controller", "controller", Name)
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return
	}
	for range workers {
		go wait.UntilWithContext(ctx, func(ctx context.Context) {
			for c.processNextWorkItem(ctx, c.nodeQueue, c.syncNode) {
			}
		}, time.Second)
		go wait.UntilWithContext(ctx, func(ctx context.Context) {
			for c.processNextWorkItem(ctx, c.podQueue, c.syncPod) {
			}
		}, time.Second)
	}
	// The monitor pass: silence produces no events, so look periodically.
	go wait.UntilWithContext(ctx, func(context.Context) {
		nodes, err := c.nodeLister.List(labels.Everything())
		if err != nil {
			utilruntime.HandleError(err)
			return
		}
		for _, n := range nodes {
			c.nodeQueue.Add(n.Name)
		}
	}, c.cfg.MonitorPeriod)
	<-ctx.Done()
}

func (c *Controller) processNextWorkItem(ctx context.Context, q workqueue.TypedRateLimitingInterface[string], sync func(context.Context, string) error) bool {
	key, quit := q.Get()
	if quit {
		return false
	}
	defer q.Done(key)
	if err := sync(ctx, key); err != nil {
		utilruntime.HandleError(fmt.Errorf("%s: sync %q: %w", Name, key, err))
		q.AddRateLimited(key)
		return true
	}
	q.Forget(key)
	return true
}

func readyCondition(n *corev1.Node) *corev1.NodeCondition {
	for i := range n.Status.Conditions {
		if n.Status.Conditions[i].Type == corev1.NodeReady {
			return &n.Status.Conditions[i]
		}
	}
	return nil
}

// observe records the node's heartbeats and returns when one last changed.
func (c *Controller) observe(n *corev1.Node, now time.Time) time.Time {
	var hb metav1.Time
	if r := readyCondition(n); r != nil {
		hb = r.LastHeartbeatTime
	}
	var renew metav1.MicroTime
	if l, err := c.leaseLister.Leases(LeaseNamespace).Get(n.Name); err == nil && l.Spec.RenewTime != nil {
		renew = *l.Spec.RenewTime
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	h, ok := c.health[n.Name]
	if !ok {
		// First sight: give the node a full grace period from now.
		h = &health{heartbeat: hb, renew: renew, probe: now}
		c.health[n.Name] = h
		return h.probe
	}
	if !hb.Equal(&h.heartbeat) || !renew.Equal(&h.renew) {
		h.heartbeat, h.renew, h.probe = hb, renew, now
	}
	return h.probe
}

// syncNode judges one node's health and sets its conditions and taints.
func (c *Controller) syncNode(ctx context.Context, name string) error {
	shared, err := c.nodeLister.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	now := c.clock.Now()
	probe := c.observe(shared, now)
	node := shared.DeepCopy()
	ready := readyCondition(node)
	grace := c.cfg.GracePeriod
	if ready == nil {
		grace = c.cfg.StartupGracePeriod
	}
	if wait := probe.Add(grace).Sub(now); wait > 0 {
		c.nodeQueue.AddAfter(name, wait+time.Millisecond)
	} else if c.markUnknown(node, now) {
		updated, err := c.client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("mark node %s unknown: %w", name, err)
		}
		c.recorder.Eventf(node, corev1.EventTypeNormal, "NodeNotReady", "Node %s status is now: NodeNotReady", name)
		node = updated.DeepCopy()
		if err := c.markPodsNotReady(ctx, name); err != nil {
			return err
		}
	}
	return c.reconcileTaints(ctx, node, now)
}

// markUnknown sets the node's kubelet-owned conditions to Unknown; it
// reports whether anything changed.
func (c *Controller) markUnknown(node *corev1.Node, now time.Time) bool {
	changed := false
	ts := metav1.Time{Time: now}
	for _, t := range []corev1.NodeConditionType{corev1.NodeReady, corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure} {
		var cond *corev1.NodeCondition
		for i := range node.Status.Conditions {
			if node.Status.Conditions[i].Type == t {
				cond = &node.Status.Conditions[i]
			}
		}
		if cond == nil {
			node.Status.Conditions = append(node.Status.Conditions, corev1.NodeCondition{
				Type: t, Status: corev1.ConditionUnknown, Reason: "NodeStatusNeverUpdated",
				Message: "Kubelet never posted node status.", LastHeartbeatTime: node.CreationTimestamp, LastTransitionTime: ts,
			})
			changed = true
			continue
		}
		if cond.Status != corev1.ConditionUnknown {
			cond.Status = corev1.ConditionUnknown
			cond.Reason = "NodeStatusUnknown"
			cond.Message = "Kubelet stopped posting node status."
			cond.LastTransitionTime = ts
			changed = true
		}
	}
	return changed
}

// markPodsNotReady sets the Ready condition of the node's pods to False, so
// Services stop sending them traffic before they are evicted.
func (c *Controller) markPodsNotReady(ctx context.Context, node string) error {
	objs, err := c.podIndexer.ByIndex(podsByNode, node)
	if err != nil {
		return err
	}
	for _, o := range objs {
		p := o.(*corev1.Pod)
		if podstate.Terminal(p) || !podstate.Ready(p) {
			continue
		}
		p = p.DeepCopy()
		cond := podstate.Condition(p, corev1.PodReady)
		cond.Status = corev1.ConditionFalse
		cond.LastTransitionTime = metav1.Time{Time: c.clock.Now()}
		if _, err := c.client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("mark pod %s/%s not ready: %w", p.Namespace, p.Name, err)
		}
		c.recorder.Eventf(p, corev1.EventTypeWarning, "NodeNotReady", "Node is not ready")
	}
	return nil
}

// wantTaints is the set of taints the node's conditions call for: a
// NoSchedule taint per condition in conditionTaints, the unschedulable
// taint of a cordoned node, and the NoExecute taint of a node that is not
// ready or unreachable.
func wantTaints(node *corev1.Node) []corev1.Taint {
	var want []corev1.Taint
	for _, c := range node.Status.Conditions {
		if key, ok := conditionTaints[c.Type][c.Status]; ok {
			want = append(want, corev1.Taint{Key: key, Effect: corev1.TaintEffectNoSchedule})
		}
	}
	if node.Spec.Unschedulable {
		want = append(want, corev1.Taint{Key: TaintUnschedulable, Effect: corev1.TaintEffectNoSchedule})
	}
	if r := readyCondition(node); r != nil {
		switch r.Status {
		case corev1.ConditionFalse:
			want = append(want, corev1.Taint{Key: TaintNotReady, Effect: corev1.TaintEffectNoExecute})
		case corev1.ConditionUnknown:
			want = append(want, corev1.Taint{Key: TaintUnreachable, Effect: corev1.TaintEffectNoExecute})
		}
	}
	return want
}

// isLifecycleTaint reports whether this controller owns the taint (and so
// removes it when the node's state no longer calls for it).
func isLifecycleTaint(t *corev1.Taint) bool {
	switch t.Key {
	case TaintNotReady, TaintUnreachable, TaintMemoryPressure, TaintDiskPressure, TaintPIDPressure, TaintNetworkUnavailable:
		return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
	case TaintUnschedulable:
		return t.Effect == corev1.TaintEffectNoSchedule
	}
	return false
}

// reconcileTaints swaps the node's lifecycle taints for the wanted ones.
// NoExecute taints cost a token of the eviction rate limiter; without one
// the node is looked at again at the next monitor pass.
func (c *Controller) reconcileTaints(ctx context.Context, node *corev1.Node, now time.Time) error {
	want := wantTaints(node)
	var keep []corev1.Taint
	for _, t := range node.Spec.Taints {
		if !isLifecycleTaint(&t) {
			keep = append(keep, t)
			continue
		}
		for _, w := range want {
			if w.MatchTaint(&t) {
				keep = append(keep, t)
			}
		}
	}
	for _, w := range want {
		found := false
		for _, t := range keep {
			if w.MatchTaint(&t) {
				found = true
			}
		}
		if found {
			continue
		}
		if w.Effect == corev1.TaintEffectNoExecute {
			if !c.limiter.TryAccept() {
				c.nodeQueue.AddAfter(node.Name, c.cfg.MonitorPeriod)
				continue
			}
			w.TimeAdded = &metav1.Time{Time: now}
		}
		keep = append(keep, w)
	}
	if equality.Semantic.DeepEqual(keep, node.Spec.Taints) || len(keep) == 0 && len(node.Spec.Taints) == 0 {
		return nil
	}
	node.Spec.Taints = keep
	if _, err := c.client.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update taints of node %s: %w", node.Name, err)
	}
	return nil
}

// syncPod evicts the pod if its node has a NoExecute taint it does not
// tolerate, now or when its tolerationSeconds run out.
func (c *Controller) syncPod(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return err
	}
	pod, err := c.podLister.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if pod.DeletionTimestamp != nil || pod.Spec.NodeName == "" || podstate.Terminal(pod) {
		return nil
	}
	node, err := c.nodeLister.Get(pod.Spec.NodeName)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	now := c.clock.Now()
	at, evict := evictionTime(pod, node)
	if !evict {
		return nil
	}
	if wait := at.Sub(now); wait > 0 {
		c.podQueue.AddAfter(key, wait)
		return nil
	}
	return c.evict(ctx, pod)
}

// evictionTime says whether the pod must leave its node and from when:
// at once for an untolerated NoExecute taint, else when the shortest
// tolerationSeconds of the tolerations matching its NoExecute taints,
// counted from each taint's timeAdded, runs out.
func evictionTime(pod *corev1.Pod, node *corev1.Node) (time.Time, bool) {
	var at time.Time
	evict := false
	for i := range node.Spec.Taints {
		taint := &node.Spec.Taints[i]
		if taint.Effect != corev1.TaintEffectNoExecute {
			continue
		}
		tolerated := false
		var bound *int64 // shortest tolerationSeconds; nil: forever
		for k := range pod.Spec.Tolerations {
			tol := &pod.Spec.Tolerations[k]
			if !tol.ToleratesTaint(taint) {
				continue
			}
			tolerated = true
			if s := tol.TolerationSeconds; s != nil && (bound == nil || *s < *bound) {
				bound = s
			}
		}
		var t time.Time // zero: at once
		switch {
		case tolerated && bound == nil:
			continue
		case tolerated:
			var added time.Time
			if taint.TimeAdded != nil {
				added = taint.TimeAdded.Time
			}
			t = added.Add(time.Duration(max(*bound, 0)) * time.Second)
		}
		if !evict || t.Before(at) {
			at = t
		}
		evict = true
	}
	return at, evict
}

func (c *Controller) evict(ctx context.Context, pod *corev1.Pod) error {
	p := pod.DeepCopy()
	if podstate.Condition(p, corev1.DisruptionTarget) == nil {
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{
			Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "DeletionByTaintManager",
			Message: "Taint manager: deleting due to NoExecute taint", LastTransitionTime: metav1.Time{Time: c.clock.Now()},
		})
		if _, err := c.client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("mark pod %s/%s disrupted: %w", p.Namespace, p.Name, err)
		}
	}
	c.recorder.Eventf(pod, corev1.EventTypeNormal, "TaintManagerEviction", "Marking for deletion Pod %s/%s", pod.Namespace, pod.Name)
	err := c.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &pod.UID}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("evict pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}
