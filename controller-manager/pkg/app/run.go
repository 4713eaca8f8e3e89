package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/record"

	"navarch.dev/shared/component"
	"navarch.dev/shared/kubeconfig"
	"navarch.dev/shared/leaderelect"
)

// userAgent identifies the controller-manager's requests.
const userAgent = "navarch-controller-manager"

// Run runs the controller-manager until ctx ends: it serves health and
// metrics, campaigns for the lease and, while leading, runs the enabled
// controllers. It returns nil on shutdown and leaderelect.ErrLeadershipLost
// when the lease was lost (the process should exit and be restarted).
func Run(ctx context.Context, o *Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	enabled, _ := EnabledControllers(o.Controllers)
	client, cfg, err := o.client()
	if err != nil {
		return err
	}
	registerMetrics()

	identity := o.Identity
	if identity == "" {
		if identity, err = leaderelect.Identity(); err != nil {
			return err
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var leading atomic.Bool
	serveErr := make(chan error, 1)
	if o.SecurePort != 0 {
		addr := net.JoinHostPort(o.BindAddress.String(), strconv.Itoa(o.SecurePort))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("controller-manager: listen on %s: %w", addr, err)
		}
		go func() {
			err := component.Serve(ctx, ln, nil, Registry)
			if err != nil {
				cancel()
			}
			serveErr <- err
		}()
	} else {
		serveErr <- nil
	}

	slog.Info("Starting controller-manager", "controllers", enabled, "identity", identity)
	runErr := leaderelect.Run(ctx, client, o.LeaderElection, identity, func(ctx context.Context) {
		leading.Store(true)
		defer leading.Store(false)
		if err := RunControllers(ctx, client, cfg, o.ControllerOptions, enabled); err != nil {
			slog.Error("Controllers failed", "err", err)
		}
	})
	cancel()
	return errors.Join(runErr, <-serveErr)
}

func (o *Options) client() (kubernetes.Interface, *rest.Config, error) {
	var cfg *rest.Config
	if o.RESTConfig != nil {
		cfg = rest.CopyConfig(o.RESTConfig)
	} else {
		var err error
		if cfg, err = kubeconfig.RESTConfig(o.Kubeconfig); err != nil {
			return nil, nil, err
		}
	}
	cfg.QPS = o.KubeAPIQPS
	cfg.Burst = o.KubeAPIBurst
	cfg.UserAgent = userAgent
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("controller-manager: build client: %w", err)
	}
	return client, cfg, nil
}

// informerResync is the shared informers' resync period (upstream picks a
// random period between 12 and 24 hours; a fixed 12h is as good).
const informerResync = 12 * time.Hour

// RunControllers starts the named controllers from the table on shared
// informers and blocks until ctx ends and every controller has returned.
func RunControllers(ctx context.Context, client kubernetes.Interface, cfg *rest.Config, opts ControllerOptions, names []string) error {
	md, err := metadata.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("controller-manager: build metadata client: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	defer broadcaster.Shutdown()

	cc := &ControllerContext{
		Client:                  client,
		Config:                  cfg,
		Discovery:               client.Discovery(),
		InformerFactory:         informers.NewSharedInformerFactory(client, informerResync),
		MetadataClient:          md,
		MetadataInformerFactory: metadatainformer.NewSharedInformerFactory(md, informerResync),
		EventBroadcaster:        broadcaster,
		Options:                 opts,
		Stop:                    ctx.Done(),
	}
	var initErr error
	for _, name := range names {
		start, ok := Controllers[name]
		if !ok {
			initErr = fmt.Errorf("controller-manager: unknown controller %q", name)
			break
		}
		slog.Info("Starting controller", "controller", name)
		if err := start(ctx, cc); err != nil {
			initErr = fmt.Errorf("controller-manager: start %s: %w", name, err)
			break
		}
	}
	if initErr != nil {
		cancel()
	} else {
		cc.InformerFactory.Start(ctx.Done())
		cc.MetadataInformerFactory.Start(ctx.Done())
		<-ctx.Done()
	}
	cc.Wait()
	cc.InformerFactory.Shutdown()
	cc.MetadataInformerFactory.Shutdown()
	return initErr
}
