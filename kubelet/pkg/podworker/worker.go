// Package podworker runs the pods bound to this node: for each pod it makes
// the runtime match the spec (sandbox, init containers in order, containers,
// restarts with back-off, graceful termination) and reports what the runtime
// shows as the pod's status.
//
// The Worker is a workqueue of pod keys ("namespace/name"): informer events
// and the runtime's own changes (seen by periodic resyncs of every live pod)
// enqueue a key, and one sync at a time per key reads the pod from its
// Source, acts, and writes the status through its StatusWriter.
//
// What it does and what keeps a pod from running is also told as upstream
// kubelet's events on the pod and its containers (Pulled, Created,
// Started, Killing, BackOff, FailedMount, Evicted, admission rejections,
// ...) through an injected record.EventRecorder.
package podworker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"navarch.dev/kubelet/pkg/admission"
	"navarch.dev/kubelet/pkg/cgroup"
	"navarch.dev/kubelet/pkg/runtime"
)

// Config is what the worker needs to know about its node.
type Config struct {
	NodeName      string
	NodeIP        string
	ClusterDNS    []string
	ClusterDomain string
	// ResolvConf is the host resolv.conf used for dnsPolicy Default.
	ResolvConf string
	// PodLogRoot holds the pods' container logs (/var/log/pods).
	PodLogRoot string
	// MachineMemory in bytes, for Burstable OOM score adjustments.
	MachineMemory int64
	// Allocatable answers resourceFieldRef for containers without limits.
	Allocatable v1.ResourceList
	// Workers is how many pods sync at once (default 16: a sync mostly
	// waits on the runtime, and a terminating pod holds its worker for its
	// grace period).
	Workers int
	// Resync is how often the runtime is relisted for changes (a container
	// exited, a sandbox died): how soon they are seen (default 1s).
	Resync time.Duration
	// SyncFrequency is how often a live pod is synced without any event
	// (default 10s): what refreshes its ConfigMap and Secret volumes.
	SyncFrequency time.Duration
	// RemoveCgroups removes pod cgroup directories containerd leaves behind.
	RemoveCgroups bool
	// PodsDir holds a directory per pod (by UID) for the files the kubelet
	// mounts into containers: /etc/hosts and termination message files.
	// Empty: neither is managed.
	PodsDir string
}

// Source is where pods come from: the API (informer) and static manifests.
type Source interface {
	// Get returns the pod with key "namespace/name", or nil if there is none.
	Get(key string) (*v1.Pod, error)
	// List returns every pod this node should run.
	List() ([]*v1.Pod, error)
}

// StatusWriter records a pod's status and finishes its deletion.
type StatusWriter interface {
	// WriteStatus stores status as the pod's status; it may be called with
	// an unchanged status.
	WriteStatus(ctx context.Context, pod *v1.Pod, status v1.PodStatus) error
	// Deleted is called once a pod being deleted has no running containers
	// left: the API pod is deleted with grace period 0.
	Deleted(ctx context.Context, pod *v1.Pod) error
}

// Volumes prepares pod volumes on the host.
type Volumes interface {
	// Setup makes (or refreshes) every volume of the pod and returns the
	// host path of each by volume name.
	Setup(ctx context.Context, pod *v1.Pod) (map[string]string, error)
	// TearDown removes the pod's volumes; it is called once its containers
	// are gone.
	TearDown(uid types.UID) error
}

// Prober reports probe results of running containers.
type Prober interface {
	// Update tells the prober which containers of the pod are running now
	// (by container name → container id); it starts and stops probe loops.
	Update(pod *v1.Pod, running map[string]string, podIP string)
	// Result returns readiness, liveness and startup outcomes of a container.
	Result(uid types.UID, name string) ProbeResult
	// Forget stops every probe of the pod.
	Forget(uid types.UID)
}

// Admitter decides whether a pod the worker has not run yet may run beside
// the pods it runs (admitted: admitted before and not finished).
type Admitter interface {
	Admit(pod *v1.Pod, admitted []*v1.Pod) admission.Result
}

