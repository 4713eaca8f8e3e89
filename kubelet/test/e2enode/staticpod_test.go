package e2enode

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"navarch.dev/apiserver/testserver"
	"navarch.dev/kubelet/internal/nodetest"
	"navarch.dev/kubelet/pkg/podworker"
	"navarch.dev/kubelet/pkg/runtime"
	"navarch.dev/kubelet/pkg/staticpods"
)

const staticManifest = `apiVersion: v1
kind: Pod
metadata:
  name: static-web
  labels: {app: static}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: ` + nodetest.BusyboxImage + `
    imagePullPolicy: Never
    command: ["sh", "-c", "echo $(VERSION) && exec sleep 3600"]
    env: [{name: VERSION, value: "%s"}]
`

// runningContainers returns the ids of the running containers of pod
// namespace/name, sorted.
func runningContainers(t *testing.T, rt *runtime.Runtime, ns, name string) []string {
	t.Helper()
	ctrs, err := rt.ListContainers(context.Background(), "", map[string]string{podworker.LabelPodNamespace: ns, podworker.LabelPodName: name})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range ctrs {
		if c.State == runtimeapi.ContainerState_CONTAINER_RUNNING {
			ids = append(ids, c.Id)
		}
	}
	sort.Strings(ids)
	return ids
}

func writeManifest(t *testing.T, dir, version string) {
	t.Helper()
	data := []byte(fmt.Sprintf(staticManifest, version))
	tmp := filepath.Join(dir, ".web.yaml.tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "web.yaml")); err != nil {
		t.Fatal(err)
	}
}

// TestStaticPodsAndRestart: a static pod runs with no apiserver; a kubelet
// restart (now with an apiserver) keeps its container and an API pod's,
// and adds a mirror pod; a manifest change replaces the pod and its mirror;
// removing the manifest stops it and deletes the mirror.
func TestStaticPodsAndRestart(t *testing.T) {
	rt := nodetest.Runtime(t)
	ctx := context.Background()
	node := testNodeName("e2estatic")
	cfg := nodeConfig(t, node)
	cfg.PodManifestPath = t.TempDir()
	cfg.FileCheckFrequency = 200 * time.Millisecond
	cfg.HealthzAddr, cfg.ReadOnlyAddr = "", ""
	static := "static-web-" + node
	writeManifest(t, cfg.PodManifestPath, "v1")

	stop := runKubelet(t, nil, cfg)
	var first []string
	poll(t, "static pod running without an apiserver", func() (bool, error) {
		first = runningContainers(t, rt, "default", static)
		return len(first) == 1, nil
	})

	ts := testserver.Start(t)
	client := ts.Client
	ensureLeaseNamespace(t, client)
	stop()
	stop = runKubelet(t, client, cfg)
	api := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "api-pod", Namespace: "default"}, Spec: v1.PodSpec{
		NodeName: node, TerminationGracePeriodSeconds: int64p(1),
		Containers: []v1.Container{{Name: "c", Image: nodetest.BusyboxImage, ImagePullPolicy: v1.PullNever, Command: []string{"sleep", "3600"}}},
	}}
	if _, err := client.CoreV1().Pods("default").Create(ctx, api, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	defer deletePod(t, client, "default", "api-pod")
	waitPod(t, client, "default", "api-pod", "Running", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning })
	mirror := waitPod(t, client, "default", static, "mirror pod Running", func(p *v1.Pod) bool {
		return p.Status.Phase == v1.PodRunning && len(p.Status.ContainerStatuses) == 1
	})
	if mirror.Annotations[staticpods.AnnotationMirror] == "" || mirror.Annotations[staticpods.AnnotationSource] != "file" {
		t.Errorf("mirror pod annotations = %v", mirror.Annotations)
	}
	if got := mirror.Status.ContainerStatuses[0].ContainerID; got != "containerd://"+first[0] {
		t.Errorf("mirror pod reports container %s, want the one started standalone (%s)", got, first[0])
	}
	apiIDs := runningContainers(t, rt, "default", "api-pod")

	// Restart again: nothing the pods run changes.
	stop()
	stop = runKubelet(t, client, cfg)
	time.Sleep(3 * time.Second) // a few syncs and a housekeeping pass
	if got := runningContainers(t, rt, "default", static); !equal(got, first) {
		t.Errorf("static pod containers after restart = %v, want %v", got, first)
	}
	if got := runningContainers(t, rt, "default", "api-pod"); !equal(got, apiIDs) {
		t.Errorf("API pod containers after restart = %v, want %v", got, apiIDs)
	}

	// A changed manifest is a new pod (new UID) and a new mirror.
	writeManifest(t, cfg.PodManifestPath, "v2")
	poll(t, "static pod replaced", func() (bool, error) {
		got := runningContainers(t, rt, "default", static)
		return len(got) == 1 && got[0] != first[0], nil
	})
	waitPod(t, client, "default", static, "mirror of the new manifest", func(p *v1.Pod) bool {
		return p.Annotations[staticpods.AnnotationMirror] != mirror.Annotations[staticpods.AnnotationMirror] && p.Status.Phase == v1.PodRunning
	})

	// A removed manifest stops the pod and deletes its mirror.
	if err := os.Remove(filepath.Join(cfg.PodManifestPath, "web.yaml")); err != nil {
		t.Fatal(err)
	}
	poll(t, "static pod stopped and mirror deleted", func() (bool, error) {
		_, err := client.CoreV1().Pods("default").Get(ctx, static, metav1.GetOptions{})
		sbs, lerr := rt.ListPodSandbox(ctx, map[string]string{podworker.LabelPodName: static})
		return apierrors.IsNotFound(err) && lerr == nil && len(sbs) == 0, lerr
	})
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
