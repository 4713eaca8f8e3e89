package integration

import (
	"context"
	"testing"

	autoscaling "k8s.io/api/autoscaling/v2"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"navarch.dev/apiserver/testserver"
)

func TestClaimBindsAndVolumeIsReleased(t *testing.T) {
	ts := testserver.Start(t)
	startControllers(t, ts, "persistentvolume-binder")
	const ns = "pv"
	createNamespace(t, ts.Client, ns)
	ctx := context.Background()
	for _, pv := range []struct {
		name, size string
	}{{"big", "10Gi"}, {"small", "2Gi"}} {
		_, err := ts.Client.CoreV1().PersistentVolumes().Create(ctx, &v1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{Name: pv.name},
			Spec: v1.PersistentVolumeSpec{
				Capacity:                      v1.ResourceList{v1.ResourceStorage: resource.MustParse(pv.size)},
				AccessModes:                   []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
				StorageClassName:              "manual",
				PersistentVolumeReclaimPolicy: v1.PersistentVolumeReclaimRetain,
				PersistentVolumeSource:        v1.PersistentVolumeSource{HostPath: &v1.HostPathVolumeSource{Path: "/srv/" + pv.name}},
			},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := ts.Client.CoreV1().PersistentVolumeClaims(ns).Create(ctx, &v1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data"},
		Spec: v1.PersistentVolumeClaimSpec{
			AccessModes:      []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
			StorageClassName: ptr.To("manual"),
			Resources:        v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	poll(t, "claim bound to the small volume", func(ctx context.Context) (bool, error) {
		c, err := ts.Client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "data", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		pv, err := ts.Client.CoreV1().PersistentVolumes().Get(ctx, "small", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return c.Status.Phase == v1.ClaimBound && c.Spec.VolumeName == "small" && pv.Status.Phase == v1.VolumeBound, nil
	})
	if err := ts.Client.CoreV1().PersistentVolumeClaims(ns).Delete(ctx, "data", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "volume released", func(ctx context.Context) (bool, error) {
		pv, err := ts.Client.CoreV1().PersistentVolumes().Get(ctx, "small", metav1.GetOptions{})
		return err == nil && pv.Status.Phase == v1.VolumeReleased, err
	})
}

func TestQuotaUsage(t *testing.T) {
	ts := testserver.Start(t)
	startControllers(t, ts, "resourcequota")
	const ns = "quota"
	createNamespace(t, ts.Client, ns)
	ctx := context.Background()
	_, err := ts.Client.CoreV1().ResourceQuotas(ns).Create(ctx, &v1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "q"},
		Spec:       v1.ResourceQuotaSpec{Hard: v1.ResourceList{v1.ResourcePods: resource.MustParse("10"), v1.ResourceRequestsCPU: resource.MustParse("2")}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b"} {
		_, err := ts.Client.CoreV1().Pods(ns).Create(ctx, &v1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: "busybox", Resources: v1.ResourceRequirements{
				Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("300m")}}}}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
	poll(t, "quota usage of 2 pods", func(ctx context.Context) (bool, error) {
		q, err := ts.Client.CoreV1().ResourceQuotas(ns).Get(ctx, "q", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		pods, cpu := q.Status.Used[v1.ResourcePods], q.Status.Used[v1.ResourceRequestsCPU]
		return pods.Value() == 2 && cpu.MilliValue() == 600, nil
	})
}

func TestHPAWithoutMetricsAPI(t *testing.T) {
	ts := testserver.Start(t)
	startControllers(t, ts, "horizontalpodautoscaling")
	const ns = "hpa"
	createNamespace(t, ts.Client, ns)
	ctx := context.Background()
	d := newDeployment("web", 2, "busybox")
	if _, err := ts.Client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := ts.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, &autoscaling.HorizontalPodAutoscaler{
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
	poll(t, "ScalingActive=False", func(ctx context.Context) (bool, error) {
		h, err := ts.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range h.Status.Conditions {
			if c.Type == autoscaling.ScalingActive && c.Status == v1.ConditionFalse && c.Reason == "FailedGetResourceMetric" {
				return true, nil
			}
		}
		return false, nil
	})
	got, err := ts.Client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *got.Spec.Replicas != 2 {
		t.Errorf("replicas changed to %d without metrics", *got.Spec.Replicas)
	}
}
