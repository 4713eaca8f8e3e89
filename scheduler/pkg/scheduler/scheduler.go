// Package scheduler runs the scheduling loop: it watches pods and nodes,
// takes pending pods from the queue one at a time, runs the profile's
// plugins to pick a node (filters and scores in parallel across nodes),
// assumes the pod onto the node in the cache and binds it asynchronously.
// Pods that fit nowhere get the PodScheduled=False condition and a
// FailedScheduling event and wait in the queue for a cluster change.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	schedcache "navarch.dev/scheduler/pkg/cache"
	"navarch.dev/scheduler/pkg/config"
	"navarch.dev/scheduler/pkg/decisions"
	"navarch.dev/scheduler/pkg/framework"
	"navarch.dev/scheduler/pkg/framework/plugins"
	"navarch.dev/scheduler/pkg/framework/runtime"
	"navarch.dev/scheduler/pkg/queue"
)

// Options configure a Scheduler.
type Options struct {
	// Client talks to the apiserver; EventClient, if set, records events
	// (so events do not eat the binding client's rate limit).
	Client      kubernetes.Interface
	EventClient kubernetes.Interface
	Config      *config.Configuration
	// Registry and Defaults default to the in-tree plugins.
	Registry runtime.Registry
	Defaults []runtime.DefaultPlugin
	// Registerer receives the metrics (nil: not exported).
	Registerer prometheus.Registerer
	// Decisions, if set, records every decision.
	Decisions *decisions.Store
	// OnBound, if set, is called after each successful binding with the
	// duration of the pod's last attempt (popped from the queue to bound)
	// and its latency from entering the queue to bound.
	OnBound func(pod *v1.Pod, node string, attempt, e2e time.Duration)
}

// Scheduler is the scheduling loop of one or more profiles.
type Scheduler struct {
	opts        Options
	client      kubernetes.Interface
	informers   informers.SharedInformerFactory
	podLister   corelisters.PodLister
	cache       *schedcache.Cache
	snapshot    *schedcache.Snapshot
	queue       *queue.PriorityQueue
	profiles    map[string]*runtime.Framework
	recorders   map[string]record.EventRecorder
	broadcaster record.EventBroadcaster
	metrics     *Metrics
	decisions   *decisions.Store
	percentage  int32

	nextStartNodeIndex int
	binding            sync.WaitGroup
	started            atomic.Bool
	synced             atomic.Bool
	bound              atomic.Int64

	gatedMu sync.Mutex
	// gated are our pending pods held by scheduling gates.
	gated map[types.UID]bool
}

// New builds a scheduler; Run starts it.
func New(opts Options) (*Scheduler, error) {
	cfg := opts.Config
	if cfg == nil {
		cfg = config.Default()
	}
	if opts.Registry == nil {
		opts.Registry = plugins.NewInTreeRegistry()
	}
	if opts.Defaults == nil {
		opts.Defaults = plugins.DefaultPlugins()
	}
	if opts.EventClient == nil {
		opts.EventClient = opts.Client
	}
	s := &Scheduler{
		opts:       opts,
		client:     opts.Client,
		informers:  informers.NewSharedInformerFactory(opts.Client, 0),
		cache:      schedcache.New(),
		snapshot:   schedcache.NewEmptySnapshot(),
		profiles:   map[string]*runtime.Framework{},
		recorders:  map[string]record.EventRecorder{},
		metrics:    NewMetrics(opts.Registerer),
		decisions:  opts.Decisions,
		percentage: *cfg.PercentageOfNodesToScore,
		gated:      map[types.UID]bool{},
	}
	s.broadcaster = record.NewBroadcaster()
	var firstProfile *runtime.Framework
	eventsByPlugin := map[string][]framework.ClusterEvent{}
	for _, p := range cfg.Profiles {
		rec := s.broadcaster.NewRecorder(scheme.Scheme, v1.EventSource{Component: p.SchedulerName})
		fwk, err := runtime.New(p, runtime.Options{
			Registry:        opts.Registry,
			Defaults:        opts.Defaults,
			Client:          opts.Client,
			InformerFactory: s.informers,
			Recorder:        rec,
			Snapshot:        s.snapshot,
			Parallelism:     int(cfg.Parallelism),
			Nominated:       func(node string) []*framework.PodInfo { return s.queue.NominatedPodsForNode(node) },
		})
		if err != nil {
			return nil, fmt.Errorf("scheduler: %w", err)
		}
		if firstProfile == nil {
			firstProfile = fwk
		}
		s.profiles[p.SchedulerName] = fwk
		s.recorders[p.SchedulerName] = rec
		for name, evs := range fwk.EventsByPlugin() {
			eventsByPlugin[name] = evs
		}
	}
	s.queue = queue.New(queue.Options{
		Less:           firstProfile.QueueSortLess,
		InitialBackoff: time.Duration(cfg.PodInitialBackoffSeconds) * time.Second,
		MaxBackoff:     time.Duration(cfg.PodMaxBackoffSeconds) * time.Second,
		EventsByPlugin: eventsByPlugin,
		Metrics:        s.metrics,
	})
	s.podLister = s.informers.Core().V1().Pods().Lister()
	s.addEventHandlers()
	return s, nil
}

