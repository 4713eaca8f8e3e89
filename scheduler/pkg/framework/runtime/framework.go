// Package runtime builds a framework (the ordered plugin lists of one
// profile) from the plugin registry and a config.Profile, and runs the
// extension points.
package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	goruntime "runtime"
	"slices"
	"sync"

	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"

	"navarch.dev/scheduler/pkg/config"
	"navarch.dev/scheduler/pkg/framework"
)

// Factory builds a plugin from its (possibly empty) args.
type Factory func(args json.RawMessage, h framework.Handle) (framework.Plugin, error)

// Registry maps plugin names to factories.
type Registry map[string]Factory

// DefaultPlugin is one entry of the default plugin list.
type DefaultPlugin struct {
	Name   string
	Weight int32
}

// Options are what a framework needs besides its profile.
type Options struct {
	Registry        Registry
	Defaults        []DefaultPlugin
	Client          kubernetes.Interface
	InformerFactory informers.SharedInformerFactory
	Recorder        record.EventRecorder
	Snapshot        framework.NodeInfoLister
	Parallelism     int
	// Nominated returns pods nominated to a node (the queue's nominator).
	Nominated func(nodeName string) []*framework.PodInfo
}

// Framework runs the plugins of one profile.
type Framework struct {
	profile      string
	opts         Options
	queueSort    framework.QueueSortPlugin
	preFilter    []framework.PreFilterPlugin
	filter       []framework.FilterPlugin
	postFilter   []framework.PostFilterPlugin
	preScore     []framework.PreScorePlugin
	score        []framework.ScorePlugin
	scoreWeights []int64
	reserve      []framework.ReservePlugin
	preBind      []framework.PreBindPlugin
	bind         []framework.BindPlugin
	plugins      map[string]framework.Plugin
}

var _ framework.Handle = (*Framework)(nil)

type point struct {
	name    string
	set     func(p *config.Plugins) config.PluginSet
	matches func(framework.Plugin) bool
	add     func(f *Framework, p framework.Plugin, weight int32)
}

var points = []point{
	{"QueueSort", func(p *config.Plugins) config.PluginSet { return p.QueueSort }, is[framework.QueueSortPlugin],
		func(f *Framework, p framework.Plugin, _ int32) { f.queueSort = p.(framework.QueueSortPlugin) }},
	{"PreFilter", func(p *config.Plugins) config.PluginSet { return p.PreFilter }, is[framework.PreFilterPlugin],
		func(f *Framework, p framework.Plugin, _ int32) {
			f.preFilter = append(f.preFilter, p.(framework.PreFilterPlugin))
		}},
	{"Filter", func(p *config.Plugins) config.PluginSet { return p.Filter }, is[framework.FilterPlugin],
		func(f *Framework, p framework.Plugin, _ int32) {
			f.filter = append(f.filter, p.(framework.FilterPlugin))
		}},
	{"PostFilter", func(p *config.Plugins) config.PluginSet { return p.PostFilter }, is[framework.PostFilterPlugin],
		func(f *Framework, p framework.Plugin, _ int32) {
			f.postFilter = append(f.postFilter, p.(framework.PostFilterPlugin))
		}},
	{"PreScore", func(p *config.Plugins) config.PluginSet { return p.PreScore }, is[framework.PreScorePlugin],
		func(f *Framework, p framework.Plugin, _ int32) {
			f.preScore = append(f.preScore, p.(framework.PreScorePlugin))
		}},
	{"Score", func(p *config.Plugins) config.PluginSet { return p.Score }, is[framework.ScorePlugin],
		func(f *Framework, p framework.Plugin, w int32) {
			if w == 0 {
				w = 1
			}
			f.score = append(f.score, p.(framework.ScorePlugin))
			f.scoreWeights = append(f.scoreWeights, int64(w))
		}},
	{"Reserve", func(p *config.Plugins) config.PluginSet { return p.Reserve }, is[framework.ReservePlugin],
		func(f *Framework, p framework.Plugin, _ int32) {
			f.reserve = append(f.reserve, p.(framework.ReservePlugin))
		}},
	{"PreBind", func(p *config.Plugins) config.PluginSet { return p.PreBind }, is[framework.PreBindPlugin],
		func(f *Framework, p framework.Plugin, _ int32) {
			f.preBind = append(f.preBind, p.(framework.PreBindPlugin))
		}},
	{"Bind", func(p *config.Plugins) config.PluginSet { return p.Bind }, is[framework.BindPlugin],
		func(f *Framework, p framework.Plugin, _ int32) { f.bind = append(f.bind, p.(framework.BindPlugin)) }},
}

