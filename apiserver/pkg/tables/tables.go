// Package tables renders API objects as server-side Tables, the
// application/json;as=Table;v=v1;g=meta.k8s.io answer that `kubectl get` prints.
//
// The columns, their order, types, descriptions and priorities, and the cell formatting
// reproduce kube-apiserver 1.34's printers, so kubectl prints the same output against Navarch
// as against upstream. Like kube-apiserver, every row carries the cells of all columns,
// including the priority-1 ones that kubectl only shows with -o wide.
//
// Kinds without a dedicated printer get upstream's default columns: Name and Created At.
package tables

import (
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
)

// Columns returns the column definitions for objects of group/kind gk (name, type, format,
// description, priority exactly as upstream; priority 1 = shown only with -o wide).
// A kind without a dedicated printer gets the default columns Name and Created At.
// The returned slice is the caller's own.
func Columns(gk schema.GroupKind) []metav1.TableColumnDefinition {
	cols, ok := columnsByKind[gk]
	if !ok {
		cols = defaultColumns
	}
	return append([]metav1.TableColumnDefinition(nil), cols...)
}

// Cells returns one object's row cells, matching Columns of its kind. now is the time Ages are
// measured against (so tests are deterministic). obj is a typed object from k8s.io/api
// (e.g. *corev1.Pod); its kind is found from its Go type. An unstructured object of a kind with
// a printer is converted to its typed form first; any other object that has metadata gets the
// default cells. Cells holds what upstream's JSON holds: strings, int64 for integer columns and
// bools for some boolean columns.
//
// Cells fails for a list, for an object without metadata and for an object that cannot be
// rendered (an unstructured object that does not convert, an unparsable owner apiVersion).
func Cells(obj runtime.Object, now time.Time) ([]interface{}, error) {
	if meta.IsListType(obj) {
		return nil, fmt.Errorf("tables: cells of a list (%T): give one item at a time", obj)
	}
	obj, err := typed(obj)
	if err != nil {
		return nil, err
	}
	switch o := obj.(type) {
	// core/v1
	case *corev1.Pod:
		return podCells(o, now), nil
	case *corev1.PodTemplate:
		return podTemplateCells(o), nil
	case *corev1.Namespace:
		return namespaceCells(o, now), nil
	case *corev1.Service:
		return serviceCells(o, now), nil
	case *corev1.Endpoints:
		return endpointsCells(o, now), nil
	case *corev1.Node:
		return nodeCells(o, now), nil
	case *corev1.ConfigMap:
		return configMapCells(o, now), nil
	case *corev1.Secret:
		return secretCells(o, now), nil
	case *corev1.ServiceAccount:
		return serviceAccountCells(o, now), nil
	case *corev1.Event:
		return eventCells(o, now), nil
	case *corev1.ReplicationController:
		return replicationControllerCells(o, now), nil
	case *corev1.PersistentVolume:
		return persistentVolumeCells(o, now), nil
	case *corev1.PersistentVolumeClaim:
		return persistentVolumeClaimCells(o, now), nil
	case *corev1.ResourceQuota:
		return resourceQuotaCells(o, now), nil
	// apps/v1
	case *appsv1.Deployment:
		return deploymentCells(o, now), nil
	case *appsv1.ReplicaSet:
		return replicaSetCells(o, now), nil
	case *appsv1.StatefulSet:
		return statefulSetCells(o, now), nil
	case *appsv1.DaemonSet:
		return daemonSetCells(o, now), nil
	case *appsv1.ControllerRevision:
		return controllerRevisionCells(o, now)
	// batch/v1
	case *batchv1.Job:
		return jobCells(o, now), nil
	case *batchv1.CronJob:
		return cronJobCells(o, now), nil
	// coordination.k8s.io/v1
	case *coordinationv1.Lease:
		return leaseCells(o, now), nil
	// discovery.k8s.io/v1
	case *discoveryv1.EndpointSlice:
		return endpointSliceCells(o, now), nil
	// events.k8s.io/v1
	case *eventsv1.Event:
		return eventCells(coreEvent(o), now), nil
	// policy/v1
	case *policyv1.PodDisruptionBudget:
		return podDisruptionBudgetCells(o, now), nil
	// autoscaling/v1 and autoscaling/v2
	case *autoscalingv1.HorizontalPodAutoscaler:
		return horizontalPodAutoscalerCells(v2HorizontalPodAutoscaler(o), now), nil
	case *autoscalingv2.HorizontalPodAutoscaler:
		return horizontalPodAutoscalerCells(o, now), nil
	// networking.k8s.io/v1
	case *networkingv1.Ingress:
		return ingressCells(o, now), nil
	case *networkingv1.IngressClass:
		return ingressClassCells(o, now), nil
	case *networkingv1.NetworkPolicy:
		return networkPolicyCells(o, now), nil
	// storage.k8s.io/v1
	case *storagev1.StorageClass:
		return storageClassCells(o, now), nil
	// rbac.authorization.k8s.io/v1
	case *rbacv1.RoleBinding:
		return bindingCells(o.Name, o.RoleRef, o.Subjects, o.CreationTimestamp, now), nil
	case *rbacv1.ClusterRoleBinding:
		return bindingCells(o.Name, o.RoleRef, o.Subjects, o.CreationTimestamp, now), nil
	}
	return defaultCells(obj)
}

