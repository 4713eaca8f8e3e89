// Package iptables implements the proxy's iptables mode: Services become NAT
// chains in upstream kube-proxy's layout, written with one iptables-restore
// per sync, and later syncs rewrite only the chains of changed services.
package iptables

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"navarch.dev/proxy/pkg/metrics"
	"navarch.dev/proxy/pkg/servicemap"
)

// Source hands out service snapshots; *servicemap.Tracker is one.
type Source interface {
	Snapshot() servicemap.Snapshot
}

// StaleFlusher removes conntrack entries that would keep sending traffic to
// endpoints that are gone. May be nil.
type StaleFlusher interface {
	FlushStale(old, cur map[servicemap.ServiceName]*servicemap.Service, changed map[servicemap.ServiceName]struct{})
}

// HealthChecks serves the health check node ports of the services;
// *healthcheck.ServiceHealthServer is one. It is told every state the
// kernel is brought to.
type HealthChecks interface {
	Sync(services map[servicemap.ServiceName]*servicemap.Service) error
}

// FullSyncPeriod is how often the proxy rewrites every rule even when
// nothing changed, as upstream kube-proxy does (one hour): at 10,000
// services a full sync takes longer than --iptables-sync-period.
const FullSyncPeriod = time.Hour

// Config configures a Proxier.
type Config struct {
	Rules RuleConfig
	// SyncPeriod is how often the proxier checks that its rules are still
	// in the kernel (--iptables-sync-period): the canary chain it creates at
	// each full sync is looked up, and a missing one (a firewall reload
	// flushed the tables) forces a full sync. 0 turns the check off.
	SyncPeriod time.Duration
	// FullSyncPeriod is the longest time between full syncs (upstream
	// kube-proxy uses one hour); 0 makes every sync partial after the
	// first unless the canary is missing.
	FullSyncPeriod time.Duration
	// ChunkChains, when positive, splits a restore into transactions of
	// about that many per-service chains each, shared chains last (see
	// renderer.assemble). Use ChunkFor to pick it for a backend.
	ChunkChains int
	// LocalhostNodePorts makes NodePorts answer on 127.0.0.1 by setting
	// route_localnet, as upstream does by default.
	LocalhostNodePorts bool
	Metrics            *metrics.Metrics
	Conntrack          StaleFlusher
	// HealthChecks may be nil.
	HealthChecks HealthChecks
	Logger       *slog.Logger
}

// Proxier programs iptables from a Source. Sync is not safe for concurrent
// use: one loop calls it.
type Proxier struct {
	src    Source
	run    Runner
	cfg    Config
	log    *slog.Logger
	render *renderer

	// installed holds the per-service nat chains in the kernel, as of the
	// last successful restore.
	installed map[servicemap.ServiceName][]string
	// services is the snapshot the kernel reflects.
	services map[servicemap.ServiceName]*servicemap.Service
	// records holds each installed service's rules in the shared chains and
	// its rule counts; natRules and filterRules are the installed totals.
	records               map[servicemap.ServiceName]svcRecord
	natRules, filterRules int
	// pending accumulates changes not yet written (a failed sync keeps them).
	pending  map[servicemap.ServiceName]struct{}
	needFull bool
	// kernelUnknown is set until a full sync has read which chains exist.
	kernelUnknown bool
	lastFull      time.Time
	lastCheck     time.Time
	now           func() time.Time
}

// New returns a Proxier whose first Sync is a full one.
func New(src Source, run Runner, cfg Config) *Proxier {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Proxier{
		src: src, run: run, cfg: cfg, log: log,
		render:        newRenderer(cfg.Rules),
		installed:     map[servicemap.ServiceName][]string{},
		pending:       map[servicemap.ServiceName]struct{}{},
		needFull:      true,
		kernelUnknown: true,
		now:           time.Now,
	}
}

// SyncResult describes what a Sync did.
type SyncResult struct {
	Full bool
	// Wrote is false when nothing had changed and nothing was written.
	Wrote bool
	// Services is how many services' chains were rewritten.
	Services              int
	NATRules, FilterRules int
	Bytes                 int
}

