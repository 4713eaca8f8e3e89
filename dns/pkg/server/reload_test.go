package server

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"navarch.dev/apiserver/testserver"
)

// TestReloadKeepsAnswering rewrites the Corefile twice while clients
// query without pause: every query must get the service's address at the
// first try (no timeout, no SERVFAIL from an index that has not synced
// yet), and the new configuration (its TTL) must take over.
func TestReloadKeepsAnswering(t *testing.T) {
	ts := testserver.Start(t)
	_, err := ts.Client.CoreV1().Services("default").Create(ctxb(), &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	corefile := func(ttl int) []byte {
		return []byte(fmt.Sprintf(`.:%d {
    bind 127.0.0.1
    reload 100ms
    kubernetes cluster.local {
        ttl %d
    }
}
`, port, ttl))
	}
	path := filepath.Join(t.TempDir(), "Corefile")
	if err := os.WriteFile(path, corefile(10), 0o644); err != nil {
		t.Fatal(err)
	}
	instances := make(chan *Instance, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Corefile: corefile(10), CorefilePath: path, RESTConfig: ts.Config,
			started: func(in *Instance) { instances <- in }})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	<-instances
	name := "web.default.svc.cluster.local."
	ttlOver := func(network string) uint32 {
		m, _, err := (&dns.Client{Net: network, Timeout: time.Second}).Exchange(new(dns.Msg).SetQuestion(name, dns.TypeA), addr)
		if err != nil || m.Rcode != dns.RcodeSuccess || len(m.Answer) != 1 {
			return 0
		}
		return m.Answer[0].Header().Ttl
	}
	ttl := func() uint32 { return ttlOver("udp") }
	poll(t, "service answers", func() (bool, string) { return ttl() == 10, "" })

	// Four clients (three over UDP, one over TCP) query without pause and
	// without retrying: the sockets stay open across a reload, so every
	// query must be answered.
	var queries, failures atomic.Int64
	stop := make(chan struct{})
	var querying sync.WaitGroup
	for _, network := range []string{"udp", "udp", "udp", "tcp"} {
		querying.Add(1)
		go func() {
			defer querying.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				queries.Add(1)
				if ttlOver(network) == 0 {
					failures.Add(1)
				}
			}
		}()
	}
	for _, want := range []int{20, 30} {
		time.Sleep(200 * time.Millisecond)
		if err := os.WriteFile(path, corefile(want), 0o644); err != nil {
			t.Fatal(err)
		}
		select {
		case <-instances:
		case <-time.After(10 * time.Second):
			t.Fatalf("no reload to ttl %d", want)
		}
	}
	time.Sleep(200 * time.Millisecond)
	close(stop)
	querying.Wait()
	t.Logf("%d queries during two reloads, %d failed", queries.Load(), failures.Load())
	if failures.Load() > 0 {
		t.Errorf("%d of %d queries failed during reloads", failures.Load(), queries.Load())
	}
	if got := ttl(); got != 30 {
		t.Errorf("TTL after reloads = %d, want 30", got)
	}
}

// TestReloadMovesAddresses reloads to a Corefile on another port (the old
// port closes, the new one answers), then to one whose port another
// program holds (the reload fails and the running configuration keeps
// answering).
func TestReloadMovesAddresses(t *testing.T) {
	p1, p2, metricsPort := freePort(t), freePort(t), freePort(t)
	metrics := fmt.Sprintf("127.0.0.1:%d", metricsPort)
	dir := t.TempDir()
	hosts := filepath.Join(dir, "hosts")
	if err := os.WriteFile(hosts, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	corefile := func(port int) []byte {
		return []byte(fmt.Sprintf(`.:%d {
    bind 127.0.0.1
    reload 100ms
    prometheus %s
    hosts %s {
        192.0.2.5 moved.test
    }
}
`, port, metrics, hosts))
	}
	path := filepath.Join(dir, "Corefile")
	if err := os.WriteFile(path, corefile(p1), 0o644); err != nil {
		t.Fatal(err)
	}
	instances := make(chan *Instance, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Corefile: corefile(p1), CorefilePath: path, started: func(in *Instance) { instances <- in }})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	<-instances
	answers := func(port int) bool {
		m, _, err := (&dns.Client{Timeout: 300 * time.Millisecond}).Exchange(new(dns.Msg).SetQuestion("moved.test.", dns.TypeA), fmt.Sprintf("127.0.0.1:%d", port))
		return err == nil && values(m) == "192.0.2.5"
	}
	if !answers(p1) {
		t.Fatal("first port does not answer")
	}

	if err := os.WriteFile(path, corefile(p2), 0o644); err != nil {
		t.Fatal(err)
	}
	select {
	case <-instances:
	case <-time.After(10 * time.Second):
		t.Fatal("no reload to the second port")
	}
	if !answers(p2) {
		t.Error("second port does not answer after the reload")
	}
	if answers(p1) {
		t.Error("first port still answers after the reload")
	}

	// A program holds the third port without SO_REUSEPORT.
	held, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	p3 := held.LocalAddr().(*net.UDPAddr).Port
	failed := func() string {
		resp, err := http.Get("http://" + metrics + "/metrics")
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "coredns_reload_failed_total ") {
				return strings.TrimPrefix(line, "coredns_reload_failed_total ")
			}
		}
		return "missing"
	}
	before := failed()
	if err := os.WriteFile(path, corefile(p3), 0o644); err != nil {
		t.Fatal(err)
	}
	poll(t, "failed reload counted", func() (bool, string) {
		now := failed()
		return now != before && now != "missing", now
	})
	if !answers(p2) {
		t.Error("running configuration stopped answering after a failed reload")
	}
	select {
	case <-instances:
		t.Error("a configuration that cannot listen was started")
	default:
	}
}
