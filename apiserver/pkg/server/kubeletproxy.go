package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"navarch.dev/apiserver/pkg/endpoints"

	"navarch.dev/shared/upgradeproxy"
)

// Kubelet-proxied subresources: pods/log streams, pods/exec, attach and
// portforward upgrade the connection (SPDY or websocket) and relay it both
// ways, nodes/proxy forwards any request. The kubelet is reached at the
// node's address of the first --kubelet-preferred-address-types type it has,
// on status.daemonEndpoints.kubeletEndpoint.port, with the apiserver's
// kubelet client certificate.

const defaultKubeletPort = 10250

func registerKubeletSubresources(api *endpoints.API, s *Server) {
	api.Subresource("pods/log", endpoints.SubresourceInfo{Kind: "Pod", Verbs: []string{"get"}}, s.servePodLog)
	connect := []string{"create", "get"}
	api.Subresource("pods/exec", endpoints.SubresourceInfo{Kind: "PodExecOptions", Verbs: connect}, s.servePodStream("exec"))
	api.Subresource("pods/attach", endpoints.SubresourceInfo{Kind: "PodAttachOptions", Verbs: connect}, s.servePodStream("attach"))
	api.Subresource("pods/portforward", endpoints.SubresourceInfo{Kind: "PodPortForwardOptions", Verbs: connect}, s.servePodStream("portforward"))
	api.Subresource("nodes/proxy", endpoints.SubresourceInfo{Kind: "NodeProxyOptions", Verbs: []string{"create", "delete", "get", "patch", "update"}}, s.serveNodeProxy)
}

