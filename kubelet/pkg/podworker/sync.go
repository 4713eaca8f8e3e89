package podworker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"navarch.dev/kubelet/pkg/admission"
)

type syncResult struct {
	status  v1.PodStatus
	requeue time.Duration
	// stopped: nothing of the pod runs any more.
	stopped bool
}

// observed is what the runtime shows of one pod.
type observed struct {
	sandboxes []*runtimeapi.PodSandbox // newest first
	ready     bool                     // the newest sandbox is ready
	podIPs    []string
	byName    map[string][]*ctr // newest attempt first
}

type ctr struct {
	c  *runtimeapi.Container
	st *runtimeapi.ContainerStatus
}

func (o *observed) latest(name string) *ctr {
	if l := o.byName[name]; len(l) > 0 {
		return l[0]
	}
	return nil
}

func (o *observed) previous(name string) *ctr {
	if l := o.byName[name]; len(l) > 1 {
		return l[1]
	}
	return nil
}

func (c *ctr) state() runtimeapi.ContainerState { return c.st.State }
func (c *ctr) attempt() uint32                  { return c.c.GetMetadata().GetAttempt() }

func (w *Worker) observe(ctx context.Context, pod *v1.Pod) (*observed, error) {
	sel := map[string]string{LabelPodUID: string(pod.UID)}
	sbs, err := w.rt.ListPodSandbox(ctx, sel)
	if err != nil {
		return nil, err
	}
	sort.Slice(sbs, func(i, j int) bool { return sbs[i].CreatedAt > sbs[j].CreatedAt })
	o := &observed{sandboxes: sbs, byName: map[string][]*ctr{}}
	if len(sbs) > 0 && sbs[0].State == runtimeapi.PodSandboxState_SANDBOX_READY {
		st, err := w.rt.PodSandboxStatus(ctx, sbs[0].Id)
		if err != nil {
			return nil, err
		}
		o.ready = st.State == runtimeapi.PodSandboxState_SANDBOX_READY
		if n := st.GetNetwork(); n != nil && n.Ip != "" {
			o.podIPs = append(o.podIPs, n.Ip)
			for _, ip := range n.AdditionalIps {
				o.podIPs = append(o.podIPs, ip.Ip)
			}
		}
	}
	ctrs, err := w.rt.ListContainers(ctx, "", sel)
	if err != nil {
		return nil, err
	}
	for _, c := range ctrs {
		w.mu.Lock()
		st := w.exited[c.Id]
		w.mu.Unlock()
		if st == nil {
			st, err = w.rt.ContainerStatus(ctx, c.Id)
			if runtimeIsNotFound(err) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if st.State == runtimeapi.ContainerState_CONTAINER_EXITED {
				w.terminationMessage(pod, st)
				w.mu.Lock()
				w.exited[c.Id] = st
				w.mu.Unlock()
			}
		}
		name := c.GetMetadata().GetName()
		o.byName[name] = append(o.byName[name], &ctr{c: c, st: st})
	}
	for _, l := range o.byName {
		sort.Slice(l, func(i, j int) bool {
			if l[i].attempt() != l[j].attempt() {
				return l[i].attempt() > l[j].attempt()
			}
			return l[i].c.CreatedAt > l[j].c.CreatedAt
		})
	}
	return o, nil
}

func restartPolicy(pod *v1.Pod) v1.RestartPolicy {
	if pod.Spec.RestartPolicy == "" {
		return v1.RestartPolicyAlways
	}
	return pod.Spec.RestartPolicy
}

func shouldRestart(policy v1.RestartPolicy, exitCode int32) bool {
	switch policy {
	case v1.RestartPolicyNever:
		return false
	case v1.RestartPolicyOnFailure:
		return exitCode != 0
	}
	return true
}

