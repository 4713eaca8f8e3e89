// Command navarch-kubelet is the node agent: it registers the Node and runs
// the pods bound to it on containerd through CRI.
package main

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/kubernetes"

	"navarch.dev/kubelet/pkg/eviction"
	"navarch.dev/kubelet/pkg/imagegc"
	"navarch.dev/kubelet/pkg/kubelet"
	"navarch.dev/kubelet/pkg/podnetwork"
	"navarch.dev/kubelet/pkg/runtime"
	"navarch.dev/kubelet/pkg/server"
	"navarch.dev/shared/component"
	"navarch.dev/shared/kubeconfig"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "navarch-kubelet:", err)
		os.Exit(1)
	}
}

func run() error {
	fs := pflag.NewFlagSet("navarch-kubelet", pflag.ContinueOnError)
	var (
		kubeconfigPath  = fs.String("kubeconfig", "", "kubeconfig of the kubelet's API identity")
		hostnameOverr   = fs.String("hostname-override", "", "node name to use instead of the hostname")
		nodeIP          = fs.String("node-ip", "", "IP address of the node (default: the first non-loopback IPv4 address)")
		podManifestPath = fs.String("pod-manifest-path", "", "directory of static pod manifests; without --kubeconfig the kubelet runs only these (standalone)")
		fileCheckFreq   = fs.Duration("file-check-frequency", 20*time.Second, "how often the static pod manifest directory is read")
		clusterDNS      = fs.StringSlice("cluster-dns", nil, "cluster DNS server IPs for pods with dnsPolicy ClusterFirst")
		clusterDomain   = fs.String("cluster-domain", "cluster.local", "cluster DNS domain")
		resolvConf      = fs.String("resolv-conf", "/etc/resolv.conf", "resolv.conf for pods with dnsPolicy Default")
		endpoint        = fs.String("container-runtime-endpoint", runtime.DefaultEndpoint, "CRI endpoint")
		maxPods         = fs.Int("max-pods", 110, "pods this node may run")
		nodeLabels      = fs.StringToString("node-labels", nil, "labels to add to the Node (key=value,...)")
		taints          = fs.StringSlice("register-with-taints", nil, "taints to register the Node with (key=value:Effect,...)")
		systemReserved  = fs.StringToString("system-reserved", nil, "resources reserved for the system (cpu=100m,memory=100Mi)")
		kubeReserved    = fs.StringToString("kube-reserved", nil, "resources reserved for Kubernetes daemons")
		readOnlyPort    = fs.Int("read-only-port", 10255, "read-only port (0 disables)")
		port            = fs.Int("port", 10250, "kubelet API port")
		healthzPort     = fs.Int("healthz-port", 10248, "healthz port (0 disables)")
		healthzAddr     = fs.String("healthz-bind-address", "127.0.0.1", "healthz bind address")
		address         = fs.String("address", "0.0.0.0", "bind address of the API and read-only ports")
		statusFreq      = fs.Duration("node-status-update-frequency", 10*time.Second, "how often the Lease is renewed and the status checked")
		syncFreq        = fs.Duration("sync-frequency", 10*time.Second, "how often a running pod is synced without a change (refreshing its ConfigMap and Secret volumes); runtime changes are seen every second")
		podLogs         = fs.String("pod-log-dir", "/var/log/pods", "where container logs are written")
		rootDir         = fs.String("root-dir", "/var/lib/navarch-kubelet", "kubelet state directory")
		tlsCert         = fs.String("tls-cert-file", "", "x509 serving certificate of the API port (default: a self-signed one generated at start)")
		tlsKey          = fs.String("tls-private-key-file", "", "private key of --tls-cert-file")
		clientCA        = fs.String("client-ca-file", "", "CA bundle whose client certificates authenticate to the API port (the apiserver's --kubelet-client-certificate)")
		anonymous       = fs.Bool("anonymous-auth", false, "let requests without credentials use the API port (upstream defaults to true; Navarch does not)")
		tokenWebhook    = fs.Bool("authentication-token-webhook", false, "authenticate bearer tokens on the API port with the apiserver's TokenReview")
		tokenCacheTTL   = fs.Duration("authentication-token-webhook-cache-ttl", 2*time.Minute, "how long TokenReview answers are cached")
		authzMode       = fs.String("authorization-mode", server.AuthorizationAlwaysAllow, "authorization of the API port: AlwaysAllow or Webhook (SubjectAccessReview against the apiserver)")
		authzAllowTTL   = fs.Duration("authorization-webhook-cache-authorized-ttl", 5*time.Minute, "how long allowed SubjectAccessReview answers are cached")
		authzDenyTTL    = fs.Duration("authorization-webhook-cache-unauthorized-ttl", 30*time.Second, "how long denied SubjectAccessReview answers are cached")
		evictionHard    = fs.String("eviction-hard", eviction.DefaultHard, "hard eviction thresholds (signal<quantity or signal<percent%, comma-separated; signals memory.available, nodefs.available, nodefs.inodesFree, imagefs.available, imagefs.inodesFree, pid.available)")
		evictionSoft    = fs.String("eviction-soft", "", "soft eviction thresholds, each needing --eviction-soft-grace-period")
		evictionGrace   = fs.String("eviction-soft-grace-period", "", "grace periods of the soft thresholds (signal=duration, comma-separated)")
		evictionMaxPod  = fs.Int("eviction-max-pod-grace-period", 0, "largest grace period (seconds) given a pod evicted for a soft threshold (0: the pod's own)")
		evictionTrans   = fs.Duration("eviction-pressure-transition-period", 5*time.Minute, "how long a pressure condition stays after its threshold was last met")
		imageGCHigh     = fs.Int("image-gc-high-threshold", 85, "image filesystem usage percent at which unused images are removed (100 disables)")
		imageGCLow      = fs.Int("image-gc-low-threshold", 80, "image filesystem usage percent image garbage collection frees down to")
		imageMinAge     = fs.Duration("minimum-image-ttl-duration", 2*time.Minute, "minimum age of an unused image before it may be removed")
		podInfraImage   = fs.String("pod-infra-container-image", "", "the sandbox (pause) image, never removed by image garbage collection (default: what the runtime reports)")
		networkPlugin   = fs.String("network-plugin", "", `"kubenet": write the bridge CNI config for the Node's spec.podCIDR into --cni-conf-dir, masquerade pod traffic leaving --non-masquerade-cidr and route the other nodes' pod CIDRs to them; "" leaves pod networking to the node setup`)
		cniConfDir      = fs.String("cni-conf-dir", "/etc/cni/net.d", "CNI config directory of the container runtime (with --network-plugin=kubenet)")
		podCIDR         = fs.String("pod-cidr", "", "pod range to use until the Node has a spec.podCIDR; meant for standalone kubelets (with --network-plugin=kubenet)")
		nonMasqCIDR     = fs.String("non-masquerade-cidr", "10.0.0.0/8", "pod traffic to addresses outside this range is masqueraded; the cluster's pod CIDR is the usual value (with --network-plugin=kubenet)")
	)
	var logOpts component.LoggingOptions
	logOpts.AddFlags(fs)
	if err := fs.Parse(os.Args[1:]); err != nil {
		return err
	}
	if err := component.SetupLogging(logOpts); err != nil {
		return err
	}
	hostname, err := os.Hostname()
	if err != nil {
		return err
	}
	nodeName := strings.ToLower(hostname)
	if *hostnameOverr != "" {
		nodeName = strings.ToLower(*hostnameOverr)
	}
	ip := *nodeIP
	if ip == "" {
		ip = firstIPv4()
	}
	taintList, err := parseTaints(*taints)
	if err != nil {
		return err
	}
	grace, err := eviction.ParseGracePeriods(*evictionGrace)
	if err != nil {
		return err
	}
	hardThresholds, err := eviction.ParseThresholds(*evictionHard, false, grace)
	if err != nil {
		return fmt.Errorf("--eviction-hard: %w", err)
	}
	softThresholds, err := eviction.ParseThresholds(*evictionSoft, true, grace)
	if err != nil {
		return fmt.Errorf("--eviction-soft: %w", err)
	}
	gcPolicy := imagegc.Policy{HighThresholdPercent: *imageGCHigh, LowThresholdPercent: *imageGCLow, MinAge: *imageMinAge, SandboxImage: *podInfraImage}
	if err := gcPolicy.Validate(); err != nil {
		return err
	}
	// The hard memory threshold is held back from allocatable, as upstream
	// does.
	reserved := v1.ResourceList{}
	for _, t := range hardThresholds {
		if t.Signal == eviction.SignalMemoryAvailable && t.Value != nil {
			reserved[v1.ResourceMemory] = t.Value.DeepCopy()
		}
	}
	for _, m := range []map[string]string{*systemReserved, *kubeReserved} {
		for k, v := range m {
			q, err := resource.ParseQuantity(v)
			if err != nil {
				return fmt.Errorf("reserved %s=%s: %w", k, v, err)
			}
			cur := reserved[v1.ResourceName(k)]
			cur.Add(q)
			reserved[v1.ResourceName(k)] = cur
		}
	}
	cfg := kubelet.Config{
		NodeName: nodeName, NodeIP: ip, Hostname: hostname, RuntimeEndpoint: *endpoint,
		ClusterDNS: *clusterDNS, ClusterDomain: *clusterDomain, ResolvConf: *resolvConf,
		MaxPods: *maxPods, NodeLabels: *nodeLabels, Taints: taintList, Reserved: reserved,
		PodLogRoot: *podLogs, RootDir: *rootDir, Port: *port, StatusInterval: *statusFreq, SyncFrequency: *syncFreq,
		RemovePodCgroups: true, TLSCertFile: *tlsCert, TLSKeyFile: *tlsKey, ClientCAFile: *clientCA,
		AnonymousAuth: *anonymous, AuthenticationTokenWebhook: *tokenWebhook, TokenWebhookCacheTTL: *tokenCacheTTL,
		AuthorizationMode: *authzMode, AuthorizedTTL: *authzAllowTTL, UnauthorizedTTL: *authzDenyTTL,
		Eviction: eviction.Config{
			Thresholds:               append(hardThresholds, softThresholds...),
			PressureTransitionPeriod: *evictionTrans,
			MaxPodGracePeriod:        time.Duration(*evictionMaxPod) * time.Second,
		},
		ImageGC: &gcPolicy,
	}
	if *port > 0 {
		cfg.APIAddr = net.JoinHostPort(*address, fmt.Sprint(*port))
	}
	if *healthzPort > 0 {
		cfg.HealthzAddr = net.JoinHostPort(*healthzAddr, fmt.Sprint(*healthzPort))
	}
	if *readOnlyPort > 0 {
		cfg.ReadOnlyAddr = net.JoinHostPort(*address, fmt.Sprint(*readOnlyPort))
	}
	if err := os.MkdirAll(*rootDir, 0o755); err != nil {
		return err
	}
	cfg.PodManifestPath, cfg.FileCheckFrequency = *podManifestPath, *fileCheckFreq
	switch *networkPlugin {
	case "":
	case podnetwork.PluginKubenet:
		cfg.PodNetwork = &podnetwork.Config{
			NodeName: nodeName, ConfDir: *cniConfDir, NonMasqueradeCIDR: *nonMasqCIDR,
			Bridge: podnetwork.Bridge{PodCIDR: *podCIDR, IPAMDataDir: filepath.Join(*rootDir, "cni-ipam")},
		}
	default:
		return fmt.Errorf("--network-plugin %q: want kubenet or nothing", *networkPlugin)
	}
	var client kubernetes.Interface
	if *kubeconfigPath != "" || *podManifestPath == "" {
		c, _, err := kubeconfig.Clientset(*kubeconfigPath, "navarch-kubelet")
		if err != nil {
			return err
		}
		client = c
	} else {
		slog.Info("no --kubeconfig: running standalone, static pods only", "path", *podManifestPath)
	}
	return kubelet.Run(component.SignalContext(), cfg, client)
}

// parseTaints reads key[=value]:Effect items.
func parseTaints(items []string) ([]v1.Taint, error) {
	var out []v1.Taint
	for _, it := range items {
		kv, effect, ok := strings.Cut(it, ":")
		if !ok {
			return nil, fmt.Errorf("taint %q: want key=value:Effect", it)
		}
		k, v, _ := strings.Cut(kv, "=")
		switch v1.TaintEffect(effect) {
		case v1.TaintEffectNoSchedule, v1.TaintEffectPreferNoSchedule, v1.TaintEffectNoExecute:
		default:
			return nil, fmt.Errorf("taint %q: unknown effect %q", it, effect)
		}
		out = append(out, v1.Taint{Key: k, Value: v, Effect: v1.TaintEffect(effect)})
	}
	return out, nil
}

func firstIPv4() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil && !strings.HasPrefix(n.IP.String(), "10.88.") {
			return n.IP.String()
		}
	}
	return ""
}
