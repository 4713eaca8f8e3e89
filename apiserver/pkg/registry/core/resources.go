// Package core describes the core (legacy, "v1") API group's resources to the
// generic store: their names, defaults, validation and selectable fields. It
// also exports the pod template defaulting and validation that workload
// controllers in other groups share.
package core

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"navarch.dev/apiserver/pkg/registry"
)

// Resources returns the core/v1 resources served by the apiserver.
func Resources() []*registry.Resource {
	gv := corev1.SchemeGroupVersion
	all := []string{"all"}
	return []*registry.Resource{
		{
			GroupVersion: gv, Plural: "namespaces", Singular: "namespace", Kind: "Namespace", ListKind: "NamespaceList",
			ShortNames: []string{"ns"},
			New:        func() runtime.Object { return &corev1.Namespace{} }, NewList: func() runtime.Object { return &corev1.NamespaceList{} },
			Strategy: namespaceStrategy, Status: true, StatusStrategy: namespaceStrategy, Fields: namespaceFields,
		},
		{
			GroupVersion: gv, Plural: "pods", Singular: "pod", Kind: "Pod", ListKind: "PodList", Namespaced: true,
			ShortNames: []string{"po"}, Categories: all,
			New: func() runtime.Object { return &corev1.Pod{} }, NewList: func() runtime.Object { return &corev1.PodList{} },
			Strategy: podStrategy, Status: true, StatusStrategy: podStrategy, Fields: podFields,
		},
		{
			GroupVersion: gv, Plural: "services", Singular: "service", Kind: "Service", ListKind: "ServiceList", Namespaced: true,
			ShortNames: []string{"svc"}, Categories: all,
			New: func() runtime.Object { return &corev1.Service{} }, NewList: func() runtime.Object { return &corev1.ServiceList{} },
			Strategy: serviceStrategy, Status: true, StatusStrategy: serviceStrategy, Fields: serviceFields,
		},
		{
			GroupVersion: gv, Plural: "endpoints", Singular: "endpoints", Kind: "Endpoints", ListKind: "EndpointsList", Namespaced: true,
			ShortNames: []string{"ep"},
			New:        func() runtime.Object { return &corev1.Endpoints{} }, NewList: func() runtime.Object { return &corev1.EndpointsList{} },
			Strategy: endpointsStrategy,
		},
		{
			GroupVersion: gv, Plural: "nodes", Singular: "node", Kind: "Node", ListKind: "NodeList",
			ShortNames: []string{"no"},
			New:        func() runtime.Object { return &corev1.Node{} }, NewList: func() runtime.Object { return &corev1.NodeList{} },
			Strategy: nodeStrategy, CreateWithStatus: true,
			Status: true, StatusStrategy: nodeStrategy, Fields: nodeFields,
		},
		{
			GroupVersion: gv, Plural: "configmaps", Singular: "configmap", Kind: "ConfigMap", ListKind: "ConfigMapList", Namespaced: true,
			ShortNames: []string{"cm"},
			New:        func() runtime.Object { return &corev1.ConfigMap{} }, NewList: func() runtime.Object { return &corev1.ConfigMapList{} },
			Strategy: configMapStrategy,
		},
		{
			GroupVersion: gv, Plural: "secrets", Singular: "secret", Kind: "Secret", ListKind: "SecretList", Namespaced: true,
			New:      func() runtime.Object { return &corev1.Secret{} },
			NewList:  func() runtime.Object { return &corev1.SecretList{} },
			Strategy: secretStrategy, Fields: secretFields,
		},
		{
			GroupVersion: gv, Plural: "serviceaccounts", Singular: "serviceaccount", Kind: "ServiceAccount", ListKind: "ServiceAccountList", Namespaced: true,
			ShortNames: []string{"sa"},
			New:        func() runtime.Object { return &corev1.ServiceAccount{} }, NewList: func() runtime.Object { return &corev1.ServiceAccountList{} },
			Strategy: serviceAccountStrategy,
		},
		{
			GroupVersion: gv, Plural: "events", Singular: "event", Kind: "Event", ListKind: "EventList", Namespaced: true,
			ShortNames: []string{"ev"},
			New:        func() runtime.Object { return &corev1.Event{} }, NewList: func() runtime.Object { return &corev1.EventList{} },
			Strategy: eventStrategy, Fields: eventFields,
		},
		{
			GroupVersion: gv, Plural: "replicationcontrollers", Singular: "replicationcontroller", Kind: "ReplicationController",
			ListKind: "ReplicationControllerList", Namespaced: true, ShortNames: []string{"rc"}, Categories: all,
			New:      func() runtime.Object { return &corev1.ReplicationController{} },
			NewList:  func() runtime.Object { return &corev1.ReplicationControllerList{} },
			Strategy: replicationControllerStrategy, Status: true, StatusStrategy: replicationControllerStrategy, Scale: true,
			Fields: replicationControllerFields,
		},
		{
			GroupVersion: gv, Plural: "persistentvolumes", Singular: "persistentvolume", Kind: "PersistentVolume", ListKind: "PersistentVolumeList",
			ShortNames: []string{"pv"},
			New:        func() runtime.Object { return &corev1.PersistentVolume{} }, NewList: func() runtime.Object { return &corev1.PersistentVolumeList{} },
			Strategy: persistentVolumeStrategy, Status: true, StatusStrategy: persistentVolumeStrategy, Fields: persistentVolumeFields,
		},
		{
			GroupVersion: gv, Plural: "persistentvolumeclaims", Singular: "persistentvolumeclaim", Kind: "PersistentVolumeClaim",
			ListKind: "PersistentVolumeClaimList", Namespaced: true, ShortNames: []string{"pvc"},
			New:      func() runtime.Object { return &corev1.PersistentVolumeClaim{} },
			NewList:  func() runtime.Object { return &corev1.PersistentVolumeClaimList{} },
			Strategy: persistentVolumeClaimStrategy, Status: true, StatusStrategy: persistentVolumeClaimStrategy, Fields: persistentVolumeClaimFields,
		},
		{
			GroupVersion: gv, Plural: "resourcequotas", Singular: "resourcequota", Kind: "ResourceQuota", ListKind: "ResourceQuotaList", Namespaced: true,
			ShortNames: []string{"quota"},
			New:        func() runtime.Object { return &corev1.ResourceQuota{} }, NewList: func() runtime.Object { return &corev1.ResourceQuotaList{} },
			Strategy: resourceQuotaStrategy, Status: true, StatusStrategy: resourceQuotaStrategy,
		},
		{
			GroupVersion: gv, Plural: "limitranges", Singular: "limitrange", Kind: "LimitRange", ListKind: "LimitRangeList", Namespaced: true,
			ShortNames: []string{"limits"},
			New:        func() runtime.Object { return &corev1.LimitRange{} }, NewList: func() runtime.Object { return &corev1.LimitRangeList{} },
			Strategy: limitRangeStrategy,
		},
		{
			GroupVersion: gv, Plural: "podtemplates", Singular: "podtemplate", Kind: "PodTemplate", ListKind: "PodTemplateList", Namespaced: true,
			New:      func() runtime.Object { return &corev1.PodTemplate{} },
			NewList:  func() runtime.Object { return &corev1.PodTemplateList{} },
			Strategy: podTemplateStrategy,
		},
	}
}

func itoa(v int32) string { return strconv.FormatInt(int64(v), 10) }
