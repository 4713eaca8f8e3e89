package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
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
	"navarch.dev/proxy/pkg/netns"
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
	return startClusterWith(t, nBackends, nil)
}

// startClusterWith is startCluster with the proxy's Config changed by
// modify (may be nil).
func startClusterWith(t *testing.T, nBackends int, modify func(*Config)) *cluster {
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

	c.runProxy(t, testserver.Start(t), modify)
	return c
}

// runProxy runs the proxy app in the node namespace against ts until the
// test ends, then checks that --cleanup removes every rule it wrote.
func (c *cluster) runProxy(t *testing.T, ts *testserver.TestServer, modify func(*Config)) {
	c.api = ts.Client
	ctx, cancel := context.WithCancel(context.Background())
	cfg := Defaults()
	cfg.Client = ts.Client
	cfg.NetNS = c.node
	cfg.HostnameOverride = "node-a"
	cfg.ClusterCIDR = "10.244.0.0/16"
	cfg.MinSyncPeriod = 0
	cfg.HealthzBindAddress, cfg.MetricsBindAddress = "", ""
	if modify != nil {
		modify(&cfg)
	}
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("proxy: %v", err)
		}
		// What --cleanup does.
		clean := Defaults()
		clean.Cleanup, clean.NetNS = true, c.node
		if err := Run(context.Background(), clean); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		if out := c.save() + c.save6(); strings.Contains(out, "KUBE-") {
			t.Errorf("rules left after cleanup:\n%s", out)
		}
	})
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
	c.setEndpointsOn(t, "node-b", ns, name, backends...)
}

