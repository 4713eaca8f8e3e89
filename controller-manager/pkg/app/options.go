package app

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"

	"navarch.dev/shared/component"
	"navarch.dev/shared/leaderelect"
)

// LeaseName is the Lease in kube-system that controller-managers campaign
// for, upstream's name so tooling that looks for it finds it.
const LeaseName = "kube-controller-manager"

// Options configure a controller-manager; NewOptions gives upstream's
// defaults and AddFlags binds them to upstream's flag names.
type Options struct {
	// Kubeconfig (--kubeconfig) is the kubeconfig to reach the apiserver
	// with; empty follows kubectl's loading rules.
	Kubeconfig string
	// RESTConfig, when set, is used instead of Kubeconfig (tests, embedding).
	RESTConfig *rest.Config
	// KubeAPIQPS and KubeAPIBurst (--kube-api-qps, --kube-api-burst)
	// throttle the client.
	KubeAPIQPS   float32
	KubeAPIBurst int

	// Controllers (--controllers) selects the loops: "*" is every
	// controller on by default, "foo" enables foo, "-foo" disables foo.
	Controllers []string

	// LeaderElection are the --leader-elect* flags, on the Lease
	// kube-system/kube-controller-manager by default.
	LeaderElection leaderelect.Options
	// Identity is the leader election identity; empty means
	// "<hostname>_<uuid>".
	Identity string

	// BindAddress and SecurePort (--bind-address, --secure-port) are where
	// /healthz, /readyz and /metrics are served; port 0 disables serving.
	BindAddress net.IP
	SecurePort  int

	Logging component.LoggingOptions

	ControllerOptions
}

// ControllerOptions are the settings controllers read from
// ControllerContext.Options. Add a field here (and its flag in AddFlags)
// when a controller needs one; keep upstream's flag names and defaults.
type ControllerOptions struct {
	ConcurrentReplicaSetSyncs      int
	ConcurrentRCSyncs              int
	ConcurrentDeploymentSyncs      int
	ConcurrentEndpointSyncs        int
	ConcurrentServiceEndpointSyncs int // EndpointSlice
	ConcurrentNamespaceSyncs       int
	ConcurrentGCSyncs              int
	ConcurrentStatefulSetSyncs     int
	ConcurrentDaemonSetSyncs       int
	ConcurrentJobSyncs             int
	ConcurrentCronJobSyncs         int
	ConcurrentTTLSyncs             int
	ConcurrentHPASyncs             int
	ConcurrentResourceQuotaSyncs   int

	// NamespaceSyncPeriod (--namespace-sync-period) resyncs namespaces.
	NamespaceSyncPeriod time.Duration
	// EnableGarbageCollector (--enable-garbage-collector).
	EnableGarbageCollector bool

	NodeMonitorPeriod        time.Duration
	NodeMonitorGracePeriod   time.Duration
	NodeStartupGracePeriod   time.Duration
	NodeEvictionRate         float32
	TerminatedPodGCThreshold int
	AllocateNodeCIDRs        bool
	ClusterCIDR              string
	NodeCIDRMaskSize         int
	ResourceQuotaSyncPeriod  time.Duration
	PVClaimBinderSyncPeriod  time.Duration
	HPASyncPeriod            time.Duration
	HPATolerance             float64
	HPADownscaleWindow       time.Duration
	// RootCAFile (--root-ca-file) is the CA bundle published to every
	// namespace as ConfigMap kube-root-ca.crt (empty: the CA of the
	// controller-manager's own kubeconfig).
	RootCAFile string
}

// NewOptions returns the defaults of upstream's kube-controller-manager.
func NewOptions() *Options {
	return &Options{
		KubeAPIQPS:     20,
		KubeAPIBurst:   30,
		Controllers:    []string{"*"},
		LeaderElection: leaderelect.NewOptions(LeaseName),
		BindAddress:    net.IPv4zero,
		SecurePort:     10252,
		ControllerOptions: ControllerOptions{
			ConcurrentReplicaSetSyncs:      5,
			ConcurrentRCSyncs:              5,
			ConcurrentDeploymentSyncs:      5,
			ConcurrentEndpointSyncs:        5,
			ConcurrentServiceEndpointSyncs: 5,
			ConcurrentNamespaceSyncs:       10,
			ConcurrentGCSyncs:              20,
			ConcurrentStatefulSetSyncs:     5,
			ConcurrentDaemonSetSyncs:       2,
			ConcurrentJobSyncs:             5,
			ConcurrentCronJobSyncs:         5,
			ConcurrentTTLSyncs:             5,
			ConcurrentHPASyncs:             5,
			ConcurrentResourceQuotaSyncs:   5,
			NamespaceSyncPeriod:            5 * time.Minute,
			EnableGarbageCollector:         true,
			NodeMonitorPeriod:              5 * time.Second,
			NodeMonitorGracePeriod:         40 * time.Second,
			NodeStartupGracePeriod:         time.Minute,
			NodeEvictionRate:               0.1,
			TerminatedPodGCThreshold:       12500,
			AllocateNodeCIDRs:              true,
			ClusterCIDR:                    "10.244.0.0/16",
			NodeCIDRMaskSize:               24,
			ResourceQuotaSyncPeriod:        5 * time.Minute,
			PVClaimBinderSyncPeriod:        15 * time.Second,
			HPASyncPeriod:                  15 * time.Second,
			HPATolerance:                   0.1,
			HPADownscaleWindow:             5 * time.Minute,
		},
	}
}