// Synced reports whether the informers have synced (for /readyz).
func (s *Scheduler) Synced() bool { return s.synced.Load() }

// Started reports whether Run has started (this replica leads).
func (s *Scheduler) Started() bool { return s.started.Load() }

// BoundCount is how many pods this scheduler has bound.
func (s *Scheduler) BoundCount() int64 { return s.bound.Load() }

// Run schedules until ctx ends, then waits for bindings in flight.
func (s *Scheduler) Run(ctx context.Context) error {
	s.started.Store(true)
	s.broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: s.opts.EventClient.CoreV1().Events("")})
	defer s.broadcaster.Shutdown()
	s.informers.Start(ctx.Done())
	defer s.informers.Shutdown()
	for typ, ok := range s.informers.WaitForCacheSync(ctx.Done()) {
		if !ok {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("scheduler: informer for %v did not sync", typ)
		}
	}
	s.synced.Store(true)
	slog.Info("Scheduler started", "profiles", len(s.profiles), "nodes", s.cache.NodeCount())
	go s.queue.Run(ctx)
	for {
		qp, err := s.queue.Pop(ctx)
		if err != nil {
			break
		}
		s.scheduleOne(ctx, qp)
	}
	s.binding.Wait()
	return nil
}

func (s *Scheduler) responsibleFor(pod *v1.Pod) bool {
	_, ok := s.profiles[pod.Spec.SchedulerName]
	return ok
}

func assigned(pod *v1.Pod) bool { return pod.Spec.NodeName != "" }

func terminal(pod *v1.Pod) bool {
	return pod.Status.Phase == v1.PodSucceeded || pod.Status.Phase == v1.PodFailed
}

func podFrom(obj any) *v1.Pod {
	switch t := obj.(type) {
	case *v1.Pod:
		return t
	case cache.DeletedFinalStateUnknown:
		p, _ := t.Obj.(*v1.Pod)
		return p
	}
	return nil
}

func nodeFrom(obj any) *v1.Node {
	switch t := obj.(type) {
	case *v1.Node:
		return t
	case cache.DeletedFinalStateUnknown:
		n, _ := t.Obj.(*v1.Node)
		return n
	}
	return nil
}

