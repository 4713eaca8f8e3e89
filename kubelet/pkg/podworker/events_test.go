package podworker

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"

	"navarch.dev/kubelet/pkg/admission"
)

// event is one recorded event as `kubectl describe` shows it, with the
// field path of its object.
type event struct {
	fieldPath, typ, reason, message string
}

func (e event) String() string {
	return fmt.Sprintf("%s %s %s %q", e.fieldPath, e.typ, e.reason, e.message)
}

// eventLog is a record.EventRecorder that keeps what it is given.
type eventLog struct {
	mu     sync.Mutex
	events []event
}

var _ record.EventRecorder = (*eventLog)(nil)

func (l *eventLog) Event(obj runtime.Object, typ, reason, message string) {
	e := event{typ: typ, reason: reason, message: message}
	switch o := obj.(type) {
	case *v1.ObjectReference:
		if o.Kind != "Pod" || o.APIVersion != "v1" || o.Name == "" || o.UID == "" {
			e.fieldPath = "bad reference " + o.String()
		}
		e.fieldPath += o.FieldPath
	case *v1.Pod:
	default:
		e.fieldPath = fmt.Sprintf("unexpected object %T", obj)
	}
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

func (l *eventLog) Eventf(obj runtime.Object, typ, reason, format string, args ...any) {
	l.Event(obj, typ, reason, fmt.Sprintf(format, args...))
}

func (l *eventLog) AnnotatedEventf(obj runtime.Object, _ map[string]string, typ, reason, format string, args ...any) {
	l.Eventf(obj, typ, reason, format, args...)
}

// take returns the events recorded since the last take.
func (l *eventLog) take() []event {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.events
	l.events = nil
	return out
}

// has reports whether want is among events.
func has(events []event, want event) bool {
	for _, e := range events {
		if e == want {
			return true
		}
	}
	return false
}

func withEvents(e *env) *eventLog {
	l := &eventLog{}
	e.w.recorder = l
	return l
}

func TestStartEvents(t *testing.T) {
	e := newEnv(t, makePod("web", func(p *v1.Pod) {
		p.Spec.InitContainers = []v1.Container{{Name: "setup", Image: image, ImagePullPolicy: v1.PullNever}}
	}))
	log := withEvents(e)
	e.sync("default/web")
	e.cri.Exit(e.running("setup"), 0, "")
	e.sync("default/web")
	want := []event{
		{"spec.initContainers{setup}", "Normal", "Pulled", `Container image "` + image + `" already present on machine`},
		{"spec.initContainers{setup}", "Normal", "Created", "Created container: setup"},
		{"spec.initContainers{setup}", "Normal", "Started", "Started container setup"},
		{"spec.containers{main}", "Normal", "Pulled", `Container image "` + image + `" already present on machine`},
		{"spec.containers{main}", "Normal", "Created", "Created container: main"},
		{"spec.containers{main}", "Normal", "Started", "Started container main"},
	}
	got := log.take()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events:\n%v\nwant\n%v", got, want)
	}
	// A pod that runs as it should records nothing more.
	e.sync("default/web")
	if got := log.take(); len(got) != 0 {
		t.Errorf("events of a quiet sync: %v", got)
	}
}

func TestImageEvents(t *testing.T) {
	const missing = "registry.navarch.local/missing:1"
	tests := []struct {
		name   string
		policy v1.PullPolicy
		want   [][]event // per sync
	}{
		{name: "never", policy: v1.PullNever, want: [][]event{{
			{"spec.containers{main}", "Warning", "ErrImageNeverPull", `Container image "` + missing + `" is not present with pull policy of Never`},
			{"spec.containers{main}", "Warning", "Failed", "Error: ErrImageNeverPull"},
		}}},
		{name: "pull fails, then backs off", policy: v1.PullIfNotPresent, want: [][]event{{
			{"spec.containers{main}", "Normal", "Pulling", `Pulling image "` + missing + `"`},
			{"spec.containers{main}", "Warning", "Failed", `Failed to pull image "` + missing + `": runtime: pull image ` + missing + `: rpc error: code = Unavailable desc = fakecri: offline, cannot pull "` + missing + `"`},
			{"spec.containers{main}", "Warning", "Failed", "Error: ErrImagePull"},
		}, {
			{"spec.containers{main}", "Normal", "BackOff", `Back-off pulling image "` + missing + `"`},
			{"spec.containers{main}", "Warning", "Failed", "Error: ImagePullBackOff"},
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, makePod("img", func(p *v1.Pod) {
				p.Spec.Containers[0].Image = missing
				p.Spec.Containers[0].ImagePullPolicy = tt.policy
			}))
			log := withEvents(e)
			for i, want := range tt.want {
				e.sync("default/img")
				if got := log.take(); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("sync %d events:\n%v\nwant\n%v", i+1, got, want)
				}
			}
		})
	}
}

