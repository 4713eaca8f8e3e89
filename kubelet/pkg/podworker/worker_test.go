package podworker

import (
	"context"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"navarch.dev/kubelet/pkg/runtime"
	"navarch.dev/kubelet/pkg/runtime/fakecri"
)

const image = "docker.io/library/busybox:1.36"

// podStore is a Source and a StatusWriter in one: what the API would hold.
type podStore struct {
	mu      sync.Mutex
	pods    map[string]*v1.Pod
	deleted []string
}

func (s *podStore) Get(k string) (*v1.Pod, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.pods[k]; p != nil {
		return p.DeepCopy(), nil
	}
	return nil, nil
}

func (s *podStore) List() ([]*v1.Pod, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*v1.Pod
	for _, p := range s.pods {
		out = append(out, p.DeepCopy())
	}
	return out, nil
}

func (s *podStore) WriteStatus(_ context.Context, pod *v1.Pod, st v1.PodStatus) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.pods[key(pod)]; p != nil {
		p.Status = st
	}
	return nil
}

func (s *podStore) Deleted(_ context.Context, pod *v1.Pod) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.pods, key(pod))
	s.deleted = append(s.deleted, key(pod))
	return nil
}

func (s *podStore) update(k string, f func(*v1.Pod)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s.pods[k])
}

type env struct {
	t     *testing.T
	cri   *fakecri.Runtime
	store *podStore
	w     *Worker
	mu    sync.Mutex
	clock time.Time
}

func (e *env) now() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.clock
}

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.clock = e.clock.Add(d)
}

