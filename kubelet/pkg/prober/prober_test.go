package prober

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/record"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"navarch.dev/kubelet/pkg/podworker"
	"navarch.dev/kubelet/pkg/runtime"
	"navarch.dev/kubelet/pkg/runtime/fakecri"
)

const image = "docker.io/library/busybox:1.36"

// unit stands for a probe second in these tests.
const unit = 10 * time.Millisecond

// fixture is a running container on the fake CRI whose exec answers are
// scripted per command.
type fixture struct {
	t   *testing.T
	cri *fakecri.Runtime
	m   *Manager
	id  string
	// recorder holds the events the manager recorded.
	recorder *record.FakeRecorder

	mu      sync.Mutex
	answers map[string]int32 // command → exit code
}

func newFixture(t *testing.T) *fixture {
	cri := fakecri.Start(t, image)
	rt, err := runtime.Dial(cri.Endpoint, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	ctx := context.Background()
	sb := &runtimeapi.PodSandboxConfig{Metadata: &runtimeapi.PodSandboxMetadata{Name: "p", Namespace: "ns", Uid: "u"}}
	sbID, err := rt.RunPodSandbox(ctx, sb, "")
	if err != nil {
		t.Fatal(err)
	}
	id, err := rt.CreateContainer(ctx, sbID, &runtimeapi.ContainerConfig{Metadata: &runtimeapi.ContainerMetadata{Name: "c"}, Image: &runtimeapi.ImageSpec{Image: image}}, sb)
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, cri: cri, id: id, answers: map[string]int32{}, recorder: record.NewFakeRecorder(10000)}
	cri.ExecFunc = func(_ string, cmd []string) (string, int32) {
		f.mu.Lock()
		defer f.mu.Unlock()
		return "", f.answers[strings.Join(cmd, " ")]
	}
	f.m = New(context.Background(), rt, f.recorder, nil)
	f.m.second = unit
	t.Cleanup(func() { f.m.Forget("u") })
	return f
}

func (f *fixture) answer(cmd string, code int32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers[cmd] = code
}

func execProbe(cmd string, mod ...func(*v1.Probe)) *v1.Probe {
	p := &v1.Probe{ProbeHandler: v1.ProbeHandler{Exec: &v1.ExecAction{Command: strings.Fields(cmd)}}, PeriodSeconds: 1, FailureThreshold: 2}
	for _, f := range mod {
		f(p)
	}
	return p
}

func makePod(c v1.Container) *v1.Pod {
	c.Name = "c"
	return &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u"}, Spec: v1.PodSpec{Containers: []v1.Container{c}}}
}

// eventually waits (up to 5s) for the container's result to satisfy cond.
func (f *fixture) eventually(what string, cond func(podworker.ProbeResult) bool) {
	f.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if cond(f.m.Result("u", "c")) {
			return
		}
		time.Sleep(unit / 2)
	}
	f.t.Fatalf("%s: result stayed %+v", what, f.m.Result("u", "c"))
}

// holds checks that cond stays true for d.
func (f *fixture) holds(what string, d time.Duration, cond func(podworker.ProbeResult) bool) {
	f.t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(unit / 2) {
		if r := f.m.Result("u", "c"); !cond(r) {
			f.t.Fatalf("%s: result became %+v", what, r)
		}
	}
}

func TestLivenessFailureAsksForRestart(t *testing.T) {
	f := newFixture(t)
	f.answer("check", 1)
	f.m.Update(makePod(v1.Container{LivenessProbe: execProbe("check")}), map[string]string{"c": f.id}, "")
	f.eventually("liveness failed", func(r podworker.ProbeResult) bool { return r.LivenessFail })
	if r := f.m.Result("u", "c"); !strings.Contains(r.FailedMessage, "exit code 1") {
		t.Errorf("message = %q, want the exit code", r.FailedMessage)
	}
	// A new container attempt starts over.
	f.m.Update(makePod(v1.Container{LivenessProbe: execProbe("check")}), map[string]string{}, "")
	if r := f.m.Result("u", "c"); r.LivenessFail {
		t.Errorf("result after the container went = %+v", r)
	}
}

// TestFailedProbesRecordUnhealthy: every failed try of a probe is an
// Unhealthy warning on the container, named by the probe, as upstream.
func TestFailedProbesRecordUnhealthy(t *testing.T) {
	tests := []struct {
		name string
		c    v1.Container
		want string
	}{
		{name: "liveness", c: v1.Container{LivenessProbe: execProbe("alive")}, want: "Warning Unhealthy Liveness probe failed: "},
		{name: "readiness", c: v1.Container{ReadinessProbe: execProbe("ready")}, want: "Warning Unhealthy Readiness probe failed: "},
		{name: "startup", c: v1.Container{StartupProbe: execProbe("started")}, want: "Warning Unhealthy Startup probe failed: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.answer("alive", 1)
			f.answer("ready", 2)
			f.answer("started", 3)
			f.m.Update(makePod(tt.c), map[string]string{"c": f.id}, "")
			select {
			case ev := <-f.recorder.Events:
				if !strings.HasPrefix(ev, tt.want) || !strings.Contains(ev, "exit code") {
					t.Errorf("event = %q, want %q with the exit code", ev, tt.want)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no event for a failing probe")
			}
		})
	}
	// A passing probe records nothing.
	f := newFixture(t)
	f.m.Update(makePod(v1.Container{LivenessProbe: execProbe("fine")}), map[string]string{"c": f.id}, "")
	f.holds("passing", 10*unit, func(r podworker.ProbeResult) bool { return !r.LivenessFail })
	select {
	case ev := <-f.recorder.Events:
		t.Errorf("event %q for a passing probe", ev)
	default:
	}
}

