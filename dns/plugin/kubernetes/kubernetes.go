// Package kubernetes answers for the cluster zone following the Kubernetes
// DNS specification (schema 1.1.0): Services, their endpoints and ports,
// pods by address, and PTR records for service and endpoint addresses. It
// reads a slim Index kept current from the API by informers.
package kubernetes

import (
	"context"
	"net/netip"
	"strings"

	"github.com/miekg/dns"

	"navarch.dev/dns/pkg/plugin"
)

// Pod modes of "pods".
const (
	PodsDisabled = "disabled"
	PodsInsecure = "insecure"
	PodsVerified = "verified"
)

// SchemaVersion is answered for dns-version.<zone> TXT.
const SchemaVersion = "1.1.0"

// Kubernetes is the plugin.
type Kubernetes struct {
	Next  plugin.Handler
	Zones plugin.Zones
	Index Index
	// TTL of answers and of the SOA of negative answers.
	TTL uint32
	// Pods is PodsDisabled, PodsInsecure or PodsVerified.
	Pods string
	// EndpointPodNames names endpoints after their pod, not their IP.
	EndpointPodNames bool
	// Fallthrough passes NXDOMAIN answers for these zones on to the next
	// plugin (nil: never; empty non-nil: all zones).
	Fallthrough plugin.Zones
	// Namespaces, when not nil, are the only namespaces served: names in
	// any other namespace do not exist.
	Namespaces map[string]bool
	// NoEndpoints serves no endpoint records: headless services, endpoint
	// names and endpoint PTRs do not exist.
	NoEndpoints bool
}

// exposed reports whether namespace ns is served.
func (k *Kubernetes) exposed(ns string) bool {
	return k.Namespaces == nil || k.Namespaces[ns]
}

// namespaceExists reports whether ns exists and is served.
func (k *Kubernetes) namespaceExists(ns string) bool {
	return k.exposed(ns) && k.Index.NamespaceExists(ns)
}

var (
	_ plugin.Handler   = (*Kubernetes)(nil)
	_ plugin.Readiness = (*Kubernetes)(nil)
)

// Name implements plugin.Handler.
func (k *Kubernetes) Name() string { return "kubernetes" }

// Ready implements plugin.Readiness.
func (k *Kubernetes) Ready() bool { return k.Index.HasSynced() }

// result is the outcome of a lookup before it becomes a message.
type result struct {
	answer, extra []dns.RR
	// exists is false for NXDOMAIN; true with no answer is NODATA.
	exists bool
}

// ServeDNS implements plugin.Handler.
func (k *Kubernetes) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	q := r.Question[0]
	qname := plugin.Lower(q.Name)
	zone := k.Zones.Matches(qname)
	if zone == "" {
		return plugin.NextOrFailure(k.Name(), k.Next, ctx, w, r)
	}
	if !k.Index.HasSynced() {
		// Until the first list arrives we know nothing: a NXDOMAIN now
		// would be cached by clients as a lie.
		return dns.RcodeServerFailure, nil
	}
	var res result
	if isReverse(zone) {
		res = k.reverse(qname, q.Qtype)
	} else {
		res = k.forward(qname, zone, q.Qtype)
		res.answer = k.chase(res.answer, q.Qtype)
	}
	if !res.exists && k.Fallthrough != nil && (len(k.Fallthrough) == 0 || k.Fallthrough.Matches(qname) != "") {
		return plugin.NextOrFailure(k.Name(), k.Next, ctx, w, r)
	}
	rp := new(reply)
	m := rp.to(r)
	m.Authoritative = true
	m.Answer = res.answer
	m.Extra = res.extra
	if !res.exists {
		m.Rcode = dns.RcodeNameError
	}
	if len(m.Answer) == 0 {
		m.Ns = []dns.RR{k.soa(zone)}
	}
	w.WriteMsg(m)
	return m.Rcode, nil
}

// reply is an answer and its question in one allocation.
type reply struct {
	msg dns.Msg
	q   [1]dns.Question
}

