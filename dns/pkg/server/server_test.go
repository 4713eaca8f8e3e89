package server

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"navarch.dev/apiserver/testserver"
)

// freePort returns a loopback port free for both UDP and TCP.
func freePort(t testing.TB) int {
	t.Helper()
	for range 50 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		ln.Close()
		if err == nil {
			pc.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// testUpstream is a resolver on loopback: A 192.0.2.1 for every name,
// except names starting "nope." which get NXDOMAIN with an SOA.
type testUpstream struct {
	addr    string
	queries atomic.Int32
}

func startUpstream(t testing.TB) *testUpstream {
	u := &testUpstream{addr: fmt.Sprintf("127.0.0.1:%d", freePort(t))}
	h := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		u.queries.Add(1)
		m := new(dns.Msg).SetReply(r)
		name := r.Question[0].Name
		if strings.HasPrefix(name, "nope.") {
			m.Rcode = dns.RcodeNameError
			soa, _ := dns.NewRR("example. 60 IN SOA ns.example. host.example. 1 7200 1800 86400 30")
			m.Ns = []dns.RR{soa}
		} else if r.Question[0].Qtype == dns.TypeA {
			m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(192, 0, 2, 1)}}
		}
		w.WriteMsg(m)
	})
	for _, network := range []string{"udp", "tcp"} {
		s := &dns.Server{Addr: u.addr, Net: network, Handler: h}
		started := make(chan struct{})
		s.NotifyStartedFunc = func() { close(started) }
		go s.ListenAndServe()
		<-started
		t.Cleanup(func() { s.Shutdown() })
	}
	return u
}

type dnsEnv struct {
	client        kubernetes.Interface
	plain, cached string // DNS addresses of the blocks without and with cache
	health, ready string
	metrics       string
	upstream      *testUpstream
}

// startDNS starts an apiserver, an upstream and navarch-dns with two server
// blocks: one without cache and one with.
func startDNS(t testing.TB) *dnsEnv {
	t.Helper()
	ts := testserver.Start(t)
	e := &dnsEnv{client: ts.Client, upstream: startUpstream(t)}
	p1, p2 := freePort(t), freePort(t)
	e.plain, e.cached = fmt.Sprintf("127.0.0.1:%d", p1), fmt.Sprintf("127.0.0.1:%d", p2)
	e.health = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	e.ready = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	e.metrics = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	corefile := fmt.Sprintf(`
# Without cache: answers follow the API at once.
.:%d {
    bind 127.0.0.1
    errors
    health %s
    ready %s
    prometheus %s
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    forward . %s
    loop
}
.:%d {
    bind 127.0.0.1
    prometheus %s
    cache 30
    kubernetes cluster.local
    forward . %s
}
`, p1, e.health, e.ready, e.metrics, e.upstream.addr, p2, e.metrics, e.upstream.addr)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Corefile: []byte(corefile), RESTConfig: ts.Config})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	// Ready once the kubernetes plugins have synced.
	poll(t, "ready", func() (bool, string) {
		resp, err := http.Get("http://" + e.ready + "/ready")
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == 200, fmt.Sprintf("%d %s", resp.StatusCode, b)
	})
	return e
}

