// Package replicationcontroller runs the ReplicationController controller
// (upstream's "replication manager"): the ReplicaSet controller over a
// Workload that converts core/v1 ReplicationControllers to ReplicaSets on
// the way in and back on the way out. A ReplicationController is a
// ReplicaSet whose selector is a plain label map, so the conversion loses
// nothing and every behaviour (adoption, expectations, slow start, which
// pods go first on scale-down, status) is the ReplicaSet controller's.
package replicationcontroller

import (
	"context"

	apps "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"navarch.dev/controller-manager/pkg/controller/replicaset"
)

// Name names the controller's workqueue and logs.
const Name = "replicationcontroller"

// controllerKind is set in the controller references of the pods.
var controllerKind = v1.SchemeGroupVersion.WithKind("ReplicationController")

// New wires a ReplicationController controller to its informers. Register
// it before the informer factory starts; run it with Run.
func New(rcInformer coreinformers.ReplicationControllerInformer, podInformer coreinformers.PodInformer, client kubernetes.Interface, recorder record.EventRecorder) (*replicaset.Controller, error) {
	w := workload{informer: rcInformer.Informer(), lister: rcInformer.Lister(), client: client}
	return replicaset.NewForWorkload(w, podInformer, client, recorder)
}

// workload presents ReplicationControllers as ReplicaSets.
type workload struct {
	informer cache.SharedIndexInformer
	lister   corelisters.ReplicationControllerLister
	client   kubernetes.Interface
}

var _ replicaset.Workload = workload{}

func (workload) Name() string { return Name }

func (workload) Kind() schema.GroupVersionKind { return controllerKind }

func (w workload) Informer() cache.SharedIndexInformer { return w.informer }

func (w workload) Get(namespace, name string) (*apps.ReplicaSet, error) {
	rc, err := w.lister.ReplicationControllers(namespace).Get(name)
	if err != nil {
		return nil, err
	}
	return ToReplicaSet(rc), nil
}

func (w workload) List(namespace string) ([]*apps.ReplicaSet, error) {
	rcs, err := w.lister.ReplicationControllers(namespace).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	out := make([]*apps.ReplicaSet, len(rcs))
	for i, rc := range rcs {
		out[i] = ToReplicaSet(rc)
	}
	return out, nil
}

func (w workload) Fetch(ctx context.Context, namespace, name string) (*apps.ReplicaSet, error) {
	rc, err := w.client.CoreV1().ReplicationControllers(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return ToReplicaSet(rc), nil
}

func (w workload) UpdateStatus(ctx context.Context, rs *apps.ReplicaSet) (*apps.ReplicaSet, error) {
	rc, err := w.client.CoreV1().ReplicationControllers(rs.Namespace).UpdateStatus(ctx, FromReplicaSet(rs), metav1.UpdateOptions{})
	if err != nil {
		return nil, err
	}
	return ToReplicaSet(rc), nil
}

func (workload) Original(rs *apps.ReplicaSet) runtime.Object { return FromReplicaSet(rs) }

// ToReplicaSet returns the ReplicaSet rc stands for. The result shares
// maps and slices with rc: treat both as read-only, as cache objects are.
//
// The apiserver defaults an RC's replicas to 1 and its selector to the
// template's labels; ToReplicaSet does the same for objects that skipped
// defaulting, so a selector is never empty (an empty selector would match,
// and adopt, every pod of the namespace).
func ToReplicaSet(rc *v1.ReplicationController) *apps.ReplicaSet {
	rs := &apps.ReplicaSet{ObjectMeta: rc.ObjectMeta}
	replicas := int32(1)
	if rc.Spec.Replicas != nil {
		replicas = *rc.Spec.Replicas
	}
	rs.Spec.Replicas = &replicas
	rs.Spec.MinReadySeconds = rc.Spec.MinReadySeconds
	if rc.Spec.Template != nil {
		rs.Spec.Template = *rc.Spec.Template
	}
	selector := rc.Spec.Selector
	if len(selector) == 0 {
		selector = rs.Spec.Template.Labels
	}
	rs.Spec.Selector = &metav1.LabelSelector{MatchLabels: selector}

	rs.Status = apps.ReplicaSetStatus{
		Replicas:             rc.Status.Replicas,
		FullyLabeledReplicas: rc.Status.FullyLabeledReplicas,
		ReadyReplicas:        rc.Status.ReadyReplicas,
		AvailableReplicas:    rc.Status.AvailableReplicas,
		ObservedGeneration:   rc.Status.ObservedGeneration,
	}
	for _, c := range rc.Status.Conditions {
		rs.Status.Conditions = append(rs.Status.Conditions, apps.ReplicaSetCondition{
			Type:               apps.ReplicaSetConditionType(c.Type),
			Status:             c.Status,
			LastTransitionTime: c.LastTransitionTime,
			Reason:             c.Reason,
			Message:            c.Message,
		})
	}
	return rs
}

// FromReplicaSet returns the ReplicationController rs stands for: the
// inverse of ToReplicaSet for every defaulted ReplicationController (one
// with replicas, a selector and a template). It shares maps and slices with
// rs.
func FromReplicaSet(rs *apps.ReplicaSet) *v1.ReplicationController {
	rc := &v1.ReplicationController{ObjectMeta: rs.ObjectMeta}
	if rs.Spec.Replicas != nil {
		replicas := *rs.Spec.Replicas
		rc.Spec.Replicas = &replicas
	}
	rc.Spec.MinReadySeconds = rs.Spec.MinReadySeconds
	if rs.Spec.Selector != nil {
		rc.Spec.Selector = rs.Spec.Selector.MatchLabels
	}
	template := rs.Spec.Template
	rc.Spec.Template = &template

	rc.Status = v1.ReplicationControllerStatus{
		Replicas:             rs.Status.Replicas,
		FullyLabeledReplicas: rs.Status.FullyLabeledReplicas,
		ReadyReplicas:        rs.Status.ReadyReplicas,
		AvailableReplicas:    rs.Status.AvailableReplicas,
		ObservedGeneration:   rs.Status.ObservedGeneration,
	}
	for _, c := range rs.Status.Conditions {
		rc.Status.Conditions = append(rc.Status.Conditions, v1.ReplicationControllerCondition{
			Type:               v1.ReplicationControllerConditionType(c.Type),
			Status:             c.Status,
			LastTransitionTime: c.LastTransitionTime,
			Reason:             c.Reason,
			Message:            c.Message,
		})
	}
	return rc
}
