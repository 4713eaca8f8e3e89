package app

import (
	"context"
	"fmt"

	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"

	"navarch.dev/controller-manager/pkg/controller/podautoscaler"
)

// The InitFunc of the HorizontalPodAutoscaler controller.

func startHPA(ctx context.Context, cc *ControllerContext) error {
	mc, err := metricsclient.NewForConfig(cc.Config)
	if err != nil {
		return fmt.Errorf("metrics client: %w", err)
	}
	o := cc.Options
	cfg := podautoscaler.DefaultConfig()
	cfg.SyncPeriod, cfg.Tolerance, cfg.DownscaleWindow = o.HPASyncPeriod, o.HPATolerance, o.HPADownscaleWindow
	f := cc.InformerFactory
	c := podautoscaler.NewController(cc.Client, podautoscaler.ResourceMetricsClient{Client: mc.MetricsV1beta1()},
		f.Autoscaling().V2().HorizontalPodAutoscalers(), f.Core().V1().Pods(), cc.Recorder("horizontal-pod-autoscaler"), nil, cfg)
	cc.Go(func() { c.Run(ctx, o.ConcurrentHPASyncs) })
	return nil
}
