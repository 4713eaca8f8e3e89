package app

import (
	"context"

	"navarch.dev/controller-manager/pkg/controller/nodeipam"
	"navarch.dev/controller-manager/pkg/controller/nodelifecycle"
	"navarch.dev/controller-manager/pkg/controller/podgc"
	"navarch.dev/controller-manager/pkg/controller/ttlafterfinished"
)

// The InitFuncs of the node and cleanup controllers.

func startNodeLifecycle(ctx context.Context, cc *ControllerContext) error {
	f := cc.InformerFactory
	o := cc.Options
	c, err := nodelifecycle.NewController(cc.Client, f.Core().V1().Nodes(), f.Core().V1().Pods(), f.Coordination().V1().Leases(),
		cc.Recorder("node-controller"), nil, nodelifecycle.Config{
			MonitorPeriod:      o.NodeMonitorPeriod,
			GracePeriod:        o.NodeMonitorGracePeriod,
			StartupGracePeriod: o.NodeStartupGracePeriod,
			EvictionRate:       o.NodeEvictionRate,
		})
	if err != nil {
		return err
	}
	cc.Go(func() { c.Run(ctx, 1) })
	return nil
}

func startNodeIPAM(ctx context.Context, cc *ControllerContext) error {
	if !cc.Options.AllocateNodeCIDRs {
		return nil
	}
	c, err := nodeipam.NewController(cc.Client, cc.InformerFactory.Core().V1().Nodes(), cc.Recorder("node-ipam-controller"),
		cc.Options.ClusterCIDR, cc.Options.NodeCIDRMaskSize)
	if err != nil {
		return err
	}
	cc.Go(func() { c.Run(ctx, 1) })
	return nil
}

func startPodGC(ctx context.Context, cc *ControllerContext) error {
	f := cc.InformerFactory
	c := podgc.NewController(cc.Client, f.Core().V1().Pods(), f.Core().V1().Nodes(), cc.Options.TerminatedPodGCThreshold, nil)
	cc.Go(func() { c.Run(ctx) })
	return nil
}

func startTTLAfterFinished(ctx context.Context, cc *ControllerContext) error {
	c := ttlafterfinished.NewController(cc.Client, cc.InformerFactory.Batch().V1().Jobs(), nil)
	cc.Go(func() { c.Run(ctx, cc.Options.ConcurrentTTLSyncs) })
	return nil
}
