// Package runtime is the kubelet's client of a CRI runtime (containerd): a
// typed wrapper over the CRI v1 RuntimeService and ImageService gRPC clients
// that wraps errors with what was asked and owns the connection.
//
// Every method may be called concurrently. A gRPC NotFound from the runtime is
// returned wrapped; test it with IsNotFound.
package runtime

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// DefaultEndpoint is containerd's CRI socket.
const DefaultEndpoint = "unix:///run/containerd/containerd.sock"

// maxMsgSize matches the upstream kubelet's limit so large List answers fit.
const maxMsgSize = 16 * 1024 * 1024

// Runtime talks CRI v1 to one runtime endpoint.
type Runtime struct {
	conn    *grpc.ClientConn
	rt      runtimeapi.RuntimeServiceClient
	img     runtimeapi.ImageServiceClient
	timeout time.Duration
}

// Dial connects to a CRI endpoint ("unix:///path" or a bare socket path).
// The connection is lazy: the first call (usually Version) proves the runtime
// is there. timeout bounds each unary call that is not itself long (stops
// carry their own grace period on top).
func Dial(endpoint string, timeout time.Duration) (*Runtime, error) {
	path := strings.TrimPrefix(endpoint, "unix://")
	if path == "" || strings.Contains(path, "://") {
		return nil, fmt.Errorf("runtime: unsupported endpoint %q (want unix:///path)", endpoint)
	}
	conn, err := grpc.NewClient("passthrough:///"+path,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMsgSize), grpc.MaxCallSendMsgSize(maxMsgSize)),
	)
	if err != nil {
		return nil, fmt.Errorf("runtime: dial %s: %w", endpoint, err)
	}
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	return &Runtime{
		conn:    conn,
		rt:      runtimeapi.NewRuntimeServiceClient(conn),
		img:     runtimeapi.NewImageServiceClient(conn),
		timeout: timeout,
	}, nil
}

// Close releases the connection.
func (r *Runtime) Close() error { return r.conn.Close() }

// RuntimeService exposes the raw CRI client for streaming calls (Exec,
// Attach, PortForward) that the kubelet server forwards as they are.
func (r *Runtime) RuntimeService() runtimeapi.RuntimeServiceClient { return r.rt }

// ImageService exposes the raw CRI image client (for stats).
func (r *Runtime) ImageService() runtimeapi.ImageServiceClient { return r.img }

// IsNotFound reports whether err is the runtime saying the object is gone.
func IsNotFound(err error) bool {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if s, ok := status.FromError(e); ok && s.Code() == codes.NotFound {
			return true
		}
	}
	return false
}

func (r *Runtime) ctx(ctx context.Context, extra time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, r.timeout+extra)
}

// Version checks the runtime speaks CRI v1 and returns its name and version.
func (r *Runtime) Version(ctx context.Context) (*runtimeapi.VersionResponse, error) {
	ctx, cancel := r.ctx(ctx, 0)
	defer cancel()
	v, err := r.rt.Version(ctx, &runtimeapi.VersionRequest{Version: "v1"})
	if err != nil {
		return nil, fmt.Errorf("runtime: version: %w", err)
	}
	if v.RuntimeApiVersion != "v1" {
		return nil, fmt.Errorf("runtime: %s %s speaks CRI %q, want v1", v.RuntimeName, v.RuntimeVersion, v.RuntimeApiVersion)
	}
	return v, nil
}

// Status returns the runtime's conditions (RuntimeReady, NetworkReady).
func (r *Runtime) Status(ctx context.Context) (*runtimeapi.RuntimeStatus, error) {
	ctx, cancel := r.ctx(ctx, 0)
	defer cancel()
	resp, err := r.rt.Status(ctx, &runtimeapi.StatusRequest{})
	if err != nil {
		return nil, fmt.Errorf("runtime: status: %w", err)
	}
	return resp.Status, nil
}

// RunPodSandbox creates and starts a sandbox and returns its id.
func (r *Runtime) RunPodSandbox(ctx context.Context, cfg *runtimeapi.PodSandboxConfig, handler string) (string, error) {
	ctx, cancel := r.ctx(ctx, 0)
	defer cancel()
	resp, err := r.rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg, RuntimeHandler: handler})
	if err != nil {
		return "", fmt.Errorf("runtime: run sandbox %s/%s: %w", cfg.GetMetadata().GetNamespace(), cfg.GetMetadata().GetName(), err)
	}
	return resp.PodSandboxId, nil
}

