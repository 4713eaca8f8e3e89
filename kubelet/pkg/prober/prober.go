// Package prober runs container probes — exec (CRI ExecSync), httpGet,
// tcpSocket and grpc — on their schedules and implements podworker.Prober:
// a startup probe holds off liveness and readiness until it succeeds, a
// failed liveness (or startup) probe asks for a restart, readiness gates
// the container's Ready.
package prober

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/tools/reference"

	"navarch.dev/kubelet/pkg/podworker"
)

// Runtime is what exec probes need of the container runtime.
type Runtime interface {
	ExecSync(ctx context.Context, id string, cmd []string, timeout time.Duration) (stdout, stderr []byte, exitCode int32, err error)
}

var _ podworker.Prober = (*Manager)(nil)

// Manager runs one probe loop per running container that has probes.
type Manager struct {
	ctx      context.Context
	rt       Runtime
	onChange func(podKey string)
	recorder record.EventRecorder
	// second is the unit of the probes' *Seconds fields (shorter in tests).
	second time.Duration

	mu      sync.Mutex
	workers map[string]*worker // by "<uid>/<container>"
}

// EventUnhealthy is the reason of the event recorded on a container for
// every failed probe, as upstream's.
const EventUnhealthy = "Unhealthy"

// New returns a Manager whose probes run until ctx ends; onChange (may be
// nil) is called with the pod's "namespace/name" whenever a result changes,
// so the pod is synced at once. Every failed probe is recorded as an
// Unhealthy event on the container with recorder (nil: not recorded).
func New(ctx context.Context, rt Runtime, recorder record.EventRecorder, onChange func(podKey string)) *Manager {
	if recorder == nil {
		recorder = &record.FakeRecorder{} // drops events
	}
	return &Manager{ctx: ctx, rt: rt, onChange: onChange, recorder: recorder, second: time.Second, workers: map[string]*worker{}}
}

func wkey(uid types.UID, name string) string { return string(uid) + "/" + name }

// Update implements podworker.Prober.
func (m *Manager) Update(pod *v1.Pod, running map[string]string, podIP string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		k := wkey(pod.UID, c.Name)
		id, ok := running[c.Name]
		w := m.workers[k]
		if w != nil && (!ok || w.id != id) {
			w.stop()
			delete(m.workers, k)
			w = nil
		}
		if !ok || (c.LivenessProbe == nil && c.ReadinessProbe == nil && c.StartupProbe == nil) {
			continue
		}
		if w == nil {
			w = newWorker(m, pod, c.DeepCopy(), id, podIP)
			m.workers[k] = w
			go w.run()
		}
	}
}

// Result implements podworker.Prober.
func (m *Manager) Result(uid types.UID, name string) podworker.ProbeResult {
	m.mu.Lock()
	w := m.workers[wkey(uid, name)]
	m.mu.Unlock()
	if w == nil {
		return podworker.ProbeResult{}
	}
	return w.result()
}

// Forget implements podworker.Prober.
func (m *Manager) Forget(uid types.UID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	prefix := string(uid) + "/"
	for k, w := range m.workers {
		if len(k) > len(prefix) && k[:len(prefix)] == prefix {
			w.stop()
			delete(m.workers, k)
		}
	}
}

// worker probes one container attempt.
type worker struct {
	m      *Manager
	podKey string
	c      *v1.Container
	id     string
	podIP  string
	// ref is the container's object reference for its events.
	ref  *v1.ObjectReference
	ctx  context.Context
	stop context.CancelFunc

	mu  sync.Mutex
	res podworker.ProbeResult
}

func newWorker(m *Manager, pod *v1.Pod, c *v1.Container, id, podIP string) *worker {
	ctx, cancel := context.WithCancel(m.ctx)
	w := &worker{m: m, podKey: pod.Namespace + "/" + pod.Name, c: c, id: id, podIP: podIP, ctx: ctx, stop: cancel}
	if ref, err := reference.GetReference(scheme.Scheme, pod); err == nil {
		ref.FieldPath = fmt.Sprintf("spec.containers{%s}", c.Name)
		w.ref = ref
	}
	// Until probed: started only without a startup probe, ready only
	// without a readiness probe, alive.
	w.res.Started = c.StartupProbe == nil
	w.res.Ready = c.ReadinessProbe == nil
	return w
}

