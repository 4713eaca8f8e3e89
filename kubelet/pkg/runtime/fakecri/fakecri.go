// Package fakecri is an in-memory CRI runtime served over gRPC on a unix
// socket, for tests of the kubelet's pod sync: sandboxes get addresses,
// started containers run until the test makes them exit (Exit) or the kubelet
// stops them, and images are whatever the test says exists.
package fakecri

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Runtime is the fake. Its exported methods are for tests; the gRPC
// services are what the kubelet sees.
type Runtime struct {
	runtimeapi.UnimplementedRuntimeServiceServer
	runtimeapi.UnimplementedImageServiceServer

	mu         sync.Mutex
	next       int
	sandboxes  map[string]*runtimeapi.PodSandboxStatus
	containers map[string]*runtimeapi.ContainerStatus
	sandboxOf  map[string]string
	images     map[string]uint64 // reference → size in bytes
	// Endpoint is the unix:// address the kubelet dials.
	Endpoint string
	// Clock gives the times the fake records (nanoseconds); tests that
	// move a fake clock of the kubelet set it to the same clock.
	Clock func() int64
	// ExecFunc, when set, answers ExecSync (a probe's or hook's command in
	// container id); unset, every exec succeeds with no output.
	ExecFunc func(id string, cmd []string) (stdout string, exitCode int32)
}

// Start serves a fake runtime holding images until the test ends.
func Start(t testing.TB, images ...string) *Runtime {
	t.Helper()
	f := &Runtime{
		sandboxes:  map[string]*runtimeapi.PodSandboxStatus{},
		containers: map[string]*runtimeapi.ContainerStatus{},
		sandboxOf:  map[string]string{},
		images:     map[string]uint64{},
	}
	for _, i := range images {
		f.images[i] = 1 << 20
	}
	sock := filepath.Join(t.TempDir(), "cri.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	runtimeapi.RegisterRuntimeServiceServer(srv, f)
	runtimeapi.RegisterImageServiceServer(srv, f)
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	f.Endpoint = "unix://" + sock
	return f
}

func (f *Runtime) id(prefix string) string {
	f.next++
	return fmt.Sprintf("%s%08d", prefix, f.next)
}

func (f *Runtime) now() int64 {
	if f.Clock != nil {
		return f.Clock()
	}
	return time.Now().UnixNano()
}

// Exit makes a running container exit with code (and reason, e.g. OOMKilled).
func (f *Runtime) Exit(id string, code int32, reason string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c := f.containers[id]; c != nil && c.State == runtimeapi.ContainerState_CONTAINER_RUNNING {
		c.State, c.ExitCode, c.Reason, c.FinishedAt = runtimeapi.ContainerState_CONTAINER_EXITED, code, reason, f.now()
	}
}

// Containers returns copies of the statuses of every container.
func (f *Runtime) Containers() []*runtimeapi.ContainerStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*runtimeapi.ContainerStatus
	for _, c := range f.containers {
		out = append(out, proto.Clone(c).(*runtimeapi.ContainerStatus))
	}
	return out
}

// Sandboxes returns copies of the statuses of every sandbox.
func (f *Runtime) Sandboxes() []*runtimeapi.PodSandboxStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*runtimeapi.PodSandboxStatus
	for _, s := range f.sandboxes {
		out = append(out, proto.Clone(s).(*runtimeapi.PodSandboxStatus))
	}
	return out
}

func notFound(kind, id string) error {
	return status.Errorf(codes.NotFound, "%s %q not found", kind, id)
}

func (f *Runtime) Version(context.Context, *runtimeapi.VersionRequest) (*runtimeapi.VersionResponse, error) {
	return &runtimeapi.VersionResponse{Version: "0.1.0", RuntimeName: "fakecri", RuntimeVersion: "1.0", RuntimeApiVersion: "v1"}, nil
}

func (f *Runtime) Status(context.Context, *runtimeapi.StatusRequest) (*runtimeapi.StatusResponse, error) {
	return &runtimeapi.StatusResponse{Status: &runtimeapi.RuntimeStatus{Conditions: []*runtimeapi.RuntimeCondition{
		{Type: runtimeapi.RuntimeReady, Status: true}, {Type: runtimeapi.NetworkReady, Status: true},
	}}}, nil
}

func (f *Runtime) RunPodSandbox(_ context.Context, r *runtimeapi.RunPodSandboxRequest) (*runtimeapi.RunPodSandboxResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := f.id("sb")
	f.sandboxes[id] = &runtimeapi.PodSandboxStatus{
		Id: id, Metadata: r.Config.Metadata, State: runtimeapi.PodSandboxState_SANDBOX_READY, CreatedAt: f.now(),
		Network: &runtimeapi.PodSandboxNetworkStatus{Ip: fmt.Sprintf("10.99.0.%d", f.next%250+1)},
		Labels:  r.Config.Labels, Annotations: r.Config.Annotations,
	}
	return &runtimeapi.RunPodSandboxResponse{PodSandboxId: id}, nil
}

