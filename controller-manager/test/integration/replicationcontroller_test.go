package integration

import (
	"context"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"navarch.dev/apiserver/testserver"
)

// livePods plays the kubelet for one step and returns the pods that are not
// being deleted.
func livePods(ctx context.Context, k kubelet) ([]v1.Pod, error) {
	pods, err := k.step(ctx, -1)
	if err != nil {
		return nil, err
	}
	var out []v1.Pod
	for _, p := range pods {
		if p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out, nil
}

// An RC of 3 adopts a matching orphan, creates the rest, reports status,
// and scaling it to 1 through the scale subresource deletes 2.
func TestReplicationControllerScales(t *testing.T) {
	ts := testserver.Start(t)
	startControllers(t, ts, "replicationcontroller")
	const ns = "rc"
	createNamespace(t, ts.Client, ns)
	ctx := context.Background()
	sel := map[string]string{"app": "web"}

	orphan := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "orphan", Labels: sel}, Spec: v1.PodSpec{Containers: container()}}
	if _, err := ts.Client.CoreV1().Pods(ns).Create(ctx, orphan, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rc := &v1.ReplicationController{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: v1.ReplicationControllerSpec{
			Replicas: ptr.To[int32](3),
			Selector: sel,
			Template: &v1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: sel}, Spec: v1.PodSpec{Containers: container()}},
		},
	}
	rc, err := ts.Client.CoreV1().ReplicationControllers(ns).Create(ctx, rc, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	k := kubelet{client: ts.Client, ns: ns}

	// ownedPods checks every live pod is controlled by the RC and reports
	// whether there are want of them.
	ownedPods := func(ctx context.Context, want int) (bool, error) {
		pods, err := livePods(ctx, k)
		if err != nil {
			return false, err
		}
		for _, p := range pods {
			ref := metav1.GetControllerOf(&p)
			if ref == nil {
				return false, nil // not adopted yet
			}
			if ref.Kind != "ReplicationController" || ref.APIVersion != "v1" || ref.Name != "web" || ref.UID != rc.UID ||
				!ptr.Deref(ref.BlockOwnerDeletion, false) {
				t.Fatalf("pod %s has controller reference %+v, want the ReplicationController", p.Name, ref)
			}
		}
		return len(pods) == want, nil
	}
	poll(t, "3 pods owned by the RC", func(ctx context.Context) (bool, error) { return ownedPods(ctx, 3) })
	if _, err := ts.Client.CoreV1().Pods(ns).Get(ctx, "orphan", metav1.GetOptions{}); err != nil {
		t.Errorf("the adopted orphan: %v", err)
	}
	poll(t, "status of 3 ready replicas", func(ctx context.Context) (bool, error) {
		if _, err := k.step(ctx, -1); err != nil {
			return false, err
		}
		cur, err := ts.Client.CoreV1().ReplicationControllers(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		s := cur.Status
		return s.Replicas == 3 && s.FullyLabeledReplicas == 3 && s.ReadyReplicas == 3 && s.AvailableReplicas == 3 &&
			s.ObservedGeneration == cur.Generation, nil
	})

	// Scale as `kubectl scale rc web --replicas=1` does: through the
	// scale subresource, in JSON.
	cfg := rest.CopyConfig(ts.Config)
	cfg.ContentType = "application/json"
	jsonClient := kubernetes.NewForConfigOrDie(cfg)
	scale, err := jsonClient.CoreV1().ReplicationControllers(ns).GetScale(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	scale.Spec.Replicas = 1
	if _, err := jsonClient.CoreV1().ReplicationControllers(ns).UpdateScale(ctx, "web", scale, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "1 pod left", func(ctx context.Context) (bool, error) {
		pods, err := k.step(ctx, -1) // finishes the graceful deletions
		return err == nil && len(pods) == 1, err
	})
	poll(t, "status of 1 replica", func(ctx context.Context) (bool, error) {
		cur, err := ts.Client.CoreV1().ReplicationControllers(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return cur.Status.Replicas == 1 && cur.Status.ReadyReplicas == 1 && cur.Status.ObservedGeneration == cur.Generation, nil
	})
	if ok, err := ownedPods(ctx, 1); err != nil || !ok {
		t.Errorf("after scale-down: want 1 owned pod (err %v)", err)
	}

	// What `kubectl describe rc web` shows: the creations and deletions.
	poll(t, "events on the RC", func(ctx context.Context) (bool, error) {
		events, err := ts.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		reasons := map[string]int32{}
		for _, e := range events.Items {
			if e.InvolvedObject.Kind == "ReplicationController" && e.InvolvedObject.Name == "web" {
				reasons[e.Reason] += max(e.Count, 1)
			}
		}
		return reasons["SuccessfulCreate"] == 2 && reasons["SuccessfulDelete"] == 2, nil
	})
}