func (s *Scheduler) addEventHandlers() {
	pods := s.informers.Core().V1().Pods().Informer()
	// Bound, running pods are counted in the cache.
	pods.AddEventHandler(cache.FilteringResourceEventHandler{
		FilterFunc: func(obj any) bool {
			p := podFrom(obj)
			return p != nil && assigned(p) && !terminal(p)
		},
		Handler: cache.ResourceEventHandlerFuncs{
			AddFunc: func(obj any) {
				p := podFrom(obj)
				s.cache.AddPod(p)
				s.queue.DeleteNominated(p.UID)
				s.queue.MoveAllToActiveOrBackoffQueue(framework.ClusterEvent{Resource: framework.AssignedPod, ActionType: framework.Add, Label: "AssignedPodAdd"})
			},
			UpdateFunc: func(old, obj any) {
				s.cache.UpdatePod(podFrom(old), podFrom(obj))
			},
			DeleteFunc: func(obj any) {
				p := podFrom(obj)
				if p == nil {
					return
				}
				s.cache.RemovePod(p)
				s.queue.MoveAllToActiveOrBackoffQueue(framework.EventAssignedPodDelete)
			},
		},
	})
	// Pending pods of our profiles are queued.
	pods.AddEventHandler(cache.FilteringResourceEventHandler{
		FilterFunc: func(obj any) bool {
			p := podFrom(obj)
			// A pod with scheduling gates waits until they are all removed
			// (the update then passes the filter and adds it).
			return p != nil && !assigned(p) && !terminal(p) && s.responsibleFor(p) && len(p.Spec.SchedulingGates) == 0
		},
		Handler: cache.ResourceEventHandlerFuncs{
			AddFunc: func(obj any) { s.queue.Add(podFrom(obj)) },
			UpdateFunc: func(old, obj any) {
				p := podFrom(obj)
				if s.cache.IsAssumedPod(p) {
					return
				}
				s.queue.Update(podFrom(old), p)
			},
			DeleteFunc: func(obj any) {
				p := podFrom(obj)
				if p == nil {
					return
				}
				s.queue.Delete(p)
				if s.decisions != nil && p.DeletionTimestamp == nil {
					// Bound: the decision stays readable. Deleted: forget it.
					if _, err := s.podLister.Pods(p.Namespace).Get(p.Name); apierrors.IsNotFound(err) {
						s.decisions.Forget(p.Namespace, p.Name)
					}
				}
			},
		},
	})
	// Gated pods are only counted (scheduler_pending_pods{queue="gated"}).
	pods.AddEventHandler(cache.FilteringResourceEventHandler{
		FilterFunc: func(obj any) bool {
			p := podFrom(obj)
			return p != nil && !assigned(p) && !terminal(p) && s.responsibleFor(p) && len(p.Spec.SchedulingGates) > 0
		},
		Handler: cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { s.setGated(podFrom(obj), true) },
			DeleteFunc: func(obj any) { s.setGated(podFrom(obj), false) },
		},
	})
	s.informers.Core().V1().Nodes().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			s.cache.AddNode(nodeFrom(obj))
			s.queue.MoveAllToActiveOrBackoffQueue(framework.EventNodeAdd)
		},
		UpdateFunc: func(old, obj any) {
			o, n := nodeFrom(old), nodeFrom(obj)
			s.cache.UpdateNode(o, n)
			if action := nodeChange(o, n); action != 0 {
				s.queue.MoveAllToActiveOrBackoffQueue(framework.ClusterEvent{Resource: framework.Node, ActionType: action, Label: "NodeUpdate"})
			}
		},
		DeleteFunc: func(obj any) {
			if n := nodeFrom(obj); n != nil {
				s.cache.RemoveNode(n)
			}
		},
	})
	for _, inf := range []cache.SharedIndexInformer{
		s.informers.Core().V1().PersistentVolumes().Informer(),
		s.informers.Core().V1().PersistentVolumeClaims().Informer(),
	} {
		res := framework.PersistentVolume
		if inf == s.informers.Core().V1().PersistentVolumeClaims().Informer() {
			res = framework.PersistentVolumeClaim
		}
		inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: func(any) {
				s.queue.MoveAllToActiveOrBackoffQueue(framework.ClusterEvent{Resource: res, ActionType: framework.Add})
			},
			UpdateFunc: func(any, any) {
				s.queue.MoveAllToActiveOrBackoffQueue(framework.ClusterEvent{Resource: res, ActionType: framework.Update})
			},
		})
	}
	// A new class may let a waiting claim be provisioned.
	s.informers.Storage().V1().StorageClasses().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(any) {
			s.queue.MoveAllToActiveOrBackoffQueue(framework.ClusterEvent{Resource: framework.StorageClass, ActionType: framework.Add, Label: "StorageClassAdd"})
		},
	})
	// Namespaces are read by the inter-pod affinity namespace selectors.
	s.informers.Core().V1().Namespaces().Informer()
}

func (s *Scheduler) setGated(p *v1.Pod, gated bool) {
	if p == nil {
		return
	}
	s.gatedMu.Lock()
	defer s.gatedMu.Unlock()
	if gated {
		s.gated[p.UID] = true
	} else {
		delete(s.gated, p.UID)
	}
	s.metrics.SetPending("gated", len(s.gated))
}

