package tables

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Tiny constructors for pod fixtures.

func makePod(name string, opts ...func(*corev1.Pod)) *corev1.Pod {
	pod := &corev1.Pod{ObjectMeta: objectMeta(name), Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	for _, o := range opts {
		o(pod)
	}
	return pod
}

func containers(names ...string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		for _, n := range names {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: n, Image: n + ":1"})
		}
	}
}

func initContainers(names ...string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		for _, n := range names {
			p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: n})
		}
	}
}

func sidecar(name string) func(*corev1.Pod) {
	always := corev1.ContainerRestartPolicyAlways
	return func(p *corev1.Pod) {
		p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: name, RestartPolicy: &always})
	}
}

func phase(ph corev1.PodPhase) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Status.Phase = ph }
}

func reason(r string) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Status.Reason = r }
}

func condition(t corev1.PodConditionType, s corev1.ConditionStatus, reason string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: t, Status: s, Reason: reason})
	}
}

func deleting() func(*corev1.Pod) {
	return func(p *corev1.Pod) { t := ago(time.Second); p.DeletionTimestamp = &t }
}

func status(statuses ...corev1.ContainerStatus) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, statuses...) }
}

func initStatus(statuses ...corev1.ContainerStatus) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.InitContainerStatuses = append(p.Status.InitContainerStatuses, statuses...)
	}
}

func runningReady(name string) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
}

func runningNotReady(name string) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
}

func waiting(name, reason string) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}}
}

func terminated(name, reason string, exitCode, signal int32) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: reason, ExitCode: exitCode, Signal: signal}}}
}

// restarted adds restarts to a status, the last one ending lastExit ago.
func restarted(cs corev1.ContainerStatus, count int32, lastExit time.Duration) corev1.ContainerStatus {
	cs.RestartCount = count
	cs.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ExitCode: 1, FinishedAt: ago(lastExit)}
	return cs
}

func started(cs corev1.ContainerStatus) corev1.ContainerStatus {
	cs.Started = boolPtr(true)
	return cs
}

