package integration

import (
	"context"
	"testing"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"navarch.dev/apiserver/testserver"
)

func TestNamespaceDeletionEmptiesAndRemoves(t *testing.T) {
	ts := testserver.Start(t)
	startControllers(t, ts, "namespace", "serviceaccount", "deployment", "replicaset", "garbagecollector")
	client := ts.Client
	ctx := context.Background()
	const ns = "doomed"
	createNamespace(t, client, ns)

	// The ServiceAccount controller gives the namespace its default account.
	poll(t, "the default service account", func(ctx context.Context) (bool, error) {
		_, err := client.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil, err
	})
	if _, err := client.AppsV1().Deployments(ns).Create(ctx, newDeployment("web", 2, "web:1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().ConfigMaps(ns).Create(ctx, &v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	k := kubelet{client: client, ns: ns}
	poll(t, "pods of the deployment", func(ctx context.Context) (bool, error) {
		pods, err := k.step(ctx, -1)
		return len(pods) == 2, err
	})

	if err := client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "the namespace to be removed", func(ctx context.Context) (bool, error) {
		if _, err := k.step(ctx, 0); err != nil {
			return false, err
		}
		_, err := client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
}

func TestServiceEndpoints(t *testing.T) {
	ts := testserver.Start(t)
	startControllers(t, ts, "endpoint", "endpointslice")
	client := ts.Client
	ctx := context.Background()
	const ns = "svc"
	createNamespace(t, client, ns)

	mkPod := func(name, ip string, ready bool) {
		p := &v1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "web"}},
			Spec: v1.PodSpec{NodeName: "node-1", Containers: []v1.Container{{Name: "c", Image: "img",
				Ports: []v1.ContainerPort{{Name: "http", ContainerPort: 8080}}}}},
		}
		p, err := client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		status := v1.ConditionFalse
		if ready {
			status = v1.ConditionTrue
		}
		p.Status = v1.PodStatus{Phase: v1.PodRunning, PodIP: ip, PodIPs: []v1.PodIP{{IP: ip}},
			Conditions: []v1.PodCondition{{Type: v1.PodReady, Status: status}}}
		if _, err := client.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mkPod("a", "10.0.0.1", true)
	mkPod("b", "10.0.0.2", false)
	svc := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: v1.ServiceSpec{Selector: map[string]string{"app": "web"},
			Ports: []v1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}}},
	}
	if _, err := client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "endpoints with one ready and one not-ready address", func(ctx context.Context) (bool, error) {
		ep, err := client.CoreV1().Endpoints(ns).Get(ctx, "web", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if len(ep.Subsets) != 1 {
			return false, nil
		}
		s := ep.Subsets[0]
		return len(s.Addresses) == 1 && s.Addresses[0].IP == "10.0.0.1" &&
			len(s.NotReadyAddresses) == 1 && s.NotReadyAddresses[0].IP == "10.0.0.2" &&
			len(s.Ports) == 1 && s.Ports[0].Port == 8080, nil
	})
	poll(t, "an endpoint slice with both pods", func(ctx context.Context) (bool, error) {
		slices, err := client.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=web"})
		if err != nil {
			return false, err
		}
		if len(slices.Items) != 1 {
			return false, nil
		}
		s := slices.Items[0]
		if len(s.Endpoints) != 2 || len(s.Ports) != 1 || *s.Ports[0].Port != 8080 {
			return false, nil
		}
		return *s.Endpoints[0].Conditions.Ready && !*s.Endpoints[1].Conditions.Ready, nil
	})
	// The apiserver's own endpoints are left alone.
	if ep, err := client.CoreV1().Endpoints("default").Get(ctx, "kubernetes", metav1.GetOptions{}); err == nil && len(ep.Subsets) == 0 {
		t.Errorf("default/kubernetes endpoints emptied: %+v", ep)
	}
}