// to makes the reply to r, as dns.Msg.SetReply does.
func (rp *reply) to(r *dns.Msg) *dns.Msg {
	m := &rp.msg
	m.Id, m.Response, m.Opcode = r.Id, true, r.Opcode
	if m.Opcode == dns.OpcodeQuery {
		m.RecursionDesired, m.CheckingDisabled = r.RecursionDesired, r.CheckingDisabled
	}
	rp.q[0] = r.Question[0]
	m.Question = rp.q[:]
	return m
}

func isReverse(zone string) bool {
	return strings.HasSuffix(zone, "in-addr.arpa.") || strings.HasSuffix(zone, "ip6.arpa.")
}

// clusterZone is the first forward zone (PTR targets live there).
func (k *Kubernetes) clusterZone() string {
	for _, z := range k.Zones {
		if !isReverse(z) {
			return z
		}
	}
	return "cluster.local."
}

func (k *Kubernetes) soa(zone string) dns.RR {
	return &dns.SOA{
		Hdr:     dns.RR_Header{Name: zone, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: k.TTL},
		Ns:      "ns.dns." + k.clusterZone(),
		Mbox:    "hostmaster." + k.clusterZone(),
		Serial:  k.Index.Serial(),
		Refresh: 7200,
		Retry:   1800,
		Expire:  86400,
		Minttl:  k.TTL,
	}
}

// maxChase bounds how many ExternalName CNAMEs within the cluster zone are
// followed for one answer.
const maxChase = 8

// forward answers names in the cluster zone.
func (k *Kubernetes) forward(qname, zone string, qtype uint16) result {
	rest := strings.TrimSuffix(qname[:len(qname)-len(zone)], ".")
	if zone == "." {
		rest = strings.TrimSuffix(qname, ".")
	}
	if rest == "" {
		return k.apex(zone, qtype)
	}
	// At most five labels name anything (_port._proto.svc.ns.svc); split
	// into an array on the stack, as this runs for every query.
	var buf [5]string
	labels := buf[:0]
	for {
		if len(labels) == len(buf) {
			return result{}
		}
		i := strings.IndexByte(rest, '.')
		if i < 0 {
			labels = append(labels, rest)
			break
		}
		labels = append(labels, rest[:i])
		rest = rest[i+1:]
	}
	n := len(labels)
	switch labels[n-1] {
	case "dns-version":
		if n != 1 {
			return result{}
		}
		if qtype != dns.TypeTXT {
			return result{exists: true}
		}
		return result{exists: true, answer: []dns.RR{&dns.TXT{Hdr: k.hdr(qname, dns.TypeTXT), Txt: []string{SchemaVersion}}}}
	case "svc":
		switch n {
		case 1:
			return result{exists: true}
		case 2:
			return result{exists: k.namespaceExists(labels[0])}
		case 3:
			return k.service(qname, zone, labels[1], labels[0], qtype)
		case 4:
			if strings.HasPrefix(labels[0], "_") {
				return k.protocol(labels[2], labels[1], labels[0][1:])
			}
			return k.endpoint(qname, labels[2], labels[1], labels[0], qtype)
		case 5:
			if len(labels[0]) < 2 || len(labels[1]) < 2 || labels[0][0] != '_' || labels[1][0] != '_' {
				return result{}
			}
			return k.servicePort(qname, zone, labels[3], labels[2], labels[0][1:], labels[1][1:], qtype)
		}
		return result{}
	case "pod":
		if k.Pods == PodsDisabled {
			return result{}
		}
		switch n {
		case 1:
			return result{exists: true}
		case 2:
			return result{exists: k.namespaceExists(labels[0])}
		case 3:
			return k.pod(qname, labels[1], labels[0], qtype)
		}
	}
	return result{}
}

