package networking

import (
	"navarch.dev/apiserver/pkg/registry/resourcetest"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func nsMeta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "default", ResourceVersion: "1"}
}

func ingress(host, path string, pathType networkingv1.PathType) *networkingv1.Ingress {
	pt := &pathType
	if pathType == "" {
		pt = nil
	}
	return &networkingv1.Ingress{ObjectMeta: nsMeta("web"), Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{
		Host: host,
		IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
			Path: path, PathType: pt,
			Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}},
		}}}},
	}}}}
}

func TestIngresses(t *testing.T) {
	tests := []struct {
		name string
		ing  *networkingv1.Ingress
		want []string
	}{
		{name: "valid", ing: ingress("example.com", "/", networkingv1.PathTypePrefix)},
		{name: "wildcard host", ing: ingress("*.example.com", "/api", networkingv1.PathTypeExact)},
		{name: "pathType required", ing: ingress("example.com", "/", ""), want: []string{"spec.rules[0].http.paths[0].pathType: Required value"}},
		{name: "relative path", ing: ingress("example.com", "api", networkingv1.PathTypePrefix), want: []string{"spec.rules[0].http.paths[0].path: Invalid value"}},
		{name: "path with //", ing: ingress("example.com", "/a//b", networkingv1.PathTypePrefix), want: []string{"spec.rules[0].http.paths[0].path: Invalid value"}},
		{name: "IP host", ing: ingress("10.0.0.1", "/", networkingv1.PathTypePrefix), want: []string{"spec.rules[0].host: Invalid value"}},
		{name: "no rules and no default backend", ing: &networkingv1.Ingress{ObjectMeta: nsMeta("web")}, want: []string{"spec: Invalid value"}},
		{name: "backend without port", ing: func() *networkingv1.Ingress {
			i := ingress("example.com", "/", networkingv1.PathTypePrefix)
			i.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Port = networkingv1.ServiceBackendPort{}
			return i
		}(), want: []string{"spec.rules[0].http.paths[0].backend: Required value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resourcetest.SameErrs(t, resourcetest.Create(ingressStrategy, tt.ing), tt.want)
		})
	}
}

func TestIngressClasses(t *testing.T) {
	ic := func(controller string) *networkingv1.IngressClass {
		return &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "nginx", ResourceVersion: "1"}, Spec: networkingv1.IngressClassSpec{Controller: controller}}
	}
	resourcetest.SameErrs(t, resourcetest.Create(ingressClassStrategy, ic("k8s.io/ingress-nginx")), nil)
	resourcetest.SameErrs(t, resourcetest.Create(ingressClassStrategy, ic("nginx")), []string{"spec.controller: Invalid value"})
	resourcetest.SameErrs(t, resourcetest.Update(ingressClassStrategy, ic("example.com/other"), ic("k8s.io/ingress-nginx")), []string{"spec.controller: Invalid value"})
}

func TestNetworkPolicies(t *testing.T) {
	np := func(spec networkingv1.NetworkPolicySpec) *networkingv1.NetworkPolicy {
		return &networkingv1.NetworkPolicy{ObjectMeta: nsMeta("deny"), Spec: spec}
	}
	p := func(v intstr.IntOrString) *intstr.IntOrString { return &v }
	end := func(v int32) *int32 { return &v }
	t.Run("defaults", func(t *testing.T) {
		n := np(networkingv1.NetworkPolicySpec{
			Ingress: []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{{Port: p(intstr.FromInt32(80))}}}},
			Egress:  []networkingv1.NetworkPolicyEgressRule{{}},
		})
		if errs := resourcetest.Create(networkPolicyStrategy, n); len(errs) > 0 {
			t.Fatal(errs)
		}
		if *n.Spec.Ingress[0].Ports[0].Protocol != corev1.ProtocolTCP || len(n.Spec.PolicyTypes) != 2 {
			t.Errorf("spec = %+v", n.Spec)
		}
	})
	tests := []struct {
		name string
		spec networkingv1.NetworkPolicySpec
		want []string
	}{
		{name: "deny all", spec: networkingv1.NetworkPolicySpec{}},
		{name: "peer required", spec: networkingv1.NetworkPolicySpec{Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{}}}}},
			want: []string{"spec.ingress[0].from[0]: Required value"}},
		{name: "ipBlock with selector", spec: networkingv1.NetworkPolicySpec{Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{
			IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8"}, PodSelector: &metav1.LabelSelector{}}}}}},
			want: []string{"spec.ingress[0].from[0]: Forbidden"}},
		{name: "except outside cidr", spec: networkingv1.NetworkPolicySpec{Egress: []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{{
			IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8", Except: []string{"192.168.0.0/16"}}}}}}},
			want: []string{"spec.egress[0].to[0].ipBlock.except[0]: Invalid value"}},
		{name: "endPort below port", spec: networkingv1.NetworkPolicySpec{Ingress: []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{{
			Port: p(intstr.FromInt32(100)), EndPort: end(90)}}}}},
			want: []string{"spec.ingress[0].ports[0].endPort: Invalid value"}},
		{name: "bad policy type", spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{"Sideways"}},
			want: []string{"spec.policyTypes[0]: Unsupported value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resourcetest.SameErrs(t, resourcetest.Create(networkPolicyStrategy, np(tt.spec)), tt.want)
		})
	}
}