func gracePeriod(pod *v1.Pod) time.Duration {
	switch {
	case pod.DeletionGracePeriodSeconds != nil:
		return time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
	case pod.Spec.TerminationGracePeriodSeconds != nil:
		return time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	return 30 * time.Second
}

func waitingKey(pod *v1.Pod, name string) string { return string(pod.UID) + "/" + name }

func (w *Worker) setWaiting(pod *v1.Pod, name, reason, msg string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if reason == "" {
		delete(w.waiting, waitingKey(pod, name))
		return
	}
	w.waiting[waitingKey(pod, name)] = &v1.ContainerStateWaiting{Reason: reason, Message: msg}
}

// syncPod is one pass over a pod: terminate it if it is being deleted,
// otherwise make sure its sandbox runs, run init containers one at a time,
// then start or restart containers as the restart policy and back-off allow.
func (w *Worker) syncPod(ctx context.Context, pod *v1.Pod) (syncResult, error) {
	obs, err := w.observe(ctx, pod)
	if err != nil {
		return syncResult{}, err
	}
	w.mu.Lock()
	if _, ok := w.started[pod.UID]; !ok {
		w.started[pod.UID] = w.now()
	}
	w.mu.Unlock()

	if pod.DeletionTimestamp != nil {
		w.killPod(ctx, pod, obs, gracePeriod(pod))
		if obs, err = w.observe(ctx, pod); err != nil {
			return syncResult{}, err
		}
		return syncResult{status: w.computeStatus(pod, obs), stopped: true}, nil
	}
	p := pod.Status.Phase
	if p != v1.PodSucceeded && p != v1.PodFailed {
		w.admit(pod, obs)
	}
	w.mu.Lock()
	term, failed := w.terminal[pod.UID]
	w.mu.Unlock()
	// A pod that finished stays finished: release its sandbox (and its IP)
	// but keep the containers for their logs until the pod is deleted.
	if failed || p == v1.PodSucceeded || p == v1.PodFailed || w.finished(pod, obs) {
		grace := gracePeriod(pod)
		if failed && !term.rejected {
			grace = term.grace
		}
		for _, sb := range obs.sandboxes {
			if sb.State == runtimeapi.PodSandboxState_SANDBOX_READY {
				w.killPod(ctx, pod, obs, grace)
				if obs, err = w.observe(ctx, pod); err != nil {
					return syncResult{}, err
				}
				break
			}
		}
		var st v1.PodStatus
		switch {
		case failed && term.rejected:
			st = v1.PodStatus{Phase: v1.PodFailed, Reason: term.reason, Message: term.message, QOSClass: admission.QOSClass(pod)}
		case failed:
			st = w.computeStatus(pod, obs)
			st.Phase, st.Reason, st.Message = v1.PodFailed, term.reason, term.message
			if term.disruption {
				st.Conditions = append(st.Conditions, w.disruptionCondition(pod, term.message))
			}
		case (p == v1.PodSucceeded || p == v1.PodFailed) && len(obs.sandboxes) == 0 && len(obs.byName) == 0:
			// Nothing of the pod is left in the runtime (it was rejected,
			// or cleaned up before a restart): its last status stands.
			st = pod.Status
		default:
			st = w.computeStatus(pod, obs)
			if p == v1.PodSucceeded || p == v1.PodFailed {
				st.Phase, st.Reason, st.Message = p, pod.Status.Reason, pod.Status.Message
				// An evicted pod keeps its DisruptionTarget after a
				// restart of the kubelet, which forgot the eviction.
				for _, c := range pod.Status.Conditions {
					if c.Type == v1.DisruptionTarget {
						st.Conditions = append(st.Conditions, c)
					}
				}
			}
		}
		return syncResult{status: st, stopped: true}, nil
	}

	var vols map[string]string
	if w.volumes != nil {
		if vols, err = w.volumes.Setup(ctx, pod); err != nil {
			var me *mountError
			if errors.As(err, &me) {
				// Upstream leaves the containers ContainerCreating while it
				// retries the mount, and says why in a FailedMount event.
				for _, c := range allContainers(pod) {
					w.setWaiting(pod, c.Name, "", "")
				}
				w.podEvent(pod, v1.EventTypeWarning, EventFailedMount, "%s", me.msg)
				return syncResult{status: w.computeStatus(pod, obs), requeue: 2 * time.Second}, nil
			}
			var ce *configError
			if errors.As(err, &ce) {
				for _, c := range allContainers(pod) {
					w.setWaiting(pod, c.Name, "CreateContainerConfigError", err.Error())
				}
				return syncResult{status: w.computeStatus(pod, obs), requeue: 2 * time.Second}, nil
			}
			return syncResult{}, fmt.Errorf("volumes: %w", err)
		}
	}

	var sbCfg *runtimeapi.PodSandboxConfig
	var sbID string
	if !obs.ready {
		var attempt uint32
		if len(obs.sandboxes) > 0 {
			attempt = obs.sandboxes[0].GetMetadata().GetAttempt() + 1
			// The sandbox died: its containers went with it.
			w.podEvent(pod, v1.EventTypeNormal, EventSandboxChanged, "Pod sandbox changed, it will be killed and re-created.")
			if err := w.rt.StopPodSandbox(ctx, obs.sandboxes[0].Id); err != nil {
				return syncResult{}, err
			}
		}
		if sbCfg, err = w.sandboxConfig(pod, attempt); err != nil {
			return syncResult{}, err
		}
		if err := os.MkdirAll(sbCfg.LogDirectory, 0o755); err != nil {
			return syncResult{}, err
		}
		if sbID, err = w.rt.RunPodSandbox(ctx, sbCfg, ""); err != nil {
			w.podEvent(pod, v1.EventTypeWarning, EventFailedCreatePodSandBox, "Failed to create pod sandbox: %v", err)
			return syncResult{}, err
		}
		if obs, err = w.observe(ctx, pod); err != nil {
			return syncResult{}, err
		}
	} else {
		sbID = obs.sandboxes[0].Id
		if sbCfg, err = w.sandboxConfig(pod, obs.sandboxes[0].GetMetadata().GetAttempt()); err != nil {
			return syncResult{}, err
		}
	}
	podIP := ""
	if len(obs.podIPs) > 0 {
		podIP = obs.podIPs[0]
	}
	if pod.Spec.HostNetwork {
		podIP = w.cfg.NodeIP
	}
	requeue := w.cfg.SyncFrequency
	later := func(d time.Duration) {
		if d > 0 && d < requeue {
			requeue = d
		}
	}
	start := func(c *v1.Container, prev *ctr, init bool) {
		attempt := uint32(0)
		if prev != nil {
			attempt = prev.attempt() + 1
		}
		if err := w.startContainer(ctx, pod, c, attempt, init, sbID, sbCfg, podIP, vols); err != nil {
			slog.Warn("start container", "pod", key(pod), "container", c.Name, "err", err)
		}
		later(100 * time.Millisecond)
	}
	// restartAfterExit restarts an exited container once its back-off
	// allows; it reports whether the container is (being) restarted.
	restartAfterExit := func(c *v1.Container, last *ctr) {
		k := waitingKey(pod, c.Name)
		finished := time.Unix(0, last.st.FinishedAt)
		if wait := w.backoff.wait(k, finished); wait > 0 {
			w.setWaiting(pod, c.Name, "CrashLoopBackOff", fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)",
				w.backoffDelay(k), c.Name, pod.Name, pod.Namespace, pod.UID))
			w.containerEvent(pod, c, v1.EventTypeWarning, EventBackOff, "Back-off restarting failed container %s in pod %s", c.Name, podDesc(pod))
			later(wait)
			return
		}
		w.backoff.next(k)
		start(c, last, false)
	}

	initDone := true
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		last := obs.latest(c.Name)
		if last == nil {
			start(c, nil, true)
			initDone = false
			break
		}
		if last.state() == runtimeapi.ContainerState_CONTAINER_EXITED && last.st.ExitCode == 0 {
			continue
		}
		initDone = false
		switch last.state() {
		case runtimeapi.ContainerState_CONTAINER_EXITED:
			if restartPolicy(pod) != v1.RestartPolicyNever {
				restartAfterExit(c, last)
			}
		case runtimeapi.ContainerState_CONTAINER_CREATED:
			if err := w.rt.StartContainer(ctx, last.c.Id); err != nil {
				return syncResult{}, err
			}
		}
		break
	}

	running := map[string]string{}
	if initDone {
		for i := range pod.Spec.Containers {
			c := &pod.Spec.Containers[i]
			last := obs.latest(c.Name)
			if last == nil {
				start(c, nil, false)
				continue
			}
			switch last.state() {
			case runtimeapi.ContainerState_CONTAINER_RUNNING:
				reason, why := "", ""
				if last.c.Annotations[annotationHash] != containerHash(c) {
					reason = "spec changed"
					why = fmt.Sprintf("Container %s definition changed, will be restarted", c.Name)
				} else if w.prober != nil {
					if r := w.prober.Result(pod.UID, c.Name); r.LivenessFail {
						reason = "liveness probe failed: " + r.FailedMessage
						probe := "liveness"
						if r.StartupFail {
							probe = "startup"
						}
						why = fmt.Sprintf("Container %s failed %s probe, will be restarted", c.Name, probe)
					}
				}
				if reason == "" {
					running[c.Name] = last.c.Id
					continue
				}
				slog.Info("restarting container", "pod", key(pod), "container", c.Name, "reason", reason)
				w.stopContainer(ctx, pod, c, last.c.Id, gracePeriod(pod), why)
				later(10 * time.Millisecond)
			case runtimeapi.ContainerState_CONTAINER_CREATED:
				if err := w.rt.StartContainer(ctx, last.c.Id); err != nil {
					slog.Warn("start created container", "pod", key(pod), "container", c.Name, "err", err)
				}
				later(100 * time.Millisecond)
			case runtimeapi.ContainerState_CONTAINER_EXITED, runtimeapi.ContainerState_CONTAINER_UNKNOWN:
				if shouldRestart(restartPolicy(pod), last.st.ExitCode) {
					restartAfterExit(c, last)
				}
			}
		}
	}
	if w.prober != nil {
		w.prober.Update(pod, running, podIP)
	}
	w.pruneContainers(ctx, obs)
	if obs, err = w.observe(ctx, pod); err != nil {
		return syncResult{}, err
	}
	return syncResult{status: w.computeStatus(pod, obs), requeue: requeue}, nil
}