func (k *Kubernetes) apex(zone string, qtype uint16) result {
	switch qtype {
	case dns.TypeSOA:
		return result{exists: true, answer: []dns.RR{k.soa(zone)}}
	case dns.TypeNS:
		return result{exists: true, answer: []dns.RR{&dns.NS{Hdr: k.hdr(zone, dns.TypeNS), Ns: "ns.dns." + zone}}}
	}
	return result{exists: true}
}

func (k *Kubernetes) hdr(name string, t uint16) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: k.TTL}
}

// addrRR makes an A or AAAA record for ip if it fits qtype, else nil.
func (k *Kubernetes) addrRR(name string, ip netip.Addr, qtype uint16) dns.RR {
	switch {
	case ip.Is4() && qtype == dns.TypeA:
		// The record and its address bytes in one allocation.
		a := new(struct {
			rr dns.A
			ip [4]byte
		})
		a.ip = ip.As4()
		a.rr = dns.A{Hdr: k.hdr(name, dns.TypeA), A: a.ip[:]}
		return &a.rr
	case ip.Is6() && !ip.Is4In6() && qtype == dns.TypeAAAA:
		a := new(struct {
			rr dns.AAAA
			ip [16]byte
		})
		a.ip = ip.As16()
		a.rr = dns.AAAA{Hdr: k.hdr(name, dns.TypeAAAA), AAAA: a.ip[:]}
		return &a.rr
	}
	return nil
}

// endpointName is the DNS label of an endpoint: its hostname, else its
// pod's name (endpoint_pod_names), else its address with dashes.
func (k *Kubernetes) endpointName(e Endpoint) string {
	if e.Hostname != "" {
		return e.Hostname
	}
	if k.EndpointPodNames && e.PodName != "" {
		return e.PodName
	}
	return dashed(e.Addr)
}

func dashed(ip netip.Addr) string {
	if ip.Is4() {
		return strings.ReplaceAll(ip.String(), ".", "-")
	}
	return strings.ReplaceAll(ip.String(), ":", "-")
}

// endpoints returns the endpoints of svc that DNS serves, deduplicated by
// address, with the slice ports.
func (k *Kubernetes) endpoints(svc *Service) ([]Endpoint, []Port) {
	var (
		eps   []Endpoint
		ports []Port
		seen  = map[netip.Addr]bool{}
	)
	for _, s := range k.Index.EndpointSlices(svc.Namespace, svc.Name) {
		for _, p := range s.Ports {
			dup := false
			for _, q := range ports {
				dup = dup || q == p
			}
			if !dup {
				ports = append(ports, p)
			}
		}
		for _, e := range s.Endpoints {
			if (e.Ready || svc.PublishNotReady) && !seen[e.Addr] {
				seen[e.Addr] = true
				eps = append(eps, e)
			}
		}
	}
	return eps, ports
}

// lookup returns the served service ns/name, or nil: services in
// namespaces not served, and headless ones without endpoint records
// (noendpoints), do not exist.
func (k *Kubernetes) lookup(ns, name string) *Service {
	if !k.exposed(ns) {
		return nil
	}
	svc := k.Index.Service(ns, name)
	if svc == nil || (k.NoEndpoints && svc.Headless) {
		return nil
	}
	return svc
}

// service answers <svc>.<ns>.svc.<zone>.
func (k *Kubernetes) service(qname, zone, ns, name string, qtype uint16) result {
	svc := k.lookup(ns, name)
	if svc == nil {
		return result{}
	}
	res := result{exists: true}
	if svc.ExternalName != "" {
		res.answer = []dns.RR{&dns.CNAME{Hdr: k.hdr(qname, dns.TypeCNAME), Target: svc.ExternalName}}
		return res
	}
	switch qtype {
	case dns.TypeA, dns.TypeAAAA:
		res.answer = k.addresses(qname, svc, qtype)
	case dns.TypeSRV:
		res.answer, res.extra = k.srv(qname, zone, svc, "", "")
	}
	return res
}

