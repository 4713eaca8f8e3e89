package nodestatus

import (
	"context"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
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

// TestPressureConditions: the Node's MemoryPressure and DiskPressure follow
// the eviction manager, with upstream's reasons.
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
	if pid := c[v1.NodePIDPressure]; pid.Status != v1.ConditionFalse {
		t.Errorf("PIDPressure = %+v, want False", pid)
	}
}
