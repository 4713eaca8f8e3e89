package staticpods

import (
	"context"
	"fmt"
	"log/slog"

	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"

	"navarch.dev/kubelet/pkg/podworker"
)

// Mirrors keeps one mirror pod in the API per static pod.
type Mirrors struct {
	Static   *Source
	Client   kubernetes.Interface
	NodeName string
}

// Sync creates missing mirror pods, replaces those of an older manifest
// version (their config.mirror hash differs) and deletes those whose
// static pod is gone. A regular API pod that has a static pod's name is
// left alone.
func (m *Mirrors) Sync(ctx context.Context) error {
	static, _ := m.Static.List()
	want := map[string]*v1.Pod{}
	for _, p := range static {
		want[p.Namespace+"/"+p.Name] = p
	}
	list, err := m.Client.CoreV1().Pods("").List(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("spec.nodeName", m.NodeName).String(),
	})
	if err != nil {
		return fmt.Errorf("list pods: %w", err)
	}
	have := map[string]*v1.Pod{}
	for i := range list.Items {
		p := &list.Items[i]
		have[p.Namespace+"/"+p.Name] = p
	}
	for k, api := range have {
		if !IsMirror(api) || api.DeletionTimestamp != nil {
			continue
		}
		if s := want[k]; s == nil || api.Annotations[AnnotationMirror] != s.Annotations[AnnotationHash] {
			if err := m.delete(ctx, api); err != nil {
				return err
			}
			delete(have, k)
		}
	}
	for k, s := range want {
		if have[k] != nil {
			continue
		}
		if _, err := m.Client.CoreV1().Pods(s.Namespace).Create(ctx, m.mirrorOf(s), metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create mirror pod %s: %w", k, err)
		}
		slog.Info("created mirror pod", "pod", k)
	}
	return nil
}

func (m *Mirrors) delete(ctx context.Context, p *v1.Pod) error {
	uid := p.UID
	zero := int64(0)
	err := m.Client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{
		GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &uid},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("delete mirror pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	return nil
}

// mirrorOf is the API copy of a static pod: same spec and metadata, the
// mirror annotation, owned by the Node.
func (m *Mirrors) mirrorOf(s *v1.Pod) *v1.Pod {
	p := s.DeepCopy()
	p.UID = ""
	p.ResourceVersion = ""
	p.Annotations[AnnotationMirror] = s.Annotations[AnnotationHash]
	if node, err := m.Client.CoreV1().Nodes().Get(context.Background(), m.NodeName, metav1.GetOptions{}); err == nil {
		ctrl := true
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID, Controller: &ctrl}}
	}
	return p
}

// Writer writes statuses of static pods to their mirror pods (none without
// an apiserver) and hands the API's pods to API.
type Writer struct {
	Static *Source
	Client kubernetes.Interface   // nil without an apiserver
	API    podworker.StatusWriter // nil without an apiserver
}

var _ podworker.StatusWriter = (*Writer)(nil)

func (w *Writer) isStatic(pod *v1.Pod) bool {
	s, _ := w.Static.Get(pod.Namespace + "/" + pod.Name)
	return s != nil && s.UID == pod.UID
}

// WriteStatus implements podworker.StatusWriter.
func (w *Writer) WriteStatus(ctx context.Context, pod *v1.Pod, st v1.PodStatus) error {
	if !w.isStatic(pod) {
		if w.API == nil {
			return nil
		}
		return w.API.WriteStatus(ctx, pod, st)
	}
	if w.Client == nil {
		return nil
	}
	mirror, err := w.Client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil // the mirror is made on the next mirror sync
	}
	if err != nil {
		// The apiserver does not answer (yet: it may be a static pod
		// itself). A static pod runs without it; its status is written
		// once the mirror sync, which retries, has made the mirror.
		slog.Debug("static pod status not written", "pod", pod.Namespace+"/"+pod.Name, "err", err)
		return nil
	}
	if !IsMirror(mirror) || mirror.Annotations[AnnotationMirror] != pod.Annotations[AnnotationHash] {
		return nil
	}
	if apiequality.Semantic.DeepEqual(mirror.Status, st) {
		return nil
	}
	mirror.Status = st
	_, err = w.Client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, mirror, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil // written again on the next sync
	}
	return err
}

// Deleted implements podworker.StatusWriter. A static pod ends when its
// manifest goes, not through the API.
func (w *Writer) Deleted(ctx context.Context, pod *v1.Pod) error {
	if w.isStatic(pod) || w.API == nil {
		return nil
	}
	return w.API.Deleted(ctx, pod)
}
