package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"navarch.dev/apiserver/testserver"
	"navarch.dev/proxy/internal/netnstest"
	"navarch.dev/proxy/internal/testobj"
	"navarch.dev/proxy/pkg/iptables"
)

// cluster is a node namespace running the proxy against a real apiserver,
// a client namespace outside the cluster network, and backend namespaces
// each serving HTTP with its own name.
type cluster struct {
	lab      *netnstest.Lab
	node     string
	client   string
	api      kubernetes.Interface
	backends []string // backend IPs, index i serves "ep<i>"
}

const nodeIP = "192.168.77.1"

func startCluster(t *testing.T, nBackends int) *cluster {
	lab := netnstest.New(t)
	c := &cluster{lab: lab, node: lab.NS("node"), client: lab.NS("client")}
	lab.Exec(c.node, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	lab.Link(c.node, nodeIP+"/24", c.client, "192.168.77.2/24")
	lab.Exec(c.client, "ip", "route", "add", "default", "via", nodeIP)
	// Real nodes have a default route; without one, traffic to a cluster IP
	// that nothing DNATs would fail routing before the REJECT rules see it.
	lab.Link(c.node, "198.18.0.1/24", lab.NS("uplink"), "198.18.0.2/24")
	lab.Exec(c.node, "ip", "route", "add", "default", "via", "198.18.0.2")
	for i := range nBackends {
		ns := lab.NS(fmt.Sprintf("ep%d", i))
		ip := fmt.Sprintf("10.244.%d.2", i+1)
		lab.Link(c.node, fmt.Sprintf("10.244.%d.1/24", i+1), ns, ip+"/24")
		lab.Exec(ns, "ip", "route", "add", "default", "via", fmt.Sprintf("10.244.%d.1", i+1))
		ln := netnstest.Listen(t, ns, ip+":8080")
		name := fmt.Sprintf("ep%d", i)
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, name) })}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		c.backends = append(c.backends, ip)
	}

	ts := testserver.Start(t)
	c.api = ts.Client
	ctx, cancel := context.WithCancel(context.Background())
	cfg := Defaults()
	cfg.Client = ts.Client
	cfg.NetNS = c.node
	cfg.HostnameOverride = "node-a"
	cfg.ClusterCIDR = "10.244.0.0/16"
	cfg.MinSyncPeriod = 0
	cfg.HealthzBindAddress, cfg.MetricsBindAddress = "", ""
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("proxy: %v", err)
		}
		for _, b := range []iptables.Backend{iptables.BackendLegacy, iptables.BackendNFT} {
			if err := iptables.Cleanup(&iptables.ExecRunner{NetNS: c.node, Backend: b}); err != nil {
				t.Errorf("cleanup %s: %v", b, err)
			}
		}
		if out := c.save(); strings.Contains(out, "KUBE-") {
			t.Errorf("rules left after cleanup:\n%s", out)
		}
	})
	return c
}

// createService creates svc and an EndpointSlice with the given backends
// (indexes into c.backends), and returns the allocated cluster IP.
func (c *cluster) createService(t *testing.T, svc *v1.Service, backends ...int) string {
	t.Helper()
	svc.Spec.ClusterIP, svc.Spec.ClusterIPs = "", nil
	got, err := c.api.CoreV1().Services(svc.Namespace).Create(context.Background(), svc, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create service: %v", err)
	}
	c.setEndpoints(t, svc.Namespace, svc.Name, backends...)
	return got.Spec.ClusterIP
}

func (c *cluster) setEndpoints(t *testing.T, ns, name string, backends ...int) {
	t.Helper()
	var eps []testobj.Endpoint
	for _, i := range backends {
		eps = append(eps, testobj.Endpoint{IP: c.backends[i], Node: "node-b"})
	}
	es := testobj.Slice(ns, name, name+"-x", map[int32]int32{80: 8080}, eps...)
	slices := c.api.DiscoveryV1().EndpointSlices(ns)
	cur, err := slices.Get(context.Background(), es.Name, metav1.GetOptions{})
	if err == nil {
		es.ResourceVersion = cur.ResourceVersion
		_, err = slices.Update(context.Background(), es, metav1.UpdateOptions{})
	} else {
		_, err = slices.Create(context.Background(), es, metav1.CreateOptions{})
	}
	if err != nil {
		t.Fatalf("write endpointslice: %v", err)
	}
}

