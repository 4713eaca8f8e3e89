package nodestatus

import (
	"context"
	"errors"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/record"
)

// drain returns the events recorded so far.
func drain(r *record.FakeRecorder) []string {
	var out []string
	for {
		select {
		case e := <-r.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func sameEvents(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

// TestConditionEvents: registering posts every condition for the first
// time (one event each, as upstream's kubelet does on a new Node); later
// posts record only the conditions whose status changed; a post with no
// change records nothing.
func TestConditionEvents(t *testing.T) {
	client := fake.NewSimpleClientset()
	p := &pressure{}
	var rtErr error
	rec := record.NewFakeRecorder(100)
	rec.IncludeObject = true
	r := New(Config{NodeName: "n1", Hostname: "n1", MaxPods: 110, RootDir: t.TempDir(), Pressure: p, Recorder: rec}, client,
		func(context.Context) (string, error) { return "fakecri://1.0", rtErr })
	ctx := context.Background()
	if _, err := r.Register(ctx); err != nil {
		t.Fatal(err)
	}
	node := " involvedObject{kind=Node,apiVersion=}"
	want := []string{
		"Normal NodeHasSufficientMemory Node n1 status is now: NodeHasSufficientMemory" + node,
		"Normal NodeHasNoDiskPressure Node n1 status is now: NodeHasNoDiskPressure" + node,
		"Normal NodeHasSufficientPID Node n1 status is now: NodeHasSufficientPID" + node,
		"Normal NodeReady Node n1 status is now: NodeReady" + node,
	}
	if got := drain(rec); !sameEvents(got, want) {
		t.Fatalf("events on registration:\n%q\nwant\n%q", got, want)
	}

	post := func() {
		t.Helper()
		last := r.now().Add(-2 * time.Minute) // due for a post
		if err := r.syncStatus(ctx, &last); err != nil {
			t.Fatal(err)
		}
	}
	post()
	if got := drain(rec); len(got) != 0 {
		t.Fatalf("events without a change: %q", got)
	}

	tests := []struct {
		name   string
		change func()
		want   []string
	}{
		{name: "memory and pid pressure", change: func() { p.mem, p.pid = true, true }, want: []string{
			"Normal NodeHasInsufficientMemory Node n1 status is now: NodeHasInsufficientMemory" + node,
			"Normal NodeHasInsufficientPID Node n1 status is now: NodeHasInsufficientPID" + node,
		}},
		{name: "disk pressure", change: func() { p.disk = true }, want: []string{
			"Normal NodeHasDiskPressure Node n1 status is now: NodeHasDiskPressure" + node,
		}},
		{name: "runtime down", change: func() { rtErr = errors.New("connection refused") }, want: []string{
			"Normal NodeNotReady Node n1 status is now: NodeNotReady" + node,
		}},
		{name: "all well again", change: func() { p.mem, p.pid, p.disk, rtErr = false, false, false, nil }, want: []string{
			"Normal NodeHasSufficientMemory Node n1 status is now: NodeHasSufficientMemory" + node,
			"Normal NodeHasNoDiskPressure Node n1 status is now: NodeHasNoDiskPressure" + node,
			"Normal NodeHasSufficientPID Node n1 status is now: NodeHasSufficientPID" + node,
			"Normal NodeReady Node n1 status is now: NodeReady" + node,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.change()
			post()
			if got := drain(rec); !sameEvents(got, tt.want) {
				t.Errorf("events:\n%q\nwant\n%q", got, tt.want)
			}
		})
	}

	// The reference upstream uses for its Node events.
	ref := NodeRef("n1")
	if ref.Kind != "Node" || ref.Name != "n1" || string(ref.UID) != "n1" || ref.Namespace != "" {
		t.Errorf("NodeRef = %+v, want kind Node, name and UID n1", ref)
	}
}
