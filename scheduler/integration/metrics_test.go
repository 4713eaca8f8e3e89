package integration

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"navarch.dev/scheduler/pkg/config"
	"navarch.dev/scheduler/pkg/scheduler"
)

// series renders the gathered metrics named in names as
// `name{label="v",...} value` lines (histograms: their sample count).
func series(t *testing.T, reg *prometheus.Registry, names ...string) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if !want[mf.GetName()] {
			continue
		}
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			sort.Strings(ls)
			key := mf.GetName() + "{" + strings.Join(ls, ",") + "}"
			switch mf.GetType().String() {
			case "COUNTER":
				out[key] = m.GetCounter().GetValue()
			case "GAUGE":
				out[key] = m.GetGauge().GetValue()
			case "HISTOGRAM":
				out[key] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

// TestMetricsAndSchedulingGates: the /metrics series carry upstream's names
// and labels and count what happened; a pod with scheduling gates is left
// alone until its gates are removed.
func TestMetricsAndSchedulingGates(t *testing.T) {
	e := newEnv(t)
	e.createNode(makeNode("n1", "2", "4Gi"))
	reg := prometheus.NewRegistry()
	s, err := scheduler.New(scheduler.Options{Client: e.client, Config: config.Default(), Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("scheduler: %v", err)
		}
	})

	gated := makePod("gated", requests("100m", ""))
	gated.Spec.SchedulingGates = []v1.PodSchedulingGate{{Name: "example.com/wait"}}
	e.createPod(gated)
	e.createPod(makePod("fits", requests("1", "")))
	e.createPod(makePod("too-big", requests("4", "")))
	e.waitBound("default", "fits")
	e.waitUnschedulable("default", "too-big")

	// The series are updated just after the API shows the results: poll.
	want := map[string]float64{
		`scheduler_schedule_attempts_total{profile="default-scheduler",result="scheduled"}`:             1,
		`scheduler_pending_pods{queue="unschedulable"}`:                                                 1,
		`scheduler_pending_pods{queue="active"}`:                                                        0,
		`scheduler_pending_pods{queue="gated"}`:                                                         1,
		`scheduler_e2e_scheduling_duration_seconds{profile="default-scheduler",result="scheduled"}`:     1,
		`scheduler_scheduling_attempt_duration_seconds{profile="default-scheduler",result="scheduled"}`: 1,
		`scheduler_pod_scheduling_sli_duration_seconds{attempts="1"}`:                                   1,
	}
	atLeastOne := []string{
		`scheduler_schedule_attempts_total{profile="default-scheduler",result="unschedulable"}`,
		`scheduler_scheduling_attempt_duration_seconds{profile="default-scheduler",result="unschedulable"}`,
	}
	e.poll("the metrics to count both attempts", func() (bool, error) {
		got := series(t, reg, "scheduler_schedule_attempts_total", "scheduler_pending_pods", "scheduler_e2e_scheduling_duration_seconds",
			"scheduler_scheduling_attempt_duration_seconds", "scheduler_pod_scheduling_sli_duration_seconds")
		for k, v := range want {
			if n, ok := got[k]; !ok || n != v {
				return false, fmt.Errorf("%s = %v, want %v; all: %v", k, n, v, got)
			}
		}
		for _, k := range atLeastOne {
			if got[k] < 1 {
				return false, fmt.Errorf("%s = %v, want >= 1; all: %v", k, got[k], got)
			}
		}
		return true, nil
	})

	// The gated pod was never tried; without its gate it is scheduled.
	p, err := e.client.CoreV1().Pods("default").Get(e.ctx, "gated", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Spec.NodeName != "" || len(e.events("default", "gated", "FailedScheduling")) != 0 {
		t.Fatalf("gated pod was scheduled or tried: node %q", p.Spec.NodeName)
	}
	if _, err := e.client.CoreV1().Pods("default").Patch(e.ctx, "gated", types.JSONPatchType,
		[]byte(`[{"op":"remove","path":"/spec/schedulingGates"}]`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if node := e.waitBound("default", "gated"); node != "n1" {
		t.Errorf("ungated pod bound to %q, want n1", node)
	}
	e.poll("no gated pods counted", func() (bool, error) {
		got := series(t, reg, "scheduler_pending_pods")
		return got[`scheduler_pending_pods{queue="gated"}`] == 0, fmt.Errorf("series %v", got)
	})
}
