package e2enode

import (
	"context"
	"fmt"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"

	"navarch.dev/apiserver/testserver"
	"navarch.dev/kubelet/internal/nodetest"
)

// kubeletEvents lists the kubelet's events about object name in ns, the
// way `kubectl describe` finds them (field selectors on the involved
// object, here also on the source).
func kubeletEvents(t *testing.T, client kubernetes.Interface, ns, name string) []v1.Event {
	t.Helper()
	sel := fields.Set{"involvedObject.name": name, "source": "kubelet"}.AsSelector().String()
	list, err := client.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{FieldSelector: sel})
	if err != nil {
		t.Fatal(err)
	}
	return list.Items
}

// findEvent returns the event with reason and fieldPath, if there is one.
func findEvent(events []v1.Event, reason, fieldPath string) *v1.Event {
	for i := range events {
		if events[i].Reason == reason && events[i].InvolvedObject.FieldPath == fieldPath {
			return &events[i]
		}
	}
	return nil
}

func describeEvents(events []v1.Event) string {
	var b strings.Builder
	for _, e := range events {
		fmt.Fprintf(&b, "\n  %s %s %s %s: %s (x%d, from %s/%s)", e.InvolvedObject.Kind, e.InvolvedObject.FieldPath, e.Type, e.Reason, e.Message, e.Count, e.Source.Component, e.Source.Host)
	}
	return b.String()
}

// TestKubeletEvents runs a pod on containerd and reads through the API the
// events `kubectl describe pod` shows: Pulled, Created, Started on the
// container, from the kubelet of the node. A pod whose ConfigMap volume
// does not exist stays Pending with its container ContainerCreating, and a
// FailedMount event names the missing ConfigMap; once the ConfigMap is
// made the pod runs. The Node has its Starting and NodeReady events.
func TestKubeletEvents(t *testing.T) {
	nodetest.Runtime(t)
	ts := testserver.Start(t)
	client := ts.Client
	ctx := context.Background()
	ensureLeaseNamespace(t, client)
	node := testNodeName("e2eevents")
	runKubelet(t, client, nodeConfig(t, node))

	pod, err := client.CoreV1().Pods("default").Create(ctx, sleeper("evented", node, ""), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitPod(t, client, "default", "evented", "Running and Ready", podReady)
	const main = "spec.containers{main}"
	want := map[string]string{
		"Pulled":  fmt.Sprintf("Container image %q already present on machine", nodetest.BusyboxImage),
		"Created": "Created container: main",
		"Started": "Started container main",
	}
	var events []v1.Event
	poll(t, "Pulled, Created and Started events of the pod", func() (bool, error) {
		events = kubeletEvents(t, client, "default", "evented")
		for reason := range want {
			if findEvent(events, reason, main) == nil {
				return false, fmt.Errorf("events so far:%s", describeEvents(events))
			}
		}
		return true, nil
	})
	for reason, msg := range want {
		e := findEvent(events, reason, main)
		if e.Type != v1.EventTypeNormal || e.Message != msg || e.Source.Component != "kubelet" || e.Source.Host != node ||
			e.InvolvedObject.Kind != "Pod" || e.InvolvedObject.UID != pod.UID || e.InvolvedObject.Namespace != "default" {
			t.Errorf("%s event = %s, want Normal %q on the pod from kubelet on %s", reason, describeEvents([]v1.Event{*e}), msg, node)
		}
	}

	missing := sleeper("nomount", node, "")
	missing.Spec.Containers[0].VolumeMounts = []v1.VolumeMount{{Name: "cfg", MountPath: "/etc/cfg"}}
	missing.Spec.Volumes = []v1.Volume{{Name: "cfg", VolumeSource: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{
		LocalObjectReference: v1.LocalObjectReference{Name: "not-there"}}}}}
	if _, err := client.CoreV1().Pods("default").Create(ctx, missing, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var failed *v1.Event
	poll(t, "FailedMount event", func() (bool, error) {
		events := kubeletEvents(t, client, "default", "nomount")
		failed = findEvent(events, "FailedMount", "")
		return failed != nil, fmt.Errorf("events so far:%s", describeEvents(events))
	})
	if wantMsg := `MountVolume.SetUp failed for volume "cfg" : configmap "not-there" not found`; failed.Type != v1.EventTypeWarning || failed.Message != wantMsg {
		t.Errorf("FailedMount event = %s, want Warning %q", describeEvents([]v1.Event{*failed}), wantMsg)
	}
	p := waitPod(t, client, "default", "nomount", "container status reported", func(p *v1.Pod) bool { return len(p.Status.ContainerStatuses) == 1 })
	if w := p.Status.ContainerStatuses[0].State.Waiting; p.Status.Phase != v1.PodPending || w == nil || w.Reason != "ContainerCreating" {
		t.Errorf("pod with a missing ConfigMap volume: phase %s, state %+v; want Pending, waiting ContainerCreating", p.Status.Phase, p.Status.ContainerStatuses[0].State)
	}
	if _, err := client.CoreV1().ConfigMaps("default").Create(ctx, &v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "not-there"},
		Data: map[string]string{"k": "v"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPod(t, client, "default", "nomount", "Running once its ConfigMap exists", podReady)

	poll(t, "Starting and NodeReady events of the Node", func() (bool, error) {
		events := kubeletEvents(t, client, "default", node)
		starting, ready := findEvent(events, "Starting", ""), findEvent(events, "NodeReady", "")
		if starting == nil || ready == nil {
			return false, fmt.Errorf("events so far:%s", describeEvents(events))
		}
		if starting.Message != "Starting kubelet." || ready.Message != "Node "+node+" status is now: NodeReady" ||
			ready.InvolvedObject.Kind != "Node" || string(ready.InvolvedObject.UID) != node {
			t.Errorf("node events:%s", describeEvents([]v1.Event{*starting, *ready}))
		}
		return true, nil
	})

	deletePod(t, client, "default", "nomount")
	deletePod(t, client, "default", "evented")
	poll(t, "Killing event", func() (bool, error) {
		events = kubeletEvents(t, client, "default", "evented")
		return findEvent(events, "Killing", main) != nil, fmt.Errorf("events so far:%s", describeEvents(events))
	})
	if e := findEvent(events, "Killing", main); e.Message != "Stopping container main" {
		t.Errorf("Killing event = %s", describeEvents([]v1.Event{*e}))
	}
}