func is[T any](p framework.Plugin) bool { _, ok := p.(T); return ok }

func disables(set config.PluginSet, name string) bool {
	for _, d := range set.Disabled {
		if d.Name == "*" || d.Name == name {
			return true
		}
	}
	return false
}

// New builds the framework of profile: the default plugins (minus
// multiPoint.disabled, plus multiPoint.enabled) at every extension point
// they implement, then per point its disabled removed and enabled added.
func New(profile config.Profile, opts Options) (*Framework, error) {
	f := &Framework{profile: profile.SchedulerName, opts: opts, plugins: map[string]framework.Plugin{}}
	if f.opts.Parallelism <= 0 {
		f.opts.Parallelism = 16
	}
	plugins := profile.Plugins
	if plugins == nil {
		plugins = &config.Plugins{}
	}
	var multi []config.Plugin
	for _, d := range opts.Defaults {
		if !disables(plugins.MultiPoint, d.Name) {
			multi = append(multi, config.Plugin{Name: d.Name, Weight: d.Weight})
		}
	}
	for _, e := range plugins.MultiPoint.Enabled {
		if i := slices.IndexFunc(multi, func(p config.Plugin) bool { return p.Name == e.Name }); i >= 0 {
			multi[i] = e
		} else {
			multi = append(multi, e)
		}
	}
	args := map[string]json.RawMessage{}
	for _, pc := range profile.PluginConfig {
		args[pc.Name] = pc.Args
	}
	get := func(name string) (framework.Plugin, error) {
		if p, ok := f.plugins[name]; ok {
			return p, nil
		}
		factory, ok := opts.Registry[name]
		if !ok {
			return nil, fmt.Errorf("profile %q: plugin %q is not registered", profile.SchedulerName, name)
		}
		p, err := factory(args[name], f)
		if err != nil {
			return nil, fmt.Errorf("profile %q: plugin %q: %w", profile.SchedulerName, name, err)
		}
		f.plugins[name] = p
		return p, nil
	}
	for _, pt := range points {
		set := pt.set(plugins)
		var list []config.Plugin
		for _, m := range multi {
			if disables(set, m.Name) {
				continue
			}
			p, err := get(m.Name)
			if err != nil {
				return nil, err
			}
			if pt.matches(p) {
				list = append(list, m)
			}
		}
		for _, e := range set.Enabled {
			p, err := get(e.Name)
			if err != nil {
				return nil, err
			}
			if !pt.matches(p) {
				return nil, fmt.Errorf("profile %q: plugin %q does not extend %s", profile.SchedulerName, e.Name, pt.name)
			}
			if i := slices.IndexFunc(list, func(x config.Plugin) bool { return x.Name == e.Name }); i >= 0 {
				list[i] = e
			} else {
				list = append(list, e)
			}
		}
		for _, e := range list {
			pt.add(f, f.plugins[e.Name], e.Weight)
		}
	}
	if f.queueSort == nil {
		return nil, fmt.Errorf("profile %q: no QueueSort plugin", profile.SchedulerName)
	}
	if len(f.bind) == 0 {
		return nil, fmt.Errorf("profile %q: no Bind plugin", profile.SchedulerName)
	}
	return f, nil
}

// ProfileName is the scheduler name the framework serves.
func (f *Framework) ProfileName() string { return f.profile }

// QueueSortLess orders the queue.
func (f *Framework) QueueSortLess(a, b *framework.QueuedPodInfo) bool { return f.queueSort.Less(a, b) }

// ScorePluginNames lists the score plugins in order, as RunScorePlugins
// reports them.
func (f *Framework) ScorePluginNames() []string {
	names := make([]string, len(f.score))
	for i, p := range f.score {
		names[i] = p.Name()
	}
	return names
}

// Plugins returns every instantiated plugin by name.
func (f *Framework) Plugins() map[string]framework.Plugin { return f.plugins }

// HasPostFilter reports whether a PostFilter plugin is enabled.
func (f *Framework) HasPostFilter() bool { return len(f.postFilter) > 0 }

// Handle methods.

// SnapshotNodeInfos implements framework.Handle.
func (f *Framework) SnapshotNodeInfos() framework.NodeInfoLister { return f.opts.Snapshot }

