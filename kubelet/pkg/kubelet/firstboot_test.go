package kubelet

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"navarch.dev/apiserver/testserver"
	"navarch.dev/kubelet/pkg/runtime/fakecri"
	"navarch.dev/kubelet/pkg/staticpods"
)

const firstBootImage = "registry.test/apiserver:1"

const firstBootManifest = `apiVersion: v1
kind: Pod
metadata:
  name: kube-apiserver
  namespace: kube-system
spec:
  hostNetwork: true
  containers:
  - name: apiserver
    image: ` + firstBootImage + `
`

// poll calls cond every 100ms until it holds, failing the test after a
// minute with what and cond's last error.
func poll(t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	var last error
	for time.Now().Before(deadline) {
		ok, err := cond()
		if ok {
			return
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s (last error: %v)", what, last)
}

// TestFirstBootBeforeAPIServer is a control-plane node's first boot: the
// kubelet has a kubeconfig for an apiserver that does not answer yet (it
// is one of the kubelet's own static pods). The kubelet must run the static
// pod at once, and once the apiserver answers, register its Node and make
// the mirror pod, with the static pod's status.
func TestFirstBootBeforeAPIServer(t *testing.T) {
	cri := fakecri.Start(t, firstBootImage)

	// An apiserver started once and stopped: its PKI and admin kubeconfig
	// exist, its address does not answer.
	apiDir := t.TempDir()
	first, err := testserver.StartE(apiDir)
	if err != nil {
		t.Fatalf("start apiserver: %v", err)
	}
	opts := first.Options
	first.Stop()
	restCfg, err := clientcmd.BuildConfigFromFlags("", opts.AdminKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	restCfg.Timeout = 5 * time.Second
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if _, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{}); err == nil {
		t.Fatal("the apiserver answers before the test starts it")
	}

	manifests := t.TempDir()
	if err := os.WriteFile(filepath.Join(manifests, "kube-apiserver.yaml"), []byte(firstBootManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	node := fmt.Sprintf("cp-%d", time.Now().UnixNano()%100000)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- Run(runCtx, Config{
			NodeName: node, NodeIP: "127.0.0.1", Hostname: node, RuntimeEndpoint: cri.Endpoint,
			ClusterDomain: "cluster.local", MaxPods: 110, Reserved: DefaultReserved(),
			PodLogRoot: t.TempDir(), PodsDir: t.TempDir(), RootDir: t.TempDir(), Port: 10250,
			StatusInterval: time.Second, PodManifestPath: manifests, FileCheckFrequency: time.Second,
		}, client)
	}()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("kubelet: %v", err)
		}
	})

	// The static pod runs while the apiserver is down, and the kubelet
	// keeps running.
	poll(t, "the static pod's container to run", func() (bool, error) {
		select {
		case err := <-done:
			done <- err
			return false, fmt.Errorf("kubelet exited: %v", err)
		default:
		}
		for _, c := range cri.Containers() {
			if c.Metadata.Name == "apiserver" && c.State == runtimeapi.ContainerState_CONTAINER_RUNNING {
				return true, nil
			}
		}
		return false, nil
	})
	if _, err := client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{}); err == nil {
		t.Fatal("node registered while the apiserver was down")
	}

	// The apiserver comes up (the static pod would have started it).
	second, err := testserver.StartWithOptions(opts)
	if err != nil {
		t.Fatalf("start apiserver again: %v", err)
	}
	t.Cleanup(second.Stop)

	poll(t, "node "+node+" registered and Ready", func() (bool, error) {
		n, err := client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range n.Status.Conditions {
			if c.Type == v1.NodeReady && c.Status == v1.ConditionTrue {
				return true, nil
			}
		}
		return false, fmt.Errorf("conditions %+v", n.Status.Conditions)
	})
	mirrorName := "kube-apiserver-" + node
	poll(t, "mirror pod "+mirrorName+" running", func() (bool, error) {
		p, err := client.CoreV1().Pods("kube-system").Get(ctx, mirrorName, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if !staticpods.IsMirror(p) {
			return false, fmt.Errorf("pod has no %s annotation: %v", staticpods.AnnotationMirror, p.Annotations)
		}
		if len(p.OwnerReferences) != 1 || p.OwnerReferences[0].Kind != "Node" || p.OwnerReferences[0].Name != node {
			return false, fmt.Errorf("owner references %+v, want the Node", p.OwnerReferences)
		}
		if p.Spec.NodeName != node || p.Status.Phase != v1.PodRunning {
			return false, fmt.Errorf("nodeName %q phase %q", p.Spec.NodeName, p.Status.Phase)
		}
		return true, nil
	})
	// One sandbox: the static pod was not restarted when the API came.
	if n := len(cri.Sandboxes()); n != 1 {
		t.Errorf("sandboxes = %d, want the static pod's one", n)
	}
}
