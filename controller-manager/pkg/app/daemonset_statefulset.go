package app

import (
	"context"

	"navarch.dev/controller-manager/pkg/controller/daemonset"
	"navarch.dev/controller-manager/pkg/controller/statefulset"
)

// The InitFuncs of the DaemonSet and StatefulSet controllers.

func startDaemonSet(ctx context.Context, cc *ControllerContext) error {
	f := cc.InformerFactory
	c := daemonset.NewController(cc.Client, f.Apps().V1().DaemonSets(), f.Apps().V1().ControllerRevisions(),
		f.Core().V1().Pods(), f.Core().V1().Nodes(), cc.Recorder("daemonset-controller"), nil)
	cc.Go(func() { c.Run(ctx, cc.Options.ConcurrentDaemonSetSyncs) })
	return nil
}

func startStatefulSet(ctx context.Context, cc *ControllerContext) error {
	f := cc.InformerFactory
	c := statefulset.NewController(cc.Client, f.Apps().V1().StatefulSets(), f.Core().V1().Pods(),
		f.Core().V1().PersistentVolumeClaims(), f.Apps().V1().ControllerRevisions(), cc.Recorder("statefulset-controller"), nil)
	cc.Go(func() { c.Run(ctx, cc.Options.ConcurrentStatefulSetSyncs) })
	return nil
}
