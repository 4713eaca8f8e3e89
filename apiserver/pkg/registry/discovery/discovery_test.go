package discovery

import (
	"navarch.dev/apiserver/pkg/registry/resourcetest"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func slice(t discoveryv1.AddressType, addrs ...string) *discoveryv1.EndpointSlice {
	port := int32(80)
	return &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "web-abc", Namespace: "default", ResourceVersion: "1"},
		AddressType: t,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: addrs}},
		Ports:       []discoveryv1.EndpointPort{{Port: &port}},
	}
}

func TestEndpointSlices(t *testing.T) {
	s := slice(discoveryv1.AddressTypeIPv4, "10.1.0.5")
	if errs := resourcetest.Create(endpointSliceStrategy, s); len(errs) > 0 {
		t.Fatal(errs)
	}
	if *s.Ports[0].Name != "" || *s.Ports[0].Protocol != corev1.ProtocolTCP {
		t.Errorf("port defaults not applied: %+v", s.Ports[0])
	}
	tests := []struct {
		name string
		obj  *discoveryv1.EndpointSlice
		old  *discoveryv1.EndpointSlice
		want []string
	}{
		{name: "ipv6", obj: slice(discoveryv1.AddressTypeIPv6, "fd00::5")},
		{name: "fqdn", obj: slice(discoveryv1.AddressTypeFQDN, "db.example.com")},
		{name: "address type required", obj: slice("", "10.1.0.5"), want: []string{"addressType: Required value"}},
		{name: "unknown address type", obj: slice("IPX", "10.1.0.5"), want: []string{"addressType: Unsupported value"}},
		{name: "ipv6 address in an IPv4 slice", obj: slice(discoveryv1.AddressTypeIPv4, "fd00::5"), want: []string{"endpoints[0].addresses[0]: Invalid value"}},
		{name: "loopback address", obj: slice(discoveryv1.AddressTypeIPv4, "127.0.0.1"), want: []string{"endpoints[0].addresses[0]: Invalid value"}},
		{name: "endpoint without addresses", obj: slice(discoveryv1.AddressTypeIPv4), want: []string{"endpoints[0].addresses: Required value"}},
		{name: "address type is immutable", old: slice(discoveryv1.AddressTypeIPv4, "10.1.0.5"), obj: slice(discoveryv1.AddressTypeIPv6, "fd00::5"),
			want: []string{"addressType: Invalid value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.old == nil {
				resourcetest.SameErrs(t, resourcetest.Create(endpointSliceStrategy, tt.obj), tt.want)
				return
			}
			resourcetest.Create(endpointSliceStrategy, tt.old)
			resourcetest.SameErrs(t, resourcetest.Update(endpointSliceStrategy, tt.obj, tt.old), tt.want)
		})
	}
}