// ProbeResult is what the prober has seen of one container.
type ProbeResult struct {
	Ready        bool
	Started      bool
	LivenessFail bool
	// StartupFail: the failure LivenessFail reports is the startup
	// probe's.
	StartupFail   bool
	FailedMessage string
}

// Worker syncs pods.
type Worker struct {
	cfg      Config
	rt       *runtime.Runtime
	client   kubernetes.Interface
	services func() ([]*v1.Service, error)
	source   Source
	writer   StatusWriter
	volumes  Volumes
	prober   Prober
	admitter Admitter
	recorder record.EventRecorder
	backoff  *backoff
	queue    workqueue.TypedRateLimitingInterface[string]
	now      func() time.Time

	mu       sync.Mutex
	known    map[string]*v1.Pod                     // last seen pod by key
	statuses map[types.UID]v1.PodStatus             // last computed status
	waiting  map[string]*v1.ContainerStateWaiting   // by uid/name
	exited   map[string]*runtimeapi.ContainerStatus // immutable exit states by container id
	deleted  map[types.UID]bool                     // final delete done
	started  map[types.UID]time.Time                // pod startTime
	// terminal holds pods the kubelet fails itself (rejected at admission,
	// evicted) by UID.
	terminal map[types.UID]terminalStatus

	// admitMu serialises admission decisions; admitted holds the last seen
	// version of every admitted pod that has not finished, by UID.
	admitMu  sync.Mutex
	admitted map[types.UID]*v1.Pod
}

// terminalStatus is how the kubelet fails a pod on its own account.
type terminalStatus struct {
	reason, message string
	grace           time.Duration
	// rejected pods never ran: their status is only phase, reason and
	// message (upstream sets no DisruptionTarget on them either).
	rejected bool
	// disruption marks the pod with the DisruptionTarget condition
	// (evicted pods, as upstream since PodDisruptionConditions).
	disruption bool
}

// Options carry the worker's collaborators; nil ones are optional.
type Options struct {
	Runtime  *runtime.Runtime
	Client   kubernetes.Interface
	Services func() ([]*v1.Service, error)
	Source   Source
	Writer   StatusWriter
	Volumes  Volumes
	Prober   Prober
	// Admitter, when set, decides whether new pods may run; a refused pod
	// fails with the admitter's reason and message.
	Admitter Admitter
	// Recorder receives the events of the pods (Pulled, Created, Started,
	// Killing, BackOff, FailedMount, Evicted, admission rejections, ...);
	// nil drops them. It must not block.
	Recorder record.EventRecorder
}

// New builds a Worker.
func New(cfg Config, o Options) *Worker {
	if cfg.Workers <= 0 {
		cfg.Workers = 16
	}
	if cfg.Resync <= 0 {
		cfg.Resync = time.Second
	}
	if cfg.SyncFrequency <= 0 {
		cfg.SyncFrequency = 10 * time.Second
	}
	if cfg.ClusterDomain == "" {
		cfg.ClusterDomain = "cluster.local"
	}
	w := &Worker{
		cfg: cfg, rt: o.Runtime, client: o.Client, services: o.Services, source: o.Source,
		writer: o.Writer, volumes: o.Volumes, prober: o.Prober, admitter: o.Admitter,
		recorder: o.Recorder,
		now:      time.Now,
		queue:    workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]()),
		known:    map[string]*v1.Pod{},
		statuses: map[types.UID]v1.PodStatus{},
		waiting:  map[string]*v1.ContainerStateWaiting{},
		exited:   map[string]*runtimeapi.ContainerStatus{},
		deleted:  map[types.UID]bool{},
		started:  map[types.UID]time.Time{},
		terminal: map[types.UID]terminalStatus{},
		admitted: map[types.UID]*v1.Pod{},
	}
	if w.recorder == nil {
		w.recorder = noRecorder
	}
	w.backoff = newBackoff(func() time.Time { return w.now() })
	return w
}

