package iptables

import (
	"bytes"
	"slices"
	"strconv"
	"strings"

	"navarch.dev/proxy/pkg/servicemap"
)

// RuleConfig holds the node settings that shape the rules.
type RuleConfig struct {
	// ClusterCIDR is the pod network (--cluster-cidr). Traffic to a cluster
	// IP from outside it is masqueraded; external traffic from inside it may
	// use every endpoint under externalTrafficPolicy Local.
	ClusterCIDR string
	// MasqueradeAll masquerades all traffic to cluster IPs.
	MasqueradeAll bool
}

// ruleSet is one rendered iptables-restore input and what it installs.
type ruleSet struct {
	// chains maps each service written in this round to the per-service nat
	// chains it now owns.
	chains map[servicemap.ServiceName][]string
	// records holds, for each service rendered in this round, its rules in
	// the shared chains and its rule counts.
	records map[servicemap.ServiceName]svcRecord
	// rules counts the rules written per table; after a render that left
	// the shared chains alone, the counts of the rendered services only.
	natRules, filterRules int
	// sharedKept is set when the input leaves the shared chains
	// (KUBE-SERVICES, KUBE-NODEPORTS and the filter chains) as they are.
	sharedKept bool
}

// svcRecord remembers what a service contributed to the last restore: the
// exact text of its rules in the shared chains, so a partial sync can tell
// whether those chains need rewriting at all, and how many rules it has.
type svcRecord struct {
	shared      string
	nat, filter int
}

// renderer writes iptables-restore text. It is not safe for concurrent use;
// the proxier owns one and reuses its buffers across syncs.
type renderer struct {
	cfg    RuleConfig
	filter bytes.Buffer
	nat    bytes.Buffer // rules
	decl   bytes.Buffer // nat chain declarations
	out    bytes.Buffer
	nNat   int
	nFilt  int
	// probs caches the "--probability" arguments by (remaining endpoints).
	probs []string
	// sharedText collects the shared-chain rules of the service being
	// rendered; ownOnly drops them from the output after collecting them.
	sharedText []byte
	ownOnly    bool
	// names caches chain hashes by input: hashing is a large part of a full
	// sync and the inputs rarely change.
	names map[string]string
	used  map[string]bool
}

func newRenderer(cfg RuleConfig) *renderer {
	return &renderer{cfg: cfg, names: map[string]string{}, used: map[string]bool{}}
}

func (r *renderer) hash(parts ...string) string {
	key := strings.Join(parts, "\x00")
	h, ok := r.names[key]
	if !ok {
		h = portProtoHash(parts...)
		r.names[key] = h
	}
	r.used[key] = true
	return h
}

func (r *renderer) probability(n int) string {
	for len(r.probs) <= n {
		k := len(r.probs)
		s := ""
		if k > 0 {
			s = strconv.FormatFloat(1/float64(k), 'f', 10, 64)
		}
		r.probs = append(r.probs, s)
	}
	return r.probs[n]
}

// line writes one rule: "-A chain args...".
func line(b *bytes.Buffer, chain string, args ...string) {
	b.WriteString("-A ")
	b.WriteString(chain)
	for _, a := range args {
		b.WriteByte(' ')
		b.WriteString(a)
	}
	b.WriteByte('\n')
}

func (r *renderer) natRule(chain string, args ...string) {
	line(&r.nat, chain, args...)
	r.nNat++
}

func (r *renderer) filterRule(chain string, args ...string) {
	line(&r.filter, chain, args...)
	r.nFilt++
}

func (r *renderer) declare(chain string) {
	r.decl.WriteByte(':')
	r.decl.WriteString(chain)
	r.decl.WriteString(" - [0:0]\n")
}

func quote(s string) string { return `"` + s + `"` }