func TestBackOffEvent(t *testing.T) {
	e := newEnv(t, makePod("crash"))
	log := withEvents(e)
	e.sync("default/crash")
	e.cri.Exit(e.running("main"), 1, "Error")
	e.sync("default/crash") // restarted at once
	e.cri.Exit(e.running("main"), 1, "Error")
	log.take()
	e.sync("default/crash")
	want := event{"spec.containers{main}", "Warning", "BackOff", "Back-off restarting failed container main in pod crash_default(uid-crash)"}
	if got := log.take(); !has(got, want) || has(got, event{"spec.containers{main}", "Normal", "Started", "Started container main"}) {
		t.Fatalf("events while backing off: %v, want %v and no start", got, want)
	}
}

// livenessFails is a Prober whose named container fails its liveness
// (or, with startup, its startup) probe.
type livenessFails struct {
	name    string
	startup bool
}

func (p *livenessFails) Update(*v1.Pod, map[string]string, string) {}
func (p *livenessFails) Forget(types.UID)                          {}
func (p *livenessFails) Result(_ types.UID, name string) ProbeResult {
	if name != p.name {
		return ProbeResult{Ready: true, Started: true}
	}
	return ProbeResult{Started: !p.startup, LivenessFail: true, StartupFail: p.startup, FailedMessage: "exit code 1"}
}

func TestKillingEvents(t *testing.T) {
	tests := []struct {
		name string
		act  func(e *env)
		want event
	}{
		{name: "liveness", act: func(e *env) { e.w.prober = &livenessFails{name: "main"} },
			want: event{"spec.containers{main}", "Normal", "Killing", "Container main failed liveness probe, will be restarted"}},
		{name: "startup", act: func(e *env) { e.w.prober = &livenessFails{name: "main", startup: true} },
			want: event{"spec.containers{main}", "Normal", "Killing", "Container main failed startup probe, will be restarted"}},
		{name: "spec changed", act: func(e *env) {
			e.store.update("default/k", func(p *v1.Pod) { p.Spec.Containers[0].Args = []string{"new"} })
		}, want: event{"spec.containers{main}", "Normal", "Killing", "Container main definition changed, will be restarted"}},
		{name: "deleted", act: func(e *env) {
			now, grace := metav1.Now(), int64(0)
			e.store.update("default/k", func(p *v1.Pod) { p.DeletionTimestamp, p.DeletionGracePeriodSeconds = &now, &grace })
		}, want: event{"spec.containers{main}", "Normal", "Killing", "Stopping container main"}},
		{name: "gone from the API", act: func(e *env) {
			e.store.mu.Lock()
			delete(e.store.pods, "default/k")
			e.store.mu.Unlock()
		}, want: event{"spec.containers{main}", "Normal", "Killing", "Stopping container main"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, makePod("k"))
			log := withEvents(e)
			e.sync("default/k")
			log.take()
			tt.act(e)
			e.sync("default/k")
			if got := log.take(); !has(got, tt.want) {
				t.Fatalf("events: %v, want %v", got, tt.want)
			}
		})
	}
}

// mountFails is a Volumes whose setup fails until fixed.
type mountFails struct {
	mu    sync.Mutex
	fixed bool
}

func (m *mountFails) Setup(context.Context, *v1.Pod) (map[string]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.fixed {
		return nil, NewMountError(`MountVolume.SetUp failed for volume "cfg" : configmap "missing" not found`)
	}
	return map[string]string{}, nil
}
func (m *mountFails) TearDown(types.UID) error { return nil }