func (f *Runtime) StopPodSandbox(_ context.Context, r *runtimeapi.StopPodSandboxRequest) (*runtimeapi.StopPodSandboxResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sb := f.sandboxes[r.PodSandboxId]
	if sb == nil {
		return nil, notFound("sandbox", r.PodSandboxId)
	}
	sb.State = runtimeapi.PodSandboxState_SANDBOX_NOTREADY
	for id, c := range f.containers {
		if f.sandboxOf[id] == r.PodSandboxId && c.State == runtimeapi.ContainerState_CONTAINER_RUNNING {
			c.State, c.ExitCode, c.FinishedAt = runtimeapi.ContainerState_CONTAINER_EXITED, 137, f.now()
		}
	}
	return &runtimeapi.StopPodSandboxResponse{}, nil
}

func (f *Runtime) RemovePodSandbox(_ context.Context, r *runtimeapi.RemovePodSandboxRequest) (*runtimeapi.RemovePodSandboxResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.sandboxes, r.PodSandboxId)
	for id := range f.containers {
		if f.sandboxOf[id] == r.PodSandboxId {
			delete(f.containers, id)
			delete(f.sandboxOf, id)
		}
	}
	return &runtimeapi.RemovePodSandboxResponse{}, nil
}

func (f *Runtime) PodSandboxStatus(_ context.Context, r *runtimeapi.PodSandboxStatusRequest) (*runtimeapi.PodSandboxStatusResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sb := f.sandboxes[r.PodSandboxId]
	if sb == nil {
		return nil, notFound("sandbox", r.PodSandboxId)
	}
	return &runtimeapi.PodSandboxStatusResponse{Status: proto.Clone(sb).(*runtimeapi.PodSandboxStatus)}, nil
}

func matches(labels, sel map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func (f *Runtime) ListPodSandbox(_ context.Context, r *runtimeapi.ListPodSandboxRequest) (*runtimeapi.ListPodSandboxResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*runtimeapi.PodSandbox
	for _, sb := range f.sandboxes {
		if !matches(sb.Labels, r.GetFilter().GetLabelSelector()) {
			continue
		}
		out = append(out, &runtimeapi.PodSandbox{Id: sb.Id, Metadata: sb.Metadata, State: sb.State, CreatedAt: sb.CreatedAt, Labels: sb.Labels, Annotations: sb.Annotations})
	}
	return &runtimeapi.ListPodSandboxResponse{Items: out}, nil
}

func (f *Runtime) CreateContainer(_ context.Context, r *runtimeapi.CreateContainerRequest) (*runtimeapi.CreateContainerResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sb := f.sandboxes[r.PodSandboxId]
	if sb == nil || sb.State != runtimeapi.PodSandboxState_SANDBOX_READY {
		return nil, status.Errorf(codes.FailedPrecondition, "sandbox %q not ready", r.PodSandboxId)
	}
	if _, ok := f.images[f.ref(r.Config.Image.Image)]; !ok {
		return nil, notFound("image", r.Config.Image.Image)
	}
	id := f.id("c")
	f.containers[id] = &runtimeapi.ContainerStatus{
		Id: id, Metadata: r.Config.Metadata, State: runtimeapi.ContainerState_CONTAINER_CREATED, CreatedAt: f.now(),
		Image: r.Config.Image, ImageRef: "sha256:" + r.Config.Image.Image, Labels: r.Config.Labels, Annotations: r.Config.Annotations,
		LogPath: r.Config.LogPath,
	}
	f.sandboxOf[id] = r.PodSandboxId
	return &runtimeapi.CreateContainerResponse{ContainerId: id}, nil
}

func (f *Runtime) StartContainer(_ context.Context, r *runtimeapi.StartContainerRequest) (*runtimeapi.StartContainerResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.containers[r.ContainerId]
	if c == nil {
		return nil, notFound("container", r.ContainerId)
	}
	if c.State != runtimeapi.ContainerState_CONTAINER_CREATED {
		return nil, status.Errorf(codes.FailedPrecondition, "container %q is not created", r.ContainerId)
	}
	c.State, c.StartedAt = runtimeapi.ContainerState_CONTAINER_RUNNING, f.now()
	return &runtimeapi.StartContainerResponse{}, nil
}

func (f *Runtime) StopContainer(_ context.Context, r *runtimeapi.StopContainerRequest) (*runtimeapi.StopContainerResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.containers[r.ContainerId]
	if c == nil {
		return nil, notFound("container", r.ContainerId)
	}
	if c.State == runtimeapi.ContainerState_CONTAINER_RUNNING {
		c.State, c.ExitCode, c.FinishedAt = runtimeapi.ContainerState_CONTAINER_EXITED, 143, f.now()
	}
	return &runtimeapi.StopContainerResponse{}, nil
}

func (f *Runtime) RemoveContainer(_ context.Context, r *runtimeapi.RemoveContainerRequest) (*runtimeapi.RemoveContainerResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.containers, r.ContainerId)
	delete(f.sandboxOf, r.ContainerId)
	return &runtimeapi.RemoveContainerResponse{}, nil
}

