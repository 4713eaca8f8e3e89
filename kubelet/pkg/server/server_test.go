package server

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	v1 "k8s.io/api/core/v1"

	"navarch.dev/kubelet/pkg/runtime"
	"navarch.dev/kubelet/pkg/runtime/fakecri"
	"navarch.dev/shared/pki"
)

func TestAuthentication(t *testing.T) {
	fake := fakecri.Start(t)
	rt, err := runtime.Dial(fake.Endpoint, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	clusterCA, _ := pki.NewCA("cluster")
	otherCA, _ := pki.NewCA("other")
	caFile := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(caFile, clusterCA.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	client := func(ca *pki.CA) []tls.Certificate {
		if ca == nil {
			return nil
		}
		c, k, err := ca.IssueClient("kube-apiserver-kubelet-client", nil)
		if err != nil {
			t.Fatal(err)
		}
		pair, err := tls.X509KeyPair(c, k)
		if err != nil {
			t.Fatal(err)
		}
		return []tls.Certificate{pair}
	}
	for _, tt := range []struct {
		name      string
		anonymous bool
		cert      *pki.CA
		want      int
	}{
		{name: "client certificate of the client CA", cert: clusterCA, want: 200},
		{name: "certificate of another CA", cert: otherCA, want: 401},
		{name: "no certificate", want: 401},
		{name: "no certificate, anonymous allowed", anonymous: true, want: 200},
		// The server names its client CAs, so a Go client holds back a
		// certificate of another CA and comes in as anonymous.
		{name: "certificate of another CA, anonymous allowed", anonymous: true, cert: otherCA, want: 200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(Config{NodeName: "n1", NodeIP: "127.0.0.1", ClientCAFile: caFile, AnonymousAuth: tt.anonymous},
				Deps{Runtime: rt.RuntimeService(), Pods: func() []*v1.Pod { return nil }})
			if err != nil {
				t.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go ServeTLS(ctx, ln, s.Handler(), s.TLSConfig())
			hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, Certificates: client(tt.cert)}}}
			resp, err := hc.Get("https://" + ln.Addr().String() + "/pods")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("GET /pods = %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
}