func newEnv(t *testing.T, pods ...*v1.Pod) *env {
	cri := fakecri.Start(t, image)
	rt, err := runtime.Dial(cri.Endpoint, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	store := &podStore{pods: map[string]*v1.Pod{}}
	for _, p := range pods {
		store.pods[key(p)] = p
	}
	e := &env{t: t, cri: cri, store: store, clock: time.Now()}
	client := fake.NewSimpleClientset(&v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg", Namespace: "default"}, Data: map[string]string{"k": "v"}})
	e.w = New(Config{NodeName: "n1", NodeIP: "192.0.2.10", PodLogRoot: t.TempDir()},
		Options{Runtime: rt, Client: client, Source: store, Writer: store})
	e.w.now = e.now
	cri.Clock = func() int64 { return e.now().UnixNano() }
	return e
}

func (e *env) sync(k string) v1.PodStatus {
	e.t.Helper()
	if _, err := e.w.Sync(context.Background(), k); err != nil {
		e.t.Fatalf("Sync(%s): %v", k, err)
	}
	p, _ := e.store.Get(k)
	if p == nil {
		return v1.PodStatus{}
	}
	return p.Status
}

// running returns the id of the running container named name.
func (e *env) running(name string) string {
	e.t.Helper()
	for _, c := range e.cri.Containers() {
		if c.Metadata.Name == name && c.State == runtimeapi.ContainerState_CONTAINER_RUNNING {
			return c.Id
		}
	}
	e.t.Fatalf("no running container %q", name)
	return ""
}

func makePod(name string, opts ...func(*v1.Pod)) *v1.Pod {
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name)},
		Spec: v1.PodSpec{
			NodeName:   "n1",
			Containers: []v1.Container{{Name: "main", Image: image, ImagePullPolicy: v1.PullIfNotPresent}},
		},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func restart(policy v1.RestartPolicy) func(*v1.Pod) {
	return func(p *v1.Pod) { p.Spec.RestartPolicy = policy }
}

func TestPodRuns(t *testing.T) {
	e := newEnv(t, makePod("web", func(p *v1.Pod) {
		p.Spec.Containers[0].Env = []v1.EnvVar{{Name: "K", ValueFrom: &v1.EnvVarSource{ConfigMapKeyRef: &v1.ConfigMapKeySelector{
			LocalObjectReference: v1.LocalObjectReference{Name: "cfg"}, Key: "k"}}}}
	}))
	st := e.sync("default/web")
	if st.Phase != v1.PodRunning || st.PodIP == "" || st.HostIP != "192.0.2.10" || st.StartTime == nil {
		t.Fatalf("status = %+v, want Running with pod and host IPs", st)
	}
	if len(st.ContainerStatuses) != 1 || !st.ContainerStatuses[0].Ready || st.ContainerStatuses[0].State.Running == nil {
		t.Fatalf("container statuses = %+v, want one running and ready", st.ContainerStatuses)
	}
	for _, c := range st.Conditions {
		if c.Status != v1.ConditionTrue {
			t.Errorf("condition %s = %s, want True", c.Type, c.Status)
		}
	}
	// A second sync with nothing changed leaves everything as it was.
	if st2 := e.sync("default/web"); !statusEqual(st, st2) {
		t.Errorf("status changed without a cause:\n%+v\n%+v", st, st2)
	}
	if n := len(e.cri.Sandboxes()); n != 1 {
		t.Errorf("%d sandboxes, want 1", n)
	}
}

func TestRestartBackoff(t *testing.T) {
	e := newEnv(t, makePod("crash"))
	e.sync("default/crash")
	e.cri.Exit(e.running("main"), 1, "Error")
	// The first crash restarts at once.
	st := e.sync("default/crash")
	cs := st.ContainerStatuses[0]
	if cs.RestartCount != 1 || cs.State.Running == nil || cs.LastTerminationState.Terminated == nil || cs.LastTerminationState.Terminated.ExitCode != 1 {
		t.Fatalf("after first crash: %+v, want running with restartCount 1 and lastState exit 1", cs)
	}
	e.cri.Exit(e.running("main"), 2, "Error")
	st = e.sync("default/crash")
	cs = st.ContainerStatuses[0]
	if cs.State.Waiting == nil || cs.State.Waiting.Reason != "CrashLoopBackOff" || cs.LastTerminationState.Terminated.ExitCode != 2 {
		t.Fatalf("after second crash: %+v, want CrashLoopBackOff with lastState exit 2", cs)
	}
	if st.Phase != v1.PodRunning {
		t.Errorf("phase = %s, want Running while restarting", st.Phase)
	}
	e.advance(11 * time.Second)
	st = e.sync("default/crash")
	if cs := st.ContainerStatuses[0]; cs.RestartCount != 2 || cs.State.Running == nil {
		t.Fatalf("after back-off: %+v, want running with restartCount 2", cs)
	}
	// The next crash waits twice as long.
	e.cri.Exit(e.running("main"), 1, "")
	e.advance(11 * time.Second)
	if cs := e.sync("default/crash").ContainerStatuses[0]; cs.State.Waiting == nil {
		t.Fatalf("11s after third crash: %+v, want still backing off (20s)", cs)
	}
	e.advance(10 * time.Second)
	if cs := e.sync("default/crash").ContainerStatuses[0]; cs.RestartCount != 3 {
		t.Fatalf("21s after third crash: %+v, want restartCount 3", cs)
	}
}

func TestTerminalPhases(t *testing.T) {
	tests := []struct {
		name   string
		policy v1.RestartPolicy
		code   int32
		reason string
		want   v1.PodPhase
	}{
		{name: "never failed", policy: v1.RestartPolicyNever, code: 1, want: v1.PodFailed},
		{name: "never oom", policy: v1.RestartPolicyNever, code: 137, reason: "OOMKilled", want: v1.PodFailed},
		{name: "never succeeded", policy: v1.RestartPolicyNever, code: 0, want: v1.PodSucceeded},
		{name: "onfailure succeeded", policy: v1.RestartPolicyOnFailure, code: 0, want: v1.PodSucceeded},
		{name: "onfailure restarts", policy: v1.RestartPolicyOnFailure, code: 3, want: v1.PodRunning},
		{name: "always restarts", policy: v1.RestartPolicyAlways, code: 0, want: v1.PodRunning},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, makePod("job", restart(tt.policy)))
			e.sync("default/job")
			e.cri.Exit(e.running("main"), tt.code, tt.reason)
			st := e.sync("default/job")
			if st.Phase != tt.want {
				t.Fatalf("phase = %s, want %s (%+v)", st.Phase, tt.want, st.ContainerStatuses)
			}
			if tt.want == v1.PodFailed || tt.want == v1.PodSucceeded {
				term := st.ContainerStatuses[0].State.Terminated
				if term == nil || term.ExitCode != tt.code {
					t.Fatalf("state = %+v, want terminated with %d", st.ContainerStatuses[0].State, tt.code)
				}
				if tt.reason != "" && term.Reason != tt.reason {
					t.Errorf("reason = %q, want %q", term.Reason, tt.reason)
				}
				for _, sb := range e.cri.Sandboxes() {
					if sb.State == runtimeapi.PodSandboxState_SANDBOX_READY {
						t.Errorf("sandbox of a finished pod still ready")
					}
				}
			}
		})
	}
}