func (w *worker) result() podworker.ProbeResult {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.res
}

func (w *worker) set(f func(r *podworker.ProbeResult)) {
	w.mu.Lock()
	before := w.res
	f(&w.res)
	changed := before != w.res
	w.mu.Unlock()
	if changed && w.m.onChange != nil {
		w.m.onChange(w.podKey)
	}
}

// loop is one probe's schedule: initialDelaySeconds, then a try every
// periodSeconds, each bounded by timeoutSeconds, with consecutive results
// counted against successThreshold and failureThreshold.
type loop struct {
	p         *v1.Probe
	unit      time.Duration
	next      time.Time
	succ, bad int
}

func newLoop(p *v1.Probe, start time.Time, unit time.Duration) *loop {
	if p == nil {
		return nil
	}
	return &loop{p: p, unit: unit, next: start.Add(time.Duration(p.InitialDelaySeconds) * unit)}
}

func (l *loop) period() time.Duration {
	return time.Duration(orDefault(l.p.PeriodSeconds, 10)) * l.unit
}
func (l *loop) timeout() time.Duration {
	return time.Duration(orDefault(l.p.TimeoutSeconds, 1)) * l.unit
}
func successes(p *v1.Probe) int { return int(max(p.SuccessThreshold, 1)) }
func failures(p *v1.Probe) int  { return int(orDefault(p.FailureThreshold, 3)) }

func orDefault(v, def int32) int32 {
	if v <= 0 {
		return def
	}
	return v
}

// observe counts one outcome and reports whether the probe has now
// succeeded (true) or failed (false) by its thresholds, or neither (nil).
func (l *loop) observe(ok bool) *bool {
	l.next = l.next.Add(l.period())
	if ok {
		l.succ, l.bad = l.succ+1, 0
		if l.succ >= successes(l.p) {
			return &ok
		}
		return nil
	}
	l.succ, l.bad = 0, l.bad+1
	if l.bad >= failures(l.p) {
		return &ok
	}
	return nil
}

func (w *worker) run() {
	start := time.Now()
	u := w.m.second
	startup, live, ready := newLoop(w.c.StartupProbe, start, u), newLoop(w.c.LivenessProbe, start, u), newLoop(w.c.ReadinessProbe, start, u)
	for {
		var due *loop
		var which string
		for _, l := range []struct {
			l    *loop
			name string
		}{{startup, "startup"}, {live, "liveness"}, {ready, "readiness"}} {
			if l.l == nil || (l.name != "startup" && !w.result().Started) || (l.name == "startup" && w.result().Started) {
				continue
			}
			if due == nil || l.l.next.Before(due.next) {
				due, which = l.l, l.name
			}
		}
		if due == nil {
			<-w.ctx.Done()
			return
		}
		select {
		case <-w.ctx.Done():
			return
		case <-time.After(time.Until(due.next)):
		}
		if due.next.Before(time.Now().Add(-due.period())) {
			due.next = time.Now() // fell behind (a slow probe): do not burst
		}
		ok, msg := w.probe(due.p, due.timeout())
		if w.ctx.Err() != nil {
			return
		}
		if !ok && w.ref != nil {
			w.m.recorder.Eventf(w.ref, v1.EventTypeWarning, EventUnhealthy, "%s probe failed: %s", probeName[which], msg)
		}
		verdict := due.observe(ok)
		if verdict == nil {
			continue
		}
		switch which {
		case "startup":
			if *verdict {
				// Liveness and readiness start counting now.
				now := time.Now()
				if live != nil {
					live.next = now
				}
				if ready != nil {
					ready.next = now
				}
				w.set(func(r *podworker.ProbeResult) { r.Started = true })
			} else {
				w.set(func(r *podworker.ProbeResult) {
					r.LivenessFail, r.StartupFail, r.FailedMessage = true, true, "startup probe failed: "+msg
				})
				due.bad = 0
			}
		case "liveness":
			if !*verdict {
				w.set(func(r *podworker.ProbeResult) { r.LivenessFail, r.FailedMessage = true, msg })
				due.bad = 0
			}
		case "readiness":
			w.set(func(r *podworker.ProbeResult) { r.Ready = *verdict })
		}
	}
}

