package admission

import (
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

type opt func(*v1.Pod)

func makePod(name string, opts ...opt) *v1.Pod {
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name)},
		Spec:       v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: "busybox"}}},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func requests(cpu, mem string) opt {
	return func(p *v1.Pod) {
		r := v1.ResourceList{}
		if cpu != "" {
			r[v1.ResourceCPU] = resource.MustParse(cpu)
		}
		if mem != "" {
			r[v1.ResourceMemory] = resource.MustParse(mem)
		}
		p.Spec.Containers[0].Resources.Requests = r
	}
}

func initRequests(cpu string) opt {
	return func(p *v1.Pod) {
		p.Spec.InitContainers = append(p.Spec.InitContainers, v1.Container{Name: "init", Image: "busybox",
			Resources: v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse(cpu)}}})
	}
}

func static(p *v1.Pod) {
	p.Annotations = map[string]string{"kubernetes.io/config.source": "file"}
}

func tolerates(key string) opt {
	return func(p *v1.Pod) {
		p.Spec.Tolerations = append(p.Spec.Tolerations, v1.Toleration{Key: key, Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoSchedule})
	}
}

func pods(n int, opts ...opt) []*v1.Pod {
	var out []*v1.Pod
	for i := 0; i < n; i++ {
		out = append(out, makePod(fmt.Sprintf("p%d", i), opts...))
	}
	return out
}

type pressure struct{ mem, disk, pid bool }

func (p pressure) MemoryPressure() bool { return p.mem }
func (p pressure) DiskPressure() bool   { return p.disk }
func (p pressure) PIDPressure() bool    { return p.pid }

func priority(v int32) opt { return func(p *v1.Pod) { p.Spec.Priority = &v } }

func TestAdmit(t *testing.T) {
	node := v1.ResourceList{
		v1.ResourcePods:   resource.MustParse("3"),
		v1.ResourceCPU:    resource.MustParse("2"),
		v1.ResourceMemory: resource.MustParse("1Gi"),
	}
	tests := []struct {
		name     string
		pod      *v1.Pod
		admitted []*v1.Pod
		pressure pressure
		want     Result
	}{
		{name: "empty node", pod: makePod("new"), want: Result{Admit: true}},
		{name: "last pod slot", pod: makePod("new"), admitted: pods(2), want: Result{Admit: true}},
		{
			name: "max pods reached", pod: makePod("new"), admitted: pods(3),
			want: Result{Reason: "OutOfpods", Message: "Node didn't have enough resource: pods, requested: 1, used: 3, capacity: 3"},
		},
		{
			name: "the pod itself is not counted twice", pod: makePod("p0"), admitted: pods(3),
			want: Result{Admit: true},
		},
		{
			name: "cpu fits exactly", pod: makePod("new", requests("500m", "")), admitted: pods(1, requests("1500m", "")),
			want: Result{Admit: true},
		},
		{
			name: "out of cpu", pod: makePod("new", requests("600m", "")), admitted: pods(2, requests("750m", "")),
			want: Result{Reason: "OutOfcpu", Message: "Node didn't have enough resource: cpu, requested: 600, used: 1500, capacity: 2000"},
		},
		{
			name: "out of memory", pod: makePod("new", requests("", "600Mi")), admitted: pods(1, requests("", "512Mi")),
			want: Result{Reason: "OutOfmemory", Message: "Node didn't have enough resource: memory, requested: 629145600, used: 536870912, capacity: 1073741824"},
		},
		{
			name: "an init container's request counts when it is the biggest", pod: makePod("new", requests("100m", ""), initRequests("1500m")),
			admitted: pods(1, requests("1", "")),
			want:     Result{Reason: "OutOfcpu", Message: "Node didn't have enough resource: cpu, requested: 1500, used: 1000, capacity: 2000"},
		},
		{name: "static pods are always admitted", pod: makePod("new", static), admitted: pods(3), want: Result{Admit: true}},
		{
			name: "memory pressure refuses BestEffort", pod: makePod("new"), pressure: pressure{mem: true},
			want: Result{Reason: "Evicted", Message: "The node had condition: [MemoryPressure]. "},
		},
		{name: "memory pressure admits Burstable", pod: makePod("new", requests("", "10Mi")), pressure: pressure{mem: true}, want: Result{Admit: true}},
		{
			name: "memory pressure admits BestEffort tolerating it", pod: makePod("new", tolerates("node.kubernetes.io/memory-pressure")),
			pressure: pressure{mem: true}, want: Result{Admit: true},
		},
		{
			name: "disk pressure refuses every pod", pod: makePod("new", requests("100m", "10Mi")), pressure: pressure{disk: true},
			want: Result{Reason: "Evicted", Message: "The node had condition: [DiskPressure]. "},
		},
		{
			name: "PID pressure refuses every pod", pod: makePod("new", requests("100m", "10Mi")), pressure: pressure{pid: true},
			want: Result{Reason: "Evicted", Message: "The node had condition: [PIDPressure]. "},
		},
		{
			name: "PID pressure refuses BestEffort pods tolerating memory pressure", pod: makePod("new", tolerates("node.kubernetes.io/memory-pressure")),
			pressure: pressure{pid: true}, want: Result{Reason: "Evicted", Message: "The node had condition: [PIDPressure]. "},
		},
		{
			name: "memory and PID pressure refuse Burstable pods too, naming both", pod: makePod("new", requests("", "10Mi")),
			pressure: pressure{mem: true, pid: true}, want: Result{Reason: "Evicted", Message: "The node had condition: [MemoryPressure PIDPressure]. "},
		},
		{name: "static pods are admitted under PID pressure", pod: makePod("new", static), pressure: pressure{pid: true}, want: Result{Admit: true}},
		{
			name: "system-critical pods are admitted under disk and PID pressure", pod: makePod("new", priority(2_000_001_000)),
			pressure: pressure{disk: true, pid: true}, want: Result{Admit: true},
		},
		{
			name: "a high but not critical priority does not help", pod: makePod("new", priority(1_000_000_000)),
			pressure: pressure{pid: true}, want: Result{Reason: "Evicted", Message: "The node had condition: [PIDPressure]. "},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := New(node, tt.pressure)
			if got := a.Admit(tt.pod, tt.admitted); got != tt.want {
				t.Errorf("Admit = %+v, want %+v", got, tt.want)
			}
		})
	}
}
