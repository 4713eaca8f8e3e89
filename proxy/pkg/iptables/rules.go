package iptables

import (
	"bytes"
	"net/netip"
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
	// NodeIPs are the node's primary addresses. Traffic from them to a
	// load balancer IP is allowed when a source range holds one, as
	// upstream does for load balancers that loop back through the node.
	NodeIPs []string
	// NodePortAddresses, when not nil, are the only local addresses
	// NodePorts answer on (--nodeport-addresses, resolved to addresses of
	// this family; an empty list answers on none); nil means every local
	// address.
	NodePortAddresses []string
	// IPv6 renders for ip6tables: NodePorts never answer on ::1, as
	// upstream (IPv6 has no route_localnet).
	IPv6 bool
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
	nat    bytes.Buffer // rules in the shared nat chains
	decl   bytes.Buffer // shared and stale nat chain declarations
	// ownDecl and ownNat hold the declarations and rules of the
	// per-service chains, service after service; segs marks where each
	// rewritten service's part ends, so assemble can split them into
	// several transactions.
	ownDecl, ownNat bytes.Buffer
	segs            []segment
	// editNat and editFilter hold -D/-I edits of the shared chains
	// (renderChanged with edit).
	editNat, editFilter bytes.Buffer
	out                 bytes.Buffer
	nNat                int
	nFilt               int
	// probs caches the "--probability" arguments by (remaining endpoints).
	probs []string
	// sharedText and sharedFilter collect the nat and filter shared-chain
	// rules of the service being rendered (svcRecord.shared is both, with a
	// zero byte between); ownOnly drops them from the output after
	// collecting them.
	sharedText, sharedFilter []byte
	ownOnly                  bool
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

func (r *renderer) declare(chain string) { declareIn(&r.decl, chain) }

func declareIn(b *bytes.Buffer, chain string) {
	b.WriteByte(':')
	b.WriteString(chain)
	b.WriteString(" - [0:0]\n")
}

// ownRule writes a rule of a per-service chain.
func (r *renderer) ownRule(chain string, args ...string) {
	line(&r.ownNat, chain, args...)
	r.nNat++
}

// declareOwn declares a per-service chain.
func (r *renderer) declareOwn(chain string) { declareIn(&r.ownDecl, chain) }

// segment is where one service's own chains end in ownDecl and ownNat, and
// how many chains it declared.
type segment struct {
	declEnd, natEnd, chains int
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
	const lastComment = `"kubernetes service nodeports; NOTE: this must be the last rule in this chain"`
	if r.cfg.NodePortAddresses == nil {
		if r.cfg.IPv6 {
			r.natRule(chainServices, "-m", "comment", "--comment", lastComment, "-m", "addrtype", "--dst-type", "LOCAL",
				"!", "-d", "::1/128", "-j", chainNodePorts)
		} else {
			r.natRule(chainServices, "-m", "comment", "--comment", lastComment, "-m", "addrtype", "--dst-type", "LOCAL", "-j", chainNodePorts)
		}
	}
	for _, ip := range r.cfg.NodePortAddresses {
		if a, err := netip.ParseAddr(ip); err == nil && a.IsLoopback() && r.cfg.IPv6 {
			continue
		}
		r.natRule(chainServices, "-m", "comment", "--comment", lastComment, "-d", ip, "-j", chainNodePorts)
	}
	rs.natRules, rs.filterRules = r.nNat, r.nFilt
	return rs
}

func (r *renderer) reset() {
	r.filter.Reset()
	r.nat.Reset()
	r.decl.Reset()
	r.ownDecl.Reset()
	r.ownNat.Reset()
	r.editNat.Reset()
	r.editFilter.Reset()
	r.segs = r.segs[:0]
	r.out.Reset()
	r.nNat, r.nFilt = 0, 0
	r.ownOnly = false
}

// service renders one service into rs: its rules in the shared chains, and
// its own chains when write is set.
func (r *renderer) service(svc *servicemap.Service, write bool, rs *ruleSet) {
	r.sharedText, r.sharedFilter = r.sharedText[:0], r.sharedFilter[:0]
	nat, filter := r.nNat, r.nFilt
	var owned []string
	for _, p := range svc.Ports {
		owned = r.servicePort(p, write, owned)
	}
	if write {
		rs.chains[svc.Name] = owned
		if len(owned) > 0 {
			r.segs = append(r.segs, segment{declEnd: r.ownDecl.Len(), natEnd: r.ownNat.Len(), chains: len(owned)})
		}
	}
	// Every port's nat rules, a separator, every port's filter rules.
	r.sharedText = append(r.sharedText, 0)
	r.sharedText = append(r.sharedText, r.sharedFilter...)
	rs.records[svc.Name] = svcRecord{shared: string(r.sharedText), nat: r.nNat - nat, filter: r.nFilt - filter}
}

// renderChanged prepares a restore input that rewrites only the own chains
// of the changed services (svcs, sorted; a deleted one is absent), leaving
// the shared chains as they are. That is only right when every changed
// service's rules in the shared chains are exactly those in last (the
// records of the last restore); otherwise, with edit set, the input also
// deletes (-D) the service's shared rules that are gone and inserts (-I)
// the new ones, and without edit ok is false and the caller must render
// with render instead. Counts in rs are those of the changed services.
func (r *renderer) renderChanged(svcs []*servicemap.Service, changed map[servicemap.ServiceName]struct{}, last map[servicemap.ServiceName]svcRecord, edit bool) (rs ruleSet, ok bool) {
	r.reset()
	r.ownOnly = true
	rs = ruleSet{chains: make(map[servicemap.ServiceName][]string, len(changed)), records: make(map[servicemap.ServiceName]svcRecord, len(changed)), sharedKept: true}
	for _, svc := range svcs {
		r.service(svc, true, &rs)
		if old, cur := last[svc.Name].shared, rs.records[svc.Name].shared; cur != old {
			if !edit {
				return ruleSet{}, false
			}
			r.edits(old, cur)
		}
	}
	for name := range changed {
		if _, ok := rs.records[name]; !ok && last[name].shared != "" {
			if !edit {
				return ruleSet{}, false // deleted: its shared rules must go
			}
			r.edits(last[name].shared, "")
		}
	}
	rs.natRules, rs.filterRules = r.nNat, r.nFilt
	return rs, true
}

// edits writes the -D and -I lines that turn one service's shared rules
// from old into cur (svcRecord.shared text: nat rules, a zero byte, filter
// rules). New rules are inserted at the top of their chain, which keeps
// KUBE-SERVICES' node port rule last; the order of the others does not
// matter, as each matches its own address and port.
func (r *renderer) edits(old, cur string) {
	oldNat, oldFilter, _ := strings.Cut(old, "\x00")
	curNat, curFilter, _ := strings.Cut(cur, "\x00")
	diffRules(&r.editNat, oldNat, curNat)
	diffRules(&r.editFilter, oldFilter, curFilter)
}

// diffRules writes to b a -D for each "-A" line of old missing from cur and
// a -I for each line of cur missing from old (as multisets).
func diffRules(b *bytes.Buffer, old, cur string) {
	if old == cur {
		return
	}
	count := map[string]int{}
	for _, l := range strings.SplitAfter(old, "\n") {
		if l != "" {
			count[l]++
		}
	}
	var added []string
	for _, l := range strings.SplitAfter(cur, "\n") {
		if l == "" {
			continue
		}
		if count[l] > 0 {
			count[l]--
			continue
		}
		added = append(added, l)
	}
	for _, l := range strings.SplitAfter(old, "\n") {
		if count[l] > 0 {
			count[l]--
			b.WriteString("-D ")
			b.WriteString(strings.TrimPrefix(l, "-A "))
		}
	}
	for _, l := range added {
		chain, args, _ := strings.Cut(strings.TrimPrefix(l, "-A "), " ")
		b.WriteString("-I ")
		b.WriteString(chain)
		b.WriteString(" 1 ")
		b.WriteString(args)
	}
}

// assemble finishes the input of the last render: stale chains are flushed
// and deleted in the same transaction as the shared chains. After
// renderChanged (sharedKept) the input names no shared chain, so --noflush
// leaves them as they are.
//
// With chunk 0, or no more than chunk chains to write, everything is one
// transaction per table. Otherwise the per-service chains come first, in
// transactions ("*nat ... COMMIT" blocks) of about chunk chains each, a
// service never split, and the shared chains and deletions last: iptables-nft-restore spends time quadratic in
// the number of chains one transaction names, so 10,000 services in one
// transaction take hours. Every intermediate state is consistent: a block
// only adds or rewrites a service's own chains, whose new targets are in
// the same block; nothing reaches a new chain before the final block, and
// chains are deleted only there, after the shared chains stop using them.
func (r *renderer) assemble(stale []string, sharedKept bool, chunk int) []byte {
	for _, c := range stale {
		r.declare(c)
	}
	r.out.Grow(r.filter.Len() + r.decl.Len() + r.nat.Len() + r.ownDecl.Len() + r.ownNat.Len() + 256*(len(r.segs)/max(chunk, 1)+2))
	own := r.ownDecl.Len() > 0
	total := 0
	for _, sg := range r.segs {
		total += sg.chains
	}
	// A change that fits one chunk (a partial sync) stays one transaction:
	// on nft every commit that adds jumps makes the kernel validate the
	// whole table, the main cost of a small change at 10,000 services.
	if chunk > 0 && own && total+len(stale) > chunk {
		var decl0, nat0, n int
		for i, sg := range r.segs {
			n += sg.chains
			if n < chunk && i < len(r.segs)-1 {
				continue
			}
			r.out.WriteString("*nat\n")
			r.out.Write(r.ownDecl.Bytes()[decl0:sg.declEnd])
			r.out.Write(r.ownNat.Bytes()[nat0:sg.natEnd])
			r.out.WriteString("COMMIT\n")
			decl0, nat0, n = sg.declEnd, sg.natEnd, 0
		}
		own = false
	}
	if r.editFilter.Len() > 0 {
		r.out.WriteString("*filter\n")
		r.out.Write(r.editFilter.Bytes())
		r.out.WriteString("COMMIT\n")
	}
	if !sharedKept {
		r.out.WriteString("*filter\n")
		for _, c := range []string{chainNodePorts, chainServices, chainExternalServices, chainForward, chainProxyFirewall} {
			r.out.WriteString(":" + c + " - [0:0]\n")
		}
		r.out.Write(r.filter.Bytes())
		r.out.WriteString("COMMIT\n")
	}
	if !own && r.decl.Len() == 0 && r.nat.Len() == 0 && r.editNat.Len() == 0 {
		return r.out.Bytes() // only own chains, all written above
	}
	r.out.WriteString("*nat\n")
	r.out.Write(r.decl.Bytes())
	if own {
		r.out.Write(r.ownDecl.Bytes())
	}
	r.out.Write(r.nat.Bytes())
	if own {
		r.out.Write(r.ownNat.Bytes())
	}
	r.out.Write(r.editNat.Bytes())
	for _, c := range stale {
		r.out.WriteString("-X ")
		r.out.WriteString(c)
		r.out.WriteByte('\n')
	}
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
	// Source ranges: load balancer traffic passes a firewall chain that
	// lets the allowed sources on to the external chain; what falls
	// through is dropped in the filter table (KUBE-PROXY-FIREWALL).
	usesFW := usesExt && len(p.LoadBalancerIPs) > 0 && len(p.LoadBalancerSourceRanges) > 0
	fwChain := prefixFW + h
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
				target := extChain
				if usesFW {
					target = fwChain
				}
				r.natRule(chainServices, "-m", "comment", "--comment", quote(name+" loadbalancer IP"), "-m", proto, "-p", proto,
					"-d", ip, "--dport", port, "-j", target)
				if usesFW {
					r.filterRule(chainProxyFirewall, "-m", "comment", "--comment", quote(name+" traffic not accepted by "+fwChain),
						"-m", proto, "-p", proto, "-d", ip, "--dport", port, "-j", "DROP")
				}
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
	r.sharedFilter = append(r.sharedFilter, r.filter.Bytes()[filterStart:]...)
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
		r.declareOwn(extChain)
		owned = append(owned, extChain)
		if !p.ExternalLocal {
			r.ownRule(extChain, "-m", "comment", "--comment", quote("masquerade traffic for "+name+" external destinations"), "-j", chainMarkMasq)
			r.ownRule(extChain, "-j", svcChain)
		} else {
			if r.cfg.ClusterCIDR != "" {
				r.ownRule(extChain, "-m", "comment", "--comment", quote("pod traffic for "+name+" external destinations"),
					"-s", r.cfg.ClusterCIDR, "-j", svcChain)
			}
			r.ownRule(extChain, "-m", "comment", "--comment", quote("masquerade LOCAL traffic for "+name+" external destinations"),
				"-m", "addrtype", "--src-type", "LOCAL", "-j", chainMarkMasq)
			r.ownRule(extChain, "-m", "comment", "--comment", quote("route LOCAL traffic for "+name+" external destinations"),
				"-m", "addrtype", "--src-type", "LOCAL", "-j", svcChain)
			r.ownRule(extChain, "-j", svlChain)
		}
	}
	if usesFW {
		r.declareOwn(fwChain)
		owned = append(owned, fwChain)
		comment := quote(name + " loadbalancer IP")
		allowFromNode := false
		for _, cidr := range p.LoadBalancerSourceRanges {
			r.ownRule(fwChain, "-m", "comment", "--comment", comment, "-s", cidr, "-j", extChain)
			if pfx, err := netip.ParsePrefix(cidr); err == nil {
				for _, ip := range r.cfg.NodeIPs {
					if a, err := netip.ParseAddr(ip); err == nil && pfx.Contains(a) {
						allowFromNode = true
					}
				}
			}
		}
		// A load balancer that puts its IP on the node makes the node's own
		// requests arrive from that IP.
		if allowFromNode {
			for _, ip := range p.LoadBalancerIPs {
				r.ownRule(fwChain, "-m", "comment", "--comment", comment, "-s", ip, "-j", extChain)
			}
		}
		r.ownRule(fwChain, "-m", "comment", "--comment", quote("other traffic to "+name+" will be dropped by KUBE-PROXY-FIREWALL"))
	}
	var reachable []servicemap.Endpoint
	masqRule := func(chain string) {
		args := []string{"-m", "comment", "--comment", quote(name + " cluster IP"), "-m", proto, "-p", proto, "-d", p.ClusterIP, "--dport", port}
		switch {
		case r.cfg.MasqueradeAll:
			r.ownRule(chain, append(args, "-j", chainMarkMasq)...)
		case r.cfg.ClusterCIDR != "":
			r.ownRule(chain, append(args, "!", "-s", r.cfg.ClusterCIDR, "-j", chainMarkMasq)...)
		}
	}
	if usesCluster {
		r.declareOwn(svcChain)
		owned = append(owned, svcChain)
		if !p.InternalLocal {
			masqRule(svcChain)
		}
		r.balance(p, name, proto, svcChain, clusterEps)
		reachable = append(reachable, clusterEps...)
	}
	if usesLocal {
		r.declareOwn(svlChain)
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
		r.declareOwn(sep)
		owned = append(owned, sep)
		r.ownRule(sep, "-m", "comment", "--comment", name, "-s", ep.IP, "-j", chainMarkMasq)
		if p.AffinityTimeout > 0 {
			r.ownRule(sep, "-m", "comment", "--comment", name, "-m", "recent", "--name", sep, "--set",
				"-m", proto, "-p", proto, "-j", "DNAT", "--to-destination", ep.String())
		} else {
			r.ownRule(sep, "-m", "comment", "--comment", name, "-m", proto, "-p", proto, "-j", "DNAT", "--to-destination", ep.String())
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
			r.ownRule(chain, "-m", "comment", "--comment", quote(name+" -> "+ep.String()), "-m", "recent", "--name", seps[i],
				"--rcheck", "--seconds", secs, "--reap", "-j", seps[i])
		}
	}
	for i, ep := range eps {
		if n := len(eps) - i; n > 1 {
			r.ownRule(chain, "-m", "comment", "--comment", quote(name+" -> "+ep.String()), "-m", "statistic", "--mode", "random",
				"--probability", r.probability(n), "-j", seps[i])
		} else {
			r.ownRule(chain, "-m", "comment", "--comment", quote(name+" -> "+ep.String()), "-j", seps[i])
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
