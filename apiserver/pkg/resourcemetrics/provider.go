// Package resourcemetrics serves metrics.k8s.io/v1beta1 NodeMetrics and
// PodMetrics, the resource metrics API that `kubectl top` and the
// HorizontalPodAutoscaler read, as metrics-server does: from each Ready
// node's kubelet /stats/summary, CPU as the rate of the cumulative CPU time
// between two scrapes (the window) and memory as the working set.
//
// Scrapes happen on demand: a node's summary is reused for Resolution, so
// windows are about that long under steady use; the first request for a
// node scrapes it twice FirstWindow apart to have a rate at all.
package resourcemetrics

import (
	"context"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"navarch.dev/shared/statsummary"
)

// Source lists the nodes and pods metrics are served for.
type Source interface {
	Nodes(ctx context.Context) ([]*corev1.Node, error)
	// Pods lists the pods of namespace ("" for all namespaces).
	Pods(ctx context.Context, namespace string) ([]*corev1.Pod, error)
}

// Kubelets fetches a node's summary from its kubelet.
type Kubelets interface {
	Summary(ctx context.Context, node *corev1.Node) (*statsummary.Summary, error)
}

// Defaults of Provider.
const (
	DefaultResolution  = 15 * time.Second
	DefaultFirstWindow = time.Second
	scrapeTimeout      = 10 * time.Second
)

// Provider scrapes kubelets and computes usage.
type Provider struct {
	Source   Source
	Kubelets Kubelets
	// Resolution is how long a node's scrape is reused (DefaultResolution when 0).
	Resolution time.Duration
	// FirstWindow is the gap between the two scrapes of a node seen for
	// the first time (DefaultFirstWindow when 0).
	FirstWindow time.Duration

	// now is the clock (time.Now when nil); tests set it.
	now func() time.Time

	mu    sync.Mutex
	nodes map[string]*nodeState
}

func (p *Provider) clock() time.Time {
	if p.now != nil {
		return p.now()
	}
	return time.Now()
}

// scrape is one summary and when it arrived.
type scrape struct {
	at  time.Time
	sum *statsummary.Summary
}

type nodeState struct {
	mu        sync.Mutex
	prev, cur *scrape
}

// usage is what one node or container used over a window ending at ts.
type usage struct {
	ts     time.Time
	window time.Duration
	cpu    resource.Quantity
	memory resource.Quantity
}

func (p *Provider) resolution() time.Duration {
	if p.Resolution > 0 {
		return p.Resolution
	}
	return DefaultResolution
}

func (p *Provider) firstWindow() time.Duration {
	if p.FirstWindow > 0 {
		return p.FirstWindow
	}
	return DefaultFirstWindow
}

// nodeReady reports whether the node's Ready condition is True.
func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// scrapes refreshes and returns the last two scrapes of each Ready node
// (by node name) whose kubelet answered.
func (p *Provider) scrapes(ctx context.Context, nodes []*corev1.Node) map[string][2]*scrape {
	p.mu.Lock()
	if p.nodes == nil {
		p.nodes = map[string]*nodeState{}
	}
	present := map[string]bool{}
	var ready []*corev1.Node
	var states []*nodeState
	for _, n := range nodes {
		present[n.Name] = true
		if !nodeReady(n) {
			continue
		}
		st := p.nodes[n.Name]
		if st == nil {
			st = &nodeState{}
			p.nodes[n.Name] = st
		}
		ready = append(ready, n)
		states = append(states, st)
	}
	for name := range p.nodes {
		if !present[name] {
			delete(p.nodes, name)
		}
	}
	p.mu.Unlock()

	out := make([][2]*scrape, len(ready))
	var wg sync.WaitGroup
	for i := range ready {
		wg.Add(1)
		go func() {
			defer wg.Done()
			prev, cur, err := p.refresh(ctx, ready[i], states[i])
			if err != nil {
				slog.Debug("resource metrics: scrape kubelet", "node", ready[i].Name, "err", err)
				return
			}
			out[i] = [2]*scrape{prev, cur}
		}()
	}
	wg.Wait()
	res := map[string][2]*scrape{}
	for i, n := range ready {
		if out[i][1] != nil {
			res[n.Name] = out[i]
		}
	}
	return res
}

