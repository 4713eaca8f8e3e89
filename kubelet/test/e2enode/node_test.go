// Package e2enode runs the kubelet in-process against a real apiserver (the
// in-process test server) and the machine's containerd, as root.
package e2enode

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"navarch.dev/apiserver/testserver"
	"navarch.dev/kubelet/internal/nodetest"
	"navarch.dev/kubelet/pkg/kubelet"
	"navarch.dev/kubelet/pkg/podworker"
	"navarch.dev/kubelet/pkg/runtime"
)

// startKubelet runs a kubelet for node name until the test ends.
func startKubelet(t *testing.T, client kubernetes.Interface, name string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- kubelet.Run(ctx, kubelet.Config{
			NodeName: name, NodeIP: "127.0.0.1", Hostname: name, RuntimeEndpoint: runtime.DefaultEndpoint,
			ClusterDomain: "cluster.local", MaxPods: 110, Reserved: kubelet.DefaultReserved(),
			PodLogRoot: t.TempDir(), PodsDir: t.TempDir(), RootDir: "/", Port: 10250, StatusInterval: 10 * time.Second,
			RemovePodCgroups: true,
		}, client)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("kubelet: %v", err)
		}
	})
}

// poll calls f every 200ms until it is true, for at most two minutes.
func poll(t *testing.T, what string, f func() (bool, error)) {
	t.Helper()
	var err error
	for i := 0; i < 600; i++ {
		var ok bool
		if ok, err = f(); ok {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("gave up waiting for %s (last error: %v)", what, err)
}

func TestPodRunsAndAnswers(t *testing.T) {
	rt := nodetest.Runtime(t)
	ts := testserver.Start(t)
	client := ts.Client
	ctx := context.Background()
	node := fmt.Sprintf("e2enode-%d", time.Now().UnixNano()%100000)
	if _, err := client.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: v1.NamespaceNodeLease}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	startKubelet(t, client, node)

	poll(t, "node Ready", func() (bool, error) {
		n, err := client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range n.Status.Conditions {
			if c.Type == v1.NodeReady && c.Status == v1.ConditionTrue {
				return n.Status.Capacity.Cpu().Value() > 0 && n.Labels["kubernetes.io/hostname"] == node, nil
			}
		}
		return false, nil
	})
	poll(t, "node lease", func() (bool, error) {
		l, err := client.CoordinationV1().Leases(v1.NamespaceNodeLease).Get(ctx, node, metav1.GetOptions{})
		return err == nil && l.Spec.RenewTime != nil, err
	})

	grace := int64(2)
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: v1.PodSpec{
			NodeName:                      node,
			TerminationGracePeriodSeconds: &grace,
			Containers: []v1.Container{{
				Name: "httpd", Image: nodetest.BusyboxImage, ImagePullPolicy: v1.PullNever,
				Command: []string{"sh", "-c", "mkdir -p /www && echo hello from $(POD_NAME) > /www/index.html && exec httpd -f -p 8080 -h /www"},
				Env:     []v1.EnvVar{{Name: "POD_NAME", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.name"}}}},
				Ports:   []v1.ContainerPort{{ContainerPort: 8080}},
			}},
		},
	}
	created, err := client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var running *v1.Pod
	poll(t, "pod Running and Ready", func() (bool, error) {
		p, err := client.CoreV1().Pods("default").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		running = p
		for _, c := range p.Status.Conditions {
			if c.Type == v1.PodReady && c.Status == v1.ConditionTrue {
				return p.Status.Phase == v1.PodRunning && p.Status.PodIP != "", nil
			}
		}
		return false, nil
	})
	if running.Status.HostIP != "127.0.0.1" || running.Status.StartTime == nil || running.Status.ContainerStatuses[0].ContainerID == "" {
		t.Errorf("status = %+v, want hostIP, startTime and a container id", running.Status)
	}
	url := "http://" + running.Status.PodIP + ":8080/"
	var body string
	poll(t, "httpd answering on the pod IP", func() (bool, error) {
		resp, err := http.Get(url)
		if err != nil {
			return false, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		body = string(b)
		return err == nil && resp.StatusCode == 200, err
	})
	if !strings.Contains(body, "hello from web") {
		t.Errorf("GET %s = %q, want the page with the pod name", url, body)
	}

	// Graceful deletion: the kubelet stops the pod and deletes it for good.
	if err := client.CoreV1().Pods("default").Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "pod gone from the API", func() (bool, error) {
		_, err := client.CoreV1().Pods("default").Get(ctx, "web", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	sbs, err := rt.ListPodSandbox(ctx, map[string]string{podworker.LabelPodUID: string(created.UID)})
	if err != nil || len(sbs) != 0 {
		t.Errorf("sandboxes of the deleted pod: %d (%v), want none", len(sbs), err)
	}
}
