package resource

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
)

// DefaultContainerAnnotation names the container commands pick in a pod
// with several when none is named.
const DefaultContainerAnnotation = "kubectl.kubernetes.io/default-container"

// ErrPodTimeout is returned when no pod of an object turned up in time.
var ErrPodTimeout = errors.New("timed out waiting for the condition")

// GoType is how kubectl names an object's type in messages ("*v1.Service").
func GoType(u *unstructured.Unstructured) string {
	return "*" + u.GroupVersionKind().Version + "." + u.GetKind()
}

// SelectorForObject is the pod selector of a workload or Service.
func SelectorForObject(u *unstructured.Unstructured) (labels.Selector, error) {
	switch u.GetKind() {
	case "Pod":
		return labels.SelectorFromSet(u.GetLabels()), nil
	case "Service", "ReplicationController":
		sel, found, _ := unstructured.NestedStringMap(u.Object, "spec", "selector")
		if !found || len(sel) == 0 {
			if u.GetKind() == "Service" {
				return nil, fmt.Errorf("invalid service '%s': Service is defined without a selector", u.GetName())
			}
			return nil, fmt.Errorf("invalid replication controller '%s': no selector", u.GetName())
		}
		return labels.SelectorFromSet(sel), nil
	case "Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job":
		raw, found, _ := unstructured.NestedMap(u.Object, "spec", "selector")
		if !found {
			return nil, fmt.Errorf("invalid %s '%s': no selector", strings.ToLower(u.GetKind()), u.GetName())
		}
		var ls metav1.LabelSelector
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &ls); err != nil {
			return nil, err
		}
		sel, err := metav1.LabelSelectorAsSelector(&ls)
		if err != nil {
			return nil, fmt.Errorf("invalid label selector: %v", err)
		}
		return sel, nil
	}
	return nil, fmt.Errorf("selector for %s not implemented", GoType(u))
}

// PodForObject returns the pod a command about u talks to: u itself if it is
// a pod, else the most active of the pods its selector picks (waiting up to
// timeout for one to appear), and how many pods the selector picked.
func PodForObject(ctx context.Context, c kubernetes.Interface, u *unstructured.Unstructured, timeout time.Duration) (*corev1.Pod, int, error) {
	if u.GetKind() == "Pod" {
		pod := &corev1.Pod{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.UnstructuredContent(), pod); err != nil {
			return nil, 0, err
		}
		return pod, 1, nil
	}
	sel, err := SelectorForObject(u)
	if err != nil {
		return nil, 0, err
	}
	opts := metav1.ListOptions{LabelSelector: sel.String()}
	list, err := c.CoreV1().Pods(u.GetNamespace()).List(ctx, opts)
	if err != nil {
		return nil, 0, err
	}
	if len(list.Items) > 0 {
		pods := list.Items
		sort.SliceStable(pods, func(i, j int) bool { return moreActive(&pods[i], &pods[j]) })
		return &pods[0], len(pods), nil
	}
	// None yet: wait for the first one.
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	opts.ResourceVersion = list.ResourceVersion
	w, err := c.CoreV1().Pods(u.GetNamespace()).Watch(ctx, opts)
	if err != nil {
		return nil, 0, err
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, 0, ErrPodTimeout
		case ev, ok := <-w.ResultChan():
			if !ok {
				return nil, 0, ErrPodTimeout
			}
			if pod, isPod := ev.Object.(*corev1.Pod); isPod && ev.Type == watch.Added {
				return pod, 1, nil
			}
		}
	}
}

// moreActive orders pods as the one to talk to first: on a node before
// not, running before pending before the rest, ready before not, then the
// most restarted, then the newest.
func moreActive(a, b *corev1.Pod) bool {
	if (a.Spec.NodeName != "") != (b.Spec.NodeName != "") {
		return a.Spec.NodeName != ""
	}
	rank := map[corev1.PodPhase]int{corev1.PodRunning: 0, corev1.PodPending: 1, corev1.PodUnknown: 2}
	ra, ok := rank[a.Status.Phase]
	if !ok {
		ra = 3
	}
	rb, ok := rank[b.Status.Phase]
	if !ok {
		rb = 3
	}
	if ra != rb {
		return ra < rb
	}
	if ready(a) != ready(b) {
		return ready(a)
	}
	if restarts(a) != restarts(b) {
		return restarts(a) > restarts(b)
	}
	return b.CreationTimestamp.Before(&a.CreationTimestamp)
}

func ready(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func restarts(p *corev1.Pod) int32 {
	var n int32
	for _, s := range p.Status.ContainerStatuses {
		n += s.RestartCount
	}
	return n
}

// FindContainer returns the pod's container (regular, init or ephemeral)
// called name, or nil.
func FindContainer(pod *corev1.Pod, name string) *corev1.Container {
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return &pod.Spec.Containers[i]
		}
	}
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == name {
			return &pod.Spec.InitContainers[i]
		}
	}
	for i := range pod.Spec.EphemeralContainers {
		if pod.Spec.EphemeralContainers[i].Name == name {
			return (*corev1.Container)(&pod.Spec.EphemeralContainers[i].EphemeralContainerCommon)
		}
	}
	return nil
}

// DefaultContainer picks the container a command talks to: the named one,
// else the pod's default-container annotation, else the first container,
// noting on warn which one it chose when there was a choice.
func DefaultContainer(pod *corev1.Pod, name string, quiet bool, warn io.Writer) (*corev1.Container, error) {
	if name != "" {
		if c := FindContainer(pod, name); c != nil {
			return c, nil
		}
		return nil, fmt.Errorf("container %s not found in pod %s", name, pod.Name)
	}
	if len(pod.Spec.Containers) == 0 {
		return nil, fmt.Errorf("pod %s/%s does not have any containers", pod.Namespace, pod.Name)
	}
	if def := pod.Annotations[DefaultContainerAnnotation]; def != "" {
		if c := FindContainer(pod, def); c != nil {
			return c, nil
		}
	}
	if !quiet && (len(pod.Spec.Containers) > 1 || len(pod.Spec.InitContainers) > 0 || len(pod.Spec.EphemeralContainers) > 0) {
		fmt.Fprintf(warn, "Defaulted container %q out of: %s\n", pod.Spec.Containers[0].Name, AllContainerNames(pod))
	}
	return &pod.Spec.Containers[0], nil
}

// AllContainerNames lists the pod's containers as kubectl does:
// "app, sidecar (ephem), setup (init)".
func AllContainerNames(pod *corev1.Pod) string {
	var names []string
	for _, c := range pod.Spec.Containers {
		names = append(names, c.Name)
	}
	for _, c := range pod.Spec.EphemeralContainers {
		names = append(names, c.Name+" (ephem)")
	}
	for _, c := range pod.Spec.InitContainers {
		names = append(names, c.Name+" (init)")
	}
	return strings.Join(names, ", ")
}

// Object fetches the object an argument names in namespace ns: "NAME" of
// defaultType, or "TYPE/NAME".
func Object(ctx context.Context, mapper meta.RESTMapper, dyn dynamic.Interface, ns, arg, defaultType string) (*unstructured.Unstructured, error) {
	typ, name, ok := strings.Cut(arg, "/")
	if !ok {
		typ, name = defaultType, arg
	}
	m, err := MappingFor(mapper, typ)
	if err != nil {
		return nil, err
	}
	return Client(dyn, m, ns).Get(ctx, name, metav1.GetOptions{})
}
