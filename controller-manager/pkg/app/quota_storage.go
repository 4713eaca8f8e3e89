package app

import (
	"context"

	"navarch.dev/controller-manager/pkg/controller/persistentvolume"
	"navarch.dev/controller-manager/pkg/controller/resourcequota"
)

// The InitFuncs of the ResourceQuota and PersistentVolume controllers.

func startResourceQuota(ctx context.Context, cc *ControllerContext) error {
	c := resourcequota.NewController(cc.Client, cc.InformerFactory, cc.Options.ResourceQuotaSyncPeriod)
	cc.Go(func() { c.Run(ctx, cc.Options.ConcurrentResourceQuotaSyncs) })
	return nil
}

func startPersistentVolumeBinder(ctx context.Context, cc *ControllerContext) error {
	f := cc.InformerFactory
	c := persistentvolume.NewController(cc.Client, f.Core().V1().PersistentVolumes(), f.Core().V1().PersistentVolumeClaims(),
		f.Storage().V1().StorageClasses(), cc.Recorder("persistentvolume-controller"), cc.Options.PVClaimBinderSyncPeriod)
	cc.Go(func() { c.Run(ctx, 1) })
	return nil
}