// ClientSet implements framework.Handle.
func (f *Framework) ClientSet() kubernetes.Interface { return f.opts.Client }

// SharedInformerFactory implements framework.Handle.
func (f *Framework) SharedInformerFactory() informers.SharedInformerFactory {
	return f.opts.InformerFactory
}

// EventRecorder implements framework.Handle.
func (f *Framework) EventRecorder() record.EventRecorder { return f.opts.Recorder }

// Parallelize implements framework.Handle. The work is CPU-bound, so it
// uses at most one worker per CPU (and at most the configured
// parallelism): more workers only add wake-ups.
func (f *Framework) Parallelize(ctx context.Context, pieces int, do func(i int)) {
	workers := min(f.opts.Parallelism, goruntime.GOMAXPROCS(0))
	chunk := 1
	if r := pieces / (workers * 4); r > 1 {
		chunk = r
	}
	workqueue.ParallelizeUntil(ctx, workers, pieces, do, workqueue.WithChunkSize(chunk))
}

// NominatedPodsForNode implements framework.Handle.
func (f *Framework) NominatedPodsForNode(nodeName string) []*framework.PodInfo {
	if f.opts.Nominated == nil {
		return nil
	}
	return f.opts.Nominated(nodeName)
}

// RunPreFilterPlugins runs every PreFilter. It returns the first
// rejection or error; plugins returning Skip are recorded in the state.
func (f *Framework) RunPreFilterPlugins(ctx context.Context, state *framework.CycleState, pod *v1.Pod, nodes []*framework.NodeInfo) *framework.Status {
	skip := map[string]bool{}
	for _, p := range f.preFilter {
		s := p.PreFilter(ctx, state, pod, nodes)
		if s.IsSkip() {
			skip[p.Name()] = true
			continue
		}
		if !s.IsSuccess() {
			if s.Code() == framework.Error {
				return framework.AsStatus(fmt.Errorf("running PreFilter plugin %q: %w", p.Name(), s.AsError())).WithPlugin(p.Name())
			}
			return s.WithPlugin(p.Name())
		}
	}
	state.SkipFilterPlugins = skip
	filters := make([]framework.FilterPlugin, 0, len(f.filter))
	for _, p := range f.filter {
		if !skip[p.Name()] {
			filters = append(filters, p)
		}
	}
	state.Filters = filters
	return nil
}

// RunPreFilterExtensionAddPod implements framework.PreemptionHandle.
func (f *Framework) RunPreFilterExtensionAddPod(ctx context.Context, state *framework.CycleState, pod *v1.Pod, add *framework.PodInfo, ni *framework.NodeInfo) *framework.Status {
	for _, p := range f.preFilter {
		if state.SkipFilterPlugins[p.Name()] || p.PreFilterExtensions() == nil {
			continue
		}
		if s := p.PreFilterExtensions().AddPod(ctx, state, pod, add, ni); !s.IsSuccess() {
			return s.WithPlugin(p.Name())
		}
	}
	return nil
}

// RunPreFilterExtensionRemovePod implements framework.PreemptionHandle.
func (f *Framework) RunPreFilterExtensionRemovePod(ctx context.Context, state *framework.CycleState, pod *v1.Pod, rm *framework.PodInfo, ni *framework.NodeInfo) *framework.Status {
	for _, p := range f.preFilter {
		if state.SkipFilterPlugins[p.Name()] || p.PreFilterExtensions() == nil {
			continue
		}
		if s := p.PreFilterExtensions().RemovePod(ctx, state, pod, rm, ni); !s.IsSuccess() {
			return s.WithPlugin(p.Name())
		}
	}
	return nil
}

// RunFilterPlugins runs the filters on one node and returns the first
// non-success, tagged with its plugin.
func (f *Framework) RunFilterPlugins(ctx context.Context, state *framework.CycleState, pod *v1.Pod, ni *framework.NodeInfo) *framework.Status {
	filters := state.Filters
	if filters == nil {
		// PreFilter did not run through RunPreFilterPlugins.
		for _, p := range f.filter {
			if !state.SkipFilterPlugins[p.Name()] {
				filters = append(filters, p)
			}
		}
	}
	for _, p := range filters {
		if s := p.Filter(ctx, state, pod, ni); !s.IsSuccess() {
			if s.Code() == framework.Error {
				return framework.AsStatus(fmt.Errorf("running %q filter plugin: %w", p.Name(), s.AsError())).WithPlugin(p.Name())
			}
			return s.WithPlugin(p.Name())
		}
	}
	return nil
}

