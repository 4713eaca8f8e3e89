package podworker

import (
	"fmt"
	"log/slog"

	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/tools/reference"
)

// Event reasons the worker records on pods: upstream kubelet's, so that
// `kubectl describe pod` and tooling matching on them read the same.
const (
	EventCreated                = "Created"
	EventStarted                = "Started"
	EventFailed                 = "Failed"
	EventKilling                = "Killing"
	EventBackOff                = "BackOff"
	EventPulling                = "Pulling"
	EventPulled                 = "Pulled"
	EventErrImageNeverPull      = "ErrImageNeverPull"
	EventFailedMount            = "FailedMount"
	EventFailedCreatePodSandBox = "FailedCreatePodSandBox"
	EventSandboxChanged         = "SandboxChanged"
	EventFailedPostStartHook    = "FailedPostStartHook"
	EventFailedPreStopHook      = "FailedPreStopHook"
	EventEvicted                = "Evicted"
)

// mountError is a pod volume that cannot be set up (its ConfigMap or
// Secret does not exist, say): the pod stays Pending with its containers
// ContainerCreating, a FailedMount event says why, and the setup is tried
// again, as upstream's volume manager does.
type mountError struct{ msg string }

func (e *mountError) Error() string { return e.msg }

// NewMountError returns an error that keeps the pod waiting for its volumes
// (ContainerCreating, a FailedMount event with msg, retried) instead of
// failing the sync: what the volume manager returns for a volume it cannot
// set up.
func NewMountError(msg string) error { return &mountError{msg} }

// noRecorder drops every event: the worker's recorder when none is given.
var noRecorder record.EventRecorder = &record.FakeRecorder{}

// podEvent records an event on the pod.
func (w *Worker) podEvent(pod *v1.Pod, eventType, reason, format string, args ...any) {
	w.recorder.Eventf(pod, eventType, reason, format, args...)
}

// containerEvent records an event on one container of the pod: the
// involved object is the pod with the container's field path
// (spec.containers{name} or spec.initContainers{name}), as upstream.
func (w *Worker) containerEvent(pod *v1.Pod, c *v1.Container, eventType, reason, format string, args ...any) {
	ref, err := containerRef(pod, c)
	if err != nil {
		slog.Warn("event reference", "pod", key(pod), "container", c.Name, "err", err)
		w.recorder.Eventf(pod, eventType, reason, format, args...)
		return
	}
	w.recorder.Eventf(ref, eventType, reason, format, args...)
}

// containerRef is the object reference of container c of pod.
func containerRef(pod *v1.Pod, c *v1.Container) (*v1.ObjectReference, error) {
	ref, err := reference.GetReference(scheme.Scheme, pod)
	if err != nil {
		return nil, err
	}
	ref.FieldPath = fieldPath(pod, c.Name)
	return ref, nil
}

// fieldPath names the container in the pod's spec.
func fieldPath(pod *v1.Pod, name string) string {
	for _, c := range pod.Spec.InitContainers {
		if c.Name == name {
			return fmt.Sprintf("spec.initContainers{%s}", name)
		}
	}
	for _, c := range pod.Spec.EphemeralContainers {
		if c.Name == name {
			return fmt.Sprintf("spec.ephemeralContainers{%s}", name)
		}
	}
	return fmt.Sprintf("spec.containers{%s}", name)
}

// podDesc is how upstream names a pod in messages: name_namespace(uid).
func podDesc(pod *v1.Pod) string {
	return fmt.Sprintf("%s_%s(%s)", pod.Name, pod.Namespace, pod.UID)
}
