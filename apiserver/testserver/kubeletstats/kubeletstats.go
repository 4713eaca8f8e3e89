// Package kubeletstats is a stand-in kubelet for tests of metrics.k8s.io:
// a TLS server on loopback answering /stats/summary for pods whose
// containers each use a steady CPU rate (their cumulative CPU time grows
// with the clock) and a fixed working set, and a helper registering a Node
// that points the apiserver at it.
package kubeletstats

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Usage is a steady CPU rate in millicores and a working set in bytes.
type Usage struct {
	MilliCPU int64
	Memory   uint64
}

// Container is a container's name and usage.
type Container struct {
	Name string
	Usage
}

// Pod is a pod the kubelet reports.
type Pod struct {
	Name, Namespace, UID string
	Containers           []Container
}

// Kubelet serves /stats/summary.
type Kubelet struct {
	srv   *httptest.Server
	start time.Time
	node  string
	usage Usage

	mu    sync.Mutex
	pods  []Pod
	calls int
}

// Start starts a kubelet for node using usage, stopped when t ends.
func Start(t testing.TB, node string, usage Usage) *Kubelet {
	t.Helper()
	k := &Kubelet{start: time.Now(), node: node, usage: usage}
	k.srv = httptest.NewTLSServer(http.HandlerFunc(k.serve))
	t.Cleanup(k.srv.Close)
	return k
}

// Port is the kubelet's port on 127.0.0.1.
func (k *Kubelet) Port() int32 {
	_, p, _ := net.SplitHostPort(k.srv.Listener.Addr().String())
	n, _ := strconv.Atoi(p)
	return int32(n)
}

// SetPods sets the pods reported from now on.
func (k *Kubelet) SetPods(pods ...Pod) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.pods = pods
}

// Calls is how many summaries have been served.
func (k *Kubelet) Calls() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.calls
}

type cpuStats struct {
	Time                 time.Time `json:"time"`
	UsageCoreNanoSeconds uint64    `json:"usageCoreNanoSeconds"`
}

type memoryStats struct {
	Time            time.Time `json:"time"`
	WorkingSetBytes uint64    `json:"workingSetBytes"`
}

type containerStats struct {
	Name   string      `json:"name"`
	CPU    cpuStats    `json:"cpu"`
	Memory memoryStats `json:"memory"`
}

type podRef struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	UID       string `json:"uid"`
}

type podStats struct {
	PodRef     podRef           `json:"podRef"`
	Containers []containerStats `json:"containers"`
}

type nodeStats struct {
	NodeName string      `json:"nodeName"`
	CPU      cpuStats    `json:"cpu"`
	Memory   memoryStats `json:"memory"`
}

type summary struct {
	Node nodeStats  `json:"node"`
	Pods []podStats `json:"pods"`
}

func (k *Kubelet) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/stats/summary" {
		http.NotFound(w, r)
		return
	}
	k.mu.Lock()
	k.calls++
	pods := k.pods
	k.mu.Unlock()
	now := time.Now()
	elapsed := now.Sub(k.start).Seconds()
	cpu := func(u Usage) cpuStats {
		return cpuStats{Time: now, UsageCoreNanoSeconds: uint64(float64(u.MilliCPU) * 1e6 * elapsed)}
	}
	sum := summary{
		Node: nodeStats{NodeName: k.node, CPU: cpu(k.usage), Memory: memoryStats{Time: now, WorkingSetBytes: k.usage.Memory}},
		Pods: []podStats{},
	}
	for _, p := range pods {
		ps := podStats{PodRef: podRef{Name: p.Name, Namespace: p.Namespace, UID: p.UID}}
		for _, c := range p.Containers {
			ps.Containers = append(ps.Containers, containerStats{Name: c.Name, CPU: cpu(c.Usage), Memory: memoryStats{Time: now, WorkingSetBytes: c.Memory}})
		}
		sum.Pods = append(sum.Pods, ps)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(sum)
}

// RegisterNode creates node name with labels, allocatable (and capacity)
// 4 CPUs and 8Gi, its kubelet at 127.0.0.1:port, and a Ready condition of
// status ready. The node is deleted when t ends.
func RegisterNode(t testing.TB, cs kubernetes.Interface, name string, labels map[string]string, port int32, ready corev1.ConditionStatus) {
	t.Helper()
	ctx := context.Background()
	n, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{}) })
	n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}}
	n.Status.DaemonEndpoints.KubeletEndpoint.Port = port
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: ready, LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}}
	n.Status.Allocatable = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi")}
	n.Status.Capacity = n.Status.Allocatable
	if _, err := cs.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// CreatePod creates a pod bound to node with one container per name and
// returns it.
func CreatePod(t testing.TB, cs kubernetes.Interface, ns, name, node string, labels map[string]string, containers ...string) *corev1.Pod {
	t.Helper()
	var cts []corev1.Container
	for _, c := range containers {
		cts = append(cts, corev1.Container{Name: c, Image: "busybox"})
	}
	p, err := cs.CoreV1().Pods(ns).Create(context.Background(), &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec:       corev1.PodSpec{NodeName: node, Containers: cts},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Near reports whether q is within 15% of milli millicores (rates are
// measured over real time, so they wobble with scheduling).
func Near(q resource.Quantity, milli int64) bool {
	got := q.MilliValue()
	return got >= milli*85/100 && got <= milli*115/100
}
