package server

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// Options is the apiserver's typed configuration. Flag names and meanings are
// upstream's where upstream has the flag.
type Options struct {
	BindAddress      net.IP
	SecurePort       int
	AdvertiseAddress net.IP

	DataDir       string
	CertDir       string
	TLSCertFile   string
	TLSKeyFile    string
	ClientCAFile  string
	TokenAuthFile string
	Anonymous     bool

	AuthorizationModes []string

	// EnableAdmissionPlugins and DisableAdmissionPlugins adjust the
	// admission chain (AdmissionPlugins, all on by default).
	EnableAdmissionPlugins  []string
	DisableAdmissionPlugins []string

	EtcdServers  []string
	EtcdPrefix   string
	EtcdCAFile   string
	EtcdCertFile string
	EtcdKeyFile  string
	// EmbeddedEtcdClientURL and EmbeddedEtcdPeerURL place the embedded member.
	EmbeddedEtcdClientURL string
	EmbeddedEtcdPeerURL   string
	// EtcdCompactionInterval is how often old revisions are compacted (0: never).
	EtcdCompactionInterval time.Duration

	ServiceClusterIPRange string
	ServiceNodePortRange  string

	// AdminKubeconfig is where the admin kubeconfig is written (default
	// <data-dir>/admin.conf) when the server manages its own PKI.
	AdminKubeconfig string
	// WatchCacheSize is the number of recent events kept per resource.
	WatchCacheSize int
	// BookmarkInterval is how often watchers that allow bookmarks get one.
	BookmarkInterval  time.Duration
	MinRequestTimeout time.Duration

	// KubeletClientCertFile and KubeletClientKeyFile are the client
	// certificate used towards kubelets (default: issued by the generated
	// PKI as <cert-dir>/apiserver-kubelet-client.crt).
	KubeletClientCertFile string
	KubeletClientKeyFile  string
	// KubeletCAFile verifies kubelets' serving certificates (empty: not
	// verified, as upstream).
	KubeletCAFile string
	// KubeletPreferredAddressTypes orders the node address types tried.
	KubeletPreferredAddressTypes []string

	// ServiceAccountKeyFiles hold the public (or private) keys that verify
	// service account tokens (default: the signing key's).
	ServiceAccountKeyFiles []string
	// ServiceAccountSigningKeyFile signs tokens (default: <cert-dir>/sa.key,
	// generated).
	ServiceAccountSigningKeyFile string
	// ServiceAccountIssuers: the first is the "iss" of issued tokens; all are accepted.
	ServiceAccountIssuers []string
	// APIAudiences are the audiences of tokens meant for this apiserver
	// (default: the issuers).
	APIAudiences []string
	// ServiceAccountMaxTokenExpiration caps TokenRequest lifetimes (0: no cap).
	ServiceAccountMaxTokenExpiration time.Duration
	// MetricResolution is how long a kubelet's summary serves
	// metrics.k8s.io before it is scraped again.
	MetricResolution time.Duration
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	return &Options{
		BindAddress:            net.IPv4zero,
		SecurePort:             6443,
		DataDir:                "/var/lib/navarch/apiserver",
		AuthorizationModes:     []string{"AlwaysAllow"},
		EtcdPrefix:             "/registry",
		EmbeddedEtcdClientURL:  "http://127.0.0.1:2379",
		EmbeddedEtcdPeerURL:    "http://127.0.0.1:2380",
		EtcdCompactionInterval: 5 * time.Minute,
		ServiceClusterIPRange:  "10.96.0.0/12",
		ServiceNodePortRange:   "30000-32767",
		WatchCacheSize:         10000,
		BookmarkInterval:       time.Minute,
		MinRequestTimeout:      30 * time.Minute,
		// Upstream puts Hostname first; node names are often not resolvable
		// here, so the InternalIP goes first.
		KubeletPreferredAddressTypes: []string{"InternalIP", "Hostname", "InternalDNS", "ExternalDNS", "ExternalIP"},
		ServiceAccountIssuers:        []string{"https://kubernetes.default.svc.cluster.local"},
		MetricResolution:             15 * time.Second,
	}
}

