package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"navarch.dev/apiserver/testserver"
)

// TestReloadKeepsAnswering rewrites the Corefile twice while a client
// queries without pause: every query must get the service's address (no
// timeout, no SERVFAIL from an index that has not synced yet), and the new
// configuration (its TTL) must take over.
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
	ttl := func() uint32 {
		m, _, err := (&dns.Client{Timeout: time.Second}).Exchange(new(dns.Msg).SetQuestion(name, dns.TypeA), addr)
		if err != nil || m.Rcode != dns.RcodeSuccess || len(m.Answer) != 1 {
			return 0
		}
		return m.Answer[0].Header().Ttl
	}
	poll(t, "service answers", func() (bool, string) { return ttl() == 10, "" })

	var queries, failures atomic.Int64
	stop := make(chan struct{})
	querier := make(chan struct{})
	go func() {
		defer close(querier)
		for {
			select {
			case <-stop:
				return
			default:
			}
			queries.Add(1)
			// A UDP packet queued on the old socket at the moment it closes
			// is lost, as it is for any resolver restart; clients retry once,
			// as stub resolvers do. A failure is a query that fails twice.
			if ttl() == 0 && ttl() == 0 {
				failures.Add(1)
			}
		}
	}()
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
	<-querier
	t.Logf("%d queries during two reloads, %d failed", queries.Load(), failures.Load())
	if failures.Load() > 0 {
		t.Errorf("%d of %d queries failed during reloads", failures.Load(), queries.Load())
	}
	if got := ttl(); got != 30 {
		t.Errorf("TTL after reloads = %d, want 30", got)
	}
}