// refresh scrapes the node unless its last scrape is younger than the
// resolution, and returns the previous and current scrapes.
func (p *Provider) refresh(ctx context.Context, n *corev1.Node, st *nodeState) (*scrape, *scrape, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.cur != nil && p.clock().Sub(st.cur.at) < p.resolution() {
		return st.prev, st.cur, nil
	}
	s, err := p.fetch(ctx, n)
	if err != nil {
		// Old numbers would pass for current ones: forget them.
		st.prev, st.cur = nil, nil
		return nil, nil, err
	}
	if st.cur == nil {
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-time.After(p.firstWindow()):
		}
		first := s
		if s, err = p.fetch(ctx, n); err != nil {
			return nil, nil, err
		}
		st.cur = first
	}
	st.prev, st.cur = st.cur, s
	return st.prev, st.cur, nil
}

func (p *Provider) fetch(ctx context.Context, n *corev1.Node) (*scrape, error) {
	ctx, cancel := context.WithTimeout(ctx, scrapeTimeout)
	defer cancel()
	sum, err := p.Kubelets.Summary(ctx, n)
	if err != nil {
		return nil, err
	}
	return &scrape{at: p.clock(), sum: sum}, nil
}

// cpuUsage is the CPU rate between two samples of cumulative CPU time,
// taken at the scrape times; ok is false without two good samples.
func cpuUsage(prev, cur *statsummary.CPUStats, prevAt, curAt time.Time) (resource.Quantity, time.Duration, bool) {
	if prev == nil || cur == nil || prev.UsageCoreNanoSeconds == nil || cur.UsageCoreNanoSeconds == nil {
		return resource.Quantity{}, 0, false
	}
	window := curAt.Sub(prevAt)
	p, c := *prev.UsageCoreNanoSeconds, *cur.UsageCoreNanoSeconds
	if window <= 0 || c < p {
		// A restarted container starts its count again.
		return resource.Quantity{}, 0, false
	}
	rate := float64(c-p) / window.Seconds()
	return *resource.NewScaledQuantity(int64(rate), resource.Nano), window, true
}

func memoryUsage(m *statsummary.MemoryStats) (resource.Quantity, bool) {
	if m == nil || m.WorkingSetBytes == nil {
		return resource.Quantity{}, false
	}
	return *resource.NewQuantity(int64(*m.WorkingSetBytes), resource.BinarySI), true
}

// nodeUsage is a node's usage between its two scrapes.
func nodeUsage(s [2]*scrape) (usage, bool) {
	prev, cur := s[0], s[1]
	if prev == nil || cur == nil {
		return usage{}, false
	}
	cpu, window, ok := cpuUsage(prev.sum.Node.CPU, cur.sum.Node.CPU, prev.at, cur.at)
	if !ok {
		return usage{}, false
	}
	mem, ok := memoryUsage(cur.sum.Node.Memory)
	if !ok {
		return usage{}, false
	}
	return usage{ts: cur.at, window: window, cpu: cpu, memory: mem}, true
}

// containerUsage is the usage of each container of pod uid between the
// node's two scrapes, in the order of the current summary; ok is false when
// the pod is not in both scrapes or a container lacks numbers.
func containerUsage(s [2]*scrape, uid string) ([]string, []usage, bool) {
	prev, cur := s[0], s[1]
	if prev == nil || cur == nil {
		return nil, nil, false
	}
	find := func(sum *statsummary.Summary) *statsummary.PodStats {
		for i := range sum.Pods {
			if sum.Pods[i].PodRef.UID == uid {
				return &sum.Pods[i]
			}
		}
		return nil
	}
	pp, cp := find(prev.sum), find(cur.sum)
	if pp == nil || cp == nil || len(cp.Containers) == 0 {
		return nil, nil, false
	}
	before := latestByName(pp.Containers)
	now := latestByName(cp.Containers)
	var names []string
	var out []usage
	for _, c := range cp.Containers {
		if now[c.Name] != c {
			// An older instance of a restarted container.
			continue
		}
		var was *statsummary.CPUStats
		if b, ok := before[c.Name]; ok {
			was = b.CPU
		}
		cpu, window, ok := cpuUsage(was, c.CPU, prev.at, cur.at)
		if !ok {
			return nil, nil, false
		}
		mem, ok := memoryUsage(c.Memory)
		if !ok {
			return nil, nil, false
		}
		names = append(names, c.Name)
		out = append(out, usage{ts: cur.at, window: window, cpu: cpu, memory: mem})
	}
	return names, out, true
}

// latestByName picks, for each container name, the instance with the
// newest CPU sample: a summary may list a restarted container's exited
// instance beside the running one.
func latestByName(cs []statsummary.ContainerStats) map[string]statsummary.ContainerStats {
	out := map[string]statsummary.ContainerStats{}
	for _, c := range cs {
		o, seen := out[c.Name]
		if !seen || (c.CPU != nil && (o.CPU == nil || !c.CPU.Time.Before(&o.CPU.Time))) {
			out[c.Name] = c
		}
	}
	return out
}
