package cache

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func makeNode(name string) *v1.Node {
	return &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: v1.NodeStatus{Allocatable: v1.ResourceList{
		v1.ResourceCPU: resource.MustParse("4"), v1.ResourcePods: resource.MustParse("10")}}}
}

func makePod(name, node, cpu string) *v1.Pod {
	return &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(name)}, Spec: v1.PodSpec{
		NodeName:   node,
		Containers: []v1.Container{{Resources: v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse(cpu)}}}},
	}}
}

func requested(t *testing.T, s *Snapshot, node string) int64 {
	t.Helper()
	ni, err := s.Get(node)
	if err != nil {
		t.Fatal(err)
	}
	return ni.Requested.MilliCPU
}

func TestAssumeConfirmForget(t *testing.T) {
	tests := []struct {
		name string
		do   func(c *Cache)
		want map[string]int64 // node -> requested milli-cpu
		pods int
	}{
		{name: "assumed pod counts", do: func(c *Cache) { c.AssumePod(makePod("p", "n1", "1")) }, want: map[string]int64{"n1": 1000, "n2": 0}, pods: 1},
		{name: "forget uncounts", do: func(c *Cache) {
			p := makePod("p", "n1", "1")
			c.AssumePod(p)
			c.ForgetPod(p)
		}, want: map[string]int64{"n1": 0, "n2": 0}},
		{name: "confirm replaces the assumed pod", do: func(c *Cache) {
			c.AssumePod(makePod("p", "n1", "1"))
			c.AddPod(makePod("p", "n1", "1"))
		}, want: map[string]int64{"n1": 1000, "n2": 0}, pods: 1},
		{name: "bound elsewhere moves it", do: func(c *Cache) {
			c.AssumePod(makePod("p", "n1", "1"))
			c.AddPod(makePod("p", "n2", "1"))
		}, want: map[string]int64{"n1": 0, "n2": 1000}, pods: 1},
		{name: "forget after confirm is a no-op", do: func(c *Cache) {
			p := makePod("p", "n1", "1")
			c.AssumePod(p)
			c.AddPod(p)
			c.ForgetPod(p)
		}, want: map[string]int64{"n1": 1000, "n2": 0}, pods: 1},
		{name: "remove", do: func(c *Cache) {
			p := makePod("p", "n1", "1")
			c.AddPod(p)
			c.RemovePod(p)
		}, want: map[string]int64{"n1": 0, "n2": 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New()
			c.AddNode(makeNode("n1"))
			c.AddNode(makeNode("n2"))
			s := NewEmptySnapshot()
			c.UpdateSnapshot(s)
			tt.do(c)
			c.UpdateSnapshot(s)
			for node, want := range tt.want {
				if got := requested(t, s, node); got != want {
					t.Errorf("%s requested = %d, want %d", node, got, want)
				}
			}
			if c.PodCount() != tt.pods {
				t.Errorf("pods = %d, want %d", c.PodCount(), tt.pods)
			}
		})
	}
}

func TestAssumeTwiceFails(t *testing.T) {
	c := New()
	c.AddNode(makeNode("n1"))
	p := makePod("p", "n1", "1")
	if err := c.AssumePod(p); err != nil {
		t.Fatal(err)
	}
	if err := c.AssumePod(p); err == nil {
		t.Error("second AssumePod succeeded")
	}
}

func TestSnapshotIsIncrementalAndIsolated(t *testing.T) {
	c := New()
	c.AddNode(makeNode("n1"))
	c.AddNode(makeNode("n2"))
	s := NewEmptySnapshot()
	c.UpdateSnapshot(s)
	if s.NumNodes() != 2 {
		t.Fatalf("nodes = %d", s.NumNodes())
	}
	before, _ := s.Get("n1")
	c.AddPod(makePod("p", "n1", "2"))
	if before.Requested.MilliCPU != 0 {
		t.Error("cache change leaked into the snapshot before UpdateSnapshot")
	}
	c.UpdateSnapshot(s)
	if got := requested(t, s, "n1"); got != 2000 {
		t.Errorf("requested = %d after update", got)
	}
	if s.List()[0] != before {
		t.Error("node info pointer in the list changed; lists must be updated in place")
	}
	c.RemoveNode(makeNode("n2"))
	c.AddNode(makeNode("n3"))
	c.UpdateSnapshot(s)
	var names []string
	for _, ni := range s.List() {
		names = append(names, ni.NodeName())
	}
	if len(names) != 2 || names[0] != "n1" || names[1] != "n3" {
		t.Errorf("nodes = %v, want [n1 n3]", names)
	}
}

// An incrementally updated snapshot must equal one built from scratch,
// whatever order nodes and pods change in.
func TestIncrementalSnapshotMatchesFresh(t *testing.T) {
	c := New()
	s := NewEmptySnapshot()
	rng := rand.New(rand.NewPCG(1, 2))
	var pods []*v1.Pod
	for step := range 2000 {
		node := fmt.Sprintf("n%02d", rng.IntN(20))
		switch op := rng.IntN(6); {
		case op == 0:
			c.AddNode(makeNode(node))
		case op == 1:
			c.RemoveNode(makeNode(node))
		case op <= 3:
			p := makePod(fmt.Sprintf("p%d", step), node, "100m")
			if op == 2 {
				c.AddPod(p)
			} else if c.AssumePod(p) != nil {
				continue
			}
			pods = append(pods, p)
		case len(pods) > 0:
			i := rng.IntN(len(pods))
			if op == 4 {
				c.RemovePod(pods[i])
			} else {
				c.ForgetPod(pods[i])
			}
			pods = slices.Delete(pods, i, i+1)
		}
		if rng.IntN(3) > 0 {
			continue
		}
		c.UpdateSnapshot(s)
		fresh := NewEmptySnapshot()
		c.UpdateSnapshot(fresh)
		if got, want := s.NumNodes(), fresh.NumNodes(); got != want {
			t.Fatalf("step %d: %d nodes, fresh snapshot has %d", step, got, want)
		}
		for i, ni := range fresh.List() {
			got := s.List()[i]
			if got.NodeName() != ni.NodeName() || got.Requested.MilliCPU != ni.Requested.MilliCPU || len(got.Pods) != len(ni.Pods) {
				t.Fatalf("step %d: node %s requested %d with %d pods, fresh snapshot has %s %d with %d",
					step, got.NodeName(), got.Requested.MilliCPU, len(got.Pods), ni.NodeName(), ni.Requested.MilliCPU, len(ni.Pods))
			}
		}
	}
}
