package integration

import (
	"context"
	"testing"

	apps "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"navarch.dev/apiserver/testserver"
)

func newDeployment(name string, replicas int32, image string) *apps.Deployment {
	sel := map[string]string{"app": name}
	one := intstr.FromInt32(1)
	return &apps.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: apps.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			Strategy: apps.DeploymentStrategy{
				Type:          apps.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &apps.RollingUpdateDeployment{MaxSurge: &one, MaxUnavailable: &one},
			},
			Template: v1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: sel},
				Spec:       v1.PodSpec{Containers: []v1.Container{{Name: "app", Image: image}}},
			},
		},
	}
}

// rollOut plays the kubelet one pod at a time until the Deployment reports
// a finished rollout of image, checking after every pass that no more than
// maxUnavailable pods are unavailable and no more than maxSurge extra exist.
func rollOut(t *testing.T, client kubernetes.Interface, ns, name, image string, checkBounds bool) {
	t.Helper()
	k := kubelet{client: client, ns: ns}
	poll(t, "rollout of "+image, func(ctx context.Context) (bool, error) {
		pods, err := k.step(ctx, 1)
		if err != nil {
			return false, err
		}
		if checkBounds {
			ready := 0
			for _, p := range pods {
				if podReady(&p) {
					ready++
				}
			}
			if ready < 3-1 {
				t.Fatalf("only %d pods ready during the rollout, maxUnavailable 1 allows no fewer than 2", ready)
			}
			if len(pods) > 3+1 {
				t.Fatalf("%d pods during the rollout, maxSurge 1 allows no more than 4", len(pods))
			}
		}
		d, err := client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		s := d.Status
		done := s.ObservedGeneration >= d.Generation && s.UpdatedReplicas == 3 && s.Replicas == 3 && s.AvailableReplicas == 3
		if !done {
			return false, nil
		}
		for _, p := range pods {
			if p.Spec.Containers[0].Image != image {
				return false, nil
			}
		}
		return len(pods) == 3, nil
	})
}

func TestDeploymentRolloutUpdateRollback(t *testing.T) {
	ts := testserver.Start(t)
	startControllers(t, ts, "deployment", "replicaset")
	client := ts.Client
	ctx := context.Background()
	const ns = "rollout"
	createNamespace(t, client, ns)

	if _, err := client.AppsV1().Deployments(ns).Create(ctx, newDeployment("web", 3, "web:1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rollOut(t, client, ns, "web", "web:1", false)

	d, err := client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Annotations["deployment.kubernetes.io/revision"]; got != "1" {
		t.Errorf("revision after the first rollout = %q, want 1", got)
	}
	if c := condition(d, apps.DeploymentAvailable); c == nil || c.Status != v1.ConditionTrue {
		t.Errorf("Available condition = %+v, want True", c)
	}
	if c := condition(d, apps.DeploymentProgressing); c == nil || c.Reason != "NewReplicaSetAvailable" {
		t.Errorf("Progressing condition = %+v, want reason NewReplicaSetAvailable", c)
	}
	firstRS := onlyActiveReplicaSet(t, client, ns, "web")

	// Update: a new template rolls with maxUnavailable and maxSurge held.
	d.Spec.Template.Spec.Containers[0].Image = "web:2"
	if _, err := client.AppsV1().Deployments(ns).Update(ctx, d, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	rollOut(t, client, ns, "web", "web:2", true)
	d, _ = client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if got := d.Annotations["deployment.kubernetes.io/revision"]; got != "2" {
		t.Errorf("revision after the update = %q, want 2", got)
	}

	// Rollback, as `rollout undo` does it: copy the first ReplicaSet's
	// template back (without its pod-template-hash label).
	tmpl := firstRS.Spec.Template.DeepCopy()
	delete(tmpl.Labels, apps.DefaultDeploymentUniqueLabelKey)
	d.Spec.Template = *tmpl
	if _, err := client.AppsV1().Deployments(ns).Update(ctx, d, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	rollOut(t, client, ns, "web", "web:1", true)
	back := onlyActiveReplicaSet(t, client, ns, "web")
	if back.Name != firstRS.Name {
		t.Errorf("rollback runs replica set %s, want the first one %s", back.Name, firstRS.Name)
	}
	if got := back.Annotations["deployment.kubernetes.io/revision"]; got != "3" {
		t.Errorf("revision of the rolled-back replica set = %q, want 3", got)
	}
	if got := back.Annotations["deployment.kubernetes.io/revision-history"]; got != "1" {
		t.Errorf("revision history = %q, want 1", got)
	}
}

func condition(d *apps.Deployment, t apps.DeploymentConditionType) *apps.DeploymentCondition {
	for i := range d.Status.Conditions {
		if d.Status.Conditions[i].Type == t {
			return &d.Status.Conditions[i]
		}
	}
	return nil
}

func onlyActiveReplicaSet(t *testing.T, client kubernetes.Interface, ns, app string) *apps.ReplicaSet {
	t.Helper()
	list, err := client.AppsV1().ReplicaSets(ns).List(context.Background(), metav1.ListOptions{
		LabelSelector: labels.SelectorFromSet(map[string]string{"app": app}).String()})
	if err != nil {
		t.Fatal(err)
	}
	var active []*apps.ReplicaSet
	for i := range list.Items {
		if rs := &list.Items[i]; *rs.Spec.Replicas > 0 {
			active = append(active, rs)
		}
	}
	if len(active) != 1 {
		t.Fatalf("%d active replica sets, want 1", len(active))
	}
	return active[0]
}

func TestDeploymentDeletionCascades(t *testing.T) {
	ts := testserver.Start(t)
	startControllers(t, ts, "deployment", "replicaset", "garbagecollector")
	client := ts.Client
	ctx := context.Background()
	k := kubelet{client: client}

	for _, tc := range []struct {
		name   string
		policy metav1.DeletionPropagation
		orphan bool
	}{
		{name: "background", policy: metav1.DeletePropagationBackground},
		{name: "foreground", policy: metav1.DeletePropagationForeground},
		{name: "orphan", policy: metav1.DeletePropagationOrphan, orphan: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := "cascade-" + tc.name
			createNamespace(t, client, ns)
			k.ns = ns
			if _, err := client.AppsV1().Deployments(ns).Create(ctx, newDeployment("web", 3, "web:1"), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			rollOut(t, client, ns, "web", "web:1", false)

			policy := tc.policy
			if err := client.AppsV1().Deployments(ns).Delete(ctx, "web", metav1.DeleteOptions{PropagationPolicy: &policy}); err != nil {
				t.Fatal(err)
			}
			poll(t, "the deployment to go", func(ctx context.Context) (bool, error) {
				if _, err := k.step(ctx, 0); err != nil {
					return false, err
				}
				_, err := client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
				return apierrors.IsNotFound(err), nil
			})
			if tc.orphan {
				// The ReplicaSet and its pods stay, without an owner.
				poll(t, "the replica set to be orphaned", func(ctx context.Context) (bool, error) {
					rss, err := client.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
					if err != nil || len(rss.Items) != 1 {
						return false, err
					}
					return len(rss.Items[0].OwnerReferences) == 0, nil
				})
				pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if len(pods.Items) != 3 {
					t.Errorf("%d pods after orphaning, want 3", len(pods.Items))
				}
				return
			}
			poll(t, "replica sets and pods to go", func(ctx context.Context) (bool, error) {
				pods, err := k.step(ctx, 0)
				if err != nil {
					return false, err
				}
				rss, err := client.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
				if err != nil {
					return false, err
				}
				return len(rss.Items) == 0 && len(pods) == 0, nil
			})
		})
	}
}