func (f *Runtime) ListContainers(_ context.Context, r *runtimeapi.ListContainersRequest) (*runtimeapi.ListContainersResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*runtimeapi.Container
	for id, c := range f.containers {
		if sb := r.GetFilter().GetPodSandboxId(); sb != "" && f.sandboxOf[id] != sb {
			continue
		}
		if !matches(c.Labels, r.GetFilter().GetLabelSelector()) {
			continue
		}
		out = append(out, &runtimeapi.Container{Id: id, PodSandboxId: f.sandboxOf[id], Metadata: c.Metadata, Image: c.Image,
			ImageRef: c.ImageRef, State: c.State, CreatedAt: c.CreatedAt, Labels: c.Labels, Annotations: c.Annotations})
	}
	return &runtimeapi.ListContainersResponse{Containers: out}, nil
}

func (f *Runtime) ContainerStatus(_ context.Context, r *runtimeapi.ContainerStatusRequest) (*runtimeapi.ContainerStatusResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.containers[r.ContainerId]
	if c == nil {
		return nil, notFound("container", r.ContainerId)
	}
	return &runtimeapi.ContainerStatusResponse{Status: proto.Clone(c).(*runtimeapi.ContainerStatus)}, nil
}

func (f *Runtime) ExecSync(_ context.Context, r *runtimeapi.ExecSyncRequest) (*runtimeapi.ExecSyncResponse, error) {
	f.mu.Lock()
	exec := f.ExecFunc
	c := f.containers[r.ContainerId]
	running := c != nil && c.State == runtimeapi.ContainerState_CONTAINER_RUNNING
	f.mu.Unlock()
	if !running {
		return nil, status.Errorf(codes.NotFound, "container %q is not running", r.ContainerId)
	}
	if exec == nil {
		return &runtimeapi.ExecSyncResponse{}, nil
	}
	out, code := exec(r.ContainerId, r.Cmd)
	return &runtimeapi.ExecSyncResponse{Stdout: []byte(out), ExitCode: code}, nil
}

// ref resolves an image id ("sha256:<reference>" here) to its reference.
func (f *Runtime) ref(image string) string {
	if r, ok := strings.CutPrefix(image, "sha256:"); ok {
		return r
	}
	return image
}

// AddImage makes the runtime hold an image of size bytes.
func (f *Runtime) AddImage(ref string, size uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.images[ref] = size
}

// Images returns the references of the images the runtime holds, sorted.
func (f *Runtime) Images() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for i := range f.images {
		out = append(out, i)
	}
	sort.Strings(out)
	return out
}

func (f *Runtime) image(ref string) *runtimeapi.Image {
	return &runtimeapi.Image{Id: "sha256:" + ref, RepoTags: []string{ref}, Size: f.images[ref]}
}

func (f *Runtime) ImageStatus(_ context.Context, r *runtimeapi.ImageStatusRequest) (*runtimeapi.ImageStatusResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ref := f.ref(r.Image.Image)
	if _, ok := f.images[ref]; !ok {
		return &runtimeapi.ImageStatusResponse{}, nil
	}
	return &runtimeapi.ImageStatusResponse{Image: f.image(ref)}, nil
}

func (f *Runtime) PullImage(_ context.Context, r *runtimeapi.PullImageRequest) (*runtimeapi.PullImageResponse, error) {
	return nil, status.Errorf(codes.Unavailable, "fakecri: offline, cannot pull %q", r.Image.Image)
}

func (f *Runtime) ListImages(context.Context, *runtimeapi.ListImagesRequest) (*runtimeapi.ListImagesResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*runtimeapi.Image
	for i := range f.images {
		out = append(out, f.image(i))
	}
	return &runtimeapi.ListImagesResponse{Images: out}, nil
}

// RemoveImage removes an image, as containerd does, even when a container
// was made from it.
func (f *Runtime) RemoveImage(_ context.Context, r *runtimeapi.RemoveImageRequest) (*runtimeapi.RemoveImageResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.images, f.ref(r.Image.Image))
	return &runtimeapi.RemoveImageResponse{}, nil
}

// ImageFsMountpoint is the mountpoint ImageFsInfo reports.
const ImageFsMountpoint = "/fakecri/images"

// ImageFsInfo reports the sum of the images' sizes as the image
// filesystem's usage.
func (f *Runtime) ImageFsInfo(context.Context, *runtimeapi.ImageFsInfoRequest) (*runtimeapi.ImageFsInfoResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var used uint64
	for _, size := range f.images {
		used += size
	}
	return &runtimeapi.ImageFsInfoResponse{ImageFilesystems: []*runtimeapi.FilesystemUsage{{
		Timestamp: f.now(), FsId: &runtimeapi.FilesystemIdentifier{Mountpoint: ImageFsMountpoint},
		UsedBytes: &runtimeapi.UInt64Value{Value: used}, InodesUsed: &runtimeapi.UInt64Value{Value: uint64(len(f.images))},
	}}}, nil
}
