package integration

import (
	"context"
	"net"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"

	"navarch.dev/apiserver/testserver"
	"navarch.dev/controller-manager/pkg/app"
	"navarch.dev/controller-manager/pkg/controller/podgc"
)

func createPodOn(ctx context.Context, t *testing.T, ts *testserver.TestServer, ns, name, node string) {
	t.Helper()
	p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1.PodSpec{NodeName: node, Containers: container()}}
	if _, err := ts.Client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// Pods bound to a node that is deleted are removed; pods of live nodes stay.
func TestPodGCRemovesPodsOfDeletedNodes(t *testing.T) {
	ts := testserver.Start(t)
	const ns = "podgc"
	createNamespace(t, ts.Client, ns)
	ctx := context.Background()
	makeNode(ctx, t, ts.Client, "gone", nil)
	makeNode(ctx, t, ts.Client, "staying", nil)
	createPodOn(ctx, t, ts, ns, "on-gone-1", "gone")
	createPodOn(ctx, t, ts, ns, "on-gone-2", "gone")
	createPodOn(ctx, t, ts, ns, "on-staying", "staying")

	// The collector as the controller-manager wires it, but passing every
	// 100ms instead of every 20s, so the test waits for one pass, not for
	// the period.
	runCtx, cancel := context.WithCancel(ctx)
	factory := informers.NewSharedInformerFactory(ts.Client, 0)
	c := podgc.NewController(ts.Client, factory.Core().V1().Pods(), factory.Core().V1().Nodes(), 0, nil)
	c.Period = 100 * time.Millisecond
	factory.Start(runCtx.Done())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Run(runCtx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		factory.Shutdown()
	})

	if err := ts.Client.CoreV1().Nodes().Delete(ctx, "gone", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "the pods of the deleted node removed", func(ctx context.Context) (bool, error) {
		pods, err := ts.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, p := range pods.Items {
			if p.Spec.NodeName == "gone" {
				return false, nil
			}
		}
		return true, nil
	})
	// Passes ran while "staying" existed: its pod must still be there.
	p, err := ts.Client.CoreV1().Pods(ns).Get(ctx, "on-staying", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("pod of a live node: %v", err)
	}
	if p.DeletionTimestamp != nil {
		t.Errorf("pod of a live node is being deleted")
	}
}

// Every node gets its own block of the cluster CIDR; when the blocks run
// out a node waits, and gets the block a deleted node gave back.
func TestNodeIPAMAllocatesDistinctCIDRs(t *testing.T) {
	ts := testserver.Start(t)
	opts := app.NewOptions().ControllerOptions
	opts.AllocateNodeCIDRs = true
	opts.ClusterCIDR = "10.10.0.0/23" // two /24 blocks
	opts.NodeCIDRMaskSize = 24
	startControllersWith(t, ts, opts, "nodeipam")
	ctx := context.Background()
	_, cluster, err := net.ParseCIDR(opts.ClusterCIDR)
	if err != nil {
		t.Fatal(err)
	}

	podCIDR := func(ctx context.Context, name string) (string, error) {
		n, err := ts.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return "", err
		}
		return n.Spec.PodCIDR, nil
	}
	makeNode(ctx, t, ts.Client, "a", nil)
	makeNode(ctx, t, ts.Client, "b", nil)
	cidrs := map[string]string{}
	poll(t, "podCIDRs on nodes a and b", func(ctx context.Context) (bool, error) {
		for _, name := range []string{"a", "b"} {
			c, err := podCIDR(ctx, name)
			if err != nil || c == "" {
				return false, err
			}
			cidrs[name] = c
		}
		return true, nil
	})
	if cidrs["a"] == cidrs["b"] {
		t.Fatalf("nodes a and b share podCIDR %s", cidrs["a"])
	}
	for name, c := range cidrs {
		ip, block, err := net.ParseCIDR(c)
		if err != nil || !cluster.Contains(ip) || block.String() != c {
			t.Errorf("node %s podCIDR %q is not a block of %s", name, c, cluster)
		}
		if ones, _ := block.Mask.Size(); ones != 24 {
			t.Errorf("node %s podCIDR %s is not a /24", name, c)
		}
		n, err := ts.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(n.Spec.PodCIDRs) != 1 || n.Spec.PodCIDRs[0] != c {
			t.Errorf("node %s podCIDRs = %v, want [%s]", name, n.Spec.PodCIDRs, c)
		}
	}

	// The range is full: c gets nothing, and an event says so.
	makeNode(ctx, t, ts.Client, "c", nil)
	poll(t, "a CIDRNotAvailable event for node c", func(ctx context.Context) (bool, error) {
		events, err := ts.Client.CoreV1().Events(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, e := range events.Items {
			if e.InvolvedObject.Kind == "Node" && e.InvolvedObject.Name == "c" && e.Reason == "CIDRNotAvailable" {
				return true, nil
			}
		}
		return false, nil
	})
	if c, err := podCIDR(ctx, "c"); err != nil || c != "" {
		t.Fatalf("node c podCIDR = %q (err %v) with the range full", c, err)
	}

	if err := ts.Client.CoreV1().Nodes().Delete(ctx, "a", metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	poll(t, "node c given node a's block", func(ctx context.Context) (bool, error) {
		c, err := podCIDR(ctx, "c")
		return c == cidrs["a"], err
	})
}