// Enqueue asks for a sync of the pod with key "namespace/name".
func (w *Worker) Enqueue(key string) { w.queue.Add(key) }

// Status returns the last status computed for a pod.
func (w *Worker) Status(uid types.UID) (v1.PodStatus, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s, ok := w.statuses[uid]
	return s, ok
}

// Run syncs pods until ctx ends, with housekeeping of orphaned sandboxes
// every 10 seconds. Call it once.
func (w *Worker) Run(ctx context.Context) {
	defer w.queue.ShutDown()
	var wg sync.WaitGroup
	for i := 0; i < w.cfg.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for w.processNext(ctx) {
			}
		}()
	}
	if pods, err := w.source.List(); err == nil {
		// Oldest first, as they were admitted before.
		sort.Slice(pods, func(i, j int) bool { return pods[i].CreationTimestamp.Before(&pods[j].CreationTimestamp) })
		w.AdmitRunning(pods)
		for _, p := range pods {
			w.queue.Add(key(p))
		}
	}
	housekeeping := time.NewTicker(10 * time.Second)
	defer housekeeping.Stop()
	relist := time.NewTicker(w.cfg.Resync)
	defer relist.Stop()
	seen := w.relist(ctx, nil)
	w.Housekeep(ctx)
	for {
		select {
		case <-ctx.Done():
			w.queue.ShutDown()
			wg.Wait()
			return
		case <-relist.C:
			seen = w.relist(ctx, seen)
		case <-housekeeping.C:
			w.Housekeep(ctx)
		}
	}
}

// AdmitRunning admits again, without checks, the pods among pods that the
// API reports running: after a restart the pods that already run are
// admitted first, so that pending pods are weighed against them. Run does
// it with the source's pods; a caller whose source learns its pods later
// (the API's, once the apiserver answers) calls it with those before it
// enqueues them.
func (w *Worker) AdmitRunning(pods []*v1.Pod) {
	w.admitMu.Lock()
	defer w.admitMu.Unlock()
	for _, p := range pods {
		if p.Status.Phase == v1.PodRunning && p.DeletionTimestamp == nil {
			w.admitted[p.UID] = p
		}
	}
}

func key(p *v1.Pod) string { return p.Namespace + "/" + p.Name }

func (w *Worker) processNext(ctx context.Context) bool {
	k, quit := w.queue.Get()
	if quit {
		return false
	}
	defer w.queue.Done(k)
	requeue, err := w.Sync(ctx, k)
	if err != nil {
		if ctx.Err() == nil {
			slog.Error("sync pod", "pod", k, "err", err)
		}
		w.queue.AddRateLimited(k)
		return true
	}
	w.queue.Forget(k)
	if requeue > 0 {
		w.queue.AddAfter(k, requeue)
	}
	return true
}

// Sync brings one pod in line with its spec and reports its status. It
// returns when the pod should be looked at again without an event (zero:
// not until something changes).
func (w *Worker) Sync(ctx context.Context, k string) (time.Duration, error) {
	pod, err := w.source.Get(k)
	if err != nil {
		return 0, err
	}
	w.mu.Lock()
	prev := w.known[k]
	if pod != nil {
		w.known[k] = pod
	} else {
		delete(w.known, k)
	}
	w.mu.Unlock()
	if prev != nil && (pod == nil || prev.UID != pod.UID) {
		// The pod we ran under this name is gone from the API (deleted
		// without our final delete, or replaced): stop everything it had.
		if err := w.cleanup(ctx, prev.UID, prev, 0); err != nil {
			return 0, err
		}
	}
	if pod == nil {
		return 0, nil
	}
	res, err := w.syncPod(ctx, pod)
	if err != nil {
		return 0, err
	}
	w.mu.Lock()
	w.statuses[pod.UID] = res.status
	w.mu.Unlock()
	if p := res.status.Phase; p == v1.PodSucceeded || p == v1.PodFailed {
		w.forgetAdmitted(pod.UID)
	}
	if w.writer != nil && !statusEqual(pod.Status, res.status) {
		if err := w.writer.WriteStatus(ctx, pod, res.status); err != nil {
			return 0, fmt.Errorf("write status: %w", err)
		}
	}
	if pod.DeletionTimestamp != nil && res.stopped {
		if err := w.cleanup(ctx, pod.UID, nil, 0); err != nil {
			return 0, err
		}
		w.mu.Lock()
		done := w.deleted[pod.UID]
		w.deleted[pod.UID] = true
		w.mu.Unlock()
		if !done && w.writer != nil {
			if err := w.writer.Deleted(ctx, pod); err != nil {
				w.mu.Lock()
				delete(w.deleted, pod.UID)
				w.mu.Unlock()
				return 0, fmt.Errorf("final delete: %w", err)
			}
		}
		return 0, nil
	}
	return res.requeue, nil
}