// Row returns obj's table row the way kube-apiserver builds it: the Cells, the row conditions
// (a pod in phase Succeeded or Failed is marked Completed) and obj itself as the row's object.
// The caller replaces Row.Object as TableOptions.IncludeObject asks (None, Metadata, Object).
func Row(obj runtime.Object, now time.Time) (metav1.TableRow, error) {
	cells, err := Cells(obj, now)
	if err != nil {
		return metav1.TableRow{}, err
	}
	row := metav1.TableRow{Cells: cells, Object: runtime.RawExtension{Object: obj}}
	if t, err := typed(obj); err == nil {
		if pod, ok := t.(*corev1.Pod); ok {
			row.Conditions = podRowConditions(pod)
		}
	}
	return row, nil
}

// Table returns the Table for obj, which is one object or a list of them (e.g. *corev1.PodList,
// *unstructured.UnstructuredList): the columns of the objects' kind, one row per object in list
// order (see Row), and the list's resourceVersion, continue token and remaining item count (for
// a single object, its resourceVersion). For noHeaders (TableOptions.NoHeaders) the column
// definitions are left out, as upstream does.
func Table(obj runtime.Object, now time.Time, noHeaders bool) (*metav1.Table, error) {
	table := &metav1.Table{}
	var items []runtime.Object
	var gk schema.GroupKind
	var printed bool
	if meta.IsListType(obj) {
		var err error
		if items, err = meta.ExtractList(obj); err != nil {
			return nil, fmt.Errorf("tables: items of %T: %w", obj, err)
		}
		if len(items) > 0 {
			gk, printed = printedKind(items[0])
		} else if listKind, ok := kindOf(obj); ok {
			gk = schema.GroupKind{Group: listKind.Group, Kind: strings.TrimSuffix(listKind.Kind, "List")}
			_, printed = columnsByKind[gk]
		}
		if l, err := meta.ListAccessor(obj); err == nil {
			table.ResourceVersion = l.GetResourceVersion()
			table.Continue = l.GetContinue()
			table.RemainingItemCount = l.GetRemainingItemCount()
		}
	} else {
		items = []runtime.Object{obj}
		gk, printed = printedKind(obj)
		if m, err := meta.Accessor(obj); err == nil {
			table.ResourceVersion = m.GetResourceVersion()
		}
	}
	if !noHeaders {
		if printed {
			table.ColumnDefinitions = Columns(gk)
		} else {
			table.ColumnDefinitions = Columns(schema.GroupKind{})
		}
	}
	table.Rows = make([]metav1.TableRow, 0, len(items))
	for _, item := range items {
		row, err := Row(item, now)
		if err != nil {
			return nil, err
		}
		table.Rows = append(table.Rows, row)
	}
	return table, nil
}

// scheme knows the Go types of every group this package prints, so a typed object's kind can
// be found from its type and an unstructured one converted to its type.
var scheme = newScheme()

func newScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme,
		appsv1.AddToScheme,
		batchv1.AddToScheme,
		coordinationv1.AddToScheme,
		discoveryv1.AddToScheme,
		eventsv1.AddToScheme,
		policyv1.AddToScheme,
		autoscalingv1.AddToScheme,
		autoscalingv2.AddToScheme,
		networkingv1.AddToScheme,
		storagev1.AddToScheme,
		rbacv1.AddToScheme,
	} {
		utilruntime.Must(add(s))
	}
	return s
}

// kindOf returns the group/kind of obj, and false when the scheme does not know obj's type.
func kindOf(obj runtime.Object) (schema.GroupKind, bool) {
	if _, ok := obj.(runtime.Unstructured); ok {
		gvk := obj.GetObjectKind().GroupVersionKind()
		return gvk.GroupKind(), scheme.Recognizes(gvk)
	}
	gvks, _, err := scheme.ObjectKinds(obj)
	if err != nil || len(gvks) == 0 {
		return schema.GroupKind{}, false
	}
	return gvks[0].GroupKind(), true
}

// printedKind returns the group/kind of obj and whether Cells renders obj with that kind's
// own columns (false: with the default columns).
func printedKind(obj runtime.Object) (schema.GroupKind, bool) {
	gk, ok := kindOf(obj)
	if !ok {
		return gk, false
	}
	_, printed := columnsByKind[gk]
	return gk, printed
}

// typed returns obj in its k8s.io/api type: an unstructured object of a kind this package
// prints is converted, any other object is returned as it is.
func typed(obj runtime.Object) (runtime.Object, error) {
	u, ok := obj.(runtime.Unstructured)
	if !ok {
		return obj, nil
	}
	gvk := u.GetObjectKind().GroupVersionKind()
	if _, ok := columnsByKind[gvk.GroupKind()]; !ok || !scheme.Recognizes(gvk) {
		return obj, nil
	}
	out, err := scheme.New(gvk)
	if err != nil {
		return obj, nil
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.UnstructuredContent(), out); err != nil {
		return nil, fmt.Errorf("tables: convert %s to %T: %w", gvk.Kind, out, err)
	}
	return out, nil
}

// defaultCells are upstream's cells for a kind without a printer: the name and the creation
// time in RFC 3339, UTC.
func defaultCells(obj runtime.Object) ([]interface{}, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, fmt.Errorf("tables: %T has no object metadata: %w", obj, err)
	}
	return []interface{}{m.GetName(), m.GetCreationTimestamp().Time.UTC().Format(time.RFC3339)}, nil
}
