package podworker

import (
	"context"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestRelist: a relist enqueues exactly the pods whose containers or
// sandboxes changed since the last one.
func TestRelist(t *testing.T) {
	e := newEnv(t, makePod("a"), makePod("b"))
	e.sync("default/a")
	e.sync("default/b")
	ctx := context.Background()
	seen := e.w.relist(ctx, nil)
	if n := e.w.queue.Len(); n != 0 {
		t.Fatalf("the first relist enqueued %d pods, want none", n)
	}
	seen = e.w.relist(ctx, seen)
	if n := e.w.queue.Len(); n != 0 {
		t.Fatalf("a relist without changes enqueued %d pods", n)
	}
	for _, c := range e.cri.Containers() {
		if c.Labels[LabelPodName] == "b" {
			e.cri.Exit(c.Id, 1, "Error")
		}
	}
	seen = e.w.relist(ctx, seen)
	if n := e.w.queue.Len(); n != 1 {
		t.Fatalf("after b's container exited: %d pods enqueued, want 1", n)
	}
	if k, _ := e.w.queue.Get(); k != "default/b" {
		t.Errorf("enqueued %q, want default/b", k)
	} else {
		e.w.queue.Done(k)
	}
	// A pod whose sandbox is gone is enqueued too.
	for _, sb := range e.cri.Sandboxes() {
		if sb.Metadata.Name == "a" {
			if _, err := e.cri.RemovePodSandbox(ctx, removeReq(sb.Id)); err != nil {
				t.Fatal(err)
			}
		}
	}
	e.w.relist(ctx, seen)
	if k, _ := e.w.queue.Get(); k != "default/a" {
		t.Errorf("after a's sandbox went: enqueued %q, want default/a", k)
	}
}

func removeReq(id string) *runtimeapi.RemovePodSandboxRequest {
	return &runtimeapi.RemovePodSandboxRequest{PodSandboxId: id}
}
