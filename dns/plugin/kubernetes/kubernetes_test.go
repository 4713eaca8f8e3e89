package kubernetes

import (
	"context"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"navarch.dev/dns/pkg/plugin"
)

// fakeIndex is an Index over fixed records.
type fakeIndex struct {
	synced     bool
	services   []*Service
	slices     []*EndpointSlice
	pods       []*Pod
	namespaces []string
}

func (f *fakeIndex) HasSynced() bool { return f.synced }
func (f *fakeIndex) Serial() uint32  { return 42 }
func (f *fakeIndex) Service(ns, name string) *Service {
	for _, s := range f.services {
		if s.Namespace == ns && s.Name == name {
			return s
		}
	}
	return nil
}
func (f *fakeIndex) EndpointSlices(ns, svc string) []*EndpointSlice {
	var out []*EndpointSlice
	for _, s := range f.slices {
		if s.Namespace == ns && s.Service == svc {
			out = append(out, s)
		}
	}
	return out
}
func (f *fakeIndex) ServicesByIP(ip netip.Addr) []*Service {
	var out []*Service
	for _, s := range f.services {
		if slices.Contains(s.ClusterIPs, ip) {
			out = append(out, s)
		}
	}
	return out
}
func (f *fakeIndex) EndpointsByIP(ip netip.Addr) []EndpointRef {
	var out []EndpointRef
	for _, s := range f.slices {
		for _, e := range s.Endpoints {
			if e.Addr == ip {
				out = append(out, EndpointRef{Namespace: s.Namespace, Service: s.Service, Endpoint: e})
			}
		}
	}
	return out
}
func (f *fakeIndex) PodsByIP(ip netip.Addr) []*Pod {
	var out []*Pod
	for _, p := range f.pods {
		if p.IP == ip {
			out = append(out, p)
		}
	}
	return out
}
func (f *fakeIndex) NamespaceExists(ns string) bool { return slices.Contains(f.namespaces, ns) }

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

func clusterIP(ns, name string, ips []string, ports ...Port) *Service {
	s := &Service{Name: name, Namespace: ns, Ports: ports}
	for _, a := range ips {
		s.ClusterIPs = append(s.ClusterIPs, ip(a))
	}
	return s
}

func headless(ns, name string, ports ...Port) *Service {
	return &Service{Name: name, Namespace: ns, Headless: true, Ports: ports}
}

func endpoints(ns, svc string, ports []Port, eps ...Endpoint) *EndpointSlice {
	return &EndpointSlice{Name: svc + "-abc", Namespace: ns, Service: svc, Ports: ports, Endpoints: eps}
}

func ready(addr, hostname string) Endpoint {
	return Endpoint{Addr: ip(addr), Hostname: hostname, Ready: true}
}

func port(name, proto string, p int32) Port { return Port{Name: name, Protocol: proto, Port: p} }

func testIndex() *fakeIndex {
	return &fakeIndex{
		synced:     true,
		namespaces: []string{"default", "db", "kube-system"},
		services: []*Service{
			clusterIP("default", "web", []string{"10.96.0.20"}, port("http", "tcp", 80), port("dns", "udp", 53)),
			clusterIP("default", "dual", []string{"10.96.0.21", "fd00::21"}, port("", "tcp", 80)),
			headless("db", "pg", port("postgres", "tcp", 5432)),
			headless("db", "empty"),
			{Name: "ext", Namespace: "default", ExternalName: "example.com."},
			{Name: "alias", Namespace: "default", ExternalName: "web.default.svc.cluster.local."},
			{Name: "loop", Namespace: "default", ExternalName: "loop.default.svc.cluster.local."},
			{Name: "pending", Namespace: "default", Headless: true, PublishNotReady: true},
			headless("default", "headweb", port("http", "tcp", 8080)),
			{Name: "cross", Namespace: "default", ExternalName: "pg.db.svc.cluster.local."},
		},
		slices: []*EndpointSlice{
			endpoints("default", "web", []Port{port("http", "tcp", 8080)}, ready("10.0.0.5", "")),
			endpoints("db", "pg", []Port{port("postgres", "tcp", 5432)},
				ready("10.0.1.1", "pg-0"), ready("10.0.1.2", "pg-1"),
				Endpoint{Addr: ip("10.0.1.3"), Hostname: "pg-2"}), // not ready
			endpoints("default", "pending", nil, Endpoint{Addr: ip("10.0.2.9")}),
			endpoints("default", "headweb", []Port{port("http", "tcp", 8080)}, ready("10.0.0.5", "")),
		},
		pods: []*Pod{{Name: "client", Namespace: "default", IP: ip("10.0.3.3")}},
	}
}