func TestPodCells(t *testing.T) {
	tests := []struct {
		name string
		pod  *corev1.Pod
		want map[string]interface{}
	}{
		{
			name: "running and ready",
			pod:  makePod("web-1", containers("app"), status(runningReady("app"))),
			want: map[string]interface{}{"NAME": "web-1", "READY": "1/1", "STATUS": "Running", "RESTARTS": "0", "AGE": "10m"},
		},
		{
			name: "one of two containers ready",
			pod:  makePod("web-1", containers("app", "proxy"), status(runningReady("app"), runningNotReady("proxy"))),
			want: map[string]interface{}{"READY": "1/2", "STATUS": "Running"},
		},
		{
			name: "pending, not scheduled",
			pod:  makePod("web-1", containers("app"), phase(corev1.PodPending)),
			want: map[string]interface{}{"READY": "0/1", "STATUS": "Pending", "NODE": "<none>", "IP": "<none>"},
		},
		{
			name: "scheduling gated",
			pod:  makePod("web-1", containers("app"), phase(corev1.PodPending), condition(corev1.PodScheduled, corev1.ConditionFalse, "SchedulingGated")),
			want: map[string]interface{}{"STATUS": "SchedulingGated"},
		},
		{
			name: "container creating",
			pod:  makePod("web-1", containers("app"), phase(corev1.PodPending), status(waiting("app", "ContainerCreating"))),
			want: map[string]interface{}{"READY": "0/1", "STATUS": "ContainerCreating"},
		},
		{
			name: "crash loop with restarts",
			pod:  makePod("web-1", containers("app"), status(restarted(waiting("app", "CrashLoopBackOff"), 2, 5*time.Minute))),
			want: map[string]interface{}{"READY": "0/1", "STATUS": "CrashLoopBackOff", "RESTARTS": "2 (5m ago)"},
		},
		{
			name: "restarts without a recorded termination",
			pod: makePod("web-1", containers("app"), status(func() corev1.ContainerStatus {
				cs := runningReady("app")
				cs.RestartCount = 3
				return cs
			}())),
			want: map[string]interface{}{"RESTARTS": "3"},
		},
		{
			name: "restarts summed over containers, latest termination shown",
			pod: makePod("web-1", containers("app", "proxy"), status(
				restarted(runningReady("app"), 1, time.Hour),
				restarted(runningReady("proxy"), 4, 90*time.Second),
			)),
			want: map[string]interface{}{"READY": "2/2", "STATUS": "Running", "RESTARTS": "5 (90s ago)"},
		},
		{
			name: "first container's reason wins",
			pod:  makePod("web-1", containers("app", "proxy"), status(waiting("app", "ImagePullBackOff"), waiting("proxy", "ErrImagePull"))),
			want: map[string]interface{}{"STATUS": "ImagePullBackOff"},
		},
		{
			name: "completed",
			pod:  makePod("job-1", containers("app"), phase(corev1.PodSucceeded), status(terminated("app", "Completed", 0, 0))),
			want: map[string]interface{}{"READY": "0/1", "STATUS": "Completed"},
		},
		{
			name: "error",
			pod:  makePod("job-1", containers("app"), phase(corev1.PodFailed), status(terminated("app", "Error", 1, 0))),
			want: map[string]interface{}{"STATUS": "Error"},
		},
		{
			name: "terminated without reason, by exit code",
			pod:  makePod("job-1", containers("app"), phase(corev1.PodFailed), status(terminated("app", "", 137, 0))),
			want: map[string]interface{}{"STATUS": "ExitCode:137"},
		},
		{
			name: "terminated without reason, by signal",
			pod:  makePod("job-1", containers("app"), phase(corev1.PodFailed), status(terminated("app", "", 0, 9))),
			want: map[string]interface{}{"STATUS": "Signal:9"},
		},
		{
			name: "one container completed while another runs, pod ready",
			pod: makePod("web-1", containers("app", "setup"), condition(corev1.PodReady, corev1.ConditionTrue, ""),
				status(runningReady("app"), terminated("setup", "Completed", 0, 0))),
			want: map[string]interface{}{"READY": "1/2", "STATUS": "Running"},
		},
		{
			name: "one container completed while another runs, pod not ready",
			pod: makePod("web-1", containers("app", "setup"), condition(corev1.PodReady, corev1.ConditionFalse, ""),
				status(runningReady("app"), terminated("setup", "Completed", 0, 0))),
			want: map[string]interface{}{"STATUS": "NotReady"},
		},
		{
			name: "evicted",
			pod:  makePod("web-1", containers("app"), phase(corev1.PodFailed), reason("Evicted")),
			want: map[string]interface{}{"STATUS": "Evicted"},
		},
		{
			name: "init container running",
			pod: makePod("web-1", containers("app"), initContainers("migrate", "seed"), phase(corev1.PodPending),
				initStatus(runningNotReady("migrate"), waiting("seed", "PodInitializing")), status(waiting("app", "PodInitializing"))),
			want: map[string]interface{}{"READY": "0/1", "STATUS": "Init:0/2"},
		},
		{
			name: "second init container running",
			pod: makePod("web-1", containers("app"), initContainers("migrate", "seed"), phase(corev1.PodPending),
				initStatus(terminated("migrate", "Completed", 0, 0), runningNotReady("seed"))),
			want: map[string]interface{}{"STATUS": "Init:1/2"},
		},
		{
			name: "init container crash looping",
			pod: makePod("web-1", containers("app"), initContainers("migrate"), phase(corev1.PodPending),
				initStatus(restarted(waiting("migrate", "CrashLoopBackOff"), 3, 2*time.Minute))),
			want: map[string]interface{}{"STATUS": "Init:CrashLoopBackOff", "RESTARTS": "3 (2m ago)"},
		},
		{
			name: "init container failed with reason",
			pod: makePod("web-1", containers("app"), initContainers("migrate"), phase(corev1.PodPending),
				initStatus(terminated("migrate", "Error", 1, 0))),
			want: map[string]interface{}{"STATUS": "Init:Error"},
		},
		{
			name: "init container failed by exit code",
			pod: makePod("web-1", containers("app"), initContainers("migrate"), phase(corev1.PodPending),
				initStatus(terminated("migrate", "", 2, 0))),
			want: map[string]interface{}{"STATUS": "Init:ExitCode:2"},
		},
		{
			name: "init container failed by signal",
			pod: makePod("web-1", containers("app"), initContainers("migrate"), phase(corev1.PodPending),
				initStatus(terminated("migrate", "", 143, 15))),
			want: map[string]interface{}{"STATUS": "Init:Signal:15"},
		},
		{
			name: "restarts of finished init containers no longer count",
			pod: makePod("web-1", containers("app"), initContainers("migrate"),
				initStatus(restarted(terminated("migrate", "Completed", 0, 0), 2, time.Hour)),
				status(runningReady("app"))),
			want: map[string]interface{}{"READY": "1/1", "STATUS": "Running", "RESTARTS": "0"},
		},
		{
			name: "running sidecar counts as a ready container",
			pod: makePod("web-1", containers("app"), sidecar("mesh"), condition(corev1.PodInitialized, corev1.ConditionTrue, ""),
				initStatus(started(runningReady("mesh"))), status(runningReady("app"))),
			want: map[string]interface{}{"READY": "2/2", "STATUS": "Running"},
		},
		{
			name: "sidecar restarts still count",
			pod: makePod("web-1", containers("app"), sidecar("mesh"), condition(corev1.PodInitialized, corev1.ConditionTrue, ""),
				initStatus(restarted(started(runningReady("mesh")), 1, 3*time.Minute)), status(runningReady("app"))),
			want: map[string]interface{}{"READY": "2/2", "RESTARTS": "1 (3m ago)"},
		},
		{
			name: "sidecar not started yet holds up initialization",
			pod: makePod("web-1", containers("app"), sidecar("mesh"), phase(corev1.PodPending),
				initStatus(runningNotReady("mesh"))),
			want: map[string]interface{}{"READY": "0/2", "STATUS": "Init:0/1"},
		},
		{
			name: "terminating",
			pod:  makePod("web-1", containers("app"), deleting(), status(runningReady("app"))),
			want: map[string]interface{}{"STATUS": "Terminating"},
		},
		{
			name: "deleted after completion stays completed",
			pod:  makePod("job-1", containers("app"), phase(corev1.PodSucceeded), deleting(), status(terminated("app", "Completed", 0, 0))),
			want: map[string]interface{}{"STATUS": "Completed"},
		},
		{
			name: "deleted on a lost node",
			pod:  makePod("web-1", containers("app"), reason("NodeLost"), deleting(), status(runningReady("app"))),
			want: map[string]interface{}{"STATUS": "Unknown"},
		},
		{
			name: "wide columns",
			pod: makePod("web-1", containers("app"), status(runningReady("app")), func(p *corev1.Pod) {
				p.Spec.NodeName = "node-a"
				p.Status.NominatedNodeName = "node-b"
				p.Status.PodIPs = []corev1.PodIP{{IP: "10.0.0.5"}, {IP: "fd00::5"}}
			}),
			want: map[string]interface{}{"IP": "10.0.0.5", "NODE": "node-a", "NOMINATED NODE": "node-b", "READINESS GATES": "<none>"},
		},
		{
			name: "podIP wins over podIPs",
			pod: makePod("web-1", func(p *corev1.Pod) {
				p.Status.PodIP = "10.0.0.7"
				p.Status.PodIPs = []corev1.PodIP{{IP: "10.0.0.5"}}
			}),
			want: map[string]interface{}{"IP": "10.0.0.7", "NOMINATED NODE": "<none>"},
		},
		{
			name: "readiness gates",
			pod: makePod("web-1", containers("app"), condition("example.com/lb", corev1.ConditionTrue, ""), condition("example.com/dns", corev1.ConditionFalse, ""), func(p *corev1.Pod) {
				p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/lb"}, {ConditionType: "example.com/dns"}, {ConditionType: "example.com/fw"}}
			}),
			want: map[string]interface{}{"READINESS GATES": "1/3"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assertCells(t, row(t, tc.pod), tc.want)
		})
	}
}

func TestPodRowConditions(t *testing.T) {
	tests := []struct {
		name        string
		phase       corev1.PodPhase
		wantReason  string
		wantMessage string
	}{
		{"running", corev1.PodRunning, "", ""},
		{"succeeded", corev1.PodSucceeded, "Succeeded", "The pod has completed successfully."},
		{"failed", corev1.PodFailed, "Failed", "The pod failed."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Row(makePod("p", phase(tc.phase)), now)
			if err != nil {
				t.Fatalf("Row: %v", err)
			}
			if tc.wantReason == "" {
				if len(r.Conditions) != 0 {
					t.Errorf("conditions %v, want none", r.Conditions)
				}
				return
			}
			want := metav1.TableRowCondition{Type: metav1.RowCompleted, Status: metav1.ConditionTrue, Reason: tc.wantReason, Message: tc.wantMessage}
			if len(r.Conditions) != 1 || r.Conditions[0] != want {
				t.Errorf("conditions %v, want [%v]", r.Conditions, want)
			}
		})
	}
}