// setEndpointsOn is setEndpoints with the endpoints on node (the proxy runs
// as node-a).
func (c *cluster) setEndpointsOn(t *testing.T, node, ns, name string, backends ...int) {
	t.Helper()
	var eps []testobj.Endpoint
	for _, i := range backends {
		eps = append(eps, testobj.Endpoint{IP: c.backends[i], Node: node})
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

// save6 is save for ip6tables.
func (c *cluster) save6() string {
	return c.lab.Exec(c.node, "ip6tables-legacy-save") + c.lab.Exec(c.node, "ip6tables-nft-save")
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
	// The IPv6 proxier runs too, after the IPv4 one in each sync (its
	// chains are what --cleanup must also remove, checked at the end).
	ipv6 := false
	for range 200 {
		if ipv6 = strings.Contains(c.save6(), ":KUBE-SERVICES"); ipv6 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !ipv6 {
		t.Errorf("no IPv6 proxy chains:\n%s", c.save6())
	}

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

// setIngress sets a LoadBalancer service's status.loadBalancer.ingress, as a
// cloud controller would.
func (c *cluster) setIngress(t *testing.T, ns, name, ip string) {
	t.Helper()
	svc, err := c.api.CoreV1().Services(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc.Status.LoadBalancer.Ingress = []v1.LoadBalancerIngress{{IP: ip}}
	if _, err := c.api.CoreV1().Services(ns).UpdateStatus(context.Background(), svc, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("set ingress: %v", err)
	}
}

// httpGet makes a GET from inside namespace ns and returns status and body.
func httpGet(ns, url string) (int, string, error) {
	tr := &http.Transport{DisableKeepAlives: true, DialContext: func(ctx context.Context, network, addr string) (conn net.Conn, err error) {
		err = netns.Do(ns, func() error {
			conn, err = (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, addr)
			return err
		})
		return conn, err
	}}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// dialFails reports whether a TCP connection from ns to addr fails within
// a second (dropped or refused).
func dialFails(ns, addr string) bool {
	err := netns.Do(ns, func() error {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
		}
		return err
	})
	return err != nil
}

func TestLoadBalancerInNetns(t *testing.T) {
	c := startCluster(t, 2)
	const lbIP = "203.0.113.50"

	t.Run("source ranges admit and drop", func(t *testing.T) {
		svc := testobj.Service("default", "fw", "", []int32{80}, testobj.LoadBalancer(30081), testobj.SourceRanges("192.168.77.0/24"))
		c.createService(t, svc, 0, 1)
		c.setIngress(t, "default", "fw", lbIP)
		c.waitRules(t, "fw's firewall chain", func(s string) bool {
			return strings.Contains(s, "-A KUBE-SERVICES") && countLines(s, "default/fw:p80 loadbalancer IP", "-s 192.168.77.0/24") == 1
		})
		if got := c.hits(t, lbIP+":80", 10); got["ep0"]+got["ep1"] != 10 {
			t.Errorf("from an allowed source, requests reached %v", got)
		}
		cur, err := c.api.CoreV1().Services("default").Get(context.Background(), "fw", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cur.Spec.LoadBalancerSourceRanges = []string{"198.51.100.0/24"}
		if _, err := c.api.CoreV1().Services("default").Update(context.Background(), cur, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		c.waitRules(t, "the new source range", func(s string) bool {
			return countLines(s, "default/fw:p80 loadbalancer IP", "-s 198.51.100.0/24") == 1
		})
		if !dialFails(c.client, lbIP+":80") {
			t.Error("a source outside loadBalancerSourceRanges reached the load balancer IP")
		}
		// The node port is not filtered by source ranges, as upstream.
		if got := c.hits(t, nodeIP+":30081", 4); got["ep0"]+got["ep1"] != 4 {
			t.Errorf("node port requests reached %v", got)
		}
	})

	t.Run("health check node port", func(t *testing.T) {
		svc := testobj.Service("default", "local", "", []int32{80}, testobj.LoadBalancer(30082), testobj.ExternalLocal(32082))
		c.createService(t, svc, 0)
		url := "http://" + nodeIP + ":32082/healthz"
		var code int
		var body string
		for range 200 {
			var err error
			if code, body, err = httpGet(c.client, url); err == nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if code != http.StatusServiceUnavailable || !strings.Contains(body, `"localEndpoints": 0`) || !strings.Contains(body, `"name": "local"`) {
			t.Errorf("without local endpoints: %d %s; want 503 with localEndpoints 0", code, body)
		}
		c.setEndpointsOn(t, "node-a", "default", "local", 0, 1)
		for range 200 {
			if code, body, _ = httpGet(c.client, url); code == http.StatusOK {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if code != http.StatusOK || !strings.Contains(body, `"localEndpoints": 2`) {
			t.Errorf("with two local endpoints: %d %s; want 200 with localEndpoints 2", code, body)
		}
		if err := c.api.CoreV1().Services("default").Delete(context.Background(), "local", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		for range 200 {
			if !(dialFails(c.client, nodeIP+":32082")) {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			return
		}
		t.Error("health check node port still open after the service was deleted")
	})
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestHealthzAndMetrics checks what monitoring sees on 10256 and 10249:
// the upstream /healthz JSON and the sync metrics after real syncs.
func TestHealthzAndMetrics(t *testing.T) {
	healthz, metricsAddr := freeAddr(t), freeAddr(t)
	c := startClusterWith(t, 1, func(cfg *Config) {
		cfg.HealthzBindAddress, cfg.MetricsBindAddress = healthz, metricsAddr
	})
	c.createService(t, testobj.Service("default", "web", "", []int32{80}), 0)
	c.waitRules(t, "web's endpoint", func(s string) bool { return countLines(s, "default/web:p80", "-j DNAT") == 1 })

	// The sync that wrote the rules may still be finishing (the IPv6
	// proxier runs after the IPv4 one): wait for it to be reported.
	var code int
	var body string
	var h struct{ LastUpdated, CurrentTime string }
	for range 100 {
		var err error
		code, body, err = httpGet("", "http://"+healthz+"/healthz")
		if err != nil {
			t.Fatal(err)
		}
		if json.Unmarshal([]byte(body), &h) == nil && !strings.HasPrefix(h.LastUpdated, "0001-01-01") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := json.Unmarshal([]byte(body), &h); code != http.StatusOK || err != nil || h.LastUpdated == "" || h.CurrentTime == "" ||
		strings.HasPrefix(h.LastUpdated, "0001-01-01") {
		t.Errorf("/healthz: %d %s (%v); want 200 with lastUpdated (a real sync) and currentTime", code, body, err)
	}

	// The metrics follow the syncs asynchronously; wait for the rule count
	// that includes web's rules.
	var text string
	var err error
	for range 100 {
		_, text, err = httpGet("", "http://"+metricsAddr+"/metrics")
		if err == nil && metricValue(text, `kubeproxy_sync_proxy_rules_iptables_total{table="nat"}`) >= 10 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, m := range []string{"kubeproxy_sync_proxy_rules_duration_seconds_count", "kubeproxy_sync_full_proxy_rules_duration_seconds_count",
		`kubeproxy_sync_proxy_rules_iptables_total{table="nat"}`, "kubeproxy_sync_proxy_rules_last_timestamp_seconds"} {
		if v := metricValue(text, m); v <= 0 {
			t.Errorf("metric %s = %v, want > 0", m, v)
		}
	}
	if last := metricValue(text, "kubeproxy_sync_proxy_rules_last_timestamp_seconds"); time.Since(time.Unix(int64(last), 0)) > time.Minute {
		t.Errorf("last sync timestamp %v is not recent", last)
	}
}

// metricValue returns the value of the sample named exactly name (with its
// labels) in Prometheus text, or -1.
func metricValue(text, name string) float64 {
	for _, l := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err == nil {
				return f
			}
		}
	}
	return -1
}
