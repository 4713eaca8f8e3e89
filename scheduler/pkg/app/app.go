// Package app is navarch-scheduler's command: flags, configuration, the
// health/metrics/decisions HTTP server and leader election around the
// scheduling loop.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"navarch.dev/shared/component"
	"navarch.dev/shared/kubeconfig"
	"navarch.dev/shared/leaderelect"

	"navarch.dev/scheduler/pkg/config"
	"navarch.dev/scheduler/pkg/decisions"
	"navarch.dev/scheduler/pkg/scheduler"
)

// DefaultPort is the health, metrics and decisions port.
const DefaultPort = 10251

// Options are the command-line flags.
type Options struct {
	Logging      component.LoggingOptions
	Kubeconfig   string
	ConfigFile   string
	Address      string
	Port         int
	KubeAPIQPS   float32
	KubeAPIBurst int32
	LeaderElect  leaderelect.Options
	// DecisionsMax bounds how many pods' decisions are kept.
	DecisionsMax int
	// Listener, if set, is used instead of listening on Address:Port
	// (tests pass one on a random port).
	Listener net.Listener
}

// NewOptions returns upstream's defaults.
func NewOptions() *Options {
	return &Options{
		Address:      "0.0.0.0",
		Port:         DefaultPort,
		LeaderElect:  leaderelect.NewOptions("kube-scheduler"),
		DecisionsMax: decisions.DefaultMax,
	}
}

// AddFlags registers the flags on fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	o.Logging.AddFlags(fs)
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "Path to kubeconfig file with authorization and master location information (overrides clientConnection.kubeconfig of --config).")
	fs.StringVar(&o.ConfigFile, "config", o.ConfigFile, "The path to the configuration file (KubeSchedulerConfiguration: profiles, plugins, weights, percentageOfNodesToScore).")
	fs.StringVar(&o.Address, "address", o.Address, "The IP address on which to serve /healthz, /readyz, /metrics and /debug/decisions.")
	fs.IntVar(&o.Port, "port", o.Port, "The port on which to serve /healthz, /readyz, /metrics and /debug/decisions; 0 disables serving.")
	fs.Float32Var(&o.KubeAPIQPS, "kube-api-qps", o.KubeAPIQPS, "QPS to use while talking with kubernetes apiserver (overrides clientConnection.qps; default 50).")
	fs.Int32Var(&o.KubeAPIBurst, "kube-api-burst", o.KubeAPIBurst, "Burst to use while talking with kubernetes apiserver (overrides clientConnection.burst; default 100).")
	fs.IntVar(&o.DecisionsMax, "decisions-max", o.DecisionsMax, "How many pods' last scheduling decisions to keep for /debug/decisions (Navarch-only).")
	o.LeaderElect.AddFlags(fs)
}

