package podworker

import (
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"navarch.dev/kubelet/pkg/admission"
	"navarch.dev/kubelet/pkg/runtime"
)

func runtimeIsNotFound(err error) bool { return err != nil && runtime.IsNotFound(err) }

// resolvePort turns a probe or hook port (number or container port name)
// into a number.
func resolvePort(p intstr.IntOrString, c *v1.Container) (int, error) {
	if p.Type == intstr.Int {
		return p.IntValue(), nil
	}
	if c != nil {
		for _, cp := range c.Ports {
			if cp.Name == p.StrVal {
				return int(cp.ContainerPort), nil
			}
		}
	}
	return 0, fmt.Errorf("no container port named %q", p.StrVal)
}

// apiTime is t at the precision the API stores, so statuses compare equal
// after a round trip.
func apiTime(nanos int64) metav1.Time {
	return metav1.Unix(time.Unix(0, nanos).Unix(), 0)
}

func terminated(c *ctr) *v1.ContainerStateTerminated {
	reason := c.st.Reason
	if reason == "" {
		reason = "Completed"
		if c.st.ExitCode != 0 {
			reason = "Error"
		}
	}
	return &v1.ContainerStateTerminated{
		ExitCode:    c.st.ExitCode,
		Reason:      reason,
		Message:     c.st.Message,
		StartedAt:   apiTime(c.st.StartedAt),
		FinishedAt:  apiTime(c.st.FinishedAt),
		ContainerID: "containerd://" + c.c.Id,
	}
}

// containerStatus reports one container as the runtime shows it, with the
// kubelet's own waiting reason (back-off, image and config errors) where it
// holds the container back.
func (w *Worker) containerStatus(pod *v1.Pod, c *v1.Container, obs *observed, initDone, init bool) v1.ContainerStatus {
	cs := v1.ContainerStatus{Name: c.Name, Image: c.Image}
	w.mu.Lock()
	waiting := w.waiting[waitingKey(pod, c.Name)]
	w.mu.Unlock()
	last, prev := obs.latest(c.Name), obs.previous(c.Name)
	if last == nil {
		cs.State.Waiting = &v1.ContainerStateWaiting{Reason: "ContainerCreating"}
		if !init && !initDone {
			cs.State.Waiting.Reason = "PodInitializing"
		}
		if waiting != nil {
			cs.State.Waiting = waiting.DeepCopy()
		}
		return cs
	}
	cs.ContainerID = "containerd://" + last.c.Id
	cs.ImageID = last.st.ImageRef
	cs.RestartCount = int32(last.attempt())
	switch last.state() {
	case runtimeapi.ContainerState_CONTAINER_RUNNING:
		cs.State.Running = &v1.ContainerStateRunning{StartedAt: apiTime(last.st.StartedAt)}
		if prev != nil && prev.state() == runtimeapi.ContainerState_CONTAINER_EXITED {
			cs.LastTerminationState.Terminated = terminated(prev)
		}
		started := true
		ready := true
		if w.prober != nil {
			r := w.prober.Result(pod.UID, c.Name)
			if c.StartupProbe != nil {
				started = r.Started
			}
			if c.ReadinessProbe != nil {
				ready = r.Ready
			}
		}
		cs.Started = &started
		cs.Ready = started && ready && !init
	case runtimeapi.ContainerState_CONTAINER_CREATED:
		cs.State.Waiting = &v1.ContainerStateWaiting{Reason: "ContainerCreating"}
		cs.Started = new(bool)
	default:
		t := terminated(last)
		cs.Started = new(bool)
		if waiting != nil && shouldRestart(restartPolicy(pod), last.st.ExitCode) {
			cs.State.Waiting = waiting.DeepCopy()
			cs.LastTerminationState.Terminated = t
		} else {
			cs.State.Terminated = t
			if prev != nil && prev.state() == runtimeapi.ContainerState_CONTAINER_EXITED {
				cs.LastTerminationState.Terminated = terminated(prev)
			}
		}
	}
	return cs
}