// TestFailedMount: a volume that cannot be set up leaves the pod Pending
// with its containers ContainerCreating (not CreateContainerConfigError,
// which is for env and config errors) and says why in a FailedMount event;
// the pod is retried and runs once the volume can be set up.
func TestFailedMount(t *testing.T) {
	e := newEnv(t, makePod("m"))
	log := withEvents(e)
	vols := &mountFails{}
	e.w.volumes = vols
	res, err := e.w.Sync(context.Background(), "default/m")
	if err != nil {
		t.Fatal(err)
	}
	if res <= 0 {
		t.Errorf("requeue = %v, want a retry", res)
	}
	p, _ := e.store.Get("default/m")
	st := p.Status
	if st.Phase != v1.PodPending || len(st.ContainerStatuses) != 1 {
		t.Fatalf("status = %+v, want Pending with one container", st)
	}
	if w := st.ContainerStatuses[0].State.Waiting; w == nil || w.Reason != "ContainerCreating" {
		t.Fatalf("container state = %+v, want waiting ContainerCreating", st.ContainerStatuses[0].State)
	}
	want := event{"", "Warning", "FailedMount", `MountVolume.SetUp failed for volume "cfg" : configmap "missing" not found`}
	if got := log.take(); fmt.Sprint(got) != fmt.Sprint([]event{want}) {
		t.Fatalf("events: %v, want %v", got, want)
	}
	if n := len(e.cri.Sandboxes()); n != 0 {
		t.Errorf("%d sandboxes before the volumes are ready, want 0", n)
	}
	vols.mu.Lock()
	vols.fixed = true
	vols.mu.Unlock()
	if st := e.sync("default/m"); st.Phase != v1.PodRunning {
		t.Fatalf("phase after the volume appeared = %s, want Running", st.Phase)
	}
}

// TestConfigErrorEvent: a missing ConfigMap key in env is
// CreateContainerConfigError with a Failed event naming it.
func TestConfigErrorEvent(t *testing.T) {
	e := newEnv(t, makePod("env", func(p *v1.Pod) {
		p.Spec.Containers[0].Env = []v1.EnvVar{{Name: "K", ValueFrom: &v1.EnvVarSource{ConfigMapKeyRef: &v1.ConfigMapKeySelector{
			LocalObjectReference: v1.LocalObjectReference{Name: "cfg"}, Key: "nope"}}}}
	}))
	log := withEvents(e)
	st := e.sync("default/env")
	if w := st.ContainerStatuses[0].State.Waiting; w == nil || w.Reason != "CreateContainerConfigError" {
		t.Fatalf("state = %+v, want CreateContainerConfigError", st.ContainerStatuses[0].State)
	}
	want := event{"spec.containers{main}", "Warning", "Failed", "Error: couldn't find key nope in ConfigMap default/cfg"}
	if got := log.take(); !has(got, want) {
		t.Fatalf("events: %v, want %v", got, want)
	}
}

func TestEvictedEvent(t *testing.T) {
	e := newEnv(t, makePod("hog"))
	log := withEvents(e)
	e.sync("default/hog")
	p, _ := e.store.Get("default/hog")
	msg := "The node was low on resource: memory. Threshold quantity: 100Mi, available: 50Mi. "
	e.w.Evict(p, msg, 0)
	e.w.Evict(p, msg, 0) // the eviction manager may ask again before the pod is gone
	e.sync("default/hog")
	got := log.take()
	evicted := 0
	for _, ev := range got {
		if ev.reason == "Evicted" {
			evicted++
			if ev != (event{"", "Warning", "Evicted", msg}) {
				t.Errorf("eviction event = %v", ev)
			}
		}
	}
	if evicted != 1 || !has(got, event{"spec.containers{main}", "Normal", "Killing", "Stopping container main"}) {
		t.Fatalf("events: %v, want one Evicted and the container stopped", got)
	}
}

func TestRejectedEvent(t *testing.T) {
	e := newEnv(t, makePod("a"), makePod("b"))
	e.w.admitter = admission.New(v1.ResourceList{v1.ResourcePods: resource.MustParse("1")}, nil)
	log := withEvents(e)
	e.sync("default/a")
	log.take()
	e.sync("default/b")
	e.sync("default/b")
	want := event{"", "Warning", "OutOfpods", "Node didn't have enough resource: pods, requested: 1, used: 1, capacity: 1"}
	if got := log.take(); fmt.Sprint(got) != fmt.Sprint([]event{want}) {
		t.Fatalf("events: %v, want once %v", got, want)
	}
}

func TestSandboxEvents(t *testing.T) {
	e := newEnv(t, makePod("sb"))
	log := withEvents(e)
	e.sync("default/sb")
	for _, sb := range e.cri.Sandboxes() {
		if err := e.w.rt.StopPodSandbox(context.Background(), sb.Id); err != nil {
			t.Fatal(err)
		}
	}
	log.take()
	e.sync("default/sb")
	want := event{"", "Normal", "SandboxChanged", "Pod sandbox changed, it will be killed and re-created."}
	got := log.take()
	if !has(got, want) || !strings.Contains(fmt.Sprint(got), "Started container main") {
		t.Fatalf("events: %v, want %v and the container started again", got, want)
	}
}