func TestFailureThresholdNeedsConsecutiveFailures(t *testing.T) {
	f := newFixture(t)
	// Alternate: never two failures in a row.
	var n int
	var mu sync.Mutex
	f.cri.ExecFunc = func(string, []string) (string, int32) {
		mu.Lock()
		defer mu.Unlock()
		n++
		return "", int32(n % 2)
	}
	f.m.Update(makePod(v1.Container{LivenessProbe: execProbe("check")}), map[string]string{"c": f.id}, "")
	f.holds("alive", 20*unit, func(r podworker.ProbeResult) bool { return !r.LivenessFail })
}

func TestReadiness(t *testing.T) {
	f := newFixture(t)
	f.answer("ready", 1)
	probe := execProbe("ready", func(p *v1.Probe) { p.SuccessThreshold = 2; p.InitialDelaySeconds = 5 })
	f.m.Update(makePod(v1.Container{ReadinessProbe: probe}), map[string]string{"c": f.id}, "")
	if r := f.m.Result("u", "c"); r.Ready || !r.Started {
		t.Fatalf("initial result = %+v, want started, not ready", r)
	}
	f.answer("ready", 0)
	f.eventually("ready", func(r podworker.ProbeResult) bool { return r.Ready })
	f.answer("ready", 1)
	f.eventually("not ready again", func(r podworker.ProbeResult) bool { return !r.Ready })
	if f.m.Result("u", "c").LivenessFail {
		t.Error("readiness failure asked for a restart")
	}
}

func TestStartupGatesLiveness(t *testing.T) {
	f := newFixture(t)
	f.answer("started", 1)
	f.answer("alive", 1)
	c := v1.Container{
		StartupProbe:   execProbe("started", func(p *v1.Probe) { p.FailureThreshold = 1000 }),
		LivenessProbe:  execProbe("alive"),
		ReadinessProbe: execProbe("alive"),
	}
	f.m.Update(makePod(c), map[string]string{"c": f.id}, "")
	f.holds("liveness held off while starting", 15*unit, func(r podworker.ProbeResult) bool {
		return !r.Started && !r.LivenessFail && !r.Ready
	})
	f.answer("started", 0)
	f.eventually("started, then liveness failed", func(r podworker.ProbeResult) bool { return r.Started && r.LivenessFail })
}

func TestStartupFailureAsksForRestart(t *testing.T) {
	f := newFixture(t)
	f.answer("started", 1)
	f.m.Update(makePod(v1.Container{StartupProbe: execProbe("started")}), map[string]string{"c": f.id}, "")
	f.eventually("startup failed", func(r podworker.ProbeResult) bool { return r.LivenessFail && !r.Started })
}

func TestTimeout(t *testing.T) {
	f := newFixture(t)
	f.cri.ExecFunc = func(string, []string) (string, int32) { time.Sleep(5 * unit); return "", 0 }
	f.m.Update(makePod(v1.Container{LivenessProbe: execProbe("slow")}), map[string]string{"c": f.id}, "")
	f.eventually("slow probe times out", func(r podworker.ProbeResult) bool { return r.LivenessFail })
}

func TestNetworkProbes(t *testing.T) {
	var status int
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path != "/healthz" || r.Header.Get("X-Probe") != "yes" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()
	host, portStr, _ := net.SplitHostPort(srv.Listener.Addr().String())
	port, _ := strconv.Atoi(portStr)
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedPort := closed.Addr().(*net.TCPAddr).Port
	closed.Close()

	httpProbe := func() *v1.Probe {
		return &v1.Probe{PeriodSeconds: 1, ProbeHandler: v1.ProbeHandler{HTTPGet: &v1.HTTPGetAction{
			Path: "/healthz", Port: intstr.FromString("web"), HTTPHeaders: []v1.HTTPHeader{{Name: "X-Probe", Value: "yes"}}}}}
	}
	tcpProbe := func(port int) *v1.Probe {
		return &v1.Probe{PeriodSeconds: 1, ProbeHandler: v1.ProbeHandler{TCPSocket: &v1.TCPSocketAction{Port: intstr.FromInt32(int32(port))}}}
	}
	tests := []struct {
		name      string
		status    int
		probe     *v1.Probe
		wantReady bool
	}{
		{name: "http 200", status: 200, probe: httpProbe(), wantReady: true},
		{name: "http 302 counts as success", status: 302, probe: httpProbe(), wantReady: true},
		{name: "http 500", status: 500, probe: httpProbe()},
		{name: "tcp open", probe: tcpProbe(port), wantReady: true},
		{name: "tcp closed", probe: tcpProbe(closedPort)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			status = tt.status
			mu.Unlock()
			f := newFixture(t)
			c := v1.Container{ReadinessProbe: tt.probe, Ports: []v1.ContainerPort{{Name: "web", ContainerPort: int32(port)}}}
			f.m.Update(makePod(c), map[string]string{"c": f.id}, host)
			if tt.wantReady {
				f.eventually("ready", func(r podworker.ProbeResult) bool { return r.Ready })
			} else {
				f.holds("not ready", 10*unit, func(r podworker.ProbeResult) bool { return !r.Ready })
			}
		})
	}
}