// nodeChange says what about a node changed in a way that may make pods
// fit; 0 for status heartbeats and the like.
func nodeChange(o, n *v1.Node) framework.ActionType {
	var a framework.ActionType
	if !equalResources(o.Status.Allocatable, n.Status.Allocatable) {
		a |= framework.UpdateNodeAllocatable
	}
	if !equalMaps(o.Labels, n.Labels) {
		a |= framework.UpdateNodeLabel
	}
	if o.Spec.Unschedulable != n.Spec.Unschedulable || !equalTaints(o.Spec.Taints, n.Spec.Taints) {
		a |= framework.UpdateNodeTaint
	}
	if len(o.Status.Images) != len(n.Status.Images) {
		a |= framework.Update
	}
	return a
}

func equalResources(a, b v1.ResourceList) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || v.Cmp(w) != 0 {
			return false
		}
	}
	return true
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || v != w {
			return false
		}
	}
	return true
}

func equalTaints(a, b []v1.Taint) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Key != b[i].Key || a[i].Value != b[i].Value || a[i].Effect != b[i].Effect {
			return false
		}
	}
	return true
}

// scheduleResult is the outcome of the scheduling algorithm.
type scheduleResult struct {
	host      string
	evaluated int
	feasible  int
	decision  *decisions.Decision
}

// scheduleOne runs one scheduling cycle for qp and, on success, starts
// its binding cycle.
func (s *Scheduler) scheduleOne(ctx context.Context, qp *framework.QueuedPodInfo) {
	pod := qp.Pod
	fwk, ok := s.profiles[pod.Spec.SchedulerName]
	if !ok || pod.DeletionTimestamp != nil || s.cache.IsAssumedPod(pod) {
		s.queue.Done(pod.UID)
		return
	}
	start := time.Now()
	cycle := s.queue.SchedulingCycle()
	state := framework.NewCycleState()
	res, err := s.schedulePod(ctx, fwk, state, pod)
	if res.decision != nil {
		res.decision.Attempt = qp.Attempts
	}
	if err != nil {
		var fitErr *FitError
		nominated := ""
		if errors.As(err, &fitErr) && fwk.HasPostFilter() {
			s.metrics.preemption.Inc()
			pfRes, st := fwk.RunPostFilterPlugins(ctx, state, pod, fitErr.Diagnosis.NodeToStatus)
			if st.Code() == framework.Error {
				slog.Error("Preemption failed", "pod", klogKey(pod), "err", st.AsError())
			} else if !st.IsSuccess() {
				fitErr.Diagnosis.PostFilterMsg = st.Message()
			}
			if pfRes != nil {
				nominated = pfRes.NominatedNodeName
			}
		}
		if res.decision != nil {
			res.decision.Message = err.Error()
			res.decision.NominatedNode = nominated
		}
		s.handleFailure(ctx, fwk, qp, err, nominated, cycle, start, res.decision)
		return
	}
	assumed := pod.DeepCopy()
	assumed.Spec.NodeName = res.host
	if err := s.cache.AssumePod(assumed); err != nil {
		s.handleFailure(ctx, fwk, qp, err, "", cycle, start, res.decision)
		return
	}
	if st := fwk.RunReservePlugins(ctx, state, assumed, res.host); !st.IsSuccess() {
		fwk.RunUnreservePlugins(ctx, state, assumed, res.host)
		s.cache.ForgetPod(assumed)
		s.handleFailure(ctx, fwk, qp, st.AsError(), "", cycle, start, res.decision)
		return
	}
	s.queue.Done(pod.UID)
	s.queue.DeleteNominated(pod.UID)
	if res.decision != nil && s.decisions != nil {
		s.decisions.Record(res.decision)
	}
	s.binding.Add(1)
	go func() {
		defer s.binding.Done()
		s.bindingCycle(ctx, fwk, state, qp, assumed, res, start, cycle)
	}()
}

