package decisions

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestAdvertiseURL(t *testing.T) {
	tests := []struct {
		name      string
		listen    net.Addr
		apiserver string
		want      string
		wantErr   bool
	}{
		{name: "specific address", listen: &net.TCPAddr{IP: net.ParseIP("10.1.2.3"), Port: 10251}, apiserver: "https://192.0.2.1:6443", want: "http://10.1.2.3:10251"},
		{name: "all addresses: the one towards the apiserver", listen: &net.TCPAddr{IP: net.IPv4zero, Port: 10251}, apiserver: "https://127.0.0.1:6443", want: "http://127.0.0.1:10251"},
		{name: "apiserver as host:port", listen: &net.TCPAddr{Port: 9}, apiserver: "127.0.0.1:6443", want: "http://127.0.0.1:9"},
		{name: "ipv6 listener", listen: &net.TCPAddr{IP: net.IPv6loopback, Port: 10251}, apiserver: "https://127.0.0.1:6443", want: "http://[::1]:10251"},
		{name: "no apiserver host", listen: &net.TCPAddr{Port: 10251}, apiserver: "", wantErr: true},
		{name: "not TCP", listen: &net.UnixAddr{Name: "/tmp/s", Net: "unix"}, apiserver: "https://127.0.0.1:6443", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AdvertiseURL(tt.listen, tt.apiserver)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("AdvertiseURL = %q, %v; want %q (error: %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestAdvertise(t *testing.T) {
	holder := "me_1"
	client := fake.NewClientset(&coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-scheduler", Namespace: "kube-system", Annotations: map[string]string{"keep": "me"}},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &holder},
	})
	ep := Endpoint{HolderIdentity: holder, URL: "http://10.0.0.5:10251", SchedulerNames: []string{"default-scheduler"}}
	if err := Advertise(context.Background(), client, "kube-system", "kube-scheduler", ep, nil); err != nil {
		t.Fatal(err)
	}
	l, _ := client.CoordinationV1().Leases("kube-system").Get(context.Background(), "kube-scheduler", metav1.GetOptions{})
	want := `{"holderIdentity":"me_1","url":"http://10.0.0.5:10251","schedulerNames":["default-scheduler"]}`
	if l.Annotations[EndpointAnnotation] != want || l.Annotations["keep"] != "me" {
		t.Errorf("annotations = %v, want %s = %s and the others kept", l.Annotations, EndpointAnnotation, want)
	}

	// Not the holder (leadership already lost): never written.
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	var retried error
	ep.HolderIdentity = "someone-else"
	err := Advertise(ctx, client, "kube-system", "kube-scheduler", ep, func(err error) { retried = err })
	if err == nil || retried == nil || !strings.Contains(retried.Error(), "is held by me_1, not someone-else") {
		t.Errorf("Advertise by a non-holder = %v (retry cause %v), want a failure", err, retried)
	}
}
