// Package factory turns navctl's global flags into API clients: the merged
// kubeconfig (client-go's clientcmd loading rules: --kubeconfig, else the
// $KUBECONFIG list, else ~/.kube/config), overrides from flags, and lazily
// built typed, dynamic and discovery clients and a REST mapper.
package factory

import (
	"fmt"
	"sync"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"navarch.dev/ctl/pkg/cli"
)

// Flags are the global flags every navctl command has, as kubectl names them.
type Flags struct {
	Kubeconfig            string
	Context               string
	Cluster               string
	User                  string
	Namespace             string
	Server                string
	Token                 string
	InsecureSkipTLSVerify bool
	CertificateAuthority  string
	ClientCertificate     string
	ClientKey             string
	RequestTimeout        string
	Verbosity             int
}

// AddFlags registers the global flags.
func (f *Flags) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.Kubeconfig, "kubeconfig", "", "Path to the kubeconfig file to use for CLI requests.")
	fs.StringVar(&f.Context, "context", "", "The name of the kubeconfig context to use")
	fs.StringVar(&f.Cluster, "cluster", "", "The name of the kubeconfig cluster to use")
	fs.StringVar(&f.User, "user", "", "The name of the kubeconfig user to use")
	fs.StringVarP(&f.Namespace, "namespace", "n", "", "If present, the namespace scope for this CLI request")
	fs.StringVarP(&f.Server, "server", "s", "", "The address and port of the Kubernetes API server")
	fs.StringVar(&f.Token, "token", "", "Bearer token for authentication to the API server")
	fs.BoolVar(&f.InsecureSkipTLSVerify, "insecure-skip-tls-verify", false, "If true, the server's certificate will not be checked for validity. This will make your HTTPS connections insecure")
	fs.StringVar(&f.CertificateAuthority, "certificate-authority", "", "Path to a cert file for the certificate authority")
	fs.StringVar(&f.ClientCertificate, "client-certificate", "", "Path to a client certificate file for TLS")
	fs.StringVar(&f.ClientKey, "client-key", "", "Path to a client key file for TLS")
	fs.StringVar(&f.RequestTimeout, "request-timeout", "0", "The length of time to wait before giving up on a single server request. Non-zero values should contain a corresponding time unit (e.g. 1s, 2m, 3h). A value of zero means don't timeout requests.")
	fs.IntVarP(&f.Verbosity, "v", "v", 0, "number for the log level verbosity")
}

// Factory builds clients from the flags; each client is built once.
type Factory struct {
	Flags *Flags
	IO    cli.IOStreams

	once      sync.Once
	config    *rest.Config
	configErr error
	mapper    meta.RESTMapper
	disc      discovery.CachedDiscoveryInterface
}

// New returns a factory over flags and streams.
func New(flags *Flags, io cli.IOStreams) *Factory { return &Factory{Flags: flags, IO: io} }

// LoadingRules are the kubeconfig loading rules the flags select.
func (f *Factory) LoadingRules() *clientcmd.ClientConfigLoadingRules {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = f.Flags.Kubeconfig
	return rules
}

// ClientConfig is the merged kubeconfig with the flags' overrides.
func (f *Factory) ClientConfig() clientcmd.ClientConfig {
	o := &clientcmd.ConfigOverrides{
		CurrentContext: f.Flags.Context,
		Context:        clientcmdapi.Context{Cluster: f.Flags.Cluster, AuthInfo: f.Flags.User, Namespace: f.Flags.Namespace},
		ClusterInfo: clientcmdapi.Cluster{
			Server: f.Flags.Server, InsecureSkipTLSVerify: f.Flags.InsecureSkipTLSVerify,
			CertificateAuthority: f.Flags.CertificateAuthority,
		},
		AuthInfo: clientcmdapi.AuthInfo{
			Token: f.Flags.Token, ClientCertificate: f.Flags.ClientCertificate, ClientKey: f.Flags.ClientKey,
		},
		Timeout: f.Flags.RequestTimeout,
	}
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(f.LoadingRules(), o)
}

// RESTConfig is the client configuration of the selected context.
func (f *Factory) RESTConfig() (*rest.Config, error) {
	f.once.Do(func() {
		f.config, f.configErr = f.ClientConfig().ClientConfig()
		if f.configErr != nil {
			return
		}
		f.config.UserAgent = "navctl"
		// Server warnings (deprecations, fieldValidation=Warn) print as
		// kubectl prints them: "Warning: ..." on stderr, once each.
		if f.config.WarningHandler == nil && f.IO.ErrOut != nil {
			f.config.WarningHandler = rest.NewWarningWriter(f.IO.ErrOut, rest.WarningWriterOptions{Deduplicate: true})
		}
		f.config.QPS, f.config.Burst = 50, 100
		if f.Flags.RequestTimeout != "" && f.Flags.RequestTimeout != "0" {
			d, err := time.ParseDuration(f.Flags.RequestTimeout)
			if err != nil {
				f.configErr = fmt.Errorf("invalid --request-timeout %q: %w", f.Flags.RequestTimeout, err)
				return
			}
			f.config.Timeout = d
		}
	})
	return f.config, f.configErr
}

// Namespace is the namespace to act in (flag, else context, else "default")
// and whether the user chose it explicitly.
func (f *Factory) Namespace() (string, bool, error) {
	return f.ClientConfig().Namespace()
}

// Clientset is a typed client.
func (f *Factory) Clientset() (kubernetes.Interface, error) {
	c, err := f.RESTConfig()
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(c)
}

// Dynamic is a dynamic client for any resource.
func (f *Factory) Dynamic() (dynamic.Interface, error) {
	c, err := f.RESTConfig()
	if err != nil {
		return nil, err
	}
	return dynamic.NewForConfig(c)
}

// Discovery is a discovery client cached for the life of the command.
func (f *Factory) Discovery() (discovery.CachedDiscoveryInterface, error) {
	if f.disc != nil {
		return f.disc, nil
	}
	c, err := f.RESTConfig()
	if err != nil {
		return nil, err
	}
	d, err := discovery.NewDiscoveryClientForConfig(c)
	if err != nil {
		return nil, err
	}
	f.disc = memory.NewMemCacheClient(d)
	return f.disc, nil
}

// Mapper maps kinds, resources and short names to REST mappings by discovery.
func (f *Factory) Mapper() (meta.RESTMapper, error) {
	if f.mapper != nil {
		return f.mapper, nil
	}
	d, err := f.Discovery()
	if err != nil {
		return nil, err
	}
	// An ambiguous short name is reported as kubectl reports it.
	warn := func(msg string) {
		if f.IO.ErrOut != nil {
			fmt.Fprintf(f.IO.ErrOut, "Warning: %s\n", msg)
		}
	}
	f.mapper = restmapper.NewShortcutExpander(restmapper.NewDeferredDiscoveryRESTMapper(d), d, warn)
	return f.mapper, nil
}

// RESTClient is a client for raw requests to any path (AbsPath or
// RequestURI): Tables, watches, --raw. Error bodies decode as Status errors.
func (f *Factory) RESTClient() (*rest.RESTClient, error) {
	c, err := f.RESTConfig()
	if err != nil {
		return nil, err
	}
	cfg := rest.CopyConfig(c)
	cfg.APIPath = ""
	cfg.GroupVersion = nil
	cfg.NegotiatedSerializer = scheme.Codecs.WithoutConversion()
	return rest.UnversionedRESTClientFor(cfg)
}
