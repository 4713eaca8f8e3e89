package server

import (
	"context"
	"fmt"
	"testing"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"navarch.dev/apiserver/testserver"
)

// TestKubernetesNamespacesAndNoEndpoints serves only namespace "team" and
// no endpoint records, and checks what a client sees for services inside
// and outside it.
func TestKubernetesNamespacesAndNoEndpoints(t *testing.T) {
	ts := testserver.Start(t)
	cs := ts.Client.CoreV1()
	for _, ns := range []string{"team", "other"} {
		if _, err := cs.Namespaces().Create(ctxb(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := cs.Services(ns).Create(ctxb(), &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "api"},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80}}},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cs.Services("team").Create(ctxb(), &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec:       corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Ports: []corev1.ServicePort{{Name: "pg", Protocol: corev1.ProtocolTCP, Port: 5432}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Client.DiscoveryV1().EndpointSlices("team").Create(ctxb(), makeSlice("db", "db-1", []string{"10.0.0.7"}, "db-0"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	team, err := cs.Services("team").Get(ctxb(), "api", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	corefile := fmt.Sprintf(`.:%d {
    bind 127.0.0.1
    kubernetes cluster.local in-addr.arpa {
        namespaces team
        noendpoints
    }
}
`, port)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, Options{Corefile: []byte(corefile), RESTConfig: ts.Config}) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	const api = "api.team.svc.cluster.local."
	poll(t, "service in the served namespace", func() (bool, string) {
		m, _, err := (&dns.Client{}).Exchange(new(dns.Msg).SetQuestion(api, dns.TypeA), addr)
		return err == nil && values(m) == team.Spec.ClusterIP, fmt.Sprint(m, err)
	})
	rev, _ := dns.ReverseAddr(team.Spec.ClusterIP)
	tests := []struct {
		name, qname string
		qtype       uint16
		rcode       int
		answer      string
	}{
		{"SRV in the served namespace", "_http._tcp." + api, dns.TypeSRV, dns.RcodeSuccess, "0 100 80 " + api},
		{"PTR of a served service", rev, dns.TypePTR, dns.RcodeSuccess, api},
		{"service in another namespace", "api.other.svc.cluster.local.", dns.TypeA, dns.RcodeNameError, ""},
		{"the other namespace", "other.svc.cluster.local.", dns.TypeA, dns.RcodeNameError, ""},
		{"headless service without endpoint records", "db.team.svc.cluster.local.", dns.TypeA, dns.RcodeNameError, ""},
		{"endpoint name without endpoint records", "db-0.db.team.svc.cluster.local.", dns.TypeA, dns.RcodeNameError, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := query(t, "udp", addr, tt.qname, tt.qtype)
			if m.Rcode != tt.rcode || values(m) != tt.answer {
				t.Errorf("%s %s = %s %q, want %s %q", tt.qname, dns.TypeToString[tt.qtype],
					dns.RcodeToString[m.Rcode], values(m), dns.RcodeToString[tt.rcode], tt.answer)
			}
		})
	}
}
