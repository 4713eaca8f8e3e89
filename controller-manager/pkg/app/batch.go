package app

import (
	"context"

	"navarch.dev/controller-manager/pkg/controller/cronjob"
	"navarch.dev/controller-manager/pkg/controller/job"
)

// The InitFuncs of the batch controllers.

func startJob(ctx context.Context, cc *ControllerContext) error {
	c := job.NewController(cc.Client, cc.InformerFactory.Batch().V1().Jobs(), cc.InformerFactory.Core().V1().Pods(),
		cc.Recorder("job-controller"), nil)
	cc.Go(func() { c.Run(ctx, cc.Options.ConcurrentJobSyncs) })
	return nil
}

func startCronJob(ctx context.Context, cc *ControllerContext) error {
	c := cronjob.NewController(cc.Client, cc.InformerFactory.Batch().V1().CronJobs(), cc.InformerFactory.Batch().V1().Jobs(),
		cc.Recorder("cronjob-controller"), nil)
	cc.Go(func() { c.Run(ctx, cc.Options.ConcurrentCronJobSyncs) })
	return nil
}
