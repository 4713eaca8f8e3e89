package server

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"navarch.dev/shared/upgradeproxy"
)

// serveExec runs a command in a container (/exec/<ns>/<pod>/<container>):
// the runtime prepares the session and returns a URL of its streaming
// server, to which the client's upgraded connection is proxied.
func (s *Server) serveExec(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	cmd := q["command"]
	if len(cmd) == 0 {
		writeError(w, errorf(http.StatusBadRequest, "you must specify at least one command for the container"))
		return
	}
	s.stream(w, r, func(ctx context.Context, id string, st streams) (string, error) {
		resp, err := s.rt.Exec(ctx, &runtimeapi.ExecRequest{
			ContainerId: id, Cmd: cmd, Tty: st.tty, Stdin: st.stdin, Stdout: st.stdout, Stderr: st.stderr,
		})
		if err != nil {
			return "", err
		}
		return resp.Url, nil
	})
}

// serveAttach attaches to a container's main process
// (/attach/<ns>/<pod>/<container>).
func (s *Server) serveAttach(w http.ResponseWriter, r *http.Request) {
	s.stream(w, r, func(ctx context.Context, id string, st streams) (string, error) {
		resp, err := s.rt.Attach(ctx, &runtimeapi.AttachRequest{
			ContainerId: id, Tty: st.tty, Stdin: st.stdin, Stdout: st.stdout, Stderr: st.stderr,
		})
		if err != nil {
			return "", err
		}
		return resp.Url, nil
	})
}

// servePortForward forwards ports into a pod's network namespace
// (/portForward/<ns>/<pod>); the ports travel in the stream headers (SPDY)
// or the "port" query parameters (websocket).
func (s *Server) servePortForward(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	pod, err := s.findPod(r.PathValue("ns"), r.PathValue("pod"))
	if err != nil {
		writeError(w, err)
		return
	}
	if uid := r.PathValue("uid"); uid != "" && uid != string(pod.UID) {
		writeError(w, errorf(http.StatusNotFound, "pod %s/%s with uid %s not found", pod.Namespace, pod.Name, uid))
		return
	}
	sbs, err := s.rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{
		LabelSelector: map[string]string{labelPodUID: string(pod.UID)},
		State:         &runtimeapi.PodSandboxStateValue{State: runtimeapi.PodSandboxState_SANDBOX_READY},
	}})
	if err != nil {
		writeError(w, fmt.Errorf("list sandboxes: %w", err))
		return
	}
	if len(sbs.Items) == 0 {
		writeError(w, errorf(http.StatusBadRequest, "pod %s/%s has no running sandbox", pod.Namespace, pod.Name))
		return
	}
	var ports []int32
	for _, p := range r.URL.Query()["port"] {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 {
			writeError(w, errorf(http.StatusBadRequest, "invalid port %q", p))
			return
		}
		ports = append(ports, int32(n))
	}
	resp, err := s.rt.PortForward(ctx, &runtimeapi.PortForwardRequest{PodSandboxId: sbs.Items[0].Id, Port: ports})
	if err != nil {
		writeError(w, fmt.Errorf("port forward: %w", err))
		return
	}
	proxyToRuntime(w, r, resp.Url)
}

// streams are the standard streams a session asks for.
type streams struct{ stdin, stdout, stderr, tty bool }

// streamsOf reads the kubelet's parameter names (input, output, error, tty)
// and accepts the apiserver's (stdin, stdout, stderr) too.
func streamsOf(q url.Values) streams {
	on := func(names ...string) bool {
		for _, n := range names {
			if v, err := strconv.ParseBool(q.Get(n)); err == nil && v {
				return true
			}
		}
		return false
	}
	return streams{stdin: on("input", "stdin"), stdout: on("output", "stdout"), stderr: on("error", "stderr"), tty: on("tty")}
}

// stream finds the running container of the request, asks the runtime for a
// streaming URL with prepare, and proxies the connection there.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, prepare func(ctx context.Context, id string, st streams) (string, error)) {
	ctx := r.Context()
	pod, c, err := s.current(ctx, r.PathValue("ns"), r.PathValue("pod"), r.PathValue("container"))
	if err != nil {
		writeError(w, err)
		return
	}
	if uid := r.PathValue("uid"); uid != "" && uid != string(pod.UID) {
		writeError(w, errorf(http.StatusNotFound, "pod %s/%s with uid %s not found", pod.Namespace, pod.Name, uid))
		return
	}
	if c.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		writeError(w, errorf(http.StatusBadRequest, "container %s is not running", c.GetMetadata().GetName()))
		return
	}
	st := streamsOf(r.URL.Query())
	if st.tty {
		st.stderr = false // a terminal merges stderr into stdout
	}
	if !st.stdin && !st.stdout && !st.stderr {
		writeError(w, errorf(http.StatusBadRequest, "you must specify at least one of stdin, stdout, stderr"))
		return
	}
	u, err := prepare(ctx, c.Id, st)
	if err != nil {
		writeError(w, fmt.Errorf("prepare stream: %w", err))
		return
	}
	proxyToRuntime(w, r, u)
}

// proxyToRuntime proxies the client's upgrade request to the runtime's
// streaming URL, and then the upgraded connection both ways.
func proxyToRuntime(w http.ResponseWriter, r *http.Request, streamURL string) {
	u, err := url.Parse(streamURL)
	if err != nil {
		writeError(w, fmt.Errorf("runtime streaming url %q: %w", streamURL, err))
		return
	}
	if u.Scheme != "http" {
		writeError(w, fmt.Errorf("runtime streaming url %q: only http is supported", streamURL))
		return
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	d := net.Dialer{Timeout: 10 * time.Second}
	backend, err := d.DialContext(r.Context(), "tcp", host)
	if err != nil {
		writeError(w, fmt.Errorf("dial runtime streaming server: %w", err))
		return
	}
	proxyUpgrade(w, r, backend, u)
}

// proxyUpgrade writes the client's request r to backend (an open connection
// to target's server) with target's path and query, and relays the answer:
// a 101 hijacks the client connection and copies bytes both ways until
// either side closes; any other answer is copied as it is. It owns backend.
func proxyUpgrade(w http.ResponseWriter, r *http.Request, backend net.Conn, target *url.URL) {
	defer backend.Close()
	out := r.Clone(r.Context())
	out.URL = &url.URL{Scheme: "http", Host: target.Host, Path: target.Path, RawPath: target.RawPath, RawQuery: target.RawQuery}
	if out.URL.RawQuery == "" {
		out.URL.RawQuery = r.URL.RawQuery
	}
	out.Host = target.Host
	out.RequestURI = ""
	out.Header.Del("Authorization")
	if r.ContentLength == 0 {
		out.Body = nil
	}
	if err := upgradeproxy.Relay(w, out, backend); err != nil {
		writeError(w, fmt.Errorf("runtime streaming server: %w", err))
	}
}
