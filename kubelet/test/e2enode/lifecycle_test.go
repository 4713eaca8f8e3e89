package e2enode

import (
	"context"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"navarch.dev/apiserver/testserver"
	"navarch.dev/kubelet/internal/nodetest"
)

// TestProbesAndOOM: a failing liveness probe restarts its container, a
// readiness probe gates Ready, and a container over its memory limit is
// OOM-killed and reported as OOMKilled.
func TestProbesAndOOM(t *testing.T) {
	nodetest.Runtime(t)
	ts := testserver.Start(t)
	client := ts.Client
	ctx := context.Background()
	ensureLeaseNamespace(t, client)
	node := testNodeName("e2eprobe")
	runKubelet(t, client, nodeConfig(t, node))

	busybox := func(name string, cmd string) v1.Container {
		return v1.Container{Name: name, Image: nodetest.BusyboxImage, ImagePullPolicy: v1.PullNever, Command: []string{"sh", "-c", cmd}}
	}
	live := busybox("app", "touch /tmp/ready; exec sleep 3600")
	live.LivenessProbe = &v1.Probe{ProbeHandler: v1.ProbeHandler{Exec: &v1.ExecAction{Command: []string{"cat", "/tmp/healthy"}}},
		PeriodSeconds: 1, FailureThreshold: 2}
	ready := busybox("web", "mkdir -p /www && exec httpd -f -p 8080 -h /www")
	ready.ReadinessProbe = &v1.Probe{ProbeHandler: v1.ProbeHandler{HTTPGet: &v1.HTTPGetAction{Path: "/ok", Port: intOrString(8080)}}, PeriodSeconds: 1}
	oom := busybox("hog", "head -c 300m /dev/zero | tail")
	oom.Resources.Limits = v1.ResourceList{v1.ResourceMemory: resource.MustParse("32Mi")}
	for _, p := range []*v1.Pod{
		{ObjectMeta: metav1.ObjectMeta{Name: "liveness"}, Spec: v1.PodSpec{Containers: []v1.Container{live}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "readiness"}, Spec: v1.PodSpec{Containers: []v1.Container{ready}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "oom"}, Spec: v1.PodSpec{Containers: []v1.Container{oom}, RestartPolicy: v1.RestartPolicyNever}},
	} {
		p.Namespace = "default"
		p.Spec.NodeName = node
		p.Spec.TerminationGracePeriodSeconds = int64p(1)
		if _, err := client.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		defer deletePod(t, client, "default", p.Name)
	}

	restarted := waitPod(t, client, "default", "liveness", "restarted by its liveness probe", func(p *v1.Pod) bool {
		return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].RestartCount >= 1
	})
	if last := restarted.Status.ContainerStatuses[0].LastTerminationState.Terminated; last == nil {
		t.Errorf("restarted container has no last termination state: %+v", restarted.Status.ContainerStatuses[0])
	}

	running := waitPod(t, client, "default", "readiness", "Running", func(p *v1.Pod) bool {
		return p.Status.Phase == v1.PodRunning && len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Running != nil
	})
	if podReady(running) {
		t.Errorf("pod Ready although its readiness probe fails")
	}
	if _, err := get("http://" + running.Status.PodIP + ":8080/"); err != nil {
		// httpd answers 404 for / without an index: the server is up.
		t.Logf("httpd: %v", err)
	}
	// Make /ok exist: readiness follows.
	rt := nodetest.Runtime(t)
	id := running.Status.ContainerStatuses[0].ContainerID[len("containerd://"):]
	if _, _, code, err := rt.ExecSync(ctx, id, []string{"sh", "-c", "echo ok > /www/ok"}, 0); err != nil || code != 0 {
		p, _ := client.CoreV1().Pods("default").Get(ctx, "readiness", metav1.GetOptions{})
		t.Fatalf("exec: code %d, %v; status %+v", code, err, p.Status)
	}
	waitPod(t, client, "default", "readiness", "Ready once /ok answers", podReady)

	killed := waitPod(t, client, "default", "oom", "Failed", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodFailed })
	term := killed.Status.ContainerStatuses[0].State.Terminated
	if term == nil || term.Reason != "OOMKilled" || term.ExitCode != 137 {
		t.Errorf("hog terminated as %+v, want OOMKilled with exit code 137", term)
	}
}
