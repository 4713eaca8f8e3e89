package runtime_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"navarch.dev/kubelet/internal/nodetest"
	"navarch.dev/kubelet/pkg/cgroup"
	"navarch.dev/kubelet/pkg/runtime"
)

func TestDialRejectsTCP(t *testing.T) {
	if _, err := runtime.Dial("tcp://127.0.0.1:1", time.Second); err == nil {
		t.Fatal("Dial(tcp://) succeeded, want an error")
	}
}

// TestLifecycleOnContainerd runs a sandbox and a busybox container on the
// machine's containerd and walks them through the whole lifecycle.
func TestLifecycleOnContainerd(t *testing.T) {
	rt := nodetest.Runtime(t)
	ctx := context.Background()

	v, err := rt.Version(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v.RuntimeName != "containerd" {
		t.Errorf("runtime name = %q, want containerd", v.RuntimeName)
	}
	img, err := rt.ImageStatus(ctx, nodetest.BusyboxImage)
	if err != nil || img == nil {
		t.Fatalf("ImageStatus(busybox) = %v, %v; want the image", img, err)
	}
	missing, err := rt.ImageStatus(ctx, "registry.navarch.local/does-not-exist:1")
	if err != nil || missing != nil {
		t.Fatalf("ImageStatus(missing) = %v, %v; want nil, nil", missing, err)
	}

	uid := fmt.Sprintf("runtime-test-%d", time.Now().UnixNano())
	logDir := t.TempDir()
	sbCfg := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: "lifecycle", Namespace: "runtime-test", Uid: uid},
		Hostname:     "lifecycle",
		LogDirectory: logDir,
		Labels:       map[string]string{"navarch.dev/test": uid},
		Linux:        &runtimeapi.LinuxPodSandboxConfig{CgroupParent: "/navarch-test/pod" + uid},
	}
	sb, err := rt.RunPodSandbox(ctx, sbCfg, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		if err := rt.StopPodSandbox(ctx, sb); err != nil {
			t.Error(err)
		}
		if err := rt.RemovePodSandbox(ctx, sb); err != nil {
			t.Error(err)
		}
		if err := cgroup.Remove("/navarch-test"); err != nil {
			t.Error(err)
		}
	})
	st, err := rt.PodSandboxStatus(ctx, sb)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != runtimeapi.PodSandboxState_SANDBOX_READY || !strings.HasPrefix(st.GetNetwork().GetIp(), "10.") {
		t.Fatalf("sandbox state %v ip %q, want READY with a bridge address", st.State, st.GetNetwork().GetIp())
	}
	list, err := rt.ListPodSandbox(ctx, map[string]string{"navarch.dev/test": uid})
	if err != nil || len(list) != 1 || list[0].Id != sb {
		t.Fatalf("ListPodSandbox = %v, %v; want just %s", list, err, sb)
	}

	ctrCfg := &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "echo"},
		Image:    &runtimeapi.ImageSpec{Image: nodetest.BusyboxImage},
		Command:  []string{"sh", "-c", "echo hello $WHO; exit 3"},
		Envs:     []*runtimeapi.KeyValue{{Key: "WHO", Value: []byte("navarch")}},
		LogPath:  "echo.log",
		Labels:   map[string]string{"navarch.dev/test": uid},
	}
	id, err := rt.CreateContainer(ctx, sb, ctrCfg, sbCfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	var cs *runtimeapi.ContainerStatus
	for i := 0; i < 200; i++ {
		if cs, err = rt.ContainerStatus(ctx, id); err != nil {
			t.Fatal(err)
		}
		if cs.State == runtimeapi.ContainerState_CONTAINER_EXITED {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if cs.State != runtimeapi.ContainerState_CONTAINER_EXITED || cs.ExitCode != 3 {
		t.Fatalf("container state %v exit %d, want EXITED 3", cs.State, cs.ExitCode)
	}
	logs, err := os.ReadFile(cs.LogPath)
	if err != nil || !strings.Contains(string(logs), "hello navarch") {
		t.Fatalf("log %s = %q, %v; want it to hold the echo", cs.LogPath, logs, err)
	}
	ctrs, err := rt.ListContainers(ctx, sb, nil)
	if err != nil || len(ctrs) != 1 {
		t.Fatalf("ListContainers = %v, %v; want one", ctrs, err)
	}
	if err := rt.RemoveContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.ContainerStatus(ctx, id); !runtime.IsNotFound(err) {
		t.Fatalf("ContainerStatus after remove: %v, want NotFound", err)
	}
}