// statusEqual compares statuses the way the API stores them (second
// precision timestamps).
func statusEqual(a, b v1.PodStatus) bool {
	return apiequality.Semantic.DeepEqual(a, b)
}

// cleanup stops and removes every sandbox of the pod, its cgroups, volumes
// and remembered state. With the pod known (last seen before it went from
// the API), the containers it stops are told as Killing events.
func (w *Worker) cleanup(ctx context.Context, uid types.UID, pod *v1.Pod, grace time.Duration) error {
	sbs, err := w.rt.ListPodSandbox(ctx, map[string]string{LabelPodUID: string(uid)})
	if err != nil {
		return err
	}
	var errs []error
	ctrs, err := w.rt.ListContainers(ctx, "", map[string]string{LabelPodUID: string(uid)})
	if err != nil {
		return err
	}
	if pod != nil {
		for _, c := range ctrs {
			if c.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
				continue
			}
			for _, s := range allContainers(pod) {
				if s.Name == c.GetMetadata().GetName() {
					w.containerEvent(pod, &s, v1.EventTypeNormal, EventKilling, "Stopping container %s", s.Name)
				}
			}
		}
	}
	w.stopContainers(ctx, nil, ctrs, grace)
	for _, sb := range sbs {
		if err := w.rt.StopPodSandbox(ctx, sb.Id); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := w.rt.RemovePodSandbox(ctx, sb.Id); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if w.cfg.RemoveCgroups {
		for _, p := range []string{"/kubepods/pod" + string(uid), "/kubepods/burstable/pod" + string(uid), "/kubepods/besteffort/pod" + string(uid)} {
			if err := cgroup.Remove(p); err != nil {
				slog.Warn("remove pod cgroup", "uid", uid, "err", err)
			}
		}
	}
	if w.volumes != nil {
		if err := w.volumes.TearDown(uid); err != nil {
			return err
		}
	}
	if w.cfg.PodsDir != "" {
		// What podFiles made; the volume manager, when there is one, has
		// already removed the whole pod directory.
		os.Remove(filepath.Join(w.cfg.PodsDir, string(uid), "etc-hosts"))
		os.RemoveAll(filepath.Join(w.cfg.PodsDir, string(uid), "containers"))
		os.Remove(filepath.Join(w.cfg.PodsDir, string(uid)))
	}
	if w.prober != nil {
		w.prober.Forget(uid)
	}
	w.backoff.forgetPrefix(string(uid) + "/")
	w.mu.Lock()
	for id, st := range w.exited {
		if st.Labels[LabelPodUID] == string(uid) {
			delete(w.exited, id)
		}
	}
	for k := range w.waiting {
		if len(k) > len(uid) && k[:len(uid)] == string(uid) {
			delete(w.waiting, k)
		}
	}
	delete(w.statuses, uid)
	delete(w.started, uid)
	delete(w.terminal, uid)
	w.mu.Unlock()
	w.forgetAdmitted(uid)
	return nil
}