func (w *Worker) backoffDelay(k string) time.Duration {
	w.backoff.mu.Lock()
	defer w.backoff.mu.Unlock()
	if e := w.backoff.entries[k]; e != nil {
		return e.delay
	}
	return 0
}

// finished reports whether a pod has run to completion: with
// restartPolicy Never every container (or a failed init container) has
// exited, with OnFailure every container has exited 0.
func (w *Worker) finished(pod *v1.Pod, obs *observed) bool {
	policy := restartPolicy(pod)
	if policy == v1.RestartPolicyAlways {
		return false
	}
	for _, c := range pod.Spec.InitContainers {
		last := obs.latest(c.Name)
		if last != nil && last.state() == runtimeapi.ContainerState_CONTAINER_EXITED && last.st.ExitCode != 0 && policy == v1.RestartPolicyNever {
			return true
		}
	}
	for _, c := range pod.Spec.Containers {
		last := obs.latest(c.Name)
		if last == nil || last.state() != runtimeapi.ContainerState_CONTAINER_EXITED {
			return false
		}
		if shouldRestart(policy, last.st.ExitCode) {
			return false
		}
	}
	return len(pod.Spec.Containers) > 0
}

// pruneContainers removes exited attempts older than the last two of each
// container (the last one for the status, the one before for lastState).
func (w *Worker) pruneContainers(ctx context.Context, obs *observed) {
	for _, l := range obs.byName {
		for _, c := range l[min(len(l), 2):] {
			if c.state() == runtimeapi.ContainerState_CONTAINER_EXITED {
				if err := w.rt.RemoveContainer(ctx, c.c.Id); err != nil {
					slog.Warn("remove old container", "id", c.c.Id, "err", err)
				}
			}
		}
	}
}