// render prepares the restore input for every service in svcs (sorted by
// name); assemble returns it. Per-service chains are declared and written only for services
// where rewrite returns true; the others keep the chains they have in the
// kernel (upstream's partial sync), and only their jump rules in the
// top-level chains, which render always rewrites, are emitted. A partial
// sync that leaves those rules as they are uses renderChanged instead.
func (r *renderer) render(svcs []*servicemap.Service, rewrite func(servicemap.ServiceName) bool) ruleSet {
	r.reset()
	rs := ruleSet{chains: map[servicemap.ServiceName][]string{}, records: make(map[servicemap.ServiceName]svcRecord, len(svcs))}

	for _, c := range []string{chainServices, chainNodePorts, chainPostrouting, chainMarkMasq} {
		r.declare(c)
	}
	r.natRule(chainPostrouting, "-m", "mark", "!", "--mark", masqMark+"/"+masqMark, "-j", "RETURN")
	r.natRule(chainPostrouting, "-j", "MARK", "--xor-mark", masqMark)
	r.natRule(chainPostrouting, "-m", "comment", "--comment", `"kubernetes service traffic requiring SNAT"`, "-j", "MASQUERADE", "--random-fully")
	r.natRule(chainMarkMasq, "-j", "MARK", "--or-mark", masqMark)
	r.filterRule(chainForward, "-m", "comment", "--comment", `"kubernetes forwarding rules"`, "-m", "mark", "--mark", masqMark+"/"+masqMark, "-j", "ACCEPT")
	r.filterRule(chainForward, "-m", "comment", "--comment", `"kubernetes forwarding conntrack rule"`, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT")

	for _, svc := range svcs {
		r.service(svc, rewrite(svc.Name), &rs)
	}
	r.natRule(chainServices, "-m", "comment", "--comment", `"kubernetes service nodeports; NOTE: this must be the last rule in this chain"`,
		"-m", "addrtype", "--dst-type", "LOCAL", "-j", chainNodePorts)
	rs.natRules, rs.filterRules = r.nNat, r.nFilt
	return rs
}

func (r *renderer) reset() {
	r.filter.Reset()
	r.nat.Reset()
	r.decl.Reset()
	r.out.Reset()
	r.nNat, r.nFilt = 0, 0
	r.ownOnly = false
}

// service renders one service into rs: its rules in the shared chains, and
// its own chains when write is set.
func (r *renderer) service(svc *servicemap.Service, write bool, rs *ruleSet) {
	r.sharedText = r.sharedText[:0]
	nat, filter := r.nNat, r.nFilt
	var owned []string
	for _, p := range svc.Ports {
		owned = r.servicePort(p, write, owned)
	}
	if write {
		rs.chains[svc.Name] = owned
	}
	rs.records[svc.Name] = svcRecord{shared: string(r.sharedText), nat: r.nNat - nat, filter: r.nFilt - filter}
}

// renderChanged prepares a restore input that rewrites only the own chains
// of the changed services (svcs, sorted; a deleted one is absent), leaving
// the shared chains alone. That is only right when every changed service's
// rules in the shared chains are exactly those in last (the records of the
// last restore); ok is false when one differs, and the caller must render
// with render instead. Counts in rs are those of the changed services.
func (r *renderer) renderChanged(svcs []*servicemap.Service, changed map[servicemap.ServiceName]struct{}, last map[servicemap.ServiceName]svcRecord) (rs ruleSet, ok bool) {
	r.reset()
	r.ownOnly = true
	rs = ruleSet{chains: make(map[servicemap.ServiceName][]string, len(changed)), records: make(map[servicemap.ServiceName]svcRecord, len(changed)), sharedKept: true}
	for _, svc := range svcs {
		r.service(svc, true, &rs)
		if rs.records[svc.Name].shared != last[svc.Name].shared {
			return ruleSet{}, false
		}
	}
	for name := range changed {
		if _, ok := rs.records[name]; !ok && last[name].shared != "" {
			return ruleSet{}, false // deleted: its shared rules must go
		}
	}
	rs.natRules, rs.filterRules = r.nNat, r.nFilt
	return rs, true
}

// assemble finishes the input of the last render: stale chains are flushed
// and deleted in the same transaction. After renderChanged (sharedKept) the
// input names no shared chain, so --noflush leaves them as they are.
func (r *renderer) assemble(stale []string, sharedKept bool) []byte {
	for _, c := range stale {
		r.declare(c)
	}
	for _, c := range stale {
		r.nat.WriteString("-X ")
		r.nat.WriteString(c)
		r.nat.WriteByte('\n')
	}

	r.out.Grow(r.filter.Len() + r.decl.Len() + r.nat.Len() + 256)
	if !sharedKept {
		r.out.WriteString("*filter\n")
		for _, c := range []string{chainNodePorts, chainServices, chainExternalServices, chainForward, chainProxyFirewall} {
			r.out.WriteString(":" + c + " - [0:0]\n")
		}
		r.out.Write(r.filter.Bytes())
		r.out.WriteString("COMMIT\n")
	}
	r.out.WriteString("*nat\n")
	r.out.Write(r.decl.Bytes())
	r.out.Write(r.nat.Bytes())
	r.out.WriteString("COMMIT\n")
	return r.out.Bytes()
}

// forgetUnusedNames drops cached hashes not used since the last call, so the
// cache does not grow with churn. Called after full syncs.
func (r *renderer) forgetUnusedNames() {
	for k := range r.names {
		if !r.used[k] {
			delete(r.names, k)
		}
	}
	clear(r.used)
}

// servicePort writes the rules of one service port. When write is false
// only the rules in shared chains are written. It returns owned extended by
// the per-service chains the port uses.
func (r *renderer) servicePort(p *servicemap.ServicePort, write bool, owned []string) []string {
	name := p.Name.String()
	proto := strings.ToLower(string(p.Protocol))
	port := strconv.Itoa(int(p.Port))
	h := r.hash(name, proto)
	svcChain, svlChain, extChain := prefixSVC+h, prefixSVL+h, prefixEXT+h

	clusterEps := p.ClusterEndpoints()
	localEps := p.LocalEndpoints()
	internalEps, internalChain := clusterEps, svcChain
	if p.InternalLocal {
		internalEps, internalChain = localEps, svlChain
	}
	external := p.HasExternal()
	externalEps := clusterEps
	if p.ExternalLocal {
		externalEps = localEps
	}
	usesExt := external && len(externalEps) > 0
	usesCluster := len(clusterEps) > 0 && (!p.InternalLocal || usesExt)
	usesLocal := len(localEps) > 0 && ((p.InternalLocal && len(internalEps) > 0) || (p.ExternalLocal && usesExt))
	natStart, filterStart := r.nat.Len(), r.filter.Len()

	// Jumps from the shared chains, or REJECT/DROP when there is nowhere to go.
	if len(internalEps) > 0 {
		r.natRule(chainServices, "-m", "comment", "--comment", quote(name+" cluster IP"), "-m", proto, "-p", proto,
			"-d", p.ClusterIP, "--dport", port, "-j", internalChain)
	} else {
		comment, target := quote(name+" has no endpoints"), "REJECT"
		if len(clusterEps) > 0 {
			comment, target = quote(name+" has no local endpoints"), "DROP"
		}
		r.filterRule(chainServices, "-m", "comment", "--comment", comment, "-m", proto, "-p", proto,
			"-d", p.ClusterIP, "--dport", port, "-j", target)
	}
	if external {
		comment, target := quote(name+" has no endpoints"), "REJECT"
		if len(clusterEps) > 0 {
			comment, target = quote(name+" has no local endpoints"), "DROP"
		}
		for _, ip := range p.ExternalIPs {
			if usesExt {
				r.natRule(chainServices, "-m", "comment", "--comment", quote(name+" external IP"), "-m", proto, "-p", proto,
					"-d", ip, "--dport", port, "-j", extChain)
			} else {
				r.filterRule(chainExternalServices, "-m", "comment", "--comment", comment, "-m", proto, "-p", proto,
					"-d", ip, "--dport", port, "-j", target)
			}
		}
		for _, ip := range p.LoadBalancerIPs {
			if usesExt {
				r.natRule(chainServices, "-m", "comment", "--comment", quote(name+" loadbalancer IP"), "-m", proto, "-p", proto,
					"-d", ip, "--dport", port, "-j", extChain)
			} else {
				r.filterRule(chainExternalServices, "-m", "comment", "--comment", comment, "-m", proto, "-p", proto,
					"-d", ip, "--dport", port, "-j", target)
			}
		}
		if p.NodePort != 0 {
			np := strconv.Itoa(int(p.NodePort))
			if usesExt {
				r.natRule(chainNodePorts, "-m", "comment", "--comment", name, "-m", proto, "-p", proto, "--dport", np, "-j", extChain)
			} else {
				r.filterRule(chainExternalServices, "-m", "comment", "--comment", comment, "-m", "addrtype", "--dst-type", "LOCAL",
					"-m", proto, "-p", proto, "--dport", np, "-j", target)
			}
		}
	}
	if p.HealthCheckNodePort != 0 {
		r.filterRule(chainNodePorts, "-m", "comment", "--comment", quote(name+" health check node port"), "-m", "tcp", "-p", "tcp",
			"--dport", strconv.Itoa(int(p.HealthCheckNodePort)), "-j", "ACCEPT")
	}
	// Remember the shared-chain rules: nat ones, a separator, filter ones.
	r.sharedText = append(r.sharedText, r.nat.Bytes()[natStart:]...)
	r.sharedText = append(r.sharedText, 0)
	r.sharedText = append(r.sharedText, r.filter.Bytes()[filterStart:]...)
	if r.ownOnly {
		// They stay in the kernel, so the rule counts keep them.
		r.nat.Truncate(natStart)
		r.filter.Truncate(filterStart)
	}
	if !write {
		return owned
	}

	// The service's own chains.
	if usesExt {
		r.declare(extChain)
		owned = append(owned, extChain)
		if !p.ExternalLocal {
			r.natRule(extChain, "-m", "comment", "--comment", quote("masquerade traffic for "+name+" external destinations"), "-j", chainMarkMasq)
			r.natRule(extChain, "-j", svcChain)
		} else {
			if r.cfg.ClusterCIDR != "" {
				r.natRule(extChain, "-m", "comment", "--comment", quote("pod traffic for "+name+" external destinations"),
					"-s", r.cfg.ClusterCIDR, "-j", svcChain)
			}
			r.natRule(extChain, "-m", "comment", "--comment", quote("masquerade LOCAL traffic for "+name+" external destinations"),
				"-m", "addrtype", "--src-type", "LOCAL", "-j", chainMarkMasq)
			r.natRule(extChain, "-m", "comment", "--comment", quote("route LOCAL traffic for "+name+" external destinations"),
				"-m", "addrtype", "--src-type", "LOCAL", "-j", svcChain)
			r.natRule(extChain, "-j", svlChain)
		}
	}
	var reachable []servicemap.Endpoint
	masqRule := func(chain string) {
		args := []string{"-m", "comment", "--comment", quote(name + " cluster IP"), "-m", proto, "-p", proto, "-d", p.ClusterIP, "--dport", port}
		switch {
		case r.cfg.MasqueradeAll:
			r.natRule(chain, append(args, "-j", chainMarkMasq)...)
		case r.cfg.ClusterCIDR != "":
			r.natRule(chain, append(args, "!", "-s", r.cfg.ClusterCIDR, "-j", chainMarkMasq)...)
		}
	}
	if usesCluster {
		r.declare(svcChain)
		owned = append(owned, svcChain)
		if !p.InternalLocal {
			masqRule(svcChain)
		}
		r.balance(p, name, proto, svcChain, clusterEps)
		reachable = append(reachable, clusterEps...)
	}
	if usesLocal {
		r.declare(svlChain)
		owned = append(owned, svlChain)
		if p.InternalLocal {
			masqRule(svlChain)
		}
		r.balance(p, name, proto, svlChain, localEps)
		for _, ep := range localEps {
			if !slices.Contains(reachable, ep) {
				reachable = append(reachable, ep)
			}
		}
	}
	for _, ep := range reachable {
		sep := prefixSEP + r.hash(name, proto, ep.String())
		r.declare(sep)
		owned = append(owned, sep)
		r.natRule(sep, "-m", "comment", "--comment", name, "-s", ep.IP, "-j", chainMarkMasq)
		if p.AffinityTimeout > 0 {
			r.natRule(sep, "-m", "comment", "--comment", name, "-m", "recent", "--name", sep, "--set",
				"-m", proto, "-p", proto, "-j", "DNAT", "--to-destination", ep.String())
		} else {
			r.natRule(sep, "-m", "comment", "--comment", name, "-m", proto, "-p", proto, "-j", "DNAT", "--to-destination", ep.String())
		}
	}
	return owned
}

// balance writes the load-balancing rules of a policy chain: affinity checks
// first, then one statistic rule per endpoint so each is picked with equal
// probability.
func (r *renderer) balance(p *servicemap.ServicePort, name, proto, chain string, eps []servicemap.Endpoint) {
	seps := make([]string, len(eps))
	for i, ep := range eps {
		seps[i] = prefixSEP + r.hash(name, proto, ep.String())
	}
	if p.AffinityTimeout > 0 {
		secs := strconv.Itoa(int(p.AffinityTimeout))
		for i, ep := range eps {
			r.natRule(chain, "-m", "comment", "--comment", quote(name+" -> "+ep.String()), "-m", "recent", "--name", seps[i],
				"--rcheck", "--seconds", secs, "--reap", "-j", seps[i])
		}
	}
	for i, ep := range eps {
		if n := len(eps) - i; n > 1 {
			r.natRule(chain, "-m", "comment", "--comment", quote(name+" -> "+ep.String()), "-m", "statistic", "--mode", "random",
				"--probability", r.probability(n), "-j", seps[i])
		} else {
			r.natRule(chain, "-m", "comment", "--comment", quote(name+" -> "+ep.String()), "-j", seps[i])
		}
	}
}

// sortedServices returns the services of m ordered by name.
func sortedServices(m map[servicemap.ServiceName]*servicemap.Service) []*servicemap.Service {
	out := make([]*servicemap.Service, 0, len(m))
	for _, s := range m {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b *servicemap.Service) int {
		if c := strings.Compare(a.Name.Namespace, b.Name.Namespace); c != 0 {
			return c
		}
		return strings.Compare(a.Name.Name, b.Name.Name)
	})
	return out
}
