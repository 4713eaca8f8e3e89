package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"navarch.dev/apiserver/pkg/server"
	"navarch.dev/apiserver/testserver"
	"navarch.dev/proxy/internal/netnstest"
	"navarch.dev/proxy/internal/testobj"
)

// TestDualStackServiceInNetns runs the whole path of a dual-stack Service:
// an apiserver with an IPv4 and an IPv6 service range allocates a
// RequireDualStack Service a ClusterIP of each family, the proxy app (both
// iptables and ip6tables) in a node namespace programs them from the API,
// and a client namespace reaches backends, which serve on IPv4 and IPv6 in
// namespaces of their own, through either ClusterIP. Removing an IPv6
// endpoint stops IPv6 traffic to it and leaves IPv4 alone.
func TestDualStackServiceInNetns(t *testing.T) {
	lab := netnstest.New(t)
	c := &cluster{lab: lab, node: lab.NS("node"), client: lab.NS("client")}
	lab.Exec(c.node, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	lab.Exec(c.node, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
	lab.Link6(c.node, "192.168.79.1/24", "fd00:79::1/64", c.client, "192.168.79.2/24", "fd00:79::2/64")
	lab.Exec(c.client, "ip", "route", "add", "default", "via", "192.168.79.1")
	lab.Exec(c.client, "ip", "-6", "route", "add", "default", "via", "fd00:79::1")
	// A default route per family, as real nodes have: traffic to a cluster
	// IP that nothing DNATs reaches the REJECT rules.
	lab.Link6(c.node, "198.18.2.1/24", "fd00:18:2::1/64", lab.NS("uplink"), "198.18.2.2/24", "fd00:18:2::2/64")
	lab.Exec(c.node, "ip", "route", "add", "default", "via", "198.18.2.2")
	lab.Exec(c.node, "ip", "-6", "route", "add", "default", "via", "fd00:18:2::2")

	var eps4, eps6 []testobj.Endpoint
	for i := range 2 {
		ns := lab.NS(fmt.Sprintf("ep%d", i))
		ip4, ip6 := fmt.Sprintf("10.247.%d.2", i+1), fmt.Sprintf("fd00:247:%d::2", i+1)
		lab.Link6(c.node, fmt.Sprintf("10.247.%d.1/24", i+1), fmt.Sprintf("fd00:247:%d::1/64", i+1), ns, ip4+"/24", ip6+"/64")
		lab.Exec(ns, "ip", "route", "add", "default", "via", fmt.Sprintf("10.247.%d.1", i+1))
		lab.Exec(ns, "ip", "-6", "route", "add", "default", "via", fmt.Sprintf("fd00:247:%d::1", i+1))
		// The answer names the backend and the family it was reached on.
		for _, addr := range []string{ip4 + ":8080", "[" + ip6 + "]:8080"} {
			ln := netnstest.Listen(t, ns, addr)
			family := "v4"
			if strings.HasPrefix(addr, "[") {
				family = "v6"
			}
			body := fmt.Sprintf("ep%d-%s", i, family)
			srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, body) })}
			go srv.Serve(ln)
			t.Cleanup(func() { srv.Close() })
		}
		eps4 = append(eps4, testobj.Endpoint{IP: ip4, Node: "node-b"})
		eps6 = append(eps6, testobj.Endpoint{IP: ip6, Node: "node-b"})
	}

	ts := testserver.Start(t, func(o *server.Options) { o.ServiceClusterIPRange = "10.96.0.0/16,fd00:10:96::/112" })
	c.runProxy(t, ts, func(cfg *Config) { cfg.ClusterCIDR = "10.247.0.0/16,fd00:247::/48" })

	ctx := context.Background()
	svc := testobj.Service("default", "web", "", []int32{80}, func(s *v1.Service) {
		p := v1.IPFamilyPolicyRequireDualStack
		s.Spec.IPFamilyPolicy = &p
	})
	svc.Spec.ClusterIPs = nil
	got, err := c.api.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create RequireDualStack service: %v", err)
	}
	if len(got.Spec.ClusterIPs) != 2 {
		t.Fatalf("service got clusterIPs %v, want one per family", got.Spec.ClusterIPs)
	}
	vip4, vip6 := got.Spec.ClusterIPs[0], got.Spec.ClusterIPs[1]
	if net.ParseIP(vip4).To4() == nil || net.ParseIP(vip6).To4() != nil {
		t.Fatalf("clusterIPs %v, want [IPv4 IPv6]", got.Spec.ClusterIPs)
	}
	slices := c.api.DiscoveryV1().EndpointSlices("default")
	if _, err := slices.Create(ctx, testobj.Slice("default", "web", "web-v4", map[int32]int32{80: 8080}, eps4...), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	slice6 := testobj.Slice6("default", "web", "web-v6", map[int32]int32{80: 8080}, eps6...)
	if slice6, err = slices.Create(ctx, slice6, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c.waitRules(t, "web's IPv4 endpoints", func(s string) bool { return countLines(s, "default/web:p80", "-j DNAT") == 2 })
	c.waitRules6(t, "web's IPv6 endpoints", func(s string) bool {
		return countLines(s, "default/web:p80", "-j DNAT") == 2 && strings.Contains(s, vip6)
	})

	addr4, addr6 := net.JoinHostPort(vip4, "80"), net.JoinHostPort(vip6, "80")
	t.Run("IPv4 cluster IP reaches the IPv4 backends", func(t *testing.T) {
		got := c.hits(t, addr4, 30)
		if got["ep0-v4"]+got["ep1-v4"] != 30 || len(got) != 2 {
			t.Errorf("30 requests to %s reached %v, want both IPv4 backends", addr4, got)
		}
	})
	t.Run("IPv6 cluster IP reaches the IPv6 backends", func(t *testing.T) {
		got := c.hits(t, addr6, 30)
		if got["ep0-v6"]+got["ep1-v6"] != 30 || len(got) != 2 {
			t.Errorf("30 requests to %s reached %v, want both IPv6 backends", addr6, got)
		}
	})
	t.Run("removed IPv6 endpoint gets no IPv6 traffic", func(t *testing.T) {
		slice6.Endpoints = slice6.Endpoints[:1]
		if _, err := slices.Update(ctx, slice6, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		gone := eps6[1].IP
		c.waitRules6(t, gone+" gone", func(s string) bool { return !strings.Contains(s, gone) })
		if got := c.hits(t, addr6, 20); got["ep0-v6"] != 20 {
			t.Errorf("after removing ep1's IPv6 endpoint, requests to %s reached %v", addr6, got)
		}
		if got := c.hits(t, addr4, 30); got["ep0-v4"]+got["ep1-v4"] != 30 || len(got) != 2 {
			t.Errorf("after an IPv6 change, requests to %s reached %v, want both IPv4 backends", addr4, got)
		}
	})
	t.Run("no IPv6 endpoints rejects IPv6", func(t *testing.T) {
		if err := slices.Delete(ctx, "web-v6", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		c.waitRules6(t, "web's IPv6 REJECT", func(s string) bool { return strings.Contains(s, "default/web:p80 has no endpoints") })
		if _, err := netnstest.Get(c.client, addr6); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("GET %s without IPv6 endpoints: %v, want connection refused", addr6, err)
		}
		if got := c.hits(t, addr4, 10); got["ep0-v4"]+got["ep1-v4"] != 10 {
			t.Errorf("IPv4 requests reached %v", got)
		}
	})
	t.Run("service deleted through the API", func(t *testing.T) {
		if err := c.api.CoreV1().Services("default").Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		c.waitRules6(t, "web's IPv6 rules gone", func(s string) bool { return !strings.Contains(s, "default/web:p80") })
		c.waitRules(t, "web's IPv4 rules gone", func(s string) bool { return !strings.Contains(s, "default/web:p80") })
		// Both addresses are free again: a new service may ask for them.
		again := testobj.Service("default", "again", vip4, []int32{80}, func(s *v1.Service) {
			p := v1.IPFamilyPolicyRequireDualStack
			s.Spec.IPFamilyPolicy = &p
		})
		again.Spec.ClusterIPs = []string{vip4, vip6}
		if _, err := c.api.CoreV1().Services("default").Create(ctx, again, metav1.CreateOptions{}); err != nil {
			t.Errorf("create on the deleted service's addresses: %v", err)
		}
	})
}

// waitRules6 is waitRules for the node's ip6tables nat table.
func (c *cluster) waitRules6(t *testing.T, what string, ok func(nat string) bool) {
	t.Helper()
	for range 600 {
		if ok(c.save6()) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("IPv6 rules never showed %s:\n%s", what, c.save6())
}