// Sync brings the kernel in line with the source: a full sync the first
// time, after a failure, or when SyncPeriod has passed since the last full
// one; otherwise a partial sync of the changed services, or nothing at all
// when nothing changed.
func (p *Proxier) Sync() (SyncResult, error) {
	start := p.now()
	snap := p.src.Snapshot()
	for k := range snap.Changed {
		p.pending[k] = struct{}{}
	}
	full := p.needFull || (p.cfg.FullSyncPeriod > 0 && start.Sub(p.lastFull) >= p.cfg.FullSyncPeriod)
	if !full && p.cfg.SyncPeriod > 0 && start.Sub(p.lastCheck) >= p.cfg.SyncPeriod {
		p.lastCheck = start
		ok, err := p.run.ChainExists(canaryTable, chainCanary)
		if err != nil {
			p.cfg.Metrics.Failed()
			return SyncResult{}, err
		}
		if !ok {
			p.log.Info("canary chain is gone, the tables were flushed: syncing every rule", "chain", canaryTable+"/"+chainCanary)
			full = true
		}
	}
	if !full && len(p.pending) == 0 {
		return SyncResult{}, nil
	}
	res, err := p.sync(snap, full)
	if err != nil {
		p.needFull = true
		p.cfg.Metrics.Failed()
		return res, err
	}
	if p.cfg.Conntrack != nil {
		p.cfg.Conntrack.FlushStale(p.services, snap.Services, p.pending)
	}
	if p.cfg.HealthChecks != nil {
		if err := p.cfg.HealthChecks.Sync(snap.Services); err != nil {
			p.log.Warn("health check node ports", "err", err)
		}
	}
	p.services = snap.Services
	clear(p.pending)
	p.needFull = false
	if full {
		p.lastFull = start
		p.lastCheck = start
	}
	d := p.now().Sub(start)
	p.cfg.Metrics.Synced(full, d)
	p.cfg.Metrics.Rules(p.cfg.Rules.IPv6, "nat", res.NATRules)
	p.cfg.Metrics.Rules(p.cfg.Rules.IPv6, "filter", res.FilterRules)
	p.log.Debug("synced iptables rules", "full", full, "services", res.Services, "natRules", res.NATRules, "duration", d)
	return res, nil
}

func (p *Proxier) sync(snap servicemap.Snapshot, full bool) (SyncResult, error) {
	if full {
		if err := p.ensureBase(); err != nil {
			return SyncResult{}, err
		}
	}
	rewrite := func(name servicemap.ServiceName) bool {
		if full {
			return true
		}
		_, ok := p.pending[name]
		return ok
	}
	// A partial sync whose services keep their rules in the shared chains
	// rewrites only their own chains; otherwise the shared chains are
	// rewritten too, from every service.
	var rs ruleSet
	kept := false
	if !full {
		// With chunked restores (nft) a change in the shared chains is
		// written as -D/-I edits: rewriting KUBE-SERVICES costs
		// iptables-nft-restore time quadratic in the number of services.
		rs, kept = p.render.renderChanged(changedServices(snap.Services, p.pending), p.pending, p.records, p.cfg.ChunkChains > 0)
	}
	if !kept {
		rs = p.render.render(sortedServices(snap.Services), rewrite)
	}

	// Chains to delete: those a rewritten or removed service no longer uses.
	var stale []string
	if full && p.kernelUnknown {
		existing, err := p.existingChains()
		if err != nil {
			return SyncResult{}, err
		}
		stale = staleChains(existing, rs.chains)
	} else {
		var old []string
		for name, chains := range p.installed {
			if full || rewrite(name) {
				old = append(old, chains...)
			}
		}
		stale = staleChains(old, rs.chains)
	}
	data := p.render.assemble(stale, rs.sharedKept, p.cfg.ChunkChains)
	if err := p.run.Restore(data); err != nil {
		return SyncResult{}, fmt.Errorf("sync iptables rules: %w", err)
	}
	if full {
		p.installed = rs.chains
		p.kernelUnknown = false
		p.render.forgetUnusedNames()
	} else {
		for name := range p.pending {
			if c, ok := rs.chains[name]; ok {
				p.installed[name] = c
			} else {
				delete(p.installed, name)
			}
		}
	}
	if kept {
		p.natRules += rs.natRules
		p.filterRules += rs.filterRules
		for name := range p.pending {
			old := p.records[name]
			p.natRules -= old.nat
			p.filterRules -= old.filter
			if rec, ok := rs.records[name]; ok {
				p.records[name] = rec
			} else {
				delete(p.records, name)
			}
		}
	} else {
		p.natRules, p.filterRules = rs.natRules, rs.filterRules
		if !full {
			// Services not rewritten were rendered without their own chains,
			// which are still installed: keep their full records.
			for name, rec := range rs.records {
				if _, ok := p.pending[name]; ok {
					continue
				}
				if old, ok := p.records[name]; ok {
					p.natRules += old.nat - rec.nat
					p.filterRules += old.filter - rec.filter
					rs.records[name] = old
				}
			}
		}
		p.records = rs.records
	}
	return SyncResult{Full: full, Wrote: true, Services: len(rs.chains), NATRules: p.natRules, FilterRules: p.filterRules, Bytes: len(data)}, nil
}