// AddFlags registers the options' flags.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.IPVar(&o.BindAddress, "bind-address", o.BindAddress, "The IP address on which to listen for the --secure-port port.")
	fs.IntVar(&o.SecurePort, "secure-port", o.SecurePort, "The port on which to serve HTTPS with authentication and authorization.")
	fs.IPVar(&o.AdvertiseAddress, "advertise-address", o.AdvertiseAddress, "The IP address on which to advertise the apiserver to members of the cluster (the default/kubernetes Endpoints). Defaults to the first non-loopback address, else 127.0.0.1.")
	fs.StringVar(&o.DataDir, "data-dir", o.DataDir, "Navarch: directory for the embedded etcd's data, the generated PKI (unless --cert-dir) and the admin kubeconfig.")
	fs.StringVar(&o.CertDir, "cert-dir", o.CertDir, "The directory where the generated CA and serving certificate are kept (default <data-dir>/pki). Ignored when --tls-cert-file and --tls-private-key-file are given.")
	fs.StringVar(&o.TLSCertFile, "tls-cert-file", o.TLSCertFile, "File containing the default x509 serving certificate.")
	fs.StringVar(&o.TLSKeyFile, "tls-private-key-file", o.TLSKeyFile, "File containing the default x509 private key matching --tls-cert-file.")
	fs.StringVar(&o.ClientCAFile, "client-ca-file", o.ClientCAFile, "If set, any request presenting a client certificate signed by one of the authorities in the client-ca-file is authenticated with an identity corresponding to the CommonName of the client certificate.")
	fs.StringVar(&o.TokenAuthFile, "token-auth-file", o.TokenAuthFile, "If set, the file that will be used to secure the secure port of the API server via token authentication (token,user,uid,\"group1,group2\").")
	fs.BoolVar(&o.Anonymous, "anonymous-auth", o.Anonymous, "Enables anonymous requests to the secure port (user system:anonymous, group system:unauthenticated).")
	fs.StringSliceVar(&o.AuthorizationModes, "authorization-mode", o.AuthorizationModes, "Ordered list of plug-ins to do authorization on secure port. Supported: AlwaysAllow.")
	fs.StringSliceVar(&o.EnableAdmissionPlugins, "enable-admission-plugins", o.EnableAdmissionPlugins, "Admission plugins that should be enabled in addition to default enabled ones ("+strings.Join(AdmissionPlugins, ", ")+"). Comma-delimited list of: "+strings.Join(AdmissionPlugins, ", ")+". The order of plugins in this flag does not matter.")
	fs.StringSliceVar(&o.DisableAdmissionPlugins, "disable-admission-plugins", o.DisableAdmissionPlugins, "Admission plugins that should be disabled although they are in the default enabled plugins list. Comma-delimited list of: "+strings.Join(AdmissionPlugins, ", ")+". The order of plugins in this flag does not matter.")
	fs.StringSliceVar(&o.EtcdServers, "etcd-servers", o.EtcdServers, "List of etcd servers to connect with (scheme://ip:port), comma separated. Empty: run an embedded etcd in --data-dir.")
	fs.StringVar(&o.EtcdPrefix, "etcd-prefix", o.EtcdPrefix, "The prefix to prepend to all resource paths in etcd.")
	fs.StringVar(&o.EtcdCAFile, "etcd-cafile", o.EtcdCAFile, "SSL Certificate Authority file used to secure etcd communication.")
	fs.StringVar(&o.EtcdCertFile, "etcd-certfile", o.EtcdCertFile, "SSL certification file used to secure etcd communication.")
	fs.StringVar(&o.EtcdKeyFile, "etcd-keyfile", o.EtcdKeyFile, "SSL key file used to secure etcd communication.")
	fs.StringVar(&o.EmbeddedEtcdClientURL, "embedded-etcd-client-url", o.EmbeddedEtcdClientURL, "Navarch: client URL of the embedded etcd (used only without --etcd-servers).")
	fs.StringVar(&o.EmbeddedEtcdPeerURL, "embedded-etcd-peer-url", o.EmbeddedEtcdPeerURL, "Navarch: peer URL of the embedded etcd (used only without --etcd-servers).")
	fs.DurationVar(&o.EtcdCompactionInterval, "etcd-compaction-interval", o.EtcdCompactionInterval, "The interval of compaction requests. If 0, the compaction request from apiserver is disabled.")
	fs.StringVar(&o.ServiceClusterIPRange, "service-cluster-ip-range", o.ServiceClusterIPRange, "A CIDR notation IP range from which to assign service cluster IPs. This must not overlap with any IP ranges assigned to nodes or pods. Max of two dual-stack CIDRs is allowed.")
	fs.StringVar(&o.ServiceNodePortRange, "service-node-port-range", o.ServiceNodePortRange, "A port range to reserve for services with NodePort visibility, e.g. '30000-32767'. Inclusive at both ends of the range.")
	fs.StringVar(&o.AdminKubeconfig, "admin-kubeconfig", o.AdminKubeconfig, "Navarch: where to write the admin kubeconfig when the apiserver generates its PKI (default <data-dir>/admin.conf).")
	fs.IntVar(&o.WatchCacheSize, "default-watch-cache-size", o.WatchCacheSize, "Number of recent changes kept per resource for watches to resume from.")
	fs.StringVar(&o.KubeletClientCertFile, "kubelet-client-certificate", o.KubeletClientCertFile, "Path to a client cert file for TLS to kubelets (default: one issued by the generated PKI).")
	fs.StringVar(&o.KubeletClientKeyFile, "kubelet-client-key", o.KubeletClientKeyFile, "Path to a client key file for TLS to kubelets.")
	fs.StringVar(&o.KubeletCAFile, "kubelet-certificate-authority", o.KubeletCAFile, "Path to a cert file for the certificate authority of kubelets' serving certificates (unset: not verified).")
	fs.StringSliceVar(&o.KubeletPreferredAddressTypes, "kubelet-preferred-address-types", o.KubeletPreferredAddressTypes, "List of the preferred NodeAddressTypes to use for kubelet connections.")
	fs.StringArrayVar(&o.ServiceAccountKeyFiles, "service-account-key-file", o.ServiceAccountKeyFiles, "File containing PEM-encoded x509 RSA or ECDSA private or public keys, used to verify ServiceAccount tokens. May be given multiple times. Default: the public half of --service-account-signing-key-file.")
	fs.StringVar(&o.ServiceAccountSigningKeyFile, "service-account-signing-key-file", o.ServiceAccountSigningKeyFile, "Path to the file that contains the current private key of the service account token issuer (default: <cert-dir>/sa.key, generated when missing).")
	fs.StringArrayVar(&o.ServiceAccountIssuers, "service-account-issuer", o.ServiceAccountIssuers, "Identifier of the service account token issuer (the iss claim). May be given multiple times: the first issues, all are accepted.")
	fs.StringSliceVar(&o.APIAudiences, "api-audiences", o.APIAudiences, "Identifiers of the API. Service account tokens must have one of them as audience to authenticate to the API (default: the --service-account-issuer values).")
	fs.DurationVar(&o.ServiceAccountMaxTokenExpiration, "service-account-max-token-expiration", o.ServiceAccountMaxTokenExpiration, "The maximum validity duration of a token created by the service account token issuer (0: no limit beyond the API's 2^32 seconds).")
	fs.DurationVar(&o.MetricResolution, "metric-resolution", o.MetricResolution, "Navarch: how long a kubelet's /stats/summary serves metrics.k8s.io before it is scraped again (the usual window of the usage).")
	fs.DurationVar(&o.MinRequestTimeout, "min-request-timeout", o.MinRequestTimeout, "The minimum duration a watch is held open before the server ends it (randomised up to twice this).")
}

