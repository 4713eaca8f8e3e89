// Package integration runs the controller-manager's loops against a real
// apiserver (the in-process test server with etcd). No kubelet runs: tests
// play it by setting pod status, and finish graceful deletions.
package integration

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"navarch.dev/apiserver/testserver"
	"navarch.dev/controller-manager/pkg/app"
)

// pollTimeout bounds every wait; it is a failure bound, not a timing
// assertion.
const pollTimeout = 90 * time.Second

// startControllers runs the named controllers against ts until the test ends.
func startControllers(t *testing.T, ts *testserver.TestServer, names ...string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := app.RunControllers(ctx, ts.Client, ts.Config, app.NewOptions().ControllerOptions, names); err != nil {
			t.Errorf("controllers: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
}

// poll calls cond until it reports done, failing the test on error or after
// pollTimeout.
func poll(t *testing.T, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, pollTimeout, true, cond)
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

func createNamespace(t *testing.T, client kubernetes.Interface, name string) {
	t.Helper()
	_, err := client.CoreV1().Namespaces().Create(context.Background(), &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// kubelet plays the node agent for the pods of ns: it marks running pods
// Ready (when ready says so) and completes graceful deletions.
type kubelet struct {
	client kubernetes.Interface
	ns     string
}

// step makes one pass over the pods: it finishes deletions and marks at
// most maxReady not-ready pods ready (all when maxReady < 0). It returns
// the pods still present after the pass.
func (k kubelet) step(ctx context.Context, maxReady int) ([]v1.Pod, error) {
	pods, err := k.client.CoreV1().Pods(k.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []v1.Pod
	marked := 0
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			zero := int64(0)
			err := k.client.CoreV1().Pods(k.ns).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
			if err != nil && !apierrors.IsNotFound(err) {
				return nil, fmt.Errorf("finish deleting %s: %w", p.Name, err)
			}
			continue
		}
		if !podReady(&p) && (maxReady < 0 || marked < maxReady) {
			p.Status.Phase = v1.PodRunning
			now := metav1.Now()
			p.Status.Conditions = []v1.PodCondition{{Type: v1.PodReady, Status: v1.ConditionTrue, LastTransitionTime: now}}
			updated, err := k.client.CoreV1().Pods(k.ns).UpdateStatus(ctx, &p, metav1.UpdateOptions{})
			if err != nil {
				if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
					out = append(out, p)
					continue
				}
				return nil, fmt.Errorf("mark %s ready: %w", p.Name, err)
			}
			marked++
			p = *updated
		}
		out = append(out, p)
	}
	return out, nil
}

func podReady(p *v1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == v1.PodReady {
			return c.Status == v1.ConditionTrue
		}
	}
	return false
}