// AddFlags binds o to fs under upstream's flag names.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "Path to kubeconfig file with authorization and master location information.")
	fs.Float32Var(&o.KubeAPIQPS, "kube-api-qps", o.KubeAPIQPS, "QPS to use while talking with kubernetes apiserver.")
	fs.IntVar(&o.KubeAPIBurst, "kube-api-burst", o.KubeAPIBurst, "Burst to use while talking with kubernetes apiserver.")
	fs.StringSliceVar(&o.Controllers, "controllers", o.Controllers, fmt.Sprintf(
		"A list of controllers to enable. '*' enables all on-by-default controllers, 'foo' enables the controller named 'foo', '-foo' disables the controller named 'foo'.\nAll controllers: %s", strings.Join(ControllerNames(), ", ")))
	o.LeaderElection.AddFlags(fs)
	fs.IPVar(&o.BindAddress, "bind-address", o.BindAddress, "The IP address on which to serve /healthz, /readyz and /metrics.")
	fs.IntVar(&o.SecurePort, "secure-port", o.SecurePort, "The port on which to serve /healthz, /readyz and /metrics. If 0, don't serve at all.")
	o.Logging.AddFlags(fs)

	c := &o.ControllerOptions
	fs.IntVar(&c.ConcurrentReplicaSetSyncs, "concurrent-replicaset-syncs", c.ConcurrentReplicaSetSyncs, "The number of replica sets that are allowed to sync concurrently.")
	fs.IntVar(&c.ConcurrentRCSyncs, "concurrent-rc-syncs", c.ConcurrentRCSyncs, "The number of replication controllers that are allowed to sync concurrently.")
	fs.IntVar(&c.ConcurrentDeploymentSyncs, "concurrent-deployment-syncs", c.ConcurrentDeploymentSyncs, "The number of deployment objects that are allowed to sync concurrently.")
	fs.IntVar(&c.ConcurrentEndpointSyncs, "concurrent-endpoint-syncs", c.ConcurrentEndpointSyncs, "The number of endpoint syncing operations that will be done concurrently.")
	fs.IntVar(&c.ConcurrentServiceEndpointSyncs, "concurrent-service-endpoint-syncs", c.ConcurrentServiceEndpointSyncs, "The number of service endpoint (EndpointSlice) syncing operations that will be done concurrently.")
	fs.IntVar(&c.ConcurrentNamespaceSyncs, "concurrent-namespace-syncs", c.ConcurrentNamespaceSyncs, "The number of namespace objects that are allowed to sync concurrently.")
	fs.IntVar(&c.ConcurrentGCSyncs, "concurrent-gc-syncs", c.ConcurrentGCSyncs, "The number of garbage collector workers that are allowed to sync concurrently.")
	fs.IntVar(&c.ConcurrentStatefulSetSyncs, "concurrent-statefulset-syncs", c.ConcurrentStatefulSetSyncs, "The number of statefulset objects that are allowed to sync concurrently.")
	fs.IntVar(&c.ConcurrentDaemonSetSyncs, "concurrent-daemonset-syncs", c.ConcurrentDaemonSetSyncs, "The number of daemonset objects that are allowed to sync concurrently.")
	fs.IntVar(&c.ConcurrentJobSyncs, "concurrent-job-syncs", c.ConcurrentJobSyncs, "The number of job objects that are allowed to sync concurrently.")
	fs.IntVar(&c.ConcurrentCronJobSyncs, "concurrent-cron-job-syncs", c.ConcurrentCronJobSyncs, "The number of cron job objects that are allowed to sync concurrently.")
	fs.IntVar(&c.ConcurrentTTLSyncs, "concurrent-ttl-after-finished-syncs", c.ConcurrentTTLSyncs, "The number of ttl-after-finished-controller workers that are allowed to sync concurrently.")
	fs.IntVar(&c.ConcurrentHPASyncs, "concurrent-horizontal-pod-autoscaler-syncs", c.ConcurrentHPASyncs, "The number of horizontal pod autoscaler objects that are allowed to sync concurrently.")
	fs.IntVar(&c.ConcurrentResourceQuotaSyncs, "concurrent-resource-quota-syncs", c.ConcurrentResourceQuotaSyncs, "The number of resource quotas that are allowed to sync concurrently.")
	fs.DurationVar(&c.NamespaceSyncPeriod, "namespace-sync-period", c.NamespaceSyncPeriod, "The period for syncing namespace life-cycle updates.")
	fs.BoolVar(&c.EnableGarbageCollector, "enable-garbage-collector", c.EnableGarbageCollector, "Enables the generic garbage collector.")
	fs.DurationVar(&c.NodeMonitorPeriod, "node-monitor-period", c.NodeMonitorPeriod, "The period for syncing NodeStatus in cloud-node-lifecycle-controller.")
	fs.DurationVar(&c.NodeMonitorGracePeriod, "node-monitor-grace-period", c.NodeMonitorGracePeriod, "Amount of time which we allow running Node to be unresponsive before marking it unhealthy.")
	fs.DurationVar(&c.NodeStartupGracePeriod, "node-startup-grace-period", c.NodeStartupGracePeriod, "Amount of time which we allow starting Node to be unresponsive before marking it unhealthy.")
	fs.Float32Var(&c.NodeEvictionRate, "node-eviction-rate", c.NodeEvictionRate, "Number of nodes per second on which pods are deleted in case of node failure.")
	fs.IntVar(&c.TerminatedPodGCThreshold, "terminated-pod-gc-threshold", c.TerminatedPodGCThreshold, "Number of terminated pods that can exist before the terminated pod garbage collector starts deleting terminated pods. If <= 0, the terminated pod garbage collector is disabled.")
	fs.BoolVar(&c.AllocateNodeCIDRs, "allocate-node-cidrs", c.AllocateNodeCIDRs, "Should CIDRs for Pods be allocated and set on the nodes.")
	fs.StringVar(&c.ClusterCIDR, "cluster-cidr", c.ClusterCIDR, "CIDR Range for Pods in cluster.")
	fs.IntVar(&c.NodeCIDRMaskSize, "node-cidr-mask-size", c.NodeCIDRMaskSize, "Mask size for node cidr in cluster.")
	fs.DurationVar(&c.ResourceQuotaSyncPeriod, "resource-quota-sync-period", c.ResourceQuotaSyncPeriod, "The period for syncing quota usage status in the system.")
	fs.DurationVar(&c.PVClaimBinderSyncPeriod, "pvclaimbinder-sync-period", c.PVClaimBinderSyncPeriod, "The period for syncing persistent volumes and persistent volume claims.")
	fs.DurationVar(&c.HPASyncPeriod, "horizontal-pod-autoscaler-sync-period", c.HPASyncPeriod, "The period for syncing the number of pods in horizontal pod autoscaler.")
	fs.Float64Var(&c.HPATolerance, "horizontal-pod-autoscaler-tolerance", c.HPATolerance, "The minimum change (from 1.0) in the desired-to-actual metrics ratio for the horizontal pod autoscaler to consider scaling.")
	fs.StringVar(&c.RootCAFile, "root-ca-file", c.RootCAFile, "If set, this root certificate authority will be included in service account's token secret and published to every namespace as ConfigMap kube-root-ca.crt. This must be a valid PEM-encoded CA bundle.")
	fs.DurationVar(&c.HPADownscaleWindow, "horizontal-pod-autoscaler-downscale-stabilization", c.HPADownscaleWindow, "The period for which autoscaler will look backwards and not scale down below any recommendation it made during that period.")
}