// Complete fills defaults that depend on other options and checks them.
func (o *Options) Complete() error {
	if o.CertDir == "" {
		o.CertDir = filepath.Join(o.DataDir, "pki")
	}
	if o.AdminKubeconfig == "" {
		o.AdminKubeconfig = filepath.Join(o.DataDir, "admin.conf")
	}
	if (o.TLSCertFile == "") != (o.TLSKeyFile == "") {
		return fmt.Errorf("--tls-cert-file and --tls-private-key-file must be given together")
	}
	if (o.KubeletClientCertFile == "") != (o.KubeletClientKeyFile == "") {
		return fmt.Errorf("--kubelet-client-certificate and --kubelet-client-key must be given together")
	}
	if o.SecurePort < 0 || o.SecurePort > 65535 {
		return fmt.Errorf("--secure-port %d must be between 0 and 65535", o.SecurePort)
	}
	if _, err := parseServiceIPRanges(o.ServiceClusterIPRange); err != nil {
		return err
	}
	if _, _, err := parsePortRange(o.ServiceNodePortRange); err != nil {
		return fmt.Errorf("--service-node-port-range: %w", err)
	}
	if o.AdvertiseAddress == nil {
		o.AdvertiseAddress = defaultAdvertiseAddress(o.BindAddress)
	}
	if len(o.ServiceAccountIssuers) == 0 || o.ServiceAccountIssuers[0] == "" {
		return fmt.Errorf("--service-account-issuer must not be empty")
	}
	if len(o.APIAudiences) == 0 {
		o.APIAudiences = append([]string(nil), o.ServiceAccountIssuers...)
	}
	if o.ServiceAccountMaxTokenExpiration < 0 || (o.ServiceAccountMaxTokenExpiration > 0 && (o.ServiceAccountMaxTokenExpiration < time.Hour || o.ServiceAccountMaxTokenExpiration > (1<<32)*time.Second)) {
		return fmt.Errorf("--service-account-max-token-expiration %v must be between 1 hour and 2^32 seconds (or 0 for no limit)", o.ServiceAccountMaxTokenExpiration)
	}
	if err := o.checkAdmissionPlugins(); err != nil {
		return err
	}
	for _, s := range o.EtcdServers {
		if !strings.Contains(s, "://") {
			return fmt.Errorf("--etcd-servers: %q is not a URL (scheme://host:port)", s)
		}
	}
	return os.MkdirAll(o.DataDir, 0o700)
}

func parsePortRange(s string) (base, size int, err error) {
	var lo, hi int
	if _, err := fmt.Sscanf(strings.Replace(s, "-", " ", 1), "%d %d", &lo, &hi); err != nil {
		return 0, 0, fmt.Errorf("%q is not a port range lo-hi", s)
	}
	if lo < 1 || hi > 65535 || lo > hi {
		return 0, 0, fmt.Errorf("%q is not a valid port range", s)
	}
	return lo, hi - lo + 1, nil
}

// defaultAdvertiseAddress is the bind address if specific and reachable from
// pods (not loopback), else the first
// non-loopback IPv4 address of the host, else 127.0.0.1.
func defaultAdvertiseAddress(bind net.IP) net.IP {
	if bind != nil && !bind.IsUnspecified() && !bind.IsLoopback() {
		return bind
	}
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil && !n.IP.IsLinkLocalUnicast() {
				return n.IP
			}
		}
	}
	return net.IPv4(127, 0, 0, 1)
}