// startContainer pulls the image as the pull policy says, builds the
// container and starts it, then runs its postStart hook. What keeps the
// container from starting is recorded as its waiting reason.
func (w *Worker) startContainer(ctx context.Context, pod *v1.Pod, c *v1.Container, attempt uint32, init bool, sbID string, sbCfg *runtimeapi.PodSandboxConfig, podIP string, vols map[string]string) error {
	if reason, msg := w.ensureImage(ctx, pod, c, sbCfg); reason != "" {
		w.setWaiting(pod, c.Name, reason, msg)
		w.containerEvent(pod, c, v1.EventTypeWarning, EventFailed, "Error: %s", reason)
		return errors.New(msg)
	}
	env, err := w.makeEnv(ctx, pod, c, podIP)
	if err != nil {
		w.setWaiting(pod, c.Name, "CreateContainerConfigError", err.Error())
		w.containerEvent(pod, c, v1.EventTypeWarning, EventFailed, "Error: %v", err)
		return err
	}
	mounts, err := containerMounts(c, vols)
	if err != nil {
		w.setWaiting(pod, c.Name, "CreateContainerConfigError", err.Error())
		w.containerEvent(pod, c, v1.EventTypeWarning, EventFailed, "Error: %v", err)
		return err
	}
	if err := os.MkdirAll(filepath.Join(sbCfg.LogDirectory, c.Name), 0o755); err != nil {
		return err
	}
	extra, termPath, err := w.podFiles(pod, c, podIP)
	if err != nil {
		return err
	}
	mounts = append(mounts, extra...)
	cfg := w.containerConfig(pod, c, attempt, init, env, mounts)
	if termPath != "" {
		cfg.Annotations[annotationTermination] = termPath
	}
	id, err := w.rt.CreateContainer(ctx, sbID, cfg, sbCfg)
	if err != nil {
		w.setWaiting(pod, c.Name, "CreateContainerError", err.Error())
		w.containerEvent(pod, c, v1.EventTypeWarning, EventFailed, "Error: %v", err)
		return err
	}
	w.containerEvent(pod, c, v1.EventTypeNormal, EventCreated, "Created container: %s", c.Name)
	if err := w.rt.StartContainer(ctx, id); err != nil {
		w.setWaiting(pod, c.Name, "RunContainerError", err.Error())
		w.containerEvent(pod, c, v1.EventTypeWarning, EventFailed, "Error: %v", err)
		return err
	}
	w.containerEvent(pod, c, v1.EventTypeNormal, EventStarted, "Started container %s", c.Name)
	w.setWaiting(pod, c.Name, "", "")
	if c.Lifecycle != nil && c.Lifecycle.PostStart != nil {
		if err := w.runHook(ctx, pod, c, id, c.Lifecycle.PostStart, podIP, gracePeriod(pod)); err != nil {
			slog.Warn("postStart hook failed; killing container", "pod", key(pod), "container", c.Name, "err", err)
			w.containerEvent(pod, c, v1.EventTypeWarning, EventFailedPostStartHook, "%s", hookMessage(pod, c, c.Lifecycle.PostStart, err))
			w.stopContainer(ctx, pod, c, id, gracePeriod(pod), "FailedPostStartHook")
		}
	}
	return nil
}