// kubeletTLS builds the client TLS configuration towards kubelets.
func (s *Server) kubeletTLS() (*tls.Config, error) {
	o := s.opts
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
	if o.KubeletClientCertFile != "" || o.KubeletClientKeyFile != "" {
		c, err := tls.LoadX509KeyPair(o.KubeletClientCertFile, o.KubeletClientKeyFile)
		if err != nil {
			return nil, fmt.Errorf("--kubelet-client-certificate/--kubelet-client-key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	if o.KubeletCAFile != "" {
		b, err := os.ReadFile(o.KubeletCAFile)
		if err != nil {
			return nil, fmt.Errorf("--kubelet-certificate-authority: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("--kubelet-certificate-authority %s holds no PEM certificates", o.KubeletCAFile)
		}
		cfg.RootCAs = pool
	} else {
		// As upstream: without --kubelet-certificate-authority the kubelet's
		// serving certificate is not verified.
		cfg.InsecureSkipVerify = true
	}
	return cfg, nil
}

func (s *Server) kubeletClient() *http.Client {
	s.kubeletOnce.Do(func() {
		s.kubeletHTTP = &http.Client{Transport: &http.Transport{
			TLSClientConfig:     s.kubeletTLSConfig,
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
			TLSHandshakeTimeout: 10 * time.Second,
			MaxIdleConnsPerHost: 4,
		}}
	})
	return s.kubeletHTTP
}

// kubeletLocation is the https base URL of node's kubelet.
func (s *Server) kubeletLocation(ctx context.Context, nodeName string) (*url.URL, error) {
	obj, err := s.storeOf("", "v1", "nodes").Get(ctx, "", nodeName, "")
	if err != nil {
		return nil, err
	}
	node := obj.(*corev1.Node)
	port := int(node.Status.DaemonEndpoints.KubeletEndpoint.Port)
	if port == 0 {
		port = defaultKubeletPort
	}
	for _, t := range s.opts.KubeletPreferredAddressTypes {
		for _, a := range node.Status.Addresses {
			if string(a.Type) == t && a.Address != "" {
				return &url.URL{Scheme: "https", Host: net.JoinHostPort(a.Address, strconv.Itoa(port))}, nil
			}
		}
	}
	return nil, apierrors.NewBadRequest(fmt.Sprintf("no preferred addresses found; known addresses: %v", node.Status.Addresses))
}

// podAndContainer loads the pod and resolves the container of ?container=
// (the only one when the pod has one), with upstream's messages.
func (s *Server) podAndContainer(r *http.Request, ri *endpoints.RequestInfo, ep *endpoints.Endpoint, needContainer bool) (*corev1.Pod, string, error) {
	obj, err := ep.Store.Get(r.Context(), ri.Namespace, ri.Name, "")
	if err != nil {
		return nil, "", err
	}
	pod := obj.(*corev1.Pod)
	if !needContainer {
		if pod.Spec.NodeName == "" {
			return nil, "", apierrors.NewBadRequest(fmt.Sprintf("pod %s does not have a host assigned", pod.Name))
		}
		return pod, "", nil
	}
	name := r.URL.Query().Get("container")
	if name == "" {
		switch len(pod.Spec.Containers) {
		case 1:
			name = pod.Spec.Containers[0].Name
		default:
			var names []string
			for _, c := range pod.Spec.Containers {
				names = append(names, c.Name)
			}
			var inits []string
			for _, c := range pod.Spec.InitContainers {
				inits = append(inits, c.Name)
			}
			msg := fmt.Sprintf("a container name must be specified for pod %s, choose one of: %v", pod.Name, names)
			if len(inits) > 0 {
				msg += fmt.Sprintf(" or one of the init containers: %v", inits)
			}
			return nil, "", apierrors.NewBadRequest(msg)
		}
	} else if !hasContainer(pod, name) {
		return nil, "", apierrors.NewBadRequest(fmt.Sprintf("container %s is not valid for pod %s", name, pod.Name))
	}
	if pod.Spec.NodeName == "" {
		return nil, "", apierrors.NewBadRequest(fmt.Sprintf("pod %s does not have a host assigned", pod.Name))
	}
	return pod, name, nil
}

func hasContainer(pod *corev1.Pod, name string) bool {
	for _, cs := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for _, c := range cs {
			if c.Name == name {
				return true
			}
		}
	}
	for _, c := range pod.Spec.EphemeralContainers {
		if c.Name == name {
			return true
		}
	}
	return false
}

// servePodLog streams a container's log from its kubelet
// (GET pods/<name>/log).
func (s *Server) servePodLog(w http.ResponseWriter, r *http.Request, ri *endpoints.RequestInfo, ep *endpoints.Endpoint) {
	if ri.Verb != "get" {
		endpoints.WriteError(w, apierrors.NewMethodNotSupported(schema.GroupResource{Resource: "pods/log"}, ri.Verb))
		return
	}
	q := r.URL.Query()
	out := url.Values{}
	for _, p := range []string{"follow", "previous", "timestamps", "sinceSeconds", "sinceTime", "tailLines", "limitBytes"} {
		if v := q.Get(p); v != "" {
			out.Set(p, v)
		}
	}
	if q.Get("sinceSeconds") != "" && q.Get("sinceTime") != "" {
		endpoints.WriteError(w, apierrors.NewBadRequest("at most one of sinceTime or sinceSeconds may be specified"))
		return
	}
	for _, p := range []string{"sinceSeconds", "tailLines", "limitBytes"} {
		if v := q.Get(p); v != "" {
			if n, err := strconv.ParseInt(v, 10, 64); err != nil || n < 0 || (p != "tailLines" && n == 0) {
				endpoints.WriteError(w, apierrors.NewBadRequest(fmt.Sprintf("%s: %q must be a positive integer", p, v)))
				return
			}
		}
	}
	pod, container, err := s.podAndContainer(r, ri, ep, true)
	if err != nil {
		endpoints.WriteError(w, err)
		return
	}
	loc, err := s.kubeletLocation(r.Context(), pod.Spec.NodeName)
	if err != nil {
		endpoints.WriteError(w, err)
		return
	}
	loc.Path = path.Join("/containerLogs", pod.Namespace, pod.Name, container)
	loc.RawQuery = out.Encode()
	s.proxyPlain(w, r, "GET", loc)
}

// servePodStream upgrades pods/<name>/{exec,attach,portforward} and relays
// the connection to the kubelet.
func (s *Server) servePodStream(kind string) endpoints.SubresourceHandler {
	return func(w http.ResponseWriter, r *http.Request, ri *endpoints.RequestInfo, ep *endpoints.Endpoint) {
		gr := schema.GroupResource{Resource: "pods/" + kind}
		if ri.Verb != "get" && ri.Verb != "create" {
			endpoints.WriteError(w, apierrors.NewMethodNotSupported(gr, ri.Verb))
			return
		}
		pod, container, err := s.podAndContainer(r, ri, ep, kind != "portforward")
		if err != nil {
			endpoints.WriteError(w, err)
			return
		}
		if kind != "portforward" && (pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed) {
			endpoints.WriteError(w, apierrors.NewBadRequest(fmt.Sprintf("cannot %s into a container in a completed pod; current phase is %s", kind, pod.Status.Phase)))
			return
		}
		q := r.URL.Query()
		out := url.Values{}
		if kind == "exec" && len(q["command"]) == 0 {
			endpoints.WriteError(w, apierrors.NewBadRequest("you must specify at least one command for the container"))
			return
		}
		// The kubelet names the streams input, output and error.
		for from, to := range map[string]string{"stdin": "input", "stdout": "output", "stderr": "error", "tty": "tty"} {
			if v, err := strconv.ParseBool(q.Get(from)); err == nil && v {
				out.Set(to, "1")
			}
		}
		out["command"] = q["command"]
		out["port"] = q["ports"]
		if !isUpgrade(r) {
			endpoints.WriteError(w, apierrors.NewBadRequest("Upgrade request required"))
			return
		}
		loc, err := s.kubeletLocation(r.Context(), pod.Spec.NodeName)
		if err != nil {
			endpoints.WriteError(w, err)
			return
		}
		switch kind {
		case "exec":
			loc.Path = path.Join("/exec", pod.Namespace, pod.Name, container)
		case "attach":
			loc.Path = path.Join("/attach", pod.Namespace, pod.Name, container)
		case "portforward":
			loc.Path = path.Join("/portForward", pod.Namespace, pod.Name)
		}
		loc.RawQuery = out.Encode()
		s.proxyUpgrade(w, r, loc)
	}
}

// serveNodeProxy forwards nodes/<name>/proxy/<path> to the kubelet's <path>.
func (s *Server) serveNodeProxy(w http.ResponseWriter, r *http.Request, ri *endpoints.RequestInfo, _ *endpoints.Endpoint) {
	loc, err := s.kubeletLocation(r.Context(), ri.Name)
	if err != nil {
		endpoints.WriteError(w, err)
		return
	}
	rest := "/"
	p := r.URL.EscapedPath()
	marker := "/nodes/" + ri.Name + "/proxy"
	if i := strings.Index(p, marker); i >= 0 && len(p) > i+len(marker) {
		rest = p[i+len(marker):]
	}
	if p, err := url.PathUnescape(rest); err == nil {
		loc.Path = p
	}
	loc.RawPath = rest
	loc.RawQuery = r.URL.RawQuery
	if isUpgrade(r) {
		s.proxyUpgrade(w, r, loc)
		return
	}
	s.proxyPlain(w, r, r.Method, loc)
}

func isUpgrade(r *http.Request) bool {
	for _, v := range r.Header.Values("Connection") {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), "upgrade") {
				return true
			}
		}
	}
	return false
}