func (s *Scheduler) bindingCycle(ctx context.Context, fwk *runtime.Framework, state *framework.CycleState, qp *framework.QueuedPodInfo, assumed *v1.Pod, res scheduleResult, start time.Time, cycle int64) {
	st := fwk.RunPreBindPlugins(ctx, state, assumed, res.host)
	if st.IsSuccess() {
		st = fwk.RunBindPlugins(ctx, state, assumed, res.host)
	}
	if !st.IsSuccess() {
		fwk.RunUnreservePlugins(ctx, state, assumed, res.host)
		s.cache.ForgetPod(assumed)
		// The room the pod held is free again.
		s.queue.MoveAllToActiveOrBackoffQueue(framework.EventAssignedPodDelete)
		var d *decisions.Decision
		if res.decision != nil {
			// The recorded decision may be being served: record a copy.
			copied := *res.decision
			copied.Result, copied.Message = decisions.Error, st.AsError().Error()
			d = &copied
		}
		s.handleFailure(ctx, fwk, qp, st.AsError(), "", cycle, start, d)
		return
	}
	s.cache.FinishBinding(assumed)
	s.bound.Add(1)
	now := time.Now()
	profile := fwk.ProfileName()
	s.metrics.attempts.WithLabelValues("scheduled", profile).Inc()
	s.metrics.attemptDuration.WithLabelValues("scheduled", profile).Observe(now.Sub(start).Seconds())
	if qp.InitialAttemptTimestamp != nil {
		s.metrics.e2eDuration.WithLabelValues("scheduled", profile).Observe(now.Sub(*qp.InitialAttemptTimestamp).Seconds())
	}
	latency := now.Sub(qp.Timestamp)
	s.metrics.podDuration.WithLabelValues(strconv.Itoa(qp.Attempts)).Observe(latency.Seconds())
	msg := fmt.Sprintf("Successfully assigned %s/%s to %s", assumed.Namespace, assumed.Name, res.host)
	s.recorders[profile].Event(assumed, v1.EventTypeNormal, "Scheduled", msg)
	if s.opts.OnBound != nil {
		s.opts.OnBound(assumed, res.host, now.Sub(start), latency)
	}
	slog.Debug("Pod bound", "pod", klogKey(assumed), "node", res.host, "evaluated", res.evaluated, "feasible", res.feasible)
}

func klogKey(pod *v1.Pod) string { return pod.Namespace + "/" + pod.Name }

// handleFailure records the failure (event, condition, metrics, decision)
// and puts the pod back in the queue.
func (s *Scheduler) handleFailure(ctx context.Context, fwk *runtime.Framework, qp *framework.QueuedPodInfo, err error, nominated string, cycle int64, start time.Time, d *decisions.Decision) {
	pod := qp.Pod
	profile := fwk.ProfileName()
	reason := v1.PodReasonUnschedulable
	result := "unschedulable"
	var fitErr *FitError
	isFit := errors.As(err, &fitErr)
	if !isFit {
		reason = v1.PodReasonSchedulerError
		result = "error"
		if errors.Is(err, ErrNoNodesAvailable) {
			reason, result = v1.PodReasonUnschedulable, "unschedulable"
			isFit = true
		} else {
			slog.Error("Error scheduling pod; retrying", "pod", klogKey(pod), "err", err)
		}
	}
	s.metrics.attempts.WithLabelValues(result, profile).Inc()
	s.metrics.attemptDuration.WithLabelValues(result, profile).Observe(time.Since(start).Seconds())
	if d != nil && s.decisions != nil {
		if d.Message == "" {
			d.Message = err.Error()
		}
		s.decisions.Record(d)
	}

	// Requeue the latest version of the pod, unless it is gone or bound.
	cur, getErr := s.podLister.Pods(pod.Namespace).Get(pod.Name)
	if getErr != nil || cur.UID != pod.UID || assigned(cur) {
		s.queue.Done(pod.UID)
		return
	}
	if nominated != "" {
		s.queue.Nominate(cur, nominated)
	}
	qp.Update(cur)
	if fitErr != nil {
		qp.UnschedulablePlugins = sets.New[string]()
		for name := range fitErr.Diagnosis.UnschedulablePlugins {
			qp.UnschedulablePlugins.Insert(name)
		}
	} else {
		qp.UnschedulablePlugins = nil
	}
	s.queue.AddUnschedulableIfNotPresent(qp, cycle, !isFit)

	msg := err.Error()
	s.recorders[profile].Event(cur, v1.EventTypeWarning, "FailedScheduling", msg)
	if err := s.updatePodCondition(ctx, cur, reason, msg, nominated); err != nil && !apierrors.IsNotFound(err) {
		slog.Error("Updating pod condition", "pod", klogKey(pod), "err", err)
	}
}
