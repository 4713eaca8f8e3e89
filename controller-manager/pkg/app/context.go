package app

import (
	"context"
	"sync"

	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/record"
)

// InitFunc starts one controller and returns at once. It registers the
// informers it needs on cc.InformerFactory (or cc.MetadataInformerFactory)
// before returning, and starts its loops with cc.Go, so that the manager can
// start the factories after every InitFunc has run and wait for the loops to
// end on shutdown. ctx is cancelled when the manager stops (shutdown or lost
// leadership); the loops must return promptly then.
//
// An InitFunc returns an error only when the controller cannot start (bad
// options, say); the manager then stops with that error.
type InitFunc func(ctx context.Context, cc *ControllerContext) error

// ControllerContext is what every controller gets from the manager. One
// ControllerContext is shared by all controllers of one leadership term: the
// informer factories are shared so each resource is listed and watched once.
type ControllerContext struct {
	// Client is the typed clientset for the apiserver.
	Client kubernetes.Interface
	// Config is the client configuration Client was built from, for
	// building further clients (dynamic, a client with its own user agent).
	Config *rest.Config
	// Discovery answers which resources the apiserver serves.
	Discovery discovery.DiscoveryInterface
	// InformerFactory is the shared informer factory of typed objects. Ask
	// it for informers inside the InitFunc; the manager starts it after all
	// InitFuncs returned.
	InformerFactory informers.SharedInformerFactory
	// MetadataClient reads and watches any resource as PartialObjectMetadata
	// (the garbage collector's view of the world).
	MetadataClient metadata.Interface
	// MetadataInformerFactory is the shared factory of metadata informers.
	// The manager starts it after all InitFuncs returned; a controller that
	// adds informers later (after discovering new resources) starts it again
	// itself, which starts only the new informers.
	MetadataInformerFactory metadatainformer.SharedInformerFactory
	// EventBroadcaster sends the events of every controller to the
	// apiserver. Use Recorder to get a recorder for one controller.
	EventBroadcaster record.EventBroadcaster
	// Options are the controller-manager's controller settings (workers
	// per controller and controller-specific flags).
	Options ControllerOptions
	// Stop is closed when the controllers must stop; it is ctx.Done() of
	// the InitFunc, for APIs that take a channel.
	Stop <-chan struct{}

	wg sync.WaitGroup
}

// Recorder returns an event recorder reporting as component (upstream uses
// the controller's name, e.g. "deployment-controller").
func (cc *ControllerContext) Recorder(component string) record.EventRecorder {
	return cc.EventBroadcaster.NewRecorder(scheme.Scheme, v1.EventSource{Component: component})
}

// Go runs f in a goroutine that the manager waits for on shutdown. f must
// return once the InitFunc's ctx is done.
func (cc *ControllerContext) Go(f func()) {
	cc.wg.Add(1)
	go func() {
		defer cc.wg.Done()
		f()
	}()
}

// Wait blocks until every function started with Go has returned.
func (cc *ControllerContext) Wait() { cc.wg.Wait() }