// backendError is the 500 upstream answers when the kubelet cannot be reached.
func backendError(err error) error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure, Code: http.StatusInternalServerError,
		Message: "error dialing backend: " + err.Error(),
	}}
}

// proxyPlain sends the request to loc and streams the answer back, flushing
// as it arrives (followed logs).
func (s *Server) proxyPlain(w http.ResponseWriter, r *http.Request, method string, loc *url.URL) {
	var body io.Reader
	if method != "GET" && method != "HEAD" {
		body = r.Body
	}
	req, err := http.NewRequestWithContext(r.Context(), method, loc.String(), body)
	if err != nil {
		endpoints.WriteError(w, apierrors.NewInternalError(err))
		return
	}
	for _, h := range []string{"Accept", "Content-Type", "Accept-Encoding"} {
		if v := r.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	resp, err := s.kubeletClient().Do(req)
	if err != nil {
		endpoints.WriteError(w, backendError(err))
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	fl := http.NewResponseController(w)
	buf := make([]byte, 32*1024)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			fl.Flush()
		}
		if err != nil {
			return
		}
	}
}

// proxyUpgrade relays an upgrade request (SPDY or websocket) to loc and, on
// 101 Switching Protocols, the connection both ways.
func (s *Server) proxyUpgrade(w http.ResponseWriter, r *http.Request, loc *url.URL) {
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: s.kubeletTLSConfig}
	backend, err := d.DialContext(r.Context(), "tcp", loc.Host)
	if err != nil {
		endpoints.WriteError(w, backendError(err))
		return
	}
	defer backend.Close()
	out := r.Clone(r.Context())
	out.URL = loc
	out.Host = loc.Host
	out.RequestURI = ""
	out.Header.Del("Authorization")
	if r.ContentLength == 0 {
		out.Body = nil
	}
	if err := upgradeproxy.Relay(w, out, backend); err != nil {
		endpoints.WriteError(w, backendError(err))
	}
}