// RunFilterPluginsWithNominatedPods runs the filters with the pods
// nominated to the node at the pod's priority or above counted on it, so a
// pod does not take room that preemption freed for another.
func (f *Framework) RunFilterPluginsWithNominatedPods(ctx context.Context, state *framework.CycleState, pod *v1.Pod, ni *framework.NodeInfo) *framework.Status {
	nominated := f.NominatedPodsForNode(ni.NodeName())
	if len(nominated) == 0 {
		return f.RunFilterPlugins(ctx, state, pod, ni)
	}
	prio := framework.PodPriority(pod)
	var clone *framework.NodeInfo
	stateWith := state
	for _, np := range nominated {
		if np.Pod.UID == pod.UID || framework.PodPriority(np.Pod) < prio {
			continue
		}
		if clone == nil {
			clone = ni.Snapshot()
			stateWith = state.Clone()
		}
		clone.AddPodInfo(np)
		if s := f.RunPreFilterExtensionAddPod(ctx, stateWith, pod, np, clone); !s.IsSuccess() {
			return s
		}
	}
	if clone == nil {
		return f.RunFilterPlugins(ctx, state, pod, ni)
	}
	if s := f.RunFilterPlugins(ctx, stateWith, pod, clone); !s.IsSuccess() {
		return s
	}
	return f.RunFilterPlugins(ctx, state, pod, ni)
}

// RunPostFilterPlugins runs PostFilters until one succeeds.
func (f *Framework) RunPostFilterPlugins(ctx context.Context, state *framework.CycleState, pod *v1.Pod, filtered framework.NodeToStatus) (*framework.PostFilterResult, *framework.Status) {
	var reasons []string
	for _, p := range f.postFilter {
		r, s := p.PostFilter(ctx, state, pod, filtered)
		if s.IsSuccess() {
			return r, s
		}
		if s.Code() == framework.Error {
			return nil, s.WithPlugin(p.Name())
		}
		reasons = append(reasons, s.Reasons()...)
	}
	return nil, framework.NewStatus(framework.Unschedulable, reasons...)
}

// PluginScore is one plugin's weighted score of a node.
type PluginScore struct {
	Name  string
	Score int64
}

// NodePluginScores is one node's scores: per plugin (weighted) and total.
type NodePluginScores struct {
	Name       string
	Scores     []PluginScore
	TotalScore int64
}

var scoreBuffers = sync.Pool{New: func() any { return new(framework.NodeScoreList) }}