// Validate reports invalid options.
func (o *Options) Validate() error {
	if _, err := EnabledControllers(o.Controllers); err != nil {
		return err
	}
	if o.SecurePort < 0 || o.SecurePort > 65535 {
		return fmt.Errorf("--secure-port %d must be between 0 and 65535", o.SecurePort)
	}
	if o.RootCAFile != "" {
		if _, err := readCABundle(o.RootCAFile); err != nil {
			return err
		}
	}
	return o.LeaderElection.Validate()
}

// EnabledControllers resolves a --controllers list against the table and
// returns the enabled names, sorted. "*" enables every controller not in
// DisabledByDefault; "foo" and "-foo" override it either way. An unknown
// name is an error, as upstream.
func EnabledControllers(list []string) ([]string, error) {
	star := false
	explicit := map[string]bool{}
	for _, item := range list {
		item = strings.TrimSpace(item)
		switch {
		case item == "*":
			star = true
		case strings.HasPrefix(item, "-"):
			name := item[1:]
			if _, ok := Controllers[name]; !ok {
				return nil, fmt.Errorf("--controllers: %q is not in the list of known controllers", name)
			}
			explicit[name] = false
		default:
			if _, ok := Controllers[item]; !ok {
				return nil, fmt.Errorf("--controllers: %q is not in the list of known controllers", item)
			}
			explicit[item] = true
		}
	}
	var enabled []string
	for name := range Controllers {
		on, set := explicit[name]
		if !set {
			on = star && !DisabledByDefault[name]
		}
		if on {
			enabled = append(enabled, name)
		}
	}
	slices.Sort(enabled)
	return enabled, nil
}

// ControllerNames returns every controller name in the table, sorted.
func ControllerNames() []string {
	names := make([]string, 0, len(Controllers))
	for name := range Controllers {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}
