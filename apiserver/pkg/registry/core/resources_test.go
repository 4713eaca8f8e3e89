package core

import (
	"testing"

	"navarch.dev/apiserver/pkg/registry/resourcetest"
)

func TestResources(t *testing.T) {
	all := []string{"all"}
	resourcetest.Check(t, Resources(), []resourcetest.Want{
		{GroupVersion: "v1", Plural: "namespaces", Singular: "namespace", Kind: "Namespace", ListKind: "NamespaceList", ShortNames: []string{"ns"}, Status: true},
		{GroupVersion: "v1", Plural: "pods", Singular: "pod", Kind: "Pod", ListKind: "PodList", Namespaced: true, ShortNames: []string{"po"}, Categories: all, Status: true},
		{GroupVersion: "v1", Plural: "services", Singular: "service", Kind: "Service", ListKind: "ServiceList", Namespaced: true, ShortNames: []string{"svc"}, Categories: all, Status: true},
		{GroupVersion: "v1", Plural: "endpoints", Singular: "endpoints", Kind: "Endpoints", ListKind: "EndpointsList", Namespaced: true, ShortNames: []string{"ep"}},
		{GroupVersion: "v1", Plural: "nodes", Singular: "node", Kind: "Node", ListKind: "NodeList", ShortNames: []string{"no"}, Status: true},
		{GroupVersion: "v1", Plural: "configmaps", Singular: "configmap", Kind: "ConfigMap", ListKind: "ConfigMapList", Namespaced: true, ShortNames: []string{"cm"}},
		{GroupVersion: "v1", Plural: "secrets", Singular: "secret", Kind: "Secret", ListKind: "SecretList", Namespaced: true},
		{GroupVersion: "v1", Plural: "serviceaccounts", Singular: "serviceaccount", Kind: "ServiceAccount", ListKind: "ServiceAccountList", Namespaced: true, ShortNames: []string{"sa"}},
		{GroupVersion: "v1", Plural: "events", Singular: "event", Kind: "Event", ListKind: "EventList", Namespaced: true, ShortNames: []string{"ev"}},
		{GroupVersion: "v1", Plural: "replicationcontrollers", Singular: "replicationcontroller", Kind: "ReplicationController", ListKind: "ReplicationControllerList", Namespaced: true, ShortNames: []string{"rc"}, Categories: all, Status: true, Scale: true},
		{GroupVersion: "v1", Plural: "persistentvolumes", Singular: "persistentvolume", Kind: "PersistentVolume", ListKind: "PersistentVolumeList", ShortNames: []string{"pv"}, Status: true},
		{GroupVersion: "v1", Plural: "persistentvolumeclaims", Singular: "persistentvolumeclaim", Kind: "PersistentVolumeClaim", ListKind: "PersistentVolumeClaimList", Namespaced: true, ShortNames: []string{"pvc"}, Status: true},
		{GroupVersion: "v1", Plural: "resourcequotas", Singular: "resourcequota", Kind: "ResourceQuota", ListKind: "ResourceQuotaList", Namespaced: true, ShortNames: []string{"quota"}, Status: true},
		{GroupVersion: "v1", Plural: "limitranges", Singular: "limitrange", Kind: "LimitRange", ListKind: "LimitRangeList", Namespaced: true, ShortNames: []string{"limits"}},
		{GroupVersion: "v1", Plural: "podtemplates", Singular: "podtemplate", Kind: "PodTemplate", ListKind: "PodTemplateList", Namespaced: true},
	})
}
