package scheduling

import (
	"testing"

	"navarch.dev/apiserver/pkg/registry/resourcetest"
)

func TestResources(t *testing.T) {
	resourcetest.Check(t, Resources(), []resourcetest.Want{
		{GroupVersion: "scheduling.k8s.io/v1", Plural: "priorityclasses", Singular: "priorityclass", Kind: "PriorityClass", ListKind: "PriorityClassList", ShortNames: []string{"pc"}},
	})
}
