package expectations

import (
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

func TestExpectations(t *testing.T) {
	tests := []struct {
		name    string
		steps   func(e *Expectations, clk *clocktesting.FakeClock)
		satisfy bool
	}{
		{name: "nothing expected", steps: func(*Expectations, *clocktesting.FakeClock) {}, satisfy: true},
		{name: "creations pending", steps: func(e *Expectations, _ *clocktesting.FakeClock) {
			e.ExpectCreations("k", 2)
			e.CreationObserved("k")
		}},
		{name: "creations observed", steps: func(e *Expectations, _ *clocktesting.FakeClock) {
			e.ExpectCreations("k", 2)
			e.CreationObserved("k")
			e.CreationObserved("k")
		}, satisfy: true},
		{name: "a deletion seen twice counts once", steps: func(e *Expectations, _ *clocktesting.FakeClock) {
			e.ExpectDeletionsOf("k", []string{"ns/a", "ns/b"})
			e.DeletionObservedOf("k", "ns/a")
			e.DeletionObservedOf("k", "ns/a")
		}},
		{name: "all deletions observed", steps: func(e *Expectations, _ *clocktesting.FakeClock) {
			e.ExpectDeletionsOf("k", []string{"ns/a", "ns/b"})
			e.DeletionObservedOf("k", "ns/a")
			e.DeletionObservedOf("k", "ns/b")
		}, satisfy: true},
		{name: "counted deletions", steps: func(e *Expectations, _ *clocktesting.FakeClock) {
			e.ExpectDeletions("k", 1)
			e.DeletionObserved("k")
		}, satisfy: true},
		{name: "expired expectations are not trusted", steps: func(e *Expectations, clk *clocktesting.FakeClock) {
			e.ExpectCreations("k", 5)
			clk.Step(ExpirationTimeout + time.Second)
		}, satisfy: true},
		{name: "deleted key", steps: func(e *Expectations, _ *clocktesting.FakeClock) {
			e.ExpectCreations("k", 5)
			e.Delete("k")
		}, satisfy: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clocktesting.NewFakeClock(time.Unix(0, 0))
			e := New(clk)
			tt.steps(e, clk)
			if got := e.Satisfied("k"); got != tt.satisfy {
				t.Errorf("Satisfied = %v, want %v", got, tt.satisfy)
			}
		})
	}
}
