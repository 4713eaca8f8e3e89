package nodestatus

import (
	"context"
	"errors"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

type pressure struct{ mem, disk, pid bool }

func (p *pressure) MemoryPressure() bool { return p.mem }
func (p *pressure) DiskPressure() bool   { return p.disk }
func (p *pressure) PIDPressure() bool    { return p.pid }

func conditions(t *testing.T, n *v1.Node) map[v1.NodeConditionType]v1.NodeCondition {
	t.Helper()
	out := map[v1.NodeConditionType]v1.NodeCondition{}
	for _, c := range n.Status.Conditions {
		out[c.Type] = c
	}
	return out
}

// TestPressureConditions: the Node's MemoryPressure, DiskPressure and
// PIDPressure follow the eviction manager, with upstream's reasons.
func TestPressureConditions(t *testing.T) {
	client := fake.NewSimpleClientset()
	p := &pressure{}
	r := New(Config{NodeName: "n1", Hostname: "n1", MaxPods: 110, RootDir: t.TempDir(), Pressure: p}, client,
		func(context.Context) (string, error) { return "fakecri://1.0", nil })
	ctx := context.Background()
	n, err := r.Register(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := conditions(t, n)
	if c[v1.NodeMemoryPressure].Status != v1.ConditionFalse || c[v1.NodeDiskPressure].Reason != "KubeletHasNoDiskPressure" || c[v1.NodeReady].Status != v1.ConditionTrue {
		t.Fatalf("conditions without pressure = %+v", n.Status.Conditions)
	}
	p.mem, p.disk = true, true
	last := r.now().Add(-2 * time.Minute) // due for a post
	if err := r.syncStatus(ctx, &last); err != nil {
		t.Fatal(err)
	}
	n, err = client.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c = conditions(t, n)
	if m := c[v1.NodeMemoryPressure]; m.Status != v1.ConditionTrue || m.Reason != "KubeletHasInsufficientMemory" {
		t.Errorf("MemoryPressure = %+v, want True KubeletHasInsufficientMemory", m)
	}
	if d := c[v1.NodeDiskPressure]; d.Status != v1.ConditionTrue || d.Reason != "KubeletHasDiskPressure" {
		t.Errorf("DiskPressure = %+v, want True KubeletHasDiskPressure", d)
	}
	if pid := c[v1.NodePIDPressure]; pid.Status != v1.ConditionFalse || pid.Reason != "KubeletHasSufficientPID" {
		t.Errorf("PIDPressure = %+v, want False KubeletHasSufficientPID", pid)
	}

	p.mem, p.disk, p.pid = false, false, true
	last = r.now().Add(-2 * time.Minute)
	if err := r.syncStatus(ctx, &last); err != nil {
		t.Fatal(err)
	}
	if n, err = client.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	c = conditions(t, n)
	if pid := c[v1.NodePIDPressure]; pid.Status != v1.ConditionTrue || pid.Reason != "KubeletHasInsufficientPID" || pid.Message != "kubelet has insufficient PID available" {
		t.Errorf("PIDPressure = %+v, want True KubeletHasInsufficientPID", pid)
	}
	if m := c[v1.NodeMemoryPressure]; m.Status != v1.ConditionFalse {
		t.Errorf("MemoryPressure = %+v, want False once the memory pressure is gone", m)
	}
}

// failFirst makes the first n calls of verb on nodes fail with err.
func failFirst(client *fake.Clientset, verb, subresource string, n int, err error) *int {
	calls := 0
	client.PrependReactor(verb, "nodes", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != subresource {
			return false, nil, nil
		}
		calls++
		if calls <= n {
			return true, nil, err
		}
		return false, nil, nil
	})
	return &calls
}

// TestRegisterWithRetry: while the apiserver does not answer (or answers
// with errors), registration is tried again until it succeeds, instead of
// failing the kubelet.
func TestRegisterWithRetry(t *testing.T) {
	client := fake.NewSimpleClientset()
	down := apierrors.NewServiceUnavailable("apiserver starting")
	calls := failFirst(client, "create", "", 3, down)
	r := New(Config{NodeName: "n1", Hostname: "n1", MaxPods: 110, RootDir: t.TempDir()}, client,
		func(context.Context) (string, error) { return "fakecri://1.0", nil })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := r.RegisterWithRetry(ctx)
	if err != nil {
		t.Fatalf("RegisterWithRetry: %v", err)
	}
	if *calls != 4 {
		t.Errorf("create calls = %d, want 4 (3 failures, then success)", *calls)
	}
	if conditions(t, n)[v1.NodeReady].Status != v1.ConditionTrue {
		t.Errorf("registered node has no Ready=True status: %+v", n.Status.Conditions)
	}
	if _, err := client.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{}); err != nil {
		t.Errorf("node not in the API: %v", err)
	}
}

// TestRegisterWithRetryStopsWithContext: a kubelet being stopped does not
// keep trying to register.
func TestRegisterWithRetryStopsWithContext(t *testing.T) {
	client := fake.NewSimpleClientset()
	failFirst(client, "create", "", 1<<30, apierrors.NewServiceUnavailable("down"))
	r := New(Config{NodeName: "n1", Hostname: "n1", MaxPods: 110, RootDir: t.TempDir()}, client,
		func(context.Context) (string, error) { return "fakecri://1.0", nil })
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if _, err := r.RegisterWithRetry(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("RegisterWithRetry after the context ended = %v, want DeadlineExceeded", err)
	}
}

// TestStatusRetriesTransientErrors: a status post that fails (conflicts,
// a dropped connection) is tried again in the same round.
func TestStatusRetriesTransientErrors(t *testing.T) {
	tests := []struct {
		name     string
		failures int
		posted   bool
	}{
		{name: "two conflicts then success", failures: 2, posted: true},
		{name: "fails every try of the round", failures: statusUpdateRetry, posted: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			client := fake.NewSimpleClientset()
			p := &pressure{}
			r := New(Config{NodeName: "n1", Hostname: "n1", MaxPods: 110, RootDir: t.TempDir(), Pressure: p}, client,
				func(context.Context) (string, error) { return "fakecri://1.0", nil })
			ctx := context.Background()
			if _, err := r.Register(ctx); err != nil {
				t.Fatal(err)
			}
			failFirst(client, "update", "status", tc.failures,
				apierrors.NewConflict(schema.GroupResource{Resource: "nodes"}, "n1", errors.New("modified")))
			p.mem = true
			last := r.now().Add(-2 * time.Minute)
			r.trySyncStatus(ctx, &last)
			n, err := client.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			got := conditions(t, n)[v1.NodeMemoryPressure].Status == v1.ConditionTrue
			if got != tc.posted {
				t.Errorf("MemoryPressure posted = %v, want %v", got, tc.posted)
			}
		})
	}
}