// chase follows an answer that ends in a CNAME (an ExternalName service)
// whose target is in a cluster zone, appending the target's records, so
// the client gets them in one answer as from any resolver. Targets outside
// are left to the client's resolver; a loop or a chain longer than
// maxChase stops at the last new name.
func (k *Kubernetes) chase(answer []dns.RR, qtype uint16) []dns.RR {
	if qtype == dns.TypeCNAME || len(answer) == 0 {
		return answer
	}
	if _, ok := answer[len(answer)-1].(*dns.CNAME); !ok {
		return answer // the common case: nothing to follow
	}
	seen := map[string]bool{}
	for range maxChase {
		if len(answer) == 0 {
			return answer
		}
		cname, ok := answer[len(answer)-1].(*dns.CNAME)
		if !ok {
			return answer
		}
		seen[cname.Hdr.Name] = true
		target := cname.Target
		zone := k.Zones.Matches(target)
		if zone == "" || isReverse(zone) || seen[target] {
			return answer
		}
		answer = append(answer, k.forward(target, zone, qtype).answer...)
	}
	return answer
}

// addresses are the A or AAAA records of a service: its cluster IPs, or
// for a headless service its ready endpoints.
func (k *Kubernetes) addresses(qname string, svc *Service, qtype uint16) []dns.RR {
	var out []dns.RR
	if svc.Headless {
		eps, _ := k.endpoints(svc)
		for _, e := range eps {
			if rr := k.addrRR(qname, e.Addr, qtype); rr != nil {
				out = append(out, rr)
			}
		}
		return out
	}
	for _, ip := range svc.ClusterIPs {
		if rr := k.addrRR(qname, ip, qtype); rr != nil {
			out = append(out, rr)
		}
	}
	return out
}

// srv builds the SRV records of svc, limited to the port called portName
// over proto when they are set, and the addresses of their targets.
func (k *Kubernetes) srv(qname, zone string, svc *Service, portName, proto string) (answer, extra []dns.RR) {
	base := svc.Name + "." + svc.Namespace + ".svc." + zone
	match := func(p Port) bool {
		return portName == "" || (p.Name == portName && p.Protocol == proto)
	}
	if !svc.Headless {
		var ports []Port
		for _, p := range svc.Ports {
			if match(p) {
				ports = append(ports, p)
			}
		}
		for _, p := range ports {
			answer = append(answer, &dns.SRV{Hdr: k.hdr(qname, dns.TypeSRV), Priority: 0, Weight: uint16(100 / len(ports)), Port: uint16(p.Port), Target: base})
		}
		if len(answer) > 0 {
			for _, t := range []uint16{dns.TypeA, dns.TypeAAAA} {
				extra = append(extra, k.addresses(base, svc, t)...)
			}
		}
		return answer, extra
	}
	eps, ports := k.endpoints(svc)
	type target struct {
		name string
		port int32
		ip   netip.Addr
	}
	var targets []target
	for _, p := range ports {
		if !match(p) {
			continue
		}
		for _, e := range eps {
			targets = append(targets, target{name: k.endpointName(e) + "." + base, port: p.Port, ip: e.Addr})
		}
	}
	for _, t := range targets {
		answer = append(answer, &dns.SRV{Hdr: k.hdr(qname, dns.TypeSRV), Priority: 0, Weight: uint16(100 / len(targets)), Port: uint16(t.port), Target: t.name})
		for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
			if rr := k.addrRR(t.name, t.ip, qt); rr != nil {
				extra = append(extra, rr)
			}
		}
	}
	return answer, extra
}

// servicePort answers _<port>._<proto>.<svc>.<ns>.svc.<zone>.
func (k *Kubernetes) servicePort(qname, zone, ns, name, port, proto string, qtype uint16) result {
	svc := k.lookup(ns, name)
	if svc == nil || svc.ExternalName != "" {
		return result{}
	}
	answer, extra := k.srv(qname, zone, svc, port, proto)
	if len(answer) == 0 {
		return result{}
	}
	res := result{exists: true}
	switch qtype {
	case dns.TypeSRV:
		res.answer, res.extra = answer, extra
	case dns.TypeA, dns.TypeAAAA:
		res.answer = k.addresses(qname, svc, qtype)
	}
	return res
}

