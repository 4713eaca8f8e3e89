package policy

import (
	"testing"

	"navarch.dev/apiserver/pkg/registry/resourcetest"
)

func TestResources(t *testing.T) {
	resourcetest.Check(t, Resources(), []resourcetest.Want{
		{GroupVersion: "policy/v1", Plural: "poddisruptionbudgets", Singular: "poddisruptionbudget", Kind: "PodDisruptionBudget", ListKind: "PodDisruptionBudgetList", Namespaced: true, ShortNames: []string{"pdb"}, Status: true},
	})
}
