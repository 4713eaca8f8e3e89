package tables

import (
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// nodeLostReason is the pod status reason the node lifecycle controller sets on pods of an
// unreachable node; such a pod being deleted shows as Unknown rather than Terminating.
const nodeLostReason = "NodeLost"

// podCells renders a pod: NAME READY STATUS RESTARTS AGE | IP NODE NOMINATED NODE READINESS GATES.
func podCells(pod *corev1.Pod, now time.Time) []interface{} {
	s := summarizePod(pod)
	restarts := strconv.Itoa(s.restarts)
	if s.restarts != 0 && !s.lastRestart.IsZero() {
		restarts = fmt.Sprintf("%d (%s ago)", s.restarts, since(s.lastRestart, now))
	}

	// The kubelet of a pre-dual-stack cluster sets only podIP; when both are set, podIP wins.
	ip := pod.Status.PodIP
	if ip == "" && len(pod.Status.PodIPs) > 0 {
		ip = pod.Status.PodIPs[0].IP
	}
	return []interface{}{
		pod.Name,
		fmt.Sprintf("%d/%d", s.ready, s.total),
		s.status,
		restarts,
		since(pod.CreationTimestamp, now),
		orNone(ip),
		orNone(pod.Spec.NodeName),
		orNone(pod.Status.NominatedNodeName),
		readinessGates(pod),
	}
}

// podSummary is what the READY, STATUS and RESTARTS columns say about a pod.
type podSummary struct {
	status       string
	ready, total int
	restarts     int
	lastRestart  metav1.Time
}

// summarizePod computes the pod's STATUS the way kubectl users know it: the phase, replaced by
// the pod's reason, then by what an init container is doing (Init:1/3, Init:CrashLoopBackOff,
// Init:ExitCode:1), then by the most telling reason among the app containers (the first
// container listed wins), then Terminating once the pod is being deleted.
func summarizePod(pod *corev1.Pod) podSummary {
	s := podSummary{status: string(pod.Status.Phase), total: len(pod.Spec.Containers)}
	if pod.Status.Reason != "" {
		s.status = pod.Status.Reason
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Reason == corev1.PodReasonSchedulingGated {
			s.status = corev1.PodReasonSchedulingGated
		}
	}

	// Sidecars (init containers that restart always) count as containers of the pod.
	sidecars := map[string]bool{}
	for _, c := range pod.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			sidecars[c.Name] = true
			s.total++
		}
	}

	// Restarts of sidecars are counted apart: they still count once the pod is initialized,
	// while restarts of ordinary init containers then no longer do.
	var sidecarRestarts int
	var sidecarLastRestart metav1.Time
	initializing := false
	for i, cs := range pod.Status.InitContainerStatuses {
		s.restarts += int(cs.RestartCount)
		s.lastRestart = laterTermination(s.lastRestart, cs)
		if sidecars[cs.Name] {
			sidecarRestarts += int(cs.RestartCount)
			sidecarLastRestart = laterTermination(sidecarLastRestart, cs)
		}

		terminated, waiting := cs.State.Terminated, cs.State.Waiting
		if terminated != nil && terminated.ExitCode == 0 {
			continue // done
		}
		if sidecars[cs.Name] && cs.Started != nil && *cs.Started {
			if cs.Ready {
				s.ready++
			}
			continue // a running sidecar does not hold up initialization
		}
		// This init container holds up the pod: it says what the pod is doing.
		initializing = true
		switch {
		case terminated != nil && terminated.Reason != "":
			s.status = "Init:" + terminated.Reason
		case terminated != nil && terminated.Signal != 0:
			s.status = fmt.Sprintf("Init:Signal:%d", terminated.Signal)
		case terminated != nil:
			s.status = fmt.Sprintf("Init:ExitCode:%d", terminated.ExitCode)
		case waiting != nil && waiting.Reason != "" && waiting.Reason != "PodInitializing":
			s.status = "Init:" + waiting.Reason
		default:
			s.status = fmt.Sprintf("Init:%d/%d", i, len(pod.Spec.InitContainers))
		}
		break
	}

	if !initializing || podConditionTrue(pod, corev1.PodInitialized) {
		s.restarts = sidecarRestarts
		s.lastRestart = sidecarLastRestart
		running := false
		// Walk backwards so that the first container listed has the last word.
		for i := len(pod.Status.ContainerStatuses) - 1; i >= 0; i-- {
			cs := pod.Status.ContainerStatuses[i]
			s.restarts += int(cs.RestartCount)
			s.lastRestart = laterTermination(s.lastRestart, cs)
			terminated, waiting := cs.State.Terminated, cs.State.Waiting
			switch {
			case waiting != nil && waiting.Reason != "":
				s.status = waiting.Reason
			case terminated != nil && terminated.Reason != "":
				s.status = terminated.Reason
			case terminated != nil && terminated.Signal != 0:
				s.status = fmt.Sprintf("Signal:%d", terminated.Signal)
			case terminated != nil:
				s.status = fmt.Sprintf("ExitCode:%d", terminated.ExitCode)
			case cs.Ready && cs.State.Running != nil:
				running = true
				s.ready++
			}
		}
		// A pod with one container done and another still running is not Completed.
		if s.status == "Completed" && running {
			if podConditionTrue(pod, corev1.PodReady) {
				s.status = "Running"
			} else {
				s.status = "NotReady"
			}
		}
	}

	if pod.DeletionTimestamp != nil {
		switch {
		case pod.Status.Reason == nodeLostReason:
			s.status = "Unknown"
		case pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed:
			s.status = "Terminating"
		}
	}
	return s
}

// laterTermination returns the later of t and the time the container last terminated.
func laterTermination(t metav1.Time, cs corev1.ContainerStatus) metav1.Time {
	if last := cs.LastTerminationState.Terminated; last != nil && t.Before(&last.FinishedAt) {
		return last.FinishedAt
	}
	return t
}

// podConditionTrue reports whether the pod's first condition of type t is True.
func podConditionTrue(pod *corev1.Pod, t corev1.PodConditionType) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// readinessGates is "true/total" for the pod's readiness gates, "<none>" without any.
func readinessGates(pod *corev1.Pod) string {
	if len(pod.Spec.ReadinessGates) == 0 {
		return "<none>"
	}
	passed := 0
	for _, gate := range pod.Spec.ReadinessGates {
		if podConditionTrue(pod, gate.ConditionType) {
			passed++
		}
	}
	return fmt.Sprintf("%d/%d", passed, len(pod.Spec.ReadinessGates))
}

// podRowConditions marks the row of a pod that has run to completion, as upstream does.
func podRowConditions(pod *corev1.Pod) []metav1.TableRowCondition {
	switch pod.Status.Phase {
	case corev1.PodSucceeded:
		return []metav1.TableRowCondition{{Type: metav1.RowCompleted, Status: metav1.ConditionTrue, Reason: string(corev1.PodSucceeded), Message: "The pod has completed successfully."}}
	case corev1.PodFailed:
		return []metav1.TableRowCondition{{Type: metav1.RowCompleted, Status: metav1.ConditionTrue, Reason: string(corev1.PodFailed), Message: "The pod failed."}}
	}
	return nil
}