func containerMounts(c *v1.Container, vols map[string]string) ([]*runtimeapi.Mount, error) {
	var out []*runtimeapi.Mount
	for _, vm := range c.VolumeMounts {
		host, ok := vols[vm.Name]
		if !ok {
			return nil, &configError{fmt.Sprintf("volume %q of mount %s is not defined or not supported", vm.Name, vm.MountPath)}
		}
		if vm.SubPath != "" {
			host = filepath.Join(host, filepath.Clean("/"+vm.SubPath))
			if _, err := os.Stat(host); os.IsNotExist(err) {
				if err := os.MkdirAll(host, 0o755); err != nil {
					return nil, err
				}
			}
		}
		m := &runtimeapi.Mount{ContainerPath: vm.MountPath, HostPath: host, Readonly: vm.ReadOnly}
		if vm.MountPropagation != nil {
			switch *vm.MountPropagation {
			case v1.MountPropagationHostToContainer:
				m.Propagation = runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER
			case v1.MountPropagationBidirectional:
				m.Propagation = runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// ensureImage applies the pull policy. Images cannot always be pulled (an
// offline node): with Always, a pull failure falls back to the local image
// when there is one. It returns a waiting reason when the image is missing.
func (w *Worker) ensureImage(ctx context.Context, pod *v1.Pod, c *v1.Container, sbCfg *runtimeapi.PodSandboxConfig) (reason, msg string) {
	img, err := w.rt.ImageStatus(ctx, c.Image)
	if err != nil {
		return "ErrImagePull", err.Error()
	}
	policy := c.ImagePullPolicy
	if policy == "" {
		policy = v1.PullIfNotPresent
		if tagless(c.Image) {
			policy = v1.PullAlways
		}
	}
	present := img != nil
	switch {
	case policy == v1.PullNever && !present:
		msg := fmt.Sprintf("Container image %q is not present with pull policy of Never", c.Image)
		w.containerEvent(pod, c, v1.EventTypeWarning, EventErrImageNeverPull, "%s", msg)
		return "ErrImageNeverPull", msg
	case policy == v1.PullNever, policy == v1.PullIfNotPresent && present:
		w.containerEvent(pod, c, v1.EventTypeNormal, EventPulled, "Container image %q already present on machine", c.Image)
		return "", ""
	}
	k := waitingKey(pod, c.Name) + "/pull"
	if !present {
		if wait := w.backoff.wait(k, w.now()); wait > 0 {
			msg := fmt.Sprintf("Back-off pulling image %q", c.Image)
			w.containerEvent(pod, c, v1.EventTypeNormal, EventBackOff, "%s", msg)
			return "ImagePullBackOff", msg
		}
	}
	w.containerEvent(pod, c, v1.EventTypeNormal, EventPulling, "Pulling image %q", c.Image)
	start := w.now()
	if _, err := w.rt.PullImage(ctx, c.Image, sbCfg); err != nil {
		msg := fmt.Sprintf("Failed to pull image %q: %v", c.Image, err)
		w.containerEvent(pod, c, v1.EventTypeWarning, EventFailed, "%s", msg)
		if present {
			slog.Warn("pull failed; using the local image", "image", c.Image, "err", err)
			w.containerEvent(pod, c, v1.EventTypeNormal, EventPulled, "Container image %q already present on machine", c.Image)
			return "", ""
		}
		w.backoff.next(k)
		return "ErrImagePull", msg
	}
	took := w.now().Sub(start)
	var size uint64
	if img, err := w.rt.ImageStatus(ctx, c.Image); err == nil && img != nil {
		size = img.Size
	}
	w.containerEvent(pod, c, v1.EventTypeNormal, EventPulled, "Successfully pulled image %q in %v (%v including waiting). Image size: %d bytes.", c.Image, took, took, size)
	return "", ""
}

func tagless(image string) bool {
	if strings.Contains(image, "@") {
		return false
	}
	last := image[strings.LastIndex(image, "/")+1:]
	return !strings.Contains(last, ":") || strings.HasSuffix(last, ":latest")
}

// killPod stops every running container of the pod — preStop hooks first,
// then the stop signal and a kill after what is left of grace — and then the
// sandbox.
func (w *Worker) killPod(ctx context.Context, pod *v1.Pod, obs *observed, grace time.Duration) {
	var ctrs []*runtimeapi.Container
	for _, l := range obs.byName {
		for _, c := range l {
			ctrs = append(ctrs, c.c)
		}
	}
	w.stopContainers(ctx, pod, ctrs, grace)
	for _, sb := range obs.sandboxes {
		if sb.State == runtimeapi.PodSandboxState_SANDBOX_READY {
			if err := w.rt.StopPodSandbox(ctx, sb.Id); err != nil {
				slog.Warn("stop sandbox", "pod", key(pod), "err", err)
			}
		}
	}
	if w.prober != nil {
		w.prober.Forget(pod.UID)
	}
}

// stopContainers stops the running ones of ctrs in parallel.
func (w *Worker) stopContainers(ctx context.Context, pod *v1.Pod, ctrs []*runtimeapi.Container, grace time.Duration) {
	var wg sync.WaitGroup
	for _, c := range ctrs {
		if c.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
			continue
		}
		var spec *v1.Container
		if pod != nil {
			for _, s := range allContainers(pod) {
				if s.Name == c.GetMetadata().GetName() {
					spec = &s
				}
			}
		}
		wg.Add(1)
		go func(id string) {
			defer wg.Done()
			msg := ""
			if spec != nil {
				msg = fmt.Sprintf("Stopping container %s", spec.Name)
			}
			w.stopContainer(ctx, pod, spec, id, grace, msg)
		}(c.Id)
	}
	wg.Wait()
}

// stopContainer runs the preStop hook (if pod and spec are known) within
// grace, then stops the container with what is left of it. With pod and
// spec known, a Killing event with message (why) is recorded first.
func (w *Worker) stopContainer(ctx context.Context, pod *v1.Pod, c *v1.Container, id string, grace time.Duration, message string) {
	start := w.now()
	if pod != nil && c != nil && message != "" {
		w.containerEvent(pod, c, v1.EventTypeNormal, EventKilling, "%s", message)
	}
	if pod != nil && c != nil && c.Lifecycle != nil && c.Lifecycle.PreStop != nil {
		hctx, cancel := context.WithTimeout(ctx, grace)
		podIP := ""
		if s, ok := w.Status(pod.UID); ok {
			podIP = s.PodIP
		}
		if err := w.runHook(hctx, pod, c, id, c.Lifecycle.PreStop, podIP, grace); err != nil {
			slog.Warn("preStop hook failed", "pod", key(pod), "container", c.Name, "err", err)
			w.containerEvent(pod, c, v1.EventTypeWarning, EventFailedPreStopHook, "%s", hookMessage(pod, c, c.Lifecycle.PreStop, err))
		}
		cancel()
	}
	left := grace - w.now().Sub(start)
	if left < 0 {
		left = 0
	}
	if err := w.rt.StopContainer(ctx, id, left); err != nil {
		slog.Warn("stop container", "id", id, "err", err)
	}
}

// runHook runs a lifecycle handler: exec in the container, an HTTP GET to
// the pod, or a sleep.
func (w *Worker) runHook(ctx context.Context, pod *v1.Pod, c *v1.Container, id string, h *v1.LifecycleHandler, podIP string, timeout time.Duration) error {
	switch {
	case h.Exec != nil:
		_, stderr, code, err := w.rt.ExecSync(ctx, id, h.Exec.Command, timeout)
		if err != nil {
			return err
		}
		if code != 0 {
			return fmt.Errorf("exit code %d: %s", code, stderr)
		}
	case h.HTTPGet != nil:
		host := h.HTTPGet.Host
		if host == "" {
			host = podIP
		}
		port, err := resolvePort(h.HTTPGet.Port, c)
		if err != nil {
			return err
		}
		scheme := "http"
		if h.HTTPGet.Scheme == v1.URISchemeHTTPS {
			scheme = "https"
		}
		url := fmt.Sprintf("%s://%s%s", scheme, net.JoinHostPort(host, strconv.Itoa(port)), h.HTTPGet.Path)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode >= 400 {
			return fmt.Errorf("HTTP %d from %s", resp.StatusCode, url)
		}
	case h.Sleep != nil:
		select {
		case <-time.After(time.Duration(h.Sleep.Seconds) * time.Second):
		case <-ctx.Done():
		}
	}
	return nil
}

// hookMessage describes a failed lifecycle hook as upstream's events do.
func hookMessage(pod *v1.Pod, c *v1.Container, h *v1.LifecycleHandler, err error) string {
	switch {
	case h.Exec != nil:
		return fmt.Sprintf("Exec lifecycle hook (%v) for Container %q in Pod %q failed - error: %v", h.Exec.Command, c.Name, podDesc(pod), err)
	case h.HTTPGet != nil:
		return fmt.Sprintf("HTTP lifecycle hook (%s) for Container %q in Pod %q failed - error: %v", h.HTTPGet.Path, c.Name, podDesc(pod), err)
	}
	return fmt.Sprintf("Lifecycle hook for Container %q in Pod %q failed - error: %v", c.Name, podDesc(pod), err)
}