// waitRules waits until the node's nat table satisfies ok: the proxy syncs
// asynchronously, and this is the point where it has caught up.
func (c *cluster) waitRules(t *testing.T, what string, ok func(nat string) bool) {
	t.Helper()
	for range 600 {
		if ok(c.save()) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("rules never showed %s:\n%s", what, c.save())
}

// save returns the node's rules in both iptables backends: the proxy picks
// one itself (--iptables-backend=auto).
func (c *cluster) save() string {
	return c.lab.Exec(c.node, "iptables-legacy-save") + c.lab.Exec(c.node, "iptables-nft-save")
}

// hits sends n requests from the client namespace and counts answers by
// backend name.
func (c *cluster) hits(t *testing.T, addr string, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for range n {
		body, err := netnstest.Get(c.client, addr)
		if err != nil {
			t.Fatalf("GET %s: %v", addr, err)
		}
		got[body]++
	}
	return got
}

func TestServicesInNetns(t *testing.T) {
	c := startCluster(t, 3)
	web := testobj.Service("default", "web", "", []int32{80}, testobj.NodePort(30080))
	cip := c.createService(t, web, 0, 1, 2)
	c.waitRules(t, "web's endpoints", func(s string) bool { return countLines(s, "default/web:p80", "-j DNAT") == 3 })

	t.Run("cluster IP spreads load", func(t *testing.T) {
		got := c.hits(t, cip+":80", 30)
		if len(got) < 2 {
			t.Errorf("30 requests reached %v, want at least two backends", got)
		}
	})
	t.Run("node port spreads load", func(t *testing.T) {
		got := c.hits(t, nodeIP+":30080", 30)
		if len(got) < 2 {
			t.Errorf("30 requests reached %v, want at least two backends", got)
		}
	})
	t.Run("removed endpoint gets no traffic", func(t *testing.T) {
		c.setEndpoints(t, "default", "web", 0, 1)
		c.waitRules(t, "ep2 gone", func(s string) bool { return !strings.Contains(s, c.backends[2]) })
		got := c.hits(t, cip+":80", 30)
		if got["ep2"] != 0 || got["ep0"]+got["ep1"] != 30 {
			t.Errorf("after removing ep2, requests reached %v", got)
		}
	})
	t.Run("no endpoints rejects", func(t *testing.T) {
		empty := testobj.Service("default", "empty", "", []int32{80})
		eip := c.createService(t, empty)
		c.waitRules(t, "empty's REJECT", func(s string) bool { return strings.Contains(s, "default/empty:p80 has no endpoints") })
		_, err := netnstest.Get(c.client, eip+":80")
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("GET service without endpoints: %v, want connection refused", err)
		}
	})
	t.Run("client IP affinity sticks", func(t *testing.T) {
		sticky := testobj.Service("default", "sticky", "", []int32{80}, testobj.ClientIPAffinity(600))
		sip := c.createService(t, sticky, 0, 1, 2)
		c.waitRules(t, "sticky's endpoints", func(s string) bool { return countLines(s, "default/sticky:p80", "--rcheck") == 3 })
		got := c.hits(t, sip+":80", 20)
		if len(got) != 1 {
			t.Errorf("20 requests with ClientIP affinity reached %v, want one backend", got)
		}
	})
}

// countLines counts the lines of s that contain every one of subs.
func countLines(s string, subs ...string) int {
	n := 0
	for _, l := range strings.Split(s, "\n") {
		all := true
		for _, sub := range subs {
			all = all && strings.Contains(l, sub)
		}
		if all {
			n++
		}
	}
	return n
}