// RunScorePlugins runs PreScore, Score (in parallel over nodes),
// NormalizeScore and weights, and returns each node's scores.
func (f *Framework) RunScorePlugins(ctx context.Context, state *framework.CycleState, pod *v1.Pod, nodes []*framework.NodeInfo) ([]NodePluginScores, *framework.Status) {
	skip := map[string]bool{}
	for _, p := range f.preScore {
		s := p.PreScore(ctx, state, pod, nodes)
		if s.IsSkip() {
			skip[p.Name()] = true
			continue
		}
		if !s.IsSuccess() {
			return nil, framework.AsStatus(fmt.Errorf("running PreScore plugin %q: %w", p.Name(), s.AsError()))
		}
	}
	state.SkipScorePlugins = skip
	var active []int
	for i, p := range f.score {
		if !skip[p.Name()] {
			active = append(active, i)
		}
	}
	scores := make([]framework.NodeScoreList, len(active))
	// The raw scores live only in this call (they are copied into the
	// result below), so their buffer is reused across cycles.
	buf := scoreBuffers.Get().(*framework.NodeScoreList)
	defer scoreBuffers.Put(buf)
	if n := len(active) * len(nodes); cap(*buf) < n {
		*buf = make(framework.NodeScoreList, n)
	}
	all := (*buf)[:len(active)*len(nodes)]
	clear(all)
	for j := range active {
		scores[j] = all[j*len(nodes) : (j+1)*len(nodes) : (j+1)*len(nodes)]
	}
	var (
		errMu    sync.Mutex
		firstErr *framework.Status
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	f.Parallelize(ctx, len(nodes), func(n int) {
		ni := nodes[n]
		name := ni.NodeName()
		for j, i := range active {
			p := f.score[i]
			s, st := p.Score(ctx, state, pod, ni)
			if !st.IsSuccess() {
				errMu.Lock()
				if firstErr == nil {
					firstErr = framework.AsStatus(fmt.Errorf("running Score plugin %q: %w", p.Name(), st.AsError()))
				}
				errMu.Unlock()
				cancel()
				return
			}
			scores[j][n] = framework.NodeScore{Name: name, Score: s}
		}
	})
	if firstErr != nil {
		return nil, firstErr
	}
	for j, i := range active {
		p := f.score[i]
		if ext := p.ScoreExtensions(); ext != nil {
			if st := ext.NormalizeScore(ctx, state, pod, scores[j]); !st.IsSuccess() {
				return nil, framework.AsStatus(fmt.Errorf("running Normalize on Score plugin %q: %w", p.Name(), st.AsError()))
			}
		}
		for n := range scores[j] {
			sc := scores[j][n].Score
			if sc < framework.MinNodeScore || sc > framework.MaxNodeScore {
				return nil, framework.AsStatus(fmt.Errorf("score plugin %q returns an invalid score %d for node %q", p.Name(), sc, scores[j][n].Name))
			}
			scores[j][n].Score = sc * f.scoreWeights[i]
		}
	}
	out := make([]NodePluginScores, len(nodes))
	// One array holds every node's per-plugin scores.
	psAll := make([]PluginScore, len(nodes)*len(active))
	for n, ni := range nodes {
		ps := psAll[n*len(active) : (n+1)*len(active) : (n+1)*len(active)]
		var total int64
		for j, i := range active {
			ps[j] = PluginScore{Name: f.score[i].Name(), Score: scores[j][n].Score}
			total += scores[j][n].Score
		}
		out[n] = NodePluginScores{Name: ni.NodeName(), Scores: ps, TotalScore: total}
	}
	return out, nil
}

// RunReservePlugins runs Reserve; on failure the caller runs Unreserve.
func (f *Framework) RunReservePlugins(ctx context.Context, state *framework.CycleState, pod *v1.Pod, node string) *framework.Status {
	for _, p := range f.reserve {
		if s := p.Reserve(ctx, state, pod, node); !s.IsSuccess() {
			return s.WithPlugin(p.Name())
		}
	}
	return nil
}

// RunUnreservePlugins runs Unreserve in reverse order.
func (f *Framework) RunUnreservePlugins(ctx context.Context, state *framework.CycleState, pod *v1.Pod, node string) {
	for i := len(f.reserve) - 1; i >= 0; i-- {
		f.reserve[i].Unreserve(ctx, state, pod, node)
	}
}

// RunPreBindPlugins runs PreBind.
func (f *Framework) RunPreBindPlugins(ctx context.Context, state *framework.CycleState, pod *v1.Pod, node string) *framework.Status {
	for _, p := range f.preBind {
		if s := p.PreBind(ctx, state, pod, node); !s.IsSuccess() {
			return s.WithPlugin(p.Name())
		}
	}
	return nil
}

// RunBindPlugins runs binders until one does not Skip.
func (f *Framework) RunBindPlugins(ctx context.Context, state *framework.CycleState, pod *v1.Pod, node string) *framework.Status {
	for _, p := range f.bind {
		s := p.Bind(ctx, state, pod, node)
		if s.IsSkip() {
			continue
		}
		return s.WithPlugin(p.Name())
	}
	return framework.NewStatus(framework.Error, "no bind plugin bound the pod")
}

// SelectHost returns the node with the highest total, breaking ties
// uniformly at random.
func SelectHost(scores []NodePluginScores) (string, error) {
	if len(scores) == 0 {
		return "", fmt.Errorf("empty priority list")
	}
	best, ties := 0, 1
	for i := 1; i < len(scores); i++ {
		switch {
		case scores[i].TotalScore > scores[best].TotalScore:
			best, ties = i, 1
		case scores[i].TotalScore == scores[best].TotalScore:
			ties++
			if rand.IntN(ties) == 0 {
				best = i
			}
		}
	}
	return scores[best].Name, nil
}

// EventsByPlugin returns the cluster events each plugin registered.
func (f *Framework) EventsByPlugin() map[string][]framework.ClusterEvent {
	out := map[string][]framework.ClusterEvent{}
	for name, p := range f.plugins {
		if ext, ok := p.(framework.EnqueueExtensions); ok {
			out[name] = ext.EventsToRegister()
		} else {
			out[name] = []framework.ClusterEvent{{Resource: framework.WildCard, ActionType: framework.All}}
		}
	}
	return out
}