// rrs renders records without TTL for comparison, sorted.
func rrs(list []dns.RR) []string {
	var out []string
	for _, rr := range list {
		s := rr.String()
		f := strings.Fields(s)
		f = append(f[:1], f[2:]...) // drop TTL
		out = append(out, strings.Join(f, " "))
	}
	sort.Strings(out)
	return out
}

type testWriter struct {
	dns.ResponseWriter
	msg *dns.Msg
}

func (w *testWriter) WriteMsg(m *dns.Msg) error { w.msg = m; return nil }

func TestServeDNS(t *testing.T) {
	const soa = "cluster.local. IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 42 7200 1800 86400 5"
	tests := []struct {
		name      string
		qname     string
		qtype     uint16
		pods      string
		unsynced  bool
		rcode     int
		answer    []string
		ns        []string
		extra     []string
		passed    bool // handed to the next plugin
		podNames  bool
		fallthrou plugin.Zones
		// namespaces served (nil: all); noEndpoints as the option.
		namespaces  []string
		noEndpoints bool
	}{
		{name: "A of a ClusterIP service", qname: "web.default.svc.cluster.local.", qtype: dns.TypeA,
			answer: []string{"web.default.svc.cluster.local. IN A 10.96.0.20"}},
		{name: "name case is ignored", qname: "Web.Default.SVC.cluster.local.", qtype: dns.TypeA,
			answer: []string{"web.default.svc.cluster.local. IN A 10.96.0.20"}},
		{name: "AAAA of a single-stack service is NODATA", qname: "web.default.svc.cluster.local.", qtype: dns.TypeAAAA,
			ns: []string{soa}},
		{name: "AAAA of a dual-stack service", qname: "dual.default.svc.cluster.local.", qtype: dns.TypeAAAA,
			answer: []string{"dual.default.svc.cluster.local. IN AAAA fd00::21"}},
		{name: "TXT of a service is NODATA", qname: "web.default.svc.cluster.local.", qtype: dns.TypeTXT,
			ns: []string{soa}},
		{name: "missing service is NXDOMAIN", qname: "nope.default.svc.cluster.local.", qtype: dns.TypeA,
			rcode: dns.RcodeNameError, ns: []string{soa}},
		{name: "missing namespace is NXDOMAIN", qname: "web.nope.svc.cluster.local.", qtype: dns.TypeA,
			rcode: dns.RcodeNameError, ns: []string{soa}},
		{name: "existing namespace is NODATA", qname: "default.svc.cluster.local.", qtype: dns.TypeA,
			ns: []string{soa}},
		{name: "missing namespace name is NXDOMAIN", qname: "nope.svc.cluster.local.", qtype: dns.TypeA,
			rcode: dns.RcodeNameError, ns: []string{soa}},
		{name: "svc is an empty non-terminal", qname: "svc.cluster.local.", qtype: dns.TypeA, ns: []string{soa}},
		{name: "too many labels is NXDOMAIN", qname: "a.b.c.web.default.svc.cluster.local.", qtype: dns.TypeA,
			rcode: dns.RcodeNameError, ns: []string{soa}},
		{name: "other top label is NXDOMAIN", qname: "foo.cluster.local.", qtype: dns.TypeA,
			rcode: dns.RcodeNameError, ns: []string{soa}},
		{name: "headless A lists ready endpoints", qname: "pg.db.svc.cluster.local.", qtype: dns.TypeA,
			answer: []string{"pg.db.svc.cluster.local. IN A 10.0.1.1", "pg.db.svc.cluster.local. IN A 10.0.1.2"}},
		{name: "headless without endpoints is NODATA", qname: "empty.db.svc.cluster.local.", qtype: dns.TypeA,
			ns: []string{soa}},
		{name: "publishNotReadyAddresses serves unready endpoints", qname: "pending.default.svc.cluster.local.", qtype: dns.TypeA,
			answer: []string{"pending.default.svc.cluster.local. IN A 10.0.2.9"}},
		{name: "endpoint hostname", qname: "pg-1.pg.db.svc.cluster.local.", qtype: dns.TypeA,
			answer: []string{"pg-1.pg.db.svc.cluster.local. IN A 10.0.1.2"}},
		{name: "unready endpoint hostname is NXDOMAIN", qname: "pg-2.pg.db.svc.cluster.local.", qtype: dns.TypeA,
			rcode: dns.RcodeNameError, ns: []string{soa}},
		{name: "endpoint by dashed IP", qname: "10-0-0-5.web.default.svc.cluster.local.", qtype: dns.TypeA,
			answer: []string{"10-0-0-5.web.default.svc.cluster.local. IN A 10.0.0.5"}},
		{name: "endpoint AAAA is NODATA", qname: "pg-0.pg.db.svc.cluster.local.", qtype: dns.TypeAAAA,
			ns: []string{soa}},
		{name: "ExternalName is a CNAME", qname: "ext.default.svc.cluster.local.", qtype: dns.TypeA,
			answer: []string{"ext.default.svc.cluster.local. IN CNAME example.com."}},
		{name: "ExternalName in the cluster zone is chased", qname: "alias.default.svc.cluster.local.", qtype: dns.TypeA,
			answer: []string{"alias.default.svc.cluster.local. IN CNAME web.default.svc.cluster.local.", "web.default.svc.cluster.local. IN A 10.96.0.20"}},
		{name: "ExternalName CNAME query is not chased", qname: "alias.default.svc.cluster.local.", qtype: dns.TypeCNAME,
			answer: []string{"alias.default.svc.cluster.local. IN CNAME web.default.svc.cluster.local."}},
		{name: "ExternalName loop stops", qname: "loop.default.svc.cluster.local.", qtype: dns.TypeA,
			answer: []string{"loop.default.svc.cluster.local. IN CNAME loop.default.svc.cluster.local."}},
		{name: "SRV of a named port", qname: "_http._tcp.web.default.svc.cluster.local.", qtype: dns.TypeSRV,
			answer: []string{"_http._tcp.web.default.svc.cluster.local. IN SRV 0 100 80 web.default.svc.cluster.local."},
			extra:  []string{"web.default.svc.cluster.local. IN A 10.96.0.20"}},
		{name: "SRV of a udp port", qname: "_dns._udp.web.default.svc.cluster.local.", qtype: dns.TypeSRV,
			answer: []string{"_dns._udp.web.default.svc.cluster.local. IN SRV 0 100 53 web.default.svc.cluster.local."},
			extra:  []string{"web.default.svc.cluster.local. IN A 10.96.0.20"}},
		{name: "SRV of the wrong protocol is NXDOMAIN", qname: "_http._udp.web.default.svc.cluster.local.", qtype: dns.TypeSRV,
			rcode: dns.RcodeNameError, ns: []string{soa}},
		{name: "SRV of a service lists all ports", qname: "web.default.svc.cluster.local.", qtype: dns.TypeSRV,
			answer: []string{"web.default.svc.cluster.local. IN SRV 0 50 53 web.default.svc.cluster.local.", "web.default.svc.cluster.local. IN SRV 0 50 80 web.default.svc.cluster.local."},
			extra:  []string{"web.default.svc.cluster.local. IN A 10.96.0.20"}},
		{name: "headless SRV targets endpoints", qname: "_postgres._tcp.pg.db.svc.cluster.local.", qtype: dns.TypeSRV,
			answer: []string{"_postgres._tcp.pg.db.svc.cluster.local. IN SRV 0 50 5432 pg-0.pg.db.svc.cluster.local.", "_postgres._tcp.pg.db.svc.cluster.local. IN SRV 0 50 5432 pg-1.pg.db.svc.cluster.local."},
			extra:  []string{"pg-0.pg.db.svc.cluster.local. IN A 10.0.1.1", "pg-1.pg.db.svc.cluster.local. IN A 10.0.1.2"}},
		{name: "PTR of a cluster IP", qname: "20.0.96.10.in-addr.arpa.", qtype: dns.TypePTR,
			answer: []string{"20.0.96.10.in-addr.arpa. IN PTR web.default.svc.cluster.local."}},
		{name: "PTR of an endpoint", qname: "1.1.0.10.in-addr.arpa.", qtype: dns.TypePTR,
			answer: []string{"1.1.0.10.in-addr.arpa. IN PTR pg-0.pg.db.svc.cluster.local."}},
		{name: "PTR of an IPv6 cluster IP", qname: "1.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.", qtype: dns.TypePTR,
			answer: []string{"1.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa. IN PTR dual.default.svc.cluster.local."}},
		{name: "PTR of an unknown address is NXDOMAIN", qname: "9.9.9.10.in-addr.arpa.", qtype: dns.TypePTR,
			rcode: dns.RcodeNameError, ns: []string{"in-addr.arpa. IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 42 7200 1800 86400 5"}},
		{name: "PTR of an unknown address falls through", qname: "9.9.9.10.in-addr.arpa.", qtype: dns.TypePTR,
			fallthrou: plugin.Zones{"in-addr.arpa."}, passed: true},
		{name: "fallthrough only for its zones", qname: "nope.default.svc.cluster.local.", qtype: dns.TypeA,
			fallthrou: plugin.Zones{"in-addr.arpa."}, rcode: dns.RcodeNameError, ns: []string{soa}},
		{name: "pod A, insecure", qname: "10-0-9-9.default.pod.cluster.local.", qtype: dns.TypeA, pods: PodsInsecure,
			answer: []string{"10-0-9-9.default.pod.cluster.local. IN A 10.0.9.9"}},
		{name: "pod AAAA, insecure", qname: "fd00--9.default.pod.cluster.local.", qtype: dns.TypeAAAA, pods: PodsInsecure,
			answer: []string{"fd00--9.default.pod.cluster.local. IN AAAA fd00::9"}},
		{name: "pod verified, unknown", qname: "10-0-9-9.default.pod.cluster.local.", qtype: dns.TypeA, pods: PodsVerified,
			rcode: dns.RcodeNameError, ns: []string{soa}},
		{name: "pod verified, known", qname: "10-0-3-3.default.pod.cluster.local.", qtype: dns.TypeA, pods: PodsVerified,
			answer: []string{"10-0-3-3.default.pod.cluster.local. IN A 10.0.3.3"}},
		{name: "pod verified, other namespace", qname: "10-0-3-3.db.pod.cluster.local.", qtype: dns.TypeA, pods: PodsVerified,
			rcode: dns.RcodeNameError, ns: []string{soa}},
		{name: "pods disabled", qname: "10-0-9-9.default.pod.cluster.local.", qtype: dns.TypeA, pods: PodsDisabled,
			rcode: dns.RcodeNameError, ns: []string{soa}},
		{name: "not a pod address", qname: "web.default.pod.cluster.local.", qtype: dns.TypeA, pods: PodsInsecure,
			rcode: dns.RcodeNameError, ns: []string{soa}},
		{name: "dns-version", qname: "dns-version.cluster.local.", qtype: dns.TypeTXT,
			answer: []string{`dns-version.cluster.local. IN TXT "1.1.0"`}},
		{name: "apex SOA", qname: "cluster.local.", qtype: dns.TypeSOA, answer: []string{soa}},
		{name: "apex NS", qname: "cluster.local.", qtype: dns.TypeNS,
			answer: []string{"cluster.local. IN NS ns.dns.cluster.local."}},
		{name: "SERVFAIL before sync", qname: "web.default.svc.cluster.local.", qtype: dns.TypeA, unsynced: true,
			rcode: dns.RcodeServerFailure},
		{name: "endpoint pod names", qname: "web-7d4.web.default.svc.cluster.local.", qtype: dns.TypeA, podNames: true,
			answer: []string{"web-7d4.web.default.svc.cluster.local. IN A 10.0.0.5"}},

		// SRV forms.
		{name: "SRV of a headless service lists every endpoint and port", qname: "pg.db.svc.cluster.local.", qtype: dns.TypeSRV,
			answer: []string{"pg.db.svc.cluster.local. IN SRV 0 50 5432 pg-0.pg.db.svc.cluster.local.", "pg.db.svc.cluster.local. IN SRV 0 50 5432 pg-1.pg.db.svc.cluster.local."},
			extra:  []string{"pg-0.pg.db.svc.cluster.local. IN A 10.0.1.1", "pg-1.pg.db.svc.cluster.local. IN A 10.0.1.2"}},
		{name: "SRV of an unknown port name is NXDOMAIN", qname: "_https._tcp.web.default.svc.cluster.local.", qtype: dns.TypeSRV,
			rcode: dns.RcodeNameError, ns: []string{soa}},
		{name: "SRV name case is ignored", qname: "_HTTP._TCP.web.default.svc.cluster.local.", qtype: dns.TypeSRV,
			answer: []string{"_http._tcp.web.default.svc.cluster.local. IN SRV 0 100 80 web.default.svc.cluster.local."},
			extra:  []string{"web.default.svc.cluster.local. IN A 10.96.0.20"}},
		{name: "protocol label alone is an empty non-terminal", qname: "_tcp.web.default.svc.cluster.local.", qtype: dns.TypeSRV,
			ns: []string{soa}},
		{name: "protocol label of no port is NXDOMAIN", qname: "_sctp.web.default.svc.cluster.local.", qtype: dns.TypeSRV,
			rcode: dns.RcodeNameError, ns: []string{soa}},
		{name: "SRV of a dual-stack service adds both addresses", qname: "dual.default.svc.cluster.local.", qtype: dns.TypeSRV,
			answer: []string{"dual.default.svc.cluster.local. IN SRV 0 100 80 dual.default.svc.cluster.local."},
			extra:  []string{"dual.default.svc.cluster.local. IN A 10.96.0.21", "dual.default.svc.cluster.local. IN AAAA fd00::21"}},
		{name: "SRV of an ExternalName service is its CNAME", qname: "ext.default.svc.cluster.local.", qtype: dns.TypeSRV,
			answer: []string{"ext.default.svc.cluster.local. IN CNAME example.com."}},
		{name: "SRV of a named port of an ExternalName service is NXDOMAIN", qname: "_http._tcp.ext.default.svc.cluster.local.", qtype: dns.TypeSRV,
			rcode: dns.RcodeNameError, ns: []string{soa}},
		{name: "SRV targets use pod names with endpoint_pod_names", qname: "_http._tcp.headweb.default.svc.cluster.local.", qtype: dns.TypeSRV, podNames: true,
			answer: []string{"_http._tcp.headweb.default.svc.cluster.local. IN SRV 0 100 8080 web-7d4.headweb.default.svc.cluster.local."},
			extra:  []string{"web-7d4.headweb.default.svc.cluster.local. IN A 10.0.0.5"}},
		{name: "SRV targets are dashed addresses without hostnames", qname: "_http._tcp.headweb.default.svc.cluster.local.", qtype: dns.TypeSRV,
			answer: []string{"_http._tcp.headweb.default.svc.cluster.local. IN SRV 0 100 8080 10-0-0-5.headweb.default.svc.cluster.local."},
			extra:  []string{"10-0-0-5.headweb.default.svc.cluster.local. IN A 10.0.0.5"}},
		{name: "empty port label is NXDOMAIN", qname: "_._tcp.web.default.svc.cluster.local.", qtype: dns.TypeSRV,
			rcode: dns.RcodeNameError, ns: []string{soa}},
		// Wildcard labels: CoreDNS removed them in 1.9.0 (they enumerate
		// services); they are names like any other and do not exist.
		{name: "wildcard service is not expanded", qname: "*.default.svc.cluster.local.", qtype: dns.TypeA,
			rcode: dns.RcodeNameError, ns: []string{soa}},
		{name: "wildcard SRV port is not expanded", qname: "_*._tcp.web.default.svc.cluster.local.", qtype: dns.TypeSRV,
			rcode: dns.RcodeNameError, ns: []string{soa}},

		// namespaces.
		{name: "listed namespace is served", qname: "web.default.svc.cluster.local.", qtype: dns.TypeA, namespaces: []string{"default"},
			answer: []string{"web.default.svc.cluster.local. IN A 10.96.0.20"}},
		{name: "service of an unlisted namespace is NXDOMAIN", qname: "pg.db.svc.cluster.local.", qtype: dns.TypeA, namespaces: []string{"default"},
			rcode: dns.RcodeNameError, ns: []string{soa}},
		{name: "unlisted namespace is NXDOMAIN", qname: "db.svc.cluster.local.", qtype: dns.TypeA, namespaces: []string{"default"},
			rcode: dns.RcodeNameError, ns: []string{soa}},
		{name: "SRV in an unlisted namespace is NXDOMAIN", qname: "_postgres._tcp.pg.db.svc.cluster.local.", qtype: dns.TypeSRV, namespaces: []string{"default"},
			rcode: dns.RcodeNameError, ns: []string{soa}},
		{name: "endpoint in an unlisted namespace is NXDOMAIN", qname: "pg-0.pg.db.svc.cluster.local.", qtype: dns.TypeA, namespaces: []string{"default"},
			rcode: dns.RcodeNameError, ns: []string{soa}},
		{name: "pod in an unlisted namespace is NXDOMAIN", qname: "10-0-9-9.db.pod.cluster.local.", qtype: dns.TypeA, pods: PodsInsecure, namespaces: []string{"default"},
			rcode: dns.RcodeNameError, ns: []string{soa}},
		{name: "PTR of an endpoint in an unlisted namespace is NXDOMAIN", qname: "1.1.0.10.in-addr.arpa.", qtype: dns.TypePTR, namespaces: []string{"default"},
			rcode: dns.RcodeNameError, ns: []string{"in-addr.arpa. IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 42 7200 1800 86400 5"}},
		{name: "PTR of a service in a listed namespace", qname: "20.0.96.10.in-addr.arpa.", qtype: dns.TypePTR, namespaces: []string{"default"},
			answer: []string{"20.0.96.10.in-addr.arpa. IN PTR web.default.svc.cluster.local."}},
		{name: "ExternalName into an unlisted namespace is not chased", qname: "cross.default.svc.cluster.local.", qtype: dns.TypeA, namespaces: []string{"default"},
			answer: []string{"cross.default.svc.cluster.local. IN CNAME pg.db.svc.cluster.local."}},

		// noendpoints.
		{name: "noendpoints: ClusterIP service still answers", qname: "web.default.svc.cluster.local.", qtype: dns.TypeA, noEndpoints: true,
			answer: []string{"web.default.svc.cluster.local. IN A 10.96.0.20"}},
		{name: "noendpoints: ClusterIP SRV still answers", qname: "_http._tcp.web.default.svc.cluster.local.", qtype: dns.TypeSRV, noEndpoints: true,
			answer: []string{"_http._tcp.web.default.svc.cluster.local. IN SRV 0 100 80 web.default.svc.cluster.local."},
			extra:  []string{"web.default.svc.cluster.local. IN A 10.96.0.20"}},
		{name: "noendpoints: headless service is NXDOMAIN", qname: "pg.db.svc.cluster.local.", qtype: dns.TypeA, noEndpoints: true,
			rcode: dns.RcodeNameError, ns: []string{soa}},
		{name: "noendpoints: headless SRV is NXDOMAIN", qname: "_postgres._tcp.pg.db.svc.cluster.local.", qtype: dns.TypeSRV, noEndpoints: true,
			rcode: dns.RcodeNameError, ns: []string{soa}},
		{name: "noendpoints: endpoint name is NXDOMAIN", qname: "10-0-0-5.web.default.svc.cluster.local.", qtype: dns.TypeA, noEndpoints: true,
			rcode: dns.RcodeNameError, ns: []string{soa}},
		{name: "noendpoints: endpoint PTR is NXDOMAIN", qname: "1.1.0.10.in-addr.arpa.", qtype: dns.TypePTR, noEndpoints: true,
			rcode: dns.RcodeNameError, ns: []string{"in-addr.arpa. IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 42 7200 1800 86400 5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idx := testIndex()
			idx.synced = !tt.unsynced
			if tt.podNames {
				idx.slices[0].Endpoints[0].PodName = "web-7d4"
				idx.slices[3].Endpoints[0].PodName = "web-7d4"
			}
			var namespaces map[string]bool
			if tt.namespaces != nil {
				namespaces = map[string]bool{}
				for _, ns := range tt.namespaces {
					namespaces[ns] = true
				}
			}
			pods := tt.pods
			if pods == "" {
				pods = PodsDisabled
			}
			passed := false
			k := &Kubernetes{
				Zones: plugin.Zones{"cluster.local.", "in-addr.arpa.", "ip6.arpa."},
				Index: idx, TTL: 5, Pods: pods, EndpointPodNames: tt.podNames, Fallthrough: tt.fallthrou,
				Namespaces: namespaces, NoEndpoints: tt.noEndpoints,
				Next: plugin.HandlerFunc(func(context.Context, dns.ResponseWriter, *dns.Msg) (int, error) {
					passed = true
					return dns.RcodeSuccess, nil
				}),
			}
			w := &testWriter{}
			r := new(dns.Msg).SetQuestion(tt.qname, tt.qtype)
			rcode, err := k.ServeDNS(context.Background(), w, r)
			if err != nil {
				t.Fatalf("ServeDNS: %v", err)
			}
			if passed != tt.passed {
				t.Fatalf("passed to next = %v, want %v", passed, tt.passed)
			}
			if tt.passed {
				return
			}
			if rcode != tt.rcode {
				t.Fatalf("rcode = %s, want %s", dns.RcodeToString[rcode], dns.RcodeToString[tt.rcode])
			}
			if plugin.ClientWrite(rcode) {
				if w.msg != nil {
					t.Fatalf("wrote a message for rcode %d", rcode)
				}
				return
			}
			m := w.msg
			if !m.Authoritative {
				t.Error("answer is not authoritative")
			}
			if m.Rcode != tt.rcode {
				t.Errorf("message rcode = %d, want %d", m.Rcode, tt.rcode)
			}
			for _, c := range []struct {
				what      string
				got, want []string
			}{{"answer", rrs(m.Answer), tt.answer}, {"authority", rrs(m.Ns), tt.ns}, {"additional", rrs(m.Extra), tt.extra}} {
				want := slices.Clone(c.want)
				sort.Strings(want)
				if !slices.Equal(c.got, want) {
					t.Errorf("%s:\n got %q\nwant %q", c.what, c.got, want)
				}
			}
		})
	}
}

func TestAutoPath(t *testing.T) {
	k := &Kubernetes{Zones: plugin.Zones{"cluster.local."}, Index: testIndex()}
	tests := []struct {
		name string
		addr string
		want []string
	}{
		{name: "known pod", addr: "10.0.3.3", want: []string{"default.svc.cluster.local.", "svc.cluster.local.", "cluster.local.", ""}},
		{name: "unknown client", addr: "10.0.3.4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := k.AutoPath(ip(tt.addr)); !slices.Equal(got, tt.want) {
				t.Errorf("AutoPath = %q, want %q", got, tt.want)
			}
		})
	}
}
