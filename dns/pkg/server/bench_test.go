package server

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BenchmarkUDPQuery sends one query at a time over loopback UDP to a
// running server and reports the round trip and the allocations per query
// of the whole process (the server's, plus for the uncached forwarded
// name those of the miekg/dns test upstream; the client reuses its
// buffers and allocates nothing).
//
//	go test -run '^$' -bench UDPQuery -benchtime 20000x ./pkg/server/
func BenchmarkUDPQuery(b *testing.B) {
	e := startDNS(b)
	_, err := e.client.CoreV1().Services("default").Create(ctxb(), &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80}}},
	}, metav1.CreateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	const svc = "web.default.svc.cluster.local."
	for _, addr := range []string{e.plain, e.cached} {
		poll(b, "service answers on "+addr, func() (bool, string) {
			m, _, err := (&dns.Client{Timeout: time.Second}).Exchange(new(dns.Msg).SetQuestion(svc, dns.TypeA), addr)
			return err == nil && len(m.Answer) == 1, fmt.Sprint(m, err)
		})
	}
	for _, bc := range []struct {
		name, addr, qname string
	}{
		{"cluster name, cache off", e.plain, svc},
		{"cluster name, cache on", e.cached, svc},
		{"forwarded name, cache off", e.plain, "host.example.org."},
		{"forwarded name, cache on", e.cached, "host.example.org."},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c, err := net.Dial("udp", bc.addr)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			q := new(dns.Msg).SetQuestion(bc.qname, dns.TypeA)
			q.SetEdns0(1232, false)
			wire, err := q.Pack()
			if err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 1500)
			exchange := func(id uint16) {
				wire[0], wire[1] = byte(id>>8), byte(id)
				c.SetDeadline(time.Now().Add(2 * time.Second))
				if _, err := c.Write(wire); err != nil {
					b.Fatal(err)
				}
				for {
					n, err := c.Read(buf)
					if err != nil {
						b.Fatalf("query %d: %v", id, err)
					}
					if n >= 12 && buf[0] == wire[0] && buf[1] == wire[1] {
						if buf[3]&0xf != dns.RcodeSuccess || buf[7] == 0 {
							b.Fatalf("answer without records: rcode %d", buf[3]&0xf)
						}
						return
					}
				}
			}
			exchange(0) // fill the cache
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				exchange(uint16(i + 1))
			}
		})
	}
}
