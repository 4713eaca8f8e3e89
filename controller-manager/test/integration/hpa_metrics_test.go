package integration

import (
	"context"
	"sync"
	"testing"
	"time"

	autoscaling "k8s.io/api/autoscaling/v2"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"navarch.dev/apiserver/pkg/server"
	"navarch.dev/apiserver/testserver"
	"navarch.dev/apiserver/testserver/kubeletstats"
	"navarch.dev/controller-manager/pkg/app"
)

// The HPA scales a Deployment on the CPU the apiserver's metrics.k8s.io
// reports from the node's kubelet summary: pods requesting 100m and using
// 150m are at 150% of a 50% target, so it scales 2 → 5 (its maximum).
func TestHPAScalesOnResourceMetrics(t *testing.T) {
	ts := testserver.Start(t, func(o *server.Options) { o.MetricResolution = time.Second })
	cs := ts.Client
	k := kubeletstats.Start(t, "worker-1", kubeletstats.Usage{MilliCPU: 1000, Memory: 1 << 30})
	kubeletstats.RegisterNode(t, cs, "worker-1", nil, k.Port(), v1.ConditionTrue)

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		opts := app.NewOptions().ControllerOptions
		opts.HPASyncPeriod = time.Second
		if err := app.RunControllers(ctx, cs, ts.Config, opts, []string{"deployment", "replicaset", "horizontalpodautoscaling"}); err != nil {
			t.Errorf("controllers: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})

	const ns = "hpa-metrics"
	createNamespace(t, cs, ns)
	d := newDeployment("web", 2, "busybox")
	d.Spec.Template.Spec.Containers[0].Resources.Requests = v1.ResourceList{v1.ResourceCPU: resource.MustParse("100m")}
	if _, err := cs.AppsV1().Deployments(ns).Create(context.Background(), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(context.Background(), &autoscaling.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: autoscaling.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscaling.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:    ptr.To[int32](1), MaxReplicas: 5,
			Metrics: []autoscaling.MetricSpec{{Type: autoscaling.ResourceMetricSourceType, Resource: &autoscaling.ResourceMetricSource{
				Name: v1.ResourceCPU, Target: autoscaling.MetricTarget{Type: autoscaling.UtilizationMetricType, AverageUtilization: ptr.To[int32](50)}}}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	// Play the scheduler and the kubelet: bind new pods to worker-1, mark
	// them running and ready, and report each using 150m.
	kl := kubelet{client: cs, ns: ns}
	poll(t, "the HPA to scale web to 5", func(ctx context.Context) (bool, error) {
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, p := range pods.Items {
			if p.Spec.NodeName == "" && p.DeletionTimestamp == nil {
				b := &v1.Binding{ObjectMeta: metav1.ObjectMeta{Name: p.Name}, Target: v1.ObjectReference{Kind: "Node", Name: "worker-1"}}
				if err := cs.CoreV1().Pods(ns).Bind(ctx, b, metav1.CreateOptions{}); err != nil {
					return false, err
				}
			}
		}
		running, err := kl.step(ctx, -1)
		if err != nil {
			return false, err
		}
		var reported []kubeletstats.Pod
		for _, p := range running {
			reported = append(reported, kubeletstats.Pod{Name: p.Name, Namespace: ns, UID: string(p.UID), Containers: []kubeletstats.Container{
				{Name: "app", Usage: kubeletstats.Usage{MilliCPU: 150, Memory: 32 << 20}},
			}})
		}
		k.SetPods(reported...)
		dep, err := cs.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return *dep.Spec.Replicas == 5, nil
	})
	h, err := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Status.CurrentMetrics) != 1 || h.Status.CurrentMetrics[0].Resource == nil || h.Status.CurrentMetrics[0].Resource.Current.AverageUtilization == nil {
		t.Fatalf("HPA current metrics = %+v, want the CPU utilization", h.Status.CurrentMetrics)
	}
	if u := *h.Status.CurrentMetrics[0].Resource.Current.AverageUtilization; u < 120 || u > 180 {
		t.Errorf("HPA saw %d%% CPU utilization, want about 150%%", u)
	}
}
