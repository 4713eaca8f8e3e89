package app

import (
	"context"

	"navarch.dev/controller-manager/pkg/controller/deployment"
	"navarch.dev/controller-manager/pkg/controller/endpoints"
	"navarch.dev/controller-manager/pkg/controller/endpointslice"
	"navarch.dev/controller-manager/pkg/controller/garbagecollector"
	"navarch.dev/controller-manager/pkg/controller/namespace"
	"navarch.dev/controller-manager/pkg/controller/replicaset"
	"navarch.dev/controller-manager/pkg/controller/replicationcontroller"
	"navarch.dev/controller-manager/pkg/controller/serviceaccount"
)

// The InitFuncs of the workload, service and namespace controllers.

func startReplicaSet(ctx context.Context, cc *ControllerContext) error {
	c, err := replicaset.New(cc.InformerFactory.Apps().V1().ReplicaSets(), cc.InformerFactory.Core().V1().Pods(),
		cc.Client, cc.Recorder("replicaset-controller"))
	if err != nil {
		return err
	}
	cc.Go(func() { c.Run(ctx, cc.Options.ConcurrentReplicaSetSyncs) })
	return nil
}

func startReplicationController(ctx context.Context, cc *ControllerContext) error {
	f := cc.InformerFactory.Core().V1()
	c, err := replicationcontroller.New(f.ReplicationControllers(), f.Pods(), cc.Client, cc.Recorder("replication-controller"))
	if err != nil {
		return err
	}
	cc.Go(func() { c.Run(ctx, cc.Options.ConcurrentRCSyncs) })
	return nil
}

func startDeployment(ctx context.Context, cc *ControllerContext) error {
	f := cc.InformerFactory
	c, err := deployment.New(f.Apps().V1().Deployments(), f.Apps().V1().ReplicaSets(), f.Core().V1().Pods(),
		cc.Client, cc.Recorder("deployment-controller"))
	if err != nil {
		return err
	}
	cc.Go(func() { c.Run(ctx, cc.Options.ConcurrentDeploymentSyncs) })
	return nil
}

func startGarbageCollector(ctx context.Context, cc *ControllerContext) error {
	if !cc.Options.EnableGarbageCollector {
		return nil
	}
	gc := garbagecollector.New(cc.MetadataClient, cc.Discovery, cc.MetadataInformerFactory)
	if err := gc.Sync(); err != nil {
		return err
	}
	cc.Go(func() { gc.Run(ctx, cc.Options.ConcurrentGCSyncs) })
	return nil
}

func startEndpoints(ctx context.Context, cc *ControllerContext) error {
	f := cc.InformerFactory.Core().V1()
	c, err := endpoints.New(f.Services(), f.Pods(), f.Endpoints(), cc.Client)
	if err != nil {
		return err
	}
	cc.Go(func() { c.Run(ctx, cc.Options.ConcurrentEndpointSyncs) })
	return nil
}

func startEndpointSlice(ctx context.Context, cc *ControllerContext) error {
	f := cc.InformerFactory
	c, err := endpointslice.New(f.Core().V1().Services(), f.Core().V1().Pods(), f.Discovery().V1().EndpointSlices(), cc.Client)
	if err != nil {
		return err
	}
	cc.Go(func() { c.Run(ctx, cc.Options.ConcurrentServiceEndpointSyncs) })
	return nil
}

func startNamespace(ctx context.Context, cc *ControllerContext) error {
	c, err := namespace.New(cc.InformerFactory.Core().V1().Namespaces(), cc.Client, cc.MetadataClient, cc.Discovery, cc.Options.NamespaceSyncPeriod)
	if err != nil {
		return err
	}
	cc.Go(func() { c.Run(ctx, cc.Options.ConcurrentNamespaceSyncs) })
	return nil
}

func startServiceAccount(ctx context.Context, cc *ControllerContext) error {
	f := cc.InformerFactory.Core().V1()
	c, err := serviceaccount.New(f.Namespaces(), f.ServiceAccounts(), cc.Client)
	if err != nil {
		return err
	}
	cc.Go(func() { c.Run(ctx, 1) })
	return nil
}