// admit reports whether the pod may run: a pod admitted before, or one
// the runtime already runs (adopted after a restart), may; any other is put
// to the Admitter, and a refused one is marked to fail with its reason.
func (w *Worker) admit(pod *v1.Pod, obs *observed) bool {
	w.admitMu.Lock()
	defer w.admitMu.Unlock()
	if _, ok := w.admitted[pod.UID]; ok {
		w.admitted[pod.UID] = pod
		return true
	}
	if w.admitter != nil && len(obs.sandboxes) == 0 && pod.Status.Phase != v1.PodRunning {
		w.mu.Lock()
		term, decided := w.terminal[pod.UID]
		w.mu.Unlock()
		if decided && term.rejected {
			// Rejected already (its Failed status not seen back yet):
			// once is enough, for the decision and for its event.
			return false
		}
		others := make([]*v1.Pod, 0, len(w.admitted))
		for _, p := range w.admitted {
			others = append(others, p)
		}
		if r := w.admitter.Admit(pod, others); !r.Admit {
			slog.Info("pod rejected", "pod", key(pod), "reason", r.Reason, "message", r.Message)
			w.podEvent(pod, v1.EventTypeWarning, r.Reason, "%s", r.Message)
			w.mu.Lock()
			w.terminal[pod.UID] = terminalStatus{reason: r.Reason, message: "Pod was rejected: " + r.Message, rejected: true}
			w.mu.Unlock()
			return false
		}
	}
	w.admitted[pod.UID] = pod
	return true
}

func (w *Worker) forgetAdmitted(uid types.UID) {
	w.admitMu.Lock()
	delete(w.admitted, uid)
	w.admitMu.Unlock()
}

// ActivePods returns the admitted pods that have not finished and are not
// being failed (evicted) already, as last seen: the pods the eviction
// manager chooses from.
func (w *Worker) ActivePods() []*v1.Pod {
	w.admitMu.Lock()
	defer w.admitMu.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]*v1.Pod, 0, len(w.admitted))
	for uid, p := range w.admitted {
		if _, failing := w.terminal[uid]; failing {
			continue
		}
		out = append(out, p.DeepCopy())
	}
	return out
}

// Evict stops the pod's containers within grace and fails the pod with
// reason Evicted and message, and the DisruptionTarget condition (reason
// TerminationByKubelet, with message), as upstream's eviction manager does.
// The pod stays in the API (phase Failed) until it is deleted.
func (w *Worker) Evict(pod *v1.Pod, message string, grace time.Duration) {
	w.mu.Lock()
	_, failing := w.terminal[pod.UID]
	if !failing {
		w.terminal[pod.UID] = terminalStatus{reason: "Evicted", message: message, grace: grace, disruption: true}
	}
	w.mu.Unlock()
	if !failing {
		w.podEvent(pod, v1.EventTypeWarning, EventEvicted, "%s", message)
	}
	w.queue.Add(key(pod))
}

// Housekeep removes sandboxes and containers of pods this node no longer
// runs (deleted while the kubelet was down, or left by a crash).
func (w *Worker) Housekeep(ctx context.Context) {
	pods, err := w.source.List()
	if err != nil {
		return
	}
	live := map[string]bool{}
	for _, p := range pods {
		live[string(p.UID)] = true
	}
	sbs, err := w.rt.ListPodSandbox(ctx, nil)
	if err != nil {
		slog.Warn("housekeeping: list sandboxes", "err", err)
		return
	}
	seen := map[string]bool{}
	for _, sb := range sbs {
		uid := sb.Labels[LabelPodUID]
		if n := sb.Labels[LabelNode]; n != "" && n != w.cfg.NodeName {
			continue
		}
		if uid == "" || live[uid] || seen[uid] {
			continue
		}
		seen[uid] = true
		slog.Info("removing orphaned pod sandboxes", "pod", sb.Labels[LabelPodNamespace]+"/"+sb.Labels[LabelPodName], "uid", uid)
		if err := w.cleanup(ctx, types.UID(uid), nil, 0); err != nil {
			slog.Warn("housekeeping: cleanup", "uid", uid, "err", err)
		}
	}
}