// protocol answers _<proto>.<svc>.<ns>.svc.<zone>: the empty non-terminal
// above the SRV names of the service's named ports over proto.
func (k *Kubernetes) protocol(ns, name, proto string) result {
	svc := k.lookup(ns, name)
	if svc == nil || svc.ExternalName != "" {
		return result{}
	}
	ports := svc.Ports
	if svc.Headless {
		_, ports = k.endpoints(svc)
	}
	for _, p := range ports {
		if p.Name != "" && p.Protocol == proto {
			return result{exists: true}
		}
	}
	return result{}
}

// endpoint answers <hostname>.<svc>.<ns>.svc.<zone>.
func (k *Kubernetes) endpoint(qname, ns, name, host string, qtype uint16) result {
	svc := k.lookup(ns, name)
	if svc == nil || k.NoEndpoints {
		return result{}
	}
	eps, _ := k.endpoints(svc)
	res := result{}
	for _, e := range eps {
		if k.endpointName(e) != host {
			continue
		}
		res.exists = true
		if rr := k.addrRR(qname, e.Addr, qtype); rr != nil {
			res.answer = append(res.answer, rr)
		}
	}
	return res
}

// pod answers <a-b-c-d>.<ns>.pod.<zone>.
func (k *Kubernetes) pod(qname, ns, label string, qtype uint16) result {
	if !k.exposed(ns) {
		return result{}
	}
	ip, err := netip.ParseAddr(strings.ReplaceAll(label, "-", "."))
	if err != nil || !ip.Is4() {
		if ip, err = netip.ParseAddr(strings.ReplaceAll(label, "-", ":")); err != nil {
			return result{}
		}
	}
	if k.Pods == PodsVerified {
		found := false
		for _, p := range k.Index.PodsByIP(ip) {
			found = found || p.Namespace == ns
		}
		if !found {
			return result{}
		}
	}
	res := result{exists: true}
	if rr := k.addrRR(qname, ip, qtype); rr != nil {
		res.answer = []dns.RR{rr}
	}
	return res
}

// reverse answers PTR queries for service and endpoint addresses.
func (k *Kubernetes) reverse(qname string, qtype uint16) result {
	ip := plugin.ReverseIP(qname)
	if !ip.IsValid() {
		return result{}
	}
	zone := k.clusterZone()
	var targets []string
	for _, s := range k.Index.ServicesByIP(ip) {
		if k.exposed(s.Namespace) {
			targets = append(targets, s.Name+"."+s.Namespace+".svc."+zone)
		}
	}
	if !k.NoEndpoints {
		for _, r := range k.Index.EndpointsByIP(ip) {
			if k.exposed(r.Namespace) {
				targets = append(targets, k.endpointName(r.Endpoint)+"."+r.Service+"."+r.Namespace+".svc."+zone)
			}
		}
	}
	if len(targets) == 0 {
		return result{}
	}
	res := result{exists: true}
	if qtype == dns.TypePTR {
		for _, t := range targets {
			res.answer = append(res.answer, &dns.PTR{Hdr: k.hdr(qname, dns.TypePTR), Ptr: t})
		}
	}
	return res
}

// AutoPath returns the search path of the pod that sent the query from
// addr — [<ns>.svc.<zone>, svc.<zone>, <zone>, ""] — or nil when no pod has
// that address (pods must be verified for the index to know pods).
func (k *Kubernetes) AutoPath(addr netip.Addr) []string {
	pods := k.Index.PodsByIP(addr.Unmap())
	if len(pods) == 0 || !k.exposed(pods[0].Namespace) {
		return nil
	}
	zone := k.clusterZone()
	return []string{pods[0].Namespace + ".svc." + zone, "svc." + zone, zone, ""}
}