// NewCommand returns the navarch-scheduler command.
func NewCommand() *cobra.Command {
	o := NewOptions()
	cmd := &cobra.Command{
		Use:          "navarch-scheduler",
		Short:        "Assigns pending pods to nodes",
		Long:         "navarch-scheduler watches pods without a node and binds each to a node chosen by filter and score plugins.",
		SilenceUsage: true,
		Args:         cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := component.SetupLogging(o.Logging); err != nil {
				return err
			}
			return Run(component.SignalContext(), o)
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

// Run loads the configuration and runs the scheduler until ctx ends.
func Run(ctx context.Context, o *Options) error {
	cfg := config.Default()
	if o.ConfigFile != "" {
		var err error
		if cfg, err = config.Load(o.ConfigFile); err != nil {
			return err
		}
	}
	if o.Kubeconfig != "" {
		cfg.ClientConnection.Kubeconfig = o.Kubeconfig
	}
	if o.KubeAPIQPS > 0 {
		cfg.ClientConnection.QPS = o.KubeAPIQPS
	}
	if o.KubeAPIBurst > 0 {
		cfg.ClientConnection.Burst = o.KubeAPIBurst
	}
	if err := o.LeaderElect.Validate(); err != nil {
		return err
	}
	restCfg, err := kubeconfig.RESTConfig(cfg.ClientConnection.Kubeconfig)
	if err != nil {
		return err
	}
	restCfg.QPS, restCfg.Burst = cfg.ClientConnection.QPS, int(cfg.ClientConnection.Burst)
	restCfg.UserAgent = "navarch-scheduler"
	restCfg.ContentType = cfg.ClientConnection.ContentType
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return fmt.Errorf("scheduler: client: %w", err)
	}
	// Events get their own client (and rate limit) so they never delay
	// bindings.
	eventClient, err := kubernetes.NewForConfig(rest.CopyConfig(restCfg))
	if err != nil {
		return fmt.Errorf("scheduler: client: %w", err)
	}

	reg := prometheus.NewRegistry()
	store := decisions.NewStore(o.DecisionsMax)
	sched, err := scheduler.New(scheduler.Options{
		Client: client, EventClient: eventClient, Config: cfg, Registerer: reg, Decisions: store,
	})
	if err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	serveErr := make(chan error, 1)
	ln := o.Listener
	if ln == nil && o.Port > 0 {
		if ln, err = net.Listen("tcp", net.JoinHostPort(o.Address, strconv.Itoa(o.Port))); err != nil {
			return fmt.Errorf("scheduler: listen: %w", err)
		}
	}
	if ln != nil {
		checks := map[string]func() error{
			// A leader that has not synced its informers is not ready;
			// a candidate waiting for the lease is.
			"informer-sync": func() error {
				if sched.Started() && !sched.Synced() {
					return errors.New("informers not synced")
				}
				return nil
			},
		}
		go func() { serveErr <- Serve(ctx, ln, checks, reg, store) }()
	} else {
		close(serveErr)
	}

	identity, err := leaderelect.Identity()
	if err != nil {
		return err
	}
	var runErr error
	var advertised chan struct{}
	err = leaderelect.Run(ctx, client, o.LeaderElect, identity, func(ctx context.Context) {
		if o.LeaderElect.LeaderElect && ln != nil {
			// Tell clients (navctl describe --show-decision) where this
			// leader serves its decisions.
			advertised = make(chan struct{})
			go func() {
				defer close(advertised)
				advertise(ctx, client, o.LeaderElect, identity, ln.Addr(), restCfg.Host, cfg)
			}()
		}
		runErr = sched.Run(ctx)
	})
	if advertised != nil {
		<-advertised
	}
	cancel()
	if e := <-serveErr; e != nil && err == nil {
		err = e
	}
	return errors.Join(err, runErr)
}

// Serve serves the health and metrics endpoints plus /debug/decisions/ on
// ln until ctx ends.
func Serve(ctx context.Context, ln net.Listener, checks map[string]func() error, reg *prometheus.Registry, store *decisions.Store) error {
	mux := http.NewServeMux()
	mux.Handle(decisions.Prefix, store.Handler())
	mux.Handle("/", component.Handler(checks, reg))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("scheduler: serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	shutdownCtx, done := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer done()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		srv.Close()
	}
	<-errc
	slog.Info("Scheduler HTTP server stopped")
	return nil
}

// advertise records this leader's decisions endpoint on its Lease.
func advertise(ctx context.Context, client kubernetes.Interface, le leaderelect.Options, identity string, addr net.Addr, apiserver string, cfg *config.Configuration) {
	u, err := decisions.AdvertiseURL(addr, apiserver)
	if err != nil {
		slog.Error("Cannot advertise the decisions endpoint", "err", err)
		return
	}
	ep := decisions.Endpoint{HolderIdentity: identity, URL: u}
	for _, p := range cfg.Profiles {
		ep.SchedulerNames = append(ep.SchedulerNames, p.SchedulerName)
	}
	retries := 0
	onRetry := func(err error) {
		// Conflicts with the elector's renewals are expected; say so only
		// when it keeps failing (e.g. RBAC forbids updating the Lease).
		if retries++; retries == 5 {
			slog.Warn("Still cannot advertise the decisions endpoint on the lease; retrying", "err", err)
		}
	}
	if err := decisions.Advertise(ctx, client, le.ResourceNamespace, le.ResourceName, ep, onRetry); err != nil {
		if ctx.Err() == nil {
			slog.Error("Cannot advertise the decisions endpoint", "err", err)
		}
		return
	}
	slog.Info("Advertised the decisions endpoint", "lease", le.ResourceNamespace+"/"+le.ResourceName, "url", u)
}