// StopPodSandbox stops every container of the sandbox and tears its network
// down. Stopping a stopped or missing sandbox succeeds.
func (r *Runtime) StopPodSandbox(ctx context.Context, id string) error {
	ctx, cancel := r.ctx(ctx, 0)
	defer cancel()
	if _, err := r.rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: id}); err != nil && !IsNotFound(err) {
		return fmt.Errorf("runtime: stop sandbox %s: %w", short(id), err)
	}
	return nil
}

// RemovePodSandbox removes the sandbox and its containers. Removing a
// missing sandbox succeeds.
func (r *Runtime) RemovePodSandbox(ctx context.Context, id string) error {
	ctx, cancel := r.ctx(ctx, 0)
	defer cancel()
	if _, err := r.rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: id}); err != nil && !IsNotFound(err) {
		return fmt.Errorf("runtime: remove sandbox %s: %w", short(id), err)
	}
	return nil
}

// PodSandboxStatus returns the sandbox's state and network status.
func (r *Runtime) PodSandboxStatus(ctx context.Context, id string) (*runtimeapi.PodSandboxStatus, error) {
	ctx, cancel := r.ctx(ctx, 0)
	defer cancel()
	resp, err := r.rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id})
	if err != nil {
		return nil, fmt.Errorf("runtime: sandbox status %s: %w", short(id), err)
	}
	return resp.Status, nil
}

// ListPodSandbox lists sandboxes whose labels contain all of labels (nil:
// every sandbox).
func (r *Runtime) ListPodSandbox(ctx context.Context, labels map[string]string) ([]*runtimeapi.PodSandbox, error) {
	ctx, cancel := r.ctx(ctx, 0)
	defer cancel()
	var filter *runtimeapi.PodSandboxFilter
	if len(labels) > 0 {
		filter = &runtimeapi.PodSandboxFilter{LabelSelector: labels}
	}
	resp, err := r.rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: filter})
	if err != nil {
		return nil, fmt.Errorf("runtime: list sandboxes: %w", err)
	}
	return resp.Items, nil
}

// CreateContainer creates a container in a sandbox and returns its id.
func (r *Runtime) CreateContainer(ctx context.Context, sandboxID string, cfg *runtimeapi.ContainerConfig, sandboxCfg *runtimeapi.PodSandboxConfig) (string, error) {
	ctx, cancel := r.ctx(ctx, 0)
	defer cancel()
	resp, err := r.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sandboxID, Config: cfg, SandboxConfig: sandboxCfg})
	if err != nil {
		return "", fmt.Errorf("runtime: create container %s: %w", cfg.GetMetadata().GetName(), err)
	}
	return resp.ContainerId, nil
}

// StartContainer starts a created container.
func (r *Runtime) StartContainer(ctx context.Context, id string) error {
	ctx, cancel := r.ctx(ctx, 0)
	defer cancel()
	if _, err := r.rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: id}); err != nil {
		return fmt.Errorf("runtime: start container %s: %w", short(id), err)
	}
	return nil
}

// StopContainer sends the stop signal and kills the container after grace.
// Stopping a stopped or missing container succeeds.
func (r *Runtime) StopContainer(ctx context.Context, id string, grace time.Duration) error {
	ctx, cancel := r.ctx(ctx, grace)
	defer cancel()
	secs := int64(grace / time.Second)
	if _, err := r.rt.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: id, Timeout: secs}); err != nil && !IsNotFound(err) {
		return fmt.Errorf("runtime: stop container %s: %w", short(id), err)
	}
	return nil
}

// RemoveContainer removes a container (killing it if it still runs).
// Removing a missing container succeeds.
func (r *Runtime) RemoveContainer(ctx context.Context, id string) error {
	ctx, cancel := r.ctx(ctx, 0)
	defer cancel()
	if _, err := r.rt.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: id}); err != nil && !IsNotFound(err) {
		return fmt.Errorf("runtime: remove container %s: %w", short(id), err)
	}
	return nil
}

// ContainerStatus returns a container's state, exit code and reason.
func (r *Runtime) ContainerStatus(ctx context.Context, id string) (*runtimeapi.ContainerStatus, error) {
	ctx, cancel := r.ctx(ctx, 0)
	defer cancel()
	resp, err := r.rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id})
	if err != nil {
		return nil, fmt.Errorf("runtime: container status %s: %w", short(id), err)
	}
	return resp.Status, nil
}