// poll calls f until it reports true or 30 seconds pass.
func poll(t testing.TB, what string, f func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	start := time.Now()
	for {
		ok, last := f()
		if ok {
			t.Logf("%s after %v", what, time.Since(start).Round(time.Millisecond))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not the case after 30s; last: %s", what, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func query(t *testing.T, network, addr, name string, qtype uint16) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: network, Timeout: 2 * time.Second}
	m, _, err := c.Exchange(new(dns.Msg).SetQuestion(name, qtype), addr)
	if err != nil {
		t.Fatalf("query %s %s over %s: %v", name, dns.TypeToString[qtype], network, err)
	}
	return m
}

// values renders the answer records' data ("10.96.0.5", "0 100 80 web…").
func values(m *dns.Msg) string {
	var out []string
	for _, rr := range m.Answer {
		s := rr.String()
		out = append(out, strings.TrimPrefix(s, rr.Header().String()))
	}
	return strings.Join(out, ",")
}

func ctxb() context.Context { return context.Background() }

func TestServerAgainstAPI(t *testing.T) {
	e := startDNS(t)
	cs := e.client.CoreV1()

	svc, err := cs.Services("default").Create(ctxb(), &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ip := svc.Spec.ClusterIP
	const web = "web.default.svc.cluster.local."

	t.Run("service appears over UDP", func(t *testing.T) {
		poll(t, "A answer after create", func() (bool, string) {
			m := query(t, "udp", e.plain, web, dns.TypeA)
			return values(m) == ip, m.String()
		})
	})
	t.Run("SRV over TCP", func(t *testing.T) {
		m := query(t, "tcp", e.plain, "_http._tcp."+web, dns.TypeSRV)
		if want := "0 100 80 " + web; values(m) != want {
			t.Errorf("SRV = %q, want %q", values(m), want)
		}
	})
	t.Run("PTR", func(t *testing.T) {
		rev, _ := dns.ReverseAddr(ip)
		m := query(t, "udp", e.plain, rev, dns.TypePTR)
		if values(m) != web {
			t.Errorf("PTR = %q, want %q", values(m), web)
		}
	})
	t.Run("dig over UDP and TCP", func(t *testing.T) {
		host, port, _ := net.SplitHostPort(e.plain)
		for _, extra := range []string{"+notcp", "+tcp"} {
			out, err := exec.Command("dig", "@"+host, "-p", port, extra, "+short", "+time=2", "+tries=1", web, "A").CombinedOutput()
			if err != nil {
				t.Fatalf("dig %s: %v\n%s", extra, err, out)
			}
			if strings.TrimSpace(string(out)) != ip {
				t.Errorf("dig %s = %q, want %q", extra, out, ip)
			}
		}
	})
	t.Run("NXDOMAIN with SOA, NODATA with SOA", func(t *testing.T) {
		m := query(t, "udp", e.plain, "missing.default.svc.cluster.local.", dns.TypeA)
		if m.Rcode != dns.RcodeNameError || len(m.Ns) != 1 || m.Ns[0].Header().Rrtype != dns.TypeSOA {
			t.Errorf("missing service: %v", m)
		}
		m = query(t, "udp", e.plain, web, dns.TypeTXT)
		if m.Rcode != dns.RcodeSuccess || len(m.Answer) != 0 || len(m.Ns) != 1 {
			t.Errorf("TXT of a service: %v", m)
		}
		m = query(t, "udp", e.plain, "dns-version.cluster.local.", dns.TypeTXT)
		if values(m) != `"1.1.0"` {
			t.Errorf("dns-version = %q", values(m))
		}
	})

	t.Run("headless service follows its EndpointSlice", func(t *testing.T) {
		_, err := cs.Services("default").Create(ctxb(), &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "db"},
			Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone,
				Ports: []corev1.ServicePort{{Name: "pg", Protocol: corev1.ProtocolTCP, Port: 5432}}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		slices := e.client.DiscoveryV1().EndpointSlices("default")
		es := makeSlice("db", "db-1", []string{"10.0.0.1", "10.0.0.2"}, "db-0")
		if _, err := slices.Create(ctxb(), es, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		const db = "db.default.svc.cluster.local."
		poll(t, "headless A after slice create", func() (bool, string) {
			m := query(t, "udp", e.plain, db, dns.TypeA)
			return values(m) == "10.0.0.1,10.0.0.2" || values(m) == "10.0.0.2,10.0.0.1", m.String()
		})
		m := query(t, "tcp", e.plain, "db-0."+db, dns.TypeA)
		if values(m) != "10.0.0.1" {
			t.Errorf("hostname record = %q", values(m))
		}
		es, _ = slices.Get(ctxb(), "db-1", metav1.GetOptions{})
		es.Endpoints = es.Endpoints[1:]
		if _, err := slices.Update(ctxb(), es, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		poll(t, "headless A after slice update", func() (bool, string) {
			m := query(t, "udp", e.plain, db, dns.TypeA)
			return values(m) == "10.0.0.2", m.String()
		})
	})

	t.Run("truncation over UDP, full answer over TCP", func(t *testing.T) {
		_, err := cs.Services("default").Create(ctxb(), &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "big"},
			Spec:       corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var addrs []string
		for i := range 100 {
			addrs = append(addrs, fmt.Sprintf("10.1.%d.%d", i/200, i%200+1))
		}
		if _, err := e.client.DiscoveryV1().EndpointSlices("default").Create(ctxb(), makeSlice("big", "big-1", addrs, ""), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		const big = "big.default.svc.cluster.local."
		poll(t, "100 endpoints over TCP", func() (bool, string) {
			m := query(t, "tcp", e.plain, big, dns.TypeA)
			return len(m.Answer) == 100, fmt.Sprint(len(m.Answer))
		})
		m := query(t, "udp", e.plain, big, dns.TypeA)
		m.Compress = true // as it came over the wire
		if !m.Truncated || m.Len() > 512 {
			t.Errorf("UDP answer without EDNS: TC=%v size %d", m.Truncated, m.Len())
		}
		c := &dns.Client{Net: "udp", UDPSize: 4096}
		r := new(dns.Msg).SetQuestion(big, dns.TypeA)
		r.SetEdns0(4096, false)
		m, _, err = c.Exchange(r, e.plain)
		if err != nil || m.Truncated || len(m.Answer) != 100 || m.IsEdns0() == nil {
			t.Errorf("UDP answer with EDNS0 4096: err %v TC=%v answers %d", err, m.Truncated, len(m.Answer))
		}
	})

	t.Run("service deleted", func(t *testing.T) {
		if err := cs.Services("default").Delete(ctxb(), "web", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		poll(t, "NXDOMAIN after delete", func() (bool, string) {
			m := query(t, "udp", e.plain, web, dns.TypeA)
			return m.Rcode == dns.RcodeNameError, m.String()
		})
	})

	t.Run("forwarding", func(t *testing.T) {
		for _, network := range []string{"udp", "tcp"} {
			m := query(t, network, e.plain, "www.example.org.", dns.TypeA)
			if values(m) != "192.0.2.1" {
				t.Errorf("%s: forwarded answer %q", network, values(m))
			}
		}
	})

	t.Run("cache and negative cache", func(t *testing.T) {
		for _, name := range []string{"cached.example.org.", "nope.example.org."} {
			before := e.upstream.queries.Load()
			var rcodes []int
			for range 3 {
				rcodes = append(rcodes, query(t, "udp", e.cached, name, dns.TypeA).Rcode)
			}
			if n := e.upstream.queries.Load() - before; n != 1 {
				t.Errorf("%s: upstream asked %d times for 3 queries, want 1 (rcodes %v)", name, n, rcodes)
			}
		}
		m := query(t, "udp", e.cached, "db.default.svc.cluster.local.", dns.TypeA)
		if len(m.Answer) == 0 {
			t.Errorf("cluster name through the cache: %v", m)
		}
	})

	t.Run("health and metrics", func(t *testing.T) {
		for _, c := range []struct{ url, want string }{
			{"http://" + e.health + "/health", "OK"},
			{"http://" + e.metrics + "/metrics", "coredns_dns_requests_total"},
			{"http://" + e.metrics + "/metrics", `coredns_cache_hits_total{server="dns://127.0.0.1:`},
			{"http://" + e.metrics + "/metrics", "coredns_forward_requests_total"},
			{"http://" + e.metrics + "/metrics", `rcode="NXDOMAIN"`},
			{"http://" + e.metrics + "/metrics", `coredns_dns_response_size_bytes_bucket{proto="udp"`},
		} {
			resp, err := http.Get(c.url)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(b), c.want) {
				t.Errorf("GET %s: %d, body lacks %q", c.url, resp.StatusCode, c.want)
			}
		}
	})
}

func makeSlice(svc, name string, addrs []string, firstHostname string) *discoveryv1.EndpointSlice {
	es := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	ready := true
	for i, a := range addrs {
		ep := discoveryv1.Endpoint{Addresses: []string{a}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}
		if i == 0 && firstHostname != "" {
			h := firstHostname
			ep.Hostname = &h
		}
		es.Endpoints = append(es.Endpoints, ep)
	}
	return es
}
