package apps

import (
	"testing"

	"navarch.dev/apiserver/pkg/registry/resourcetest"
)

func TestResources(t *testing.T) {
	all := []string{"all"}
	resourcetest.Check(t, Resources(), []resourcetest.Want{
		{GroupVersion: "apps/v1", Plural: "deployments", Singular: "deployment", Kind: "Deployment", ListKind: "DeploymentList", Namespaced: true, ShortNames: []string{"deploy"}, Categories: all, Status: true, Scale: true},
		{GroupVersion: "apps/v1", Plural: "replicasets", Singular: "replicaset", Kind: "ReplicaSet", ListKind: "ReplicaSetList", Namespaced: true, ShortNames: []string{"rs"}, Categories: all, Status: true, Scale: true},
		{GroupVersion: "apps/v1", Plural: "statefulsets", Singular: "statefulset", Kind: "StatefulSet", ListKind: "StatefulSetList", Namespaced: true, ShortNames: []string{"sts"}, Categories: all, Status: true, Scale: true},
		{GroupVersion: "apps/v1", Plural: "daemonsets", Singular: "daemonset", Kind: "DaemonSet", ListKind: "DaemonSetList", Namespaced: true, ShortNames: []string{"ds"}, Categories: all, Status: true},
		{GroupVersion: "apps/v1", Plural: "controllerrevisions", Singular: "controllerrevision", Kind: "ControllerRevision", ListKind: "ControllerRevisionList", Namespaced: true},
	})
}
