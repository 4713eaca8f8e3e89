package coordination

import (
	"testing"

	"navarch.dev/apiserver/pkg/registry/resourcetest"
)

func TestResources(t *testing.T) {
	resourcetest.Check(t, Resources(), []resourcetest.Want{
		{GroupVersion: "coordination.k8s.io/v1", Plural: "leases", Singular: "lease", Kind: "Lease", ListKind: "LeaseList", Namespaced: true},
	})
}