// changedServices returns the services of m named in changed, sorted by
// name; deleted ones are absent.
func changedServices(m map[servicemap.ServiceName]*servicemap.Service, changed map[servicemap.ServiceName]struct{}) []*servicemap.Service {
	sub := make(map[servicemap.ServiceName]*servicemap.Service, len(changed))
	for name := range changed {
		if s, ok := m[name]; ok {
			sub[name] = s
		}
	}
	return sortedServices(sub)
}

// staleChains returns the chains in old that no service in cur owns.
func staleChains(old []string, cur map[servicemap.ServiceName][]string) []string {
	if len(old) == 0 {
		return nil
	}
	keep := make(map[string]bool)
	for _, cs := range cur {
		for _, c := range cs {
			keep[c] = true
		}
	}
	var stale []string
	seen := map[string]bool{}
	for _, c := range old {
		if !keep[c] && !seen[c] {
			seen[c] = true
			stale = append(stale, c)
		}
	}
	return stale
}

// existingChains lists the per-service nat chains in the kernel.
func (p *Proxier) existingChains() ([]string, error) {
	out, err := p.run.Save("nat")
	if err != nil {
		return nil, fmt.Errorf("list nat chains: %w", err)
	}
	return serviceChainsIn(out), nil
}

func serviceChainsIn(save []byte) []string {
	var chains []string
	sc := bufio.NewScanner(bytes.NewReader(save))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		l := sc.Text()
		if !strings.HasPrefix(l, ":") {
			continue
		}
		name, _, _ := strings.Cut(l[1:], " ")
		if isServiceChain(name) {
			chains = append(chains, name)
		}
	}
	return chains
}

// jump is a rule in a built-in chain that leads into the proxy's chains.
type jump struct {
	table, from, to string
	spec            []string
}

func (j jump) key() string { return j.table + " " + j.from + " -> " + j.to }

// matches reports whether an iptables -S / iptables-save line is this jump.
func (j jump) matches(line string) bool {
	if !strings.HasPrefix(line, "-A "+j.from+" ") || !strings.HasSuffix(line, " -j "+j.to) {
		return false
	}
	for _, a := range j.spec {
		if !strings.Contains(line, a) {
			return false
		}
	}
	return true
}

// jumps are installed with single-rule operations, once per full sync,
// because the restore input never names the built-in chains (so other
// programs' rules there are left alone).
var jumps = []jump{
	{"filter", "INPUT", chainExternalServices, []string{"-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", "kubernetes externally-visible service portals"}},
	{"filter", "FORWARD", chainExternalServices, []string{"-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", "kubernetes externally-visible service portals"}},
	{"filter", "INPUT", chainNodePorts, []string{"-m", "comment", "--comment", "kubernetes health check service ports"}},
	{"filter", "FORWARD", chainServices, []string{"-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", "kubernetes service portals"}},
	{"filter", "OUTPUT", chainServices, []string{"-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", "kubernetes service portals"}},
	{"filter", "FORWARD", chainForward, []string{"-m", "comment", "--comment", "kubernetes forwarding rules"}},
	{"filter", "INPUT", chainProxyFirewall, []string{"-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", "kubernetes load balancer firewall"}},
	{"filter", "OUTPUT", chainProxyFirewall, []string{"-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", "kubernetes load balancer firewall"}},
	{"filter", "FORWARD", chainProxyFirewall, []string{"-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", "kubernetes load balancer firewall"}},
	{"nat", "OUTPUT", chainServices, []string{"-m", "comment", "--comment", "kubernetes service portals"}},
	{"nat", "PREROUTING", chainServices, []string{"-m", "comment", "--comment", "kubernetes service portals"}},
	{"nat", "POSTROUTING", chainPostrouting, []string{"-m", "comment", "--comment", "kubernetes postrouting rules"}},
}

