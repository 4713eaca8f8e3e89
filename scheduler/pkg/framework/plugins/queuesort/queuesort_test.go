package queuesort

import (
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"

	"navarch.dev/scheduler/pkg/framework"
)

func queued(prio int32, at time.Time) *framework.QueuedPodInfo {
	p := &v1.Pod{Spec: v1.PodSpec{Priority: &prio}}
	return &framework.QueuedPodInfo{PodInfo: framework.NewPodInfo(p), Timestamp: at}
}

func TestLess(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tests := []struct {
		name string
		a, b *framework.QueuedPodInfo
		want bool
	}{
		{name: "higher priority first", a: queued(10, t0.Add(time.Second)), b: queued(1, t0), want: true},
		{name: "lower priority later", a: queued(1, t0), b: queued(10, t0), want: false},
		{name: "equal priority, earlier first", a: queued(5, t0), b: queued(5, t0.Add(time.Second)), want: true},
		{name: "equal priority, later second", a: queued(5, t0.Add(time.Second)), b: queued(5, t0), want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p framework.QueueSortPlugin = &PrioritySort{}
			if got := p.Less(tt.a, tt.b); got != tt.want {
				t.Errorf("Less = %v, want %v", got, tt.want)
			}
		})
	}
}