// computeStatus is the pod's status as the runtime shows it now.
func (w *Worker) computeStatus(pod *v1.Pod, obs *observed) v1.PodStatus {
	st := v1.PodStatus{
		QOSClass: admission.QOSClass(pod),
		HostIP:   w.cfg.NodeIP,
	}
	if w.cfg.NodeIP != "" {
		st.HostIPs = []v1.HostIP{{IP: w.cfg.NodeIP}}
	}
	ips := obs.podIPs
	if pod.Spec.HostNetwork && w.cfg.NodeIP != "" {
		ips = []string{w.cfg.NodeIP}
	}
	if len(ips) > 0 {
		st.PodIP = ips[0]
		for _, ip := range ips {
			st.PodIPs = append(st.PodIPs, v1.PodIP{IP: ip})
		}
	}
	if pod.Status.StartTime != nil {
		st.StartTime = pod.Status.StartTime.DeepCopy()
	} else {
		w.mu.Lock()
		t := w.started[pod.UID]
		w.mu.Unlock()
		at := metav1.Unix(t.Unix(), 0)
		st.StartTime = &at
	}

	policy := restartPolicy(pod)
	initDone, initFailed := true, false
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		last := obs.latest(c.Name)
		if last == nil || last.state() != runtimeapi.ContainerState_CONTAINER_EXITED || last.st.ExitCode != 0 {
			initDone = false
			if last != nil && last.state() == runtimeapi.ContainerState_CONTAINER_EXITED && policy == v1.RestartPolicyNever {
				initFailed = true
			}
		}
	}
	for i := range pod.Spec.InitContainers {
		st.InitContainerStatuses = append(st.InitContainerStatuses, w.containerStatus(pod, &pod.Spec.InitContainers[i], obs, initDone, true))
	}
	allReady := true
	running, waiting, succeeded, failed := 0, 0, 0, 0
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		cs := w.containerStatus(pod, c, obs, initDone, false)
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
		if !cs.Ready {
			allReady = false
		}
		last := obs.latest(c.Name)
		switch {
		case cs.State.Running != nil:
			running++
		case last == nil || last.state() == runtimeapi.ContainerState_CONTAINER_CREATED:
			waiting++
		case last.st.ExitCode == 0:
			succeeded++
			if shouldRestart(policy, 0) {
				running++ // restarting
			}
		default:
			failed++
			if shouldRestart(policy, last.st.ExitCode) {
				running++ // restarting
			}
		}
	}
	switch {
	case initFailed:
		st.Phase = v1.PodFailed
	case !initDone || waiting > 0:
		st.Phase = v1.PodPending
	case running > 0:
		st.Phase = v1.PodRunning
	case failed > 0:
		st.Phase = v1.PodFailed
	case succeeded > 0:
		st.Phase = v1.PodSucceeded
	default:
		st.Phase = v1.PodPending
	}
	if pod.DeletionTimestamp != nil && st.Phase == v1.PodRunning && running == 0 {
		st.Phase = v1.PodFailed
	}

	cond := func(t v1.PodConditionType, ok bool, reason string) {
		s := v1.ConditionFalse
		if ok {
			s = v1.ConditionTrue
			reason = ""
		}
		c := v1.PodCondition{Type: t, Status: s, Reason: reason}
		c.LastTransitionTime = metav1.Unix(w.now().Unix(), 0)
		for _, old := range pod.Status.Conditions {
			if old.Type == t && old.Status == s {
				c.LastTransitionTime = old.LastTransitionTime
				c.LastProbeTime = old.LastProbeTime
			}
		}
		st.Conditions = append(st.Conditions, c)
	}
	containersReady := allReady && st.Phase == v1.PodRunning
	sandboxReady := obs.ready
	cond(v1.PodReadyToStartContainers, sandboxReady, "")
	cond(v1.PodInitialized, initDone, "ContainersNotInitialized")
	readyReason := "ContainersNotReady"
	if st.Phase == v1.PodSucceeded || st.Phase == v1.PodFailed {
		readyReason = "PodCompleted"
	}
	cond(v1.ContainersReady, containersReady, readyReason)
	cond(v1.PodReady, containersReady && readinessGates(pod), readyReason)
	cond(v1.PodScheduled, true, "")
	return st
}

// disruptionCondition is the DisruptionTarget condition of a pod the
// kubelet fails on its own account (evicts), as upstream sets it; it keeps
// the transition time it already has in the pod's status.
func (w *Worker) disruptionCondition(pod *v1.Pod, message string) v1.PodCondition {
	c := v1.PodCondition{
		Type: v1.DisruptionTarget, Status: v1.ConditionTrue,
		Reason: v1.PodReasonTerminationByKubelet, Message: message,
		LastTransitionTime: metav1.Unix(w.now().Unix(), 0),
	}
	for _, old := range pod.Status.Conditions {
		if old.Type == v1.DisruptionTarget && old.Status == v1.ConditionTrue {
			c.LastTransitionTime, c.LastProbeTime = old.LastTransitionTime, old.LastProbeTime
		}
	}
	return c
}

// readinessGates reports whether every readiness gate condition is True.
func readinessGates(pod *v1.Pod) bool {
	for _, g := range pod.Spec.ReadinessGates {
		ok := false
		for _, c := range pod.Status.Conditions {
			if c.Type == g.ConditionType && c.Status == v1.ConditionTrue {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}