// ensureBase creates the top-level chains and the jumps into them, and
// KUBE-MARK-MASQ, which chunked restores reach before their last
// transaction fills it.
//
// Checking costs little on nft but a whole-table read per check on legacy
// (1.6 s each at 10,000 services), so a Runner that can list the built-in
// chains' rules in one go (a RuleLister) is asked once per table and only
// what is missing is created.
func (p *Proxier) ensureBase() (err error) {
	present := map[string]bool{} // "table chain" listed, and jumps found
	if l, ok := p.run.(RuleLister); ok {
		want := map[string][]string{}
		for _, j := range jumps {
			if !slices.Contains(want[j.table], j.from) {
				want[j.table] = append(want[j.table], j.from)
			}
		}
		want["nat"] = append(want["nat"], chainMarkMasq)
		for _, table := range []string{"filter", "nat"} {
			lines, err := l.ListRules(table, want[table])
			if err != nil {
				return err
			}
			for _, line := range lines {
				if name, ok := strings.CutPrefix(line, "-N "); ok {
					present[table+" "+name] = true
				}
				for _, j := range jumps {
					if j.table == table && j.matches(line) {
						present[j.key()] = true
					}
				}
			}
		}
	}
	// The canary is created last, so seeing it means everything above was
	// in place at that time.
	defer func() {
		if err == nil {
			err = p.run.EnsureChain(canaryTable, chainCanary)
		}
	}()
	if !present["nat "+chainMarkMasq] {
		if err := p.run.EnsureChain("nat", chainMarkMasq); err != nil {
			return err
		}
	}
	for _, j := range jumps {
		if present[j.key()] {
			continue // the jump is there, so its target chain is too
		}
		if err := p.run.EnsureChain(j.table, j.to); err != nil {
			return err
		}
		if err := p.run.EnsureRule(false, j.table, j.from, append(j.spec, "-j", j.to)...); err != nil {
			return err
		}
	}
	if p.cfg.LocalhostNodePorts {
		if err := p.run.Sysctl("net/ipv4/conf/all/route_localnet", "1"); err != nil {
			return err
		}
	}
	return nil
}

// Cleanup removes every rule and chain the iptables mode installs
// (--cleanup, or when switching to IPVS mode).
func Cleanup(run Runner) error {
	var errs []error
	saves := map[string][]byte{}
	for _, table := range []string{"filter", "nat"} {
		save, err := run.Save(table)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		saves[table] = save
	}
	for _, j := range jumps {
		// A jump to a chain that does not exist cannot be there (and
		// iptables refuses to even look for it).
		if !bytes.Contains(saves[j.table], []byte("\n:"+j.to+" ")) {
			continue
		}
		if err := run.DeleteRule(j.table, j.from, append(j.spec, "-j", j.to)...); err != nil {
			errs = append(errs, err)
		}
	}
	var b bytes.Buffer
	for _, table := range []string{"filter", "nat"} {
		save, ok := saves[table]
		if !ok {
			continue
		}
		ours := serviceChainsIn(save)
		for _, c := range []string{chainServices, chainNodePorts, chainExternalServices, chainForward, chainProxyFirewall, chainPostrouting, chainMarkMasq} {
			if bytes.Contains(save, []byte("\n:"+c+" ")) {
				ours = append(ours, c)
			}
		}
		if len(ours) == 0 {
			continue
		}
		b.WriteString("*" + table + "\n")
		for _, c := range ours {
			b.WriteString(":" + c + " - [0:0]\n")
		}
		for _, c := range ours {
			b.WriteString("-X " + c + "\n")
		}
		b.WriteString("COMMIT\n")
	}
	if ok, err := run.ChainExists(canaryTable, chainCanary); err != nil {
		errs = append(errs, err)
	} else if ok {
		b.WriteString("*" + canaryTable + "\n:" + chainCanary + " - [0:0]\n-X " + chainCanary + "\nCOMMIT\n")
	}
	if b.Len() > 0 {
		if err := run.Restore(b.Bytes()); err != nil {
			errs = append(errs, fmt.Errorf("delete chains: %w", err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("iptables cleanup: %w", errors.Join(errs...))
	}
	return nil
}