// ListContainers lists containers, optionally of one sandbox and with all of
// labels.
func (r *Runtime) ListContainers(ctx context.Context, sandboxID string, labels map[string]string) ([]*runtimeapi.Container, error) {
	ctx, cancel := r.ctx(ctx, 0)
	defer cancel()
	filter := &runtimeapi.ContainerFilter{PodSandboxId: sandboxID, LabelSelector: labels}
	resp, err := r.rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: filter})
	if err != nil {
		return nil, fmt.Errorf("runtime: list containers: %w", err)
	}
	return resp.Containers, nil
}

// ExecSync runs cmd in a container and returns its output and exit code. A
// command that ran and failed is not an error; timeout bounds the command.
func (r *Runtime) ExecSync(ctx context.Context, id string, cmd []string, timeout time.Duration) (stdout, stderr []byte, exitCode int32, err error) {
	ctx, cancel := r.ctx(ctx, timeout)
	defer cancel()
	resp, err := r.rt.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: cmd, Timeout: int64(timeout / time.Second)})
	if err != nil {
		return nil, nil, 0, fmt.Errorf("runtime: exec in %s: %w", short(id), err)
	}
	return resp.Stdout, resp.Stderr, resp.ExitCode, nil
}

// ImageStatus returns the image if the runtime has it, nil if it does not.
func (r *Runtime) ImageStatus(ctx context.Context, ref string) (*runtimeapi.Image, error) {
	ctx, cancel := r.ctx(ctx, 0)
	defer cancel()
	resp, err := r.img.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: ref}})
	if err != nil {
		return nil, fmt.Errorf("runtime: image status %s: %w", ref, err)
	}
	return resp.Image, nil
}

// PullImage pulls an image and returns its reference.
func (r *Runtime) PullImage(ctx context.Context, ref string, sandboxCfg *runtimeapi.PodSandboxConfig) (string, error) {
	ctx, cancel := r.ctx(ctx, 0)
	defer cancel()
	resp, err := r.img.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: ref}, SandboxConfig: sandboxCfg})
	if err != nil {
		return "", fmt.Errorf("runtime: pull image %s: %w", ref, err)
	}
	return resp.ImageRef, nil
}

// RemoveImage removes an image by id or reference. Removing a missing image
// succeeds.
func (r *Runtime) RemoveImage(ctx context.Context, ref string) error {
	ctx, cancel := r.ctx(ctx, 0)
	defer cancel()
	if _, err := r.img.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: ref}}); err != nil && !IsNotFound(err) {
		return fmt.Errorf("runtime: remove image %s: %w", ref, err)
	}
	return nil
}

// StatusInfo returns the runtime's verbose status info (containerd puts its
// CRI configuration under "config", as JSON).
func (r *Runtime) StatusInfo(ctx context.Context) (map[string]string, error) {
	ctx, cancel := r.ctx(ctx, 0)
	defer cancel()
	resp, err := r.rt.Status(ctx, &runtimeapi.StatusRequest{Verbose: true})
	if err != nil {
		return nil, fmt.Errorf("runtime: status: %w", err)
	}
	return resp.Info, nil
}

// ListImages lists the runtime's images.
func (r *Runtime) ListImages(ctx context.Context) ([]*runtimeapi.Image, error) {
	ctx, cancel := r.ctx(ctx, 0)
	defer cancel()
	resp, err := r.img.ListImages(ctx, &runtimeapi.ListImagesRequest{})
	if err != nil {
		return nil, fmt.Errorf("runtime: list images: %w", err)
	}
	return resp.Images, nil
}

// ImageFsInfo returns the image filesystem usage.
func (r *Runtime) ImageFsInfo(ctx context.Context) (*runtimeapi.ImageFsInfoResponse, error) {
	ctx, cancel := r.ctx(ctx, 0)
	defer cancel()
	resp, err := r.img.ImageFsInfo(ctx, &runtimeapi.ImageFsInfoRequest{})
	if err != nil {
		return nil, fmt.Errorf("runtime: image fs info: %w", err)
	}
	return resp, nil
}

// ListContainerStats returns CPU, memory and writable-layer usage of every
// container.
func (r *Runtime) ListContainerStats(ctx context.Context) ([]*runtimeapi.ContainerStats, error) {
	ctx, cancel := r.ctx(ctx, 0)
	defer cancel()
	resp, err := r.rt.ListContainerStats(ctx, &runtimeapi.ListContainerStatsRequest{})
	if err != nil {
		return nil, fmt.Errorf("runtime: container stats: %w", err)
	}
	return resp.Stats, nil
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
