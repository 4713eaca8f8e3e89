// Package podstate answers the questions controllers ask about a pod's
// lifecycle: is it ready, finished, still counting as running.
package podstate

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Ready reports whether the pod's Ready condition is True.
func Ready(p *corev1.Pod) bool {
	c := Condition(p, corev1.PodReady)
	return c != nil && c.Status == corev1.ConditionTrue
}

// AvailableAt reports whether the pod has been Ready for minReady at now.
func AvailableAt(p *corev1.Pod, minReady time.Duration, now time.Time) bool {
	c := Condition(p, corev1.PodReady)
	if c == nil || c.Status != corev1.ConditionTrue {
		return false
	}
	return minReady <= 0 || !c.LastTransitionTime.IsZero() && c.LastTransitionTime.Add(minReady).Before(now)
}

// Condition returns the pod's condition of type t, or nil.
func Condition(p *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == t {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

// Terminal reports whether the pod has Succeeded or Failed.
func Terminal(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

// Active reports whether the pod is neither finished nor being deleted.
func Active(p *corev1.Pod) bool {
	return !Terminal(p) && p.DeletionTimestamp == nil
}

// ControlledBy reports whether the pod's controller reference names uid.
func ControlledBy(o metav1.Object, uid string) bool {
	ref := metav1.GetControllerOf(o)
	return ref != nil && string(ref.UID) == uid
}
