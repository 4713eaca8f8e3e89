package integration

import (
	"crypto/tls"
	"net"
	"slices"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"navarch.dev/apiserver/pkg/server"
	"navarch.dev/apiserver/testserver"
)

// Pods reach the API at the first service IP: the serving certificate must
// name it and the advertise address, and default/kubernetes must keep
// pointing at the advertise address even after someone removes or edits it.
func TestKubernetesServiceReachesThisAPIServer(t *testing.T) {
	advertise := net.IPv4(192, 0, 2, 77) // only stored, never dialled
	ts := testserver.Start(t, func(o *server.Options) { o.AdvertiseAddress = advertise })
	ctx := testContext(t)
	c := ts.Client

	conn, err := tls.Dial("tcp", ts.URL[len("https://"):], &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	leaf := conn.ConnectionState().PeerCertificates[0]
	conn.Close()
	for _, name := range []string{"10.96.0.1", advertise.String(), "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"} {
		if err := leaf.VerifyHostname(name); err != nil {
			t.Errorf("serving certificate does not cover %s: %v", name, err)
		}
	}

	svc, err := c.CoreV1().Services("default").Get(ctx, "kubernetes", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if svc.Spec.ClusterIP != "10.96.0.1" || svc.Spec.Ports[0].Port != 443 {
		t.Errorf("default/kubernetes = %s:%d, want 10.96.0.1:443", svc.Spec.ClusterIP, svc.Spec.Ports[0].Port)
	}
	wantPort := int32(ts.Options.SecurePort)
	pointsHere := func() (bool, string) {
		ep, err := c.CoreV1().Endpoints("default").Get(ctx, "kubernetes", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		if len(ep.Subsets) != 1 || len(ep.Subsets[0].Addresses) != 1 || ep.Subsets[0].Addresses[0].IP != advertise.String() ||
			len(ep.Subsets[0].Ports) != 1 || ep.Subsets[0].Ports[0].Port != wantPort {
			return false, "endpoints " + ep.String()
		}
		slice, err := c.DiscoveryV1().EndpointSlices("default").Get(ctx, "kubernetes", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		if len(slice.Endpoints) != 1 || !slices.Equal(slice.Endpoints[0].Addresses, []string{advertise.String()}) ||
			len(slice.Ports) != 1 || *slice.Ports[0].Port != wantPort {
			return false, "endpointslice " + slice.String()
		}
		return true, ""
	}
	if ok, why := pointsHere(); !ok {
		t.Fatalf("after start: %s", why)
	}

	if err := c.CoreV1().Endpoints("default").Delete(ctx, "kubernetes", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	slice, err := c.DiscoveryV1().EndpointSlices("default").Get(ctx, "kubernetes", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	slice.Endpoints[0].Addresses = []string{"192.0.2.99"}
	if _, err := c.DiscoveryV1().EndpointSlices("default").Update(ctx, slice, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().Endpoints("default").Get(ctx, "kubernetes", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("endpoints after delete: %v, want NotFound", err)
	}

	deadline := time.Now().Add(time.Minute)
	for {
		ok, why := pointsHere()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("default/kubernetes not restored within a minute: %s", why)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
