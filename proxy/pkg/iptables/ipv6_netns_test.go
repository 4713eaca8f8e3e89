package iptables

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"

	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"

	"navarch.dev/proxy/internal/netnstest"
	"navarch.dev/proxy/internal/testobj"
	"navarch.dev/proxy/pkg/servicemap"
)

// TestDualStackTrafficInNetns runs one proxier per IP family, as a
// dual-stack node does, in a node namespace with IPv4 and IPv6 links to a
// client and to three backends: a dual-stack Service's IPv4 and IPv6
// cluster IPs and its IPv6 NodePort spread load over the backends of each
// family, and an IPv6 service without endpoints rejects at once.
func TestDualStackTrafficInNetns(t *testing.T) {
	lab := netnstest.New(t)
	nodeNS, client := lab.NS("node"), lab.NS("client")
	lab.Exec(nodeNS, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	lab.Exec(nodeNS, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
	lab.Link6(nodeNS, "192.168.78.1/24", "fd00:78::1/64", client, "192.168.78.2/24", "fd00:78::2/64")
	lab.Exec(client, "ip", "route", "add", "default", "via", "192.168.78.1")
	lab.Exec(client, "ip", "-6", "route", "add", "default", "via", "fd00:78::1")
	// A default route, as real nodes have, so that traffic to a service IP
	// nothing DNATs reaches the REJECT rules in FORWARD.
	lab.Link6(nodeNS, "198.18.1.1/24", "fd00:18::1/64", lab.NS("uplink"), "198.18.1.2/24", "fd00:18::2/64")
	lab.Exec(nodeNS, "ip", "-6", "route", "add", "default", "via", "fd00:18::2")
	lab.Exec(nodeNS, "ip", "route", "add", "default", "via", "198.18.1.2")

	var eps4, eps6 []testobj.Endpoint
	for i := range 3 {
		ns := lab.NS(fmt.Sprintf("ep%d", i))
		ip4, ip6 := fmt.Sprintf("10.246.%d.2", i+1), fmt.Sprintf("fd00:246:%d::2", i+1)
		lab.Link6(nodeNS, fmt.Sprintf("10.246.%d.1/24", i+1), fmt.Sprintf("fd00:246:%d::1/64", i+1), ns, ip4+"/24", ip6+"/64")
		lab.Exec(ns, "ip", "route", "add", "default", "via", fmt.Sprintf("10.246.%d.1", i+1))
		lab.Exec(ns, "ip", "-6", "route", "add", "default", "via", fmt.Sprintf("fd00:246:%d::1", i+1))
		for _, addr := range []string{ip4 + ":8080", "[" + ip6 + "]:8080"} {
			ln := netnstest.Listen(t, ns, addr)
			name := fmt.Sprintf("ep%d", i)
			srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, name) })}
			go srv.Serve(ln)
			t.Cleanup(func() { srv.Close() })
		}
		eps4 = append(eps4, testobj.Endpoint{IP: ip4, Node: "node-b"})
		eps6 = append(eps6, testobj.Endpoint{IP: ip6, Node: "node-b"})
	}

	backend, err := DetectBackend(nodeNS)
	if err != nil {
		t.Fatal(err)
	}
	svc := testobj.Service("default", "web", "10.96.7.1", []int32{80}, testobj.NodePort(30088), testobj.DualStack("fd00:96::71"))
	empty := testobj.Service("default", "empty", "fd00:96::72", []int32{80}, func(s *v1.Service) {
		s.Spec.IPFamilies = []v1.IPFamily{v1.IPv6Protocol}
	})
	slices := []*discovery.EndpointSlice{
		testobj.Slice("default", "web", "web-4", ports(80, 8080), eps4...),
		testobj.Slice6("default", "web", "web-6", ports(80, 8080), eps6...),
	}
	for _, fam := range []struct {
		family v1.IPFamily
		cfg    RuleConfig
	}{
		{v1.IPv4Protocol, RuleConfig{ClusterCIDR: "10.246.0.0/16"}},
		{v1.IPv6Protocol, RuleConfig{ClusterCIDR: "fd00:246::/48", IPv6: true}},
	} {
		tr := servicemap.NewFamilyTracker("node-a", fam.family)
		tr.OnServiceUpdate(svc)
		tr.OnServiceUpdate(empty)
		for _, es := range slices {
			tr.OnEndpointSliceUpdate(es)
		}
		run := &ExecRunner{NetNS: nodeNS, Backend: backend, IPv6: fam.family == v1.IPv6Protocol}
		p := New(tr, run, Config{Rules: fam.cfg, ChunkChains: ChunkFor(backend), LocalhostNodePorts: fam.family == v1.IPv4Protocol})
		if _, err := p.Sync(); err != nil {
			t.Fatalf("%s sync: %v", fam.family, err)
		}
		t.Cleanup(func() {
			if err := Cleanup(run); err != nil {
				t.Errorf("cleanup %s: %v", fam.family, err)
			}
			if out, _ := run.Save("nat"); strings.Contains(string(out), "KUBE-") {
				t.Errorf("%s rules left after cleanup:\n%s", fam.family, out)
			}
		})
	}

	for _, tc := range []struct{ name, addr string }{
		{"IPv4 cluster IP", "10.96.7.1:80"},
		{"IPv6 cluster IP", "[fd00:96::71]:80"},
		{"IPv6 node port", "[fd00:78::1]:30088"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := map[string]int{}
			for range 30 {
				body, err := netnstest.Get(client, tc.addr)
				if err != nil {
					t.Fatalf("GET %s: %v", tc.addr, err)
				}
				got[body]++
			}
			if len(got) < 2 || got["ep0"]+got["ep1"]+got["ep2"] != 30 {
				t.Errorf("30 requests to %s reached %v, want at least two of ep0..ep2", tc.addr, got)
			}
		})
	}
	t.Run("IPv6 service without endpoints rejects", func(t *testing.T) {
		if _, err := netnstest.Get(client, "[fd00:96::72]:80"); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("GET: %v, want connection refused", err)
		}
	})
}