func TestInitContainersInOrder(t *testing.T) {
	e := newEnv(t, makePod("init", func(p *v1.Pod) {
		p.Spec.InitContainers = []v1.Container{{Name: "one", Image: image}, {Name: "two", Image: image}}
	}))
	st := e.sync("default/init")
	if st.Phase != v1.PodPending || len(e.cri.Containers()) != 1 {
		t.Fatalf("phase %s with %d containers, want Pending with only the first init container", st.Phase, len(e.cri.Containers()))
	}
	if w := st.ContainerStatuses[0].State.Waiting; w == nil || w.Reason != "PodInitializing" {
		t.Errorf("main state = %+v, want waiting PodInitializing", st.ContainerStatuses[0].State)
	}
	e.cri.Exit(e.running("one"), 0, "")
	e.sync("default/init")
	e.cri.Exit(e.running("two"), 0, "")
	st = e.sync("default/init")
	if st.Phase != v1.PodRunning || st.ContainerStatuses[0].State.Running == nil {
		t.Fatalf("after init: phase %s, main %+v; want Running", st.Phase, st.ContainerStatuses[0].State)
	}
}

func TestImageErrors(t *testing.T) {
	tests := []struct {
		name   string
		policy v1.PullPolicy
		want   []string // waiting reasons on successive syncs
	}{
		{name: "never", policy: v1.PullNever, want: []string{"ErrImageNeverPull"}},
		{name: "if not present offline", policy: v1.PullIfNotPresent, want: []string{"ErrImagePull", "ImagePullBackOff"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, makePod("img", func(p *v1.Pod) {
				p.Spec.Containers[0].Image = "registry.navarch.local/missing:1"
				p.Spec.Containers[0].ImagePullPolicy = tt.policy
			}))
			for _, want := range tt.want {
				st := e.sync("default/img")
				w := st.ContainerStatuses[0].State.Waiting
				if w == nil || w.Reason != want || st.Phase != v1.PodPending {
					t.Fatalf("phase %s, state %+v; want Pending, waiting %s", st.Phase, st.ContainerStatuses[0].State, want)
				}
			}
		})
	}
}

func TestGracefulDeletion(t *testing.T) {
	e := newEnv(t, makePod("gone"))
	e.sync("default/gone")
	grace := int64(0)
	now := metav1.Now()
	e.store.update("default/gone", func(p *v1.Pod) {
		p.DeletionTimestamp = &now
		p.DeletionGracePeriodSeconds = &grace
	})
	e.sync("default/gone")
	if len(e.store.deleted) != 1 {
		t.Fatalf("final deletes = %v, want the pod", e.store.deleted)
	}
	if n := len(e.cri.Sandboxes()); n != 0 {
		t.Errorf("%d sandboxes left, want 0", n)
	}
	if n := len(e.cri.Containers()); n != 0 {
		t.Errorf("%d containers left, want 0", n)
	}
}

func TestOrphansRemoved(t *testing.T) {
	e := newEnv(t, makePod("a"), makePod("b"))
	e.sync("default/a")
	e.sync("default/b")
	// b disappears while the kubelet is not looking.
	e.store.mu.Lock()
	delete(e.store.pods, "default/b")
	e.store.mu.Unlock()
	e.w.Housekeep(context.Background())
	sbs := e.cri.Sandboxes()
	if len(sbs) != 1 || sbs[0].Labels[LabelPodName] != "a" {
		t.Fatalf("sandboxes after housekeeping: %d, want only a's", len(sbs))
	}
}

func TestExpand(t *testing.T) {
	vars := map[string]string{"A": "x", "B": "y"}
	tests := []struct{ name, in, want string }{
		{name: "plain", in: "abc", want: "abc"},
		{name: "var", in: "$(A)-$(B)", want: "x-y"},
		{name: "escaped", in: "$$(A)", want: "$(A)"},
		{name: "unknown", in: "$(C)", want: "$(C)"},
		{name: "unclosed", in: "$(A", want: "$(A"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := expand(tt.in, vars); got != tt.want {
				t.Errorf("expand(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
