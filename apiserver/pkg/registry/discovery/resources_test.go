package discovery

import (
	"testing"

	"navarch.dev/apiserver/pkg/registry/resourcetest"
)

func TestResources(t *testing.T) {
	resourcetest.Check(t, Resources(), []resourcetest.Want{
		{GroupVersion: "discovery.k8s.io/v1", Plural: "endpointslices", Singular: "endpointslice", Kind: "EndpointSlice", ListKind: "EndpointSliceList", Namespaced: true},
	})
}
