package integration

import (
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

func TestBindingAndEviction(t *testing.T) {
	ctx := testContext(t)
	cs := shared.Client
	ns := newNamespace(t, cs)
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, makePod("p", nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bind := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Target: corev1.ObjectReference{Kind: "Node", Name: "node-1"}}
	if err := cs.CoreV1().Pods(ns).Bind(ctx, bind, metav1.CreateOptions{}); err != nil {
		t.Fatalf("bind: %v", err)
	}
	pod, err := cs.CoreV1().Pods(ns).Get(ctx, "p", metav1.GetOptions{})
	if err != nil || pod.Spec.NodeName != "node-1" {
		t.Fatalf("pod after binding: node %q, %v", pod.Spec.NodeName, err)
	}
	bind.Target.Name = "node-2"
	if err := cs.CoreV1().Pods(ns).Bind(ctx, bind, metav1.CreateOptions{}); !apierrors.IsConflict(err) {
		t.Fatalf("second bind: want 409, got %v", err)
	}
	// Evicting a pod on a node starts its graceful deletion.
	ev := &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: ns}}
	if err := cs.PolicyV1().Evictions(ns).Evict(ctx, ev); err != nil {
		t.Fatalf("evict: %v", err)
	}
	pod, err = cs.CoreV1().Pods(ns).Get(ctx, "p", metav1.GetOptions{})
	if err != nil || pod.DeletionTimestamp == nil || *pod.DeletionGracePeriodSeconds != 30 {
		t.Fatalf("evicted pod should be terminating with 30s grace: %v %v", pod.DeletionTimestamp, err)
	}
	// The kubelet finishes the deletion with grace 0.
	zero := int64(0)
	if err := cs.CoreV1().Pods(ns).Delete(ctx, "p", metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Pods(ns).Get(ctx, "p", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("pod after final delete: want 404, got %v", err)
	}
}

func TestWatchBookmarks(t *testing.T) {
	ctx := testContext(t)
	cs := shared.Client
	ns := newNamespace(t, cs)
	cm, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := cs.CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: cm.ResourceVersion, AllowWatchBookmarks: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	// The test server sends bookmarks every 2s.
	timeout := time.After(30 * time.Second)
	for {
		select {
		case e := <-w.ResultChan():
			if e.Type != watch.Bookmark {
				continue
			}
			rv, _ := strconv.ParseInt(e.Object.(*corev1.ConfigMap).ResourceVersion, 10, 64)
			start, _ := strconv.ParseInt(cm.ResourceVersion, 10, 64)
			if rv < start {
				t.Fatalf("bookmark resourceVersion %d is before the watch start %d", rv, start)
			}
			return
		case <-timeout:
			t.Fatal("no bookmark within 30s")
		}
	}
}

// client-go's typed clients send the Scale body as protobuf.
func TestScaleSubresourceWithTypedClient(t *testing.T) {
	ctx := testContext(t)
	cs := shared.Client
	ns := newNamespace(t, cs)
	one := int32(1)
	rc := &corev1.ReplicationController{
		ObjectMeta: metav1.ObjectMeta{Name: "rc"},
		Spec: corev1.ReplicationControllerSpec{Replicas: &one, Selector: map[string]string{"app": "x"},
			Template: &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "x"}}, Spec: makePod("p", nil).Spec}},
	}
	if _, err := cs.CoreV1().ReplicationControllers(ns).Create(ctx, rc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	scale, err := cs.CoreV1().ReplicationControllers(ns).GetScale(ctx, "rc", metav1.GetOptions{})
	if err != nil || scale.Spec.Replicas != 1 || scale.Status.Selector != "app=x" {
		t.Fatalf("scale %+v, %v", scale, err)
	}
	scale.Spec.Replicas = 4
	if _, err := cs.CoreV1().ReplicationControllers(ns).UpdateScale(ctx, "rc", scale, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update scale: %v", err)
	}
	got, _ := cs.CoreV1().ReplicationControllers(ns).Get(ctx, "rc", metav1.GetOptions{})
	if *got.Spec.Replicas != 4 {
		t.Fatalf("replicas after scale = %d, want 4", *got.Spec.Replicas)
	}
}
