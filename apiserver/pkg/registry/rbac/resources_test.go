package rbac

import (
	"testing"

	"navarch.dev/apiserver/pkg/registry/resourcetest"
)

func TestResources(t *testing.T) {
	gv := "rbac.authorization.k8s.io/v1"
	resourcetest.Check(t, Resources(), []resourcetest.Want{
		{GroupVersion: gv, Plural: "roles", Singular: "role", Kind: "Role", ListKind: "RoleList", Namespaced: true},
		{GroupVersion: gv, Plural: "rolebindings", Singular: "rolebinding", Kind: "RoleBinding", ListKind: "RoleBindingList", Namespaced: true},
		{GroupVersion: gv, Plural: "clusterroles", Singular: "clusterrole", Kind: "ClusterRole", ListKind: "ClusterRoleList"},
		{GroupVersion: gv, Plural: "clusterrolebindings", Singular: "clusterrolebinding", Kind: "ClusterRoleBinding", ListKind: "ClusterRoleBindingList"},
	})
}