// probeName is how events name each probe.
var probeName = map[string]string{"startup": "Startup", "liveness": "Liveness", "readiness": "Readiness"}

// probe runs p once and reports success with a message for failures.
func (w *worker) probe(p *v1.Probe, to time.Duration) (bool, string) {
	ctx, cancel := context.WithTimeout(w.ctx, to)
	defer cancel()
	switch h := p.ProbeHandler; {
	case h.Exec != nil:
		stdout, stderr, code, err := w.m.rt.ExecSync(ctx, w.id, h.Exec.Command, to)
		if err != nil {
			return false, fmt.Sprintf("exec %q: %v", h.Exec.Command, err)
		}
		if code != 0 {
			return false, fmt.Sprintf("exec %q: exit code %d: %s%s", h.Exec.Command, code, stdout, stderr)
		}
		return true, ""
	case h.HTTPGet != nil:
		return w.httpGet(ctx, h.HTTPGet)
	case h.TCPSocket != nil:
		host := h.TCPSocket.Host
		if host == "" {
			host = w.podIP
		}
		port, err := w.port(h.TCPSocket.Port)
		if err != nil {
			return false, err.Error()
		}
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return false, fmt.Sprintf("dial tcp %s:%d: %v", host, port, err)
		}
		conn.Close()
		return true, ""
	case h.GRPC != nil:
		conn, err := grpc.NewClient(net.JoinHostPort(w.podIP, strconv.Itoa(int(h.GRPC.Port))), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return false, err.Error()
		}
		defer conn.Close()
		svc := ""
		if h.GRPC.Service != nil {
			svc = *h.GRPC.Service
		}
		resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
		if err != nil {
			return false, fmt.Sprintf("grpc health check: %v", err)
		}
		if resp.Status != healthpb.HealthCheckResponse_SERVING {
			return false, fmt.Sprintf("grpc health: %s", resp.Status)
		}
		return true, ""
	}
	return false, "probe has no handler"
}

// httpGet succeeds on a 2xx or 3xx answer; redirects are not followed.
func (w *worker) httpGet(ctx context.Context, g *v1.HTTPGetAction) (bool, string) {
	host := g.Host
	if host == "" {
		host = w.podIP
	}
	port, err := w.port(g.Port)
	if err != nil {
		return false, err.Error()
	}
	scheme := "http"
	if g.Scheme == v1.URISchemeHTTPS {
		scheme = "https"
	}
	path := g.Path
	if path == "" || path[0] != '/' {
		path = "/" + path
	}
	url := fmt.Sprintf("%s://%s%s", scheme, net.JoinHostPort(host, strconv.Itoa(port)), path)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, err.Error()
	}
	req.Header.Set("User-Agent", "kube-probe/1.34")
	req.Header.Set("Accept", "*/*")
	for _, h := range g.HTTPHeaders {
		if h.Name == "Host" {
			req.Host = h.Value
			continue
		}
		req.Header.Set(h.Name, h.Value)
	}
	resp, err := probeClient.Do(req)
	if err != nil {
		return false, fmt.Sprintf("HTTP probe %s: %v", url, err)
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return false, fmt.Sprintf("HTTP probe failed with statuscode: %d", resp.StatusCode)
	}
	return true, ""
}

var probeClient = &http.Client{
	Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, // probes do not verify, as upstream
		DisableKeepAlives: true,
	},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func (w *worker) port(p intstr.IntOrString) (int, error) {
	if p.Type == intstr.Int {
		return p.IntValue(), nil
	}
	for _, cp := range w.c.Ports {
		if cp.Name == p.StrVal {
			return int(cp.ContainerPort), nil
		}
	}
	if n, err := strconv.Atoi(p.StrVal); err == nil {
		return n, nil
	}
	return 0, fmt.Errorf("no container port named %q", p.StrVal)
}
