package networking

import (
	"testing"

	"navarch.dev/apiserver/pkg/registry/resourcetest"
)

func TestResources(t *testing.T) {
	resourcetest.Check(t, Resources(), []resourcetest.Want{
		{GroupVersion: "networking.k8s.io/v1", Plural: "ingresses", Singular: "ingress", Kind: "Ingress", ListKind: "IngressList", Namespaced: true, ShortNames: []string{"ing"}, Status: true},
		{GroupVersion: "networking.k8s.io/v1", Plural: "ingressclasses", Singular: "ingressclass", Kind: "IngressClass", ListKind: "IngressClassList"},
		{GroupVersion: "networking.k8s.io/v1", Plural: "networkpolicies", Singular: "networkpolicy", Kind: "NetworkPolicy", ListKind: "NetworkPolicyList", Namespaced: true, ShortNames: []string{"netpol"}},
	})
}
