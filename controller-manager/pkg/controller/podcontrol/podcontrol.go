// Package podcontrol creates and deletes the pods of a workload controller
// from its pod template, with ownerReferences and events.
package podcontrol

import (
	"context"
	"fmt"
	"sync"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"
)

// Event reasons, as upstream.
const (
	SuccessfulCreate = "SuccessfulCreate"
	FailedCreate     = "FailedCreate"
	SuccessfulDelete = "SuccessfulDelete"
	FailedDelete     = "FailedDelete"
)

// Interface creates and deletes pods for an owner.
type Interface interface {
	// CreatePod creates a pod from template in namespace ns, controlled by
	// owner (object) through ref.
	CreatePod(ctx context.Context, ns string, template *v1.PodTemplateSpec, owner runtime.Object, ref *metav1.OwnerReference) error
	// DeletePod deletes ns/name on behalf of owner.
	DeletePod(ctx context.Context, ns, name string, owner runtime.Object) error
}

// Real is the Interface backed by the API.
type Real struct {
	Client   kubernetes.Interface
	Recorder record.EventRecorder
}

var _ Interface = Real{}

// PodFromTemplate builds the pod a controller creates from its template:
// the template's labels, annotations, finalizers and spec, a generated name
// prefixed with the owner's name, and ref as its controller reference.
func PodFromTemplate(template *v1.PodTemplateSpec, ownerName string, ref *metav1.OwnerReference) *v1.Pod {
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Labels:       copyMap(template.Labels),
			Annotations:  copyMap(template.Annotations),
			GenerateName: ownerName + "-",
			Finalizers:   append([]string(nil), template.Finalizers...),
		},
		Spec: *template.Spec.DeepCopy(),
	}
	if ref != nil {
		pod.OwnerReferences = []metav1.OwnerReference{*ref}
	}
	return pod
}

func copyMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// CreatePod implements Interface.
func (r Real) CreatePod(ctx context.Context, ns string, template *v1.PodTemplateSpec, owner runtime.Object, ref *metav1.OwnerReference) error {
	ownerMeta, err := metaOf(owner)
	if err != nil {
		return err
	}
	pod := PodFromTemplate(template, ownerMeta.GetName(), ref)
	pod.Namespace = ns
	if len(pod.Labels) == 0 {
		return fmt.Errorf("podcontrol: unable to create pods, no labels")
	}
	created, err := r.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		// A terminating namespace refuses new pods; that is expected, not
		// worth an event.
		if !apierrors.HasStatusCause(err, v1.NamespaceTerminatingCause) {
			r.Recorder.Eventf(owner, v1.EventTypeWarning, FailedCreate, "Error creating: %v", err)
		}
		return err
	}
	r.Recorder.Eventf(owner, v1.EventTypeNormal, SuccessfulCreate, "Created pod: %v", created.Name)
	return nil
}

// DeletePod implements Interface. A pod already gone returns its NotFound
// error unwrapped and records no event, so callers can count it as deleted.
func (r Real) DeletePod(ctx context.Context, ns, name string, owner runtime.Object) error {
	err := r.Client.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return err
		}
		r.Recorder.Eventf(owner, v1.EventTypeWarning, FailedDelete, "Error deleting: %v", err)
		return fmt.Errorf("delete pod %s/%s: %w", ns, name, err)
	}
	r.Recorder.Eventf(owner, v1.EventTypeNormal, SuccessfulDelete, "Deleted pod: %v", name)
	return nil
}

func metaOf(obj runtime.Object) (metav1.Object, error) {
	m, ok := obj.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("podcontrol: %T has no object metadata", obj)
	}
	return m, nil
}

// SlowStartInitialBatchSize is the first batch of SlowStartBatch, as
// upstream.
const SlowStartInitialBatchSize = 1

// SlowStartBatch calls fn count times, in parallel batches that double in
// size (initial, 2×initial, …) while every call of a batch succeeds, so that
// a controller hitting a quota or a broken template fails after a few calls
// instead of count. It returns how many calls succeeded and the first error
// of the failing batch; calls after that batch are never made.
func SlowStartBatch(count, initial int, fn func() error) (int, error) {
	remaining := count
	successes := 0
	for batch := min(remaining, initial); batch > 0; batch = min(2*batch, remaining) {
		errCh := make(chan error, batch)
		var wg sync.WaitGroup
		wg.Add(batch)
		for range batch {
			go func() {
				defer wg.Done()
				if err := fn(); err != nil {
					errCh <- err
				}
			}()
		}
		wg.Wait()
		successes += batch - len(errCh)
		if len(errCh) > 0 {
			return successes, <-errCh
		}
		remaining -= batch
	}
	return successes, nil
}
