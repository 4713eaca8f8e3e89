// Package kubeconfig writes kubeconfig files and turns them into API clients,
// using client-go's clientcmd so files work with kubectl and any client-go
// program.
package kubeconfig

import (
	"errors"
	"fmt"
	"path/filepath"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/util/homedir"

	"navarch.dev/shared/internal/atomicfile"
)

const (
	// DefaultCluster and DefaultUser name the kubeconfig entries when
	// Config leaves them empty.
	DefaultCluster = "navarch"
	DefaultUser    = "default"

	// DaemonQPS and DaemonBurst are the client-side rate limits of clients
	// built by Clientset: higher than client-go's 5/10, which is meant for
	// interactive tools, so informers and controllers are not throttled.
	DaemonQPS   = 50
	DaemonBurst = 100
)

// Config describes a kubeconfig with one cluster, one user and one context
// joining them.
type Config struct {
	// Server is the apiserver URL, e.g. https://127.0.0.1:6443. Required.
	Server string
	// CAData is the PEM CA bundle that verifies the apiserver's serving
	// certificate. Empty means the system roots.
	CAData []byte
	// CertData and KeyData are a PEM client certificate and key; set both
	// or neither.
	CertData, KeyData []byte
	// Token is a bearer token, used instead of or alongside a certificate.
	Token string
	// User names the user entry (DefaultUser when empty).
	User string
	// Cluster names the cluster entry (DefaultCluster when empty).
	Cluster string
	// Namespace is the context's default namespace; empty means "default".
	Namespace string
}

// Write stores cfg as a kubeconfig at path with mode 0600, creating missing
// directories and replacing any existing file atomically. The context is
// named "<user>@<cluster>" and is the current context.
func Write(path string, cfg Config) error {
	if cfg.Server == "" {
		return errors.New("kubeconfig: server is empty")
	}
	if (len(cfg.CertData) == 0) != (len(cfg.KeyData) == 0) {
		return errors.New("kubeconfig: client certificate and key must be set together")
	}
	cluster := cfg.Cluster
	if cluster == "" {
		cluster = DefaultCluster
	}
	user := cfg.User
	if user == "" {
		user = DefaultUser
	}
	contextName := user + "@" + cluster

	kc := clientcmdapi.NewConfig()
	kc.Clusters[cluster] = &clientcmdapi.Cluster{
		Server:                   cfg.Server,
		CertificateAuthorityData: cfg.CAData,
	}
	kc.AuthInfos[user] = &clientcmdapi.AuthInfo{
		ClientCertificateData: cfg.CertData,
		ClientKeyData:         cfg.KeyData,
		Token:                 cfg.Token,
	}
	kc.Contexts[contextName] = &clientcmdapi.Context{
		Cluster:   cluster,
		AuthInfo:  user,
		Namespace: cfg.Namespace,
	}
	kc.CurrentContext = contextName

	data, err := clientcmd.Write(*kc)
	if err != nil {
		return fmt.Errorf("kubeconfig: encode %s: %w", path, err)
	}
	if err := atomicfile.Write(path, data, 0o600); err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	return nil
}

// RESTConfig loads the current context of the kubeconfig at path. An empty
// path follows kubectl's loading rules: the files in $KUBECONFIG, else
// ~/.kube/config, else the in-cluster service account when running in a pod.
// A named file that does not exist is an error.
func RESTConfig(path string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = path
	if len(rules.Precedence) == 1 && rules.Precedence[0] == clientcmd.RecommendedHomeFile {
		// client-go fixes ~ when the process starts; read $HOME now instead.
		rules.Precedence = []string{filepath.Join(homedir.HomeDir(), clientcmd.RecommendedHomeDir, clientcmd.RecommendedFileName)}
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		if path == "" {
			return nil, fmt.Errorf("kubeconfig: load default kubeconfig: %w", err)
		}
		return nil, fmt.Errorf("kubeconfig: load %s: %w", path, err)
	}
	return cfg, nil
}

// Clientset loads the kubeconfig at path (see RESTConfig) and returns a
// clientset for a long-running component: QPS DaemonQPS, burst DaemonBurst
// and userAgent as the User-Agent header (client-go's default when empty).
// The returned rest.Config carries the same settings, for building further
// clients (informers, dynamic, event recorders).
func Clientset(path string, userAgent string) (kubernetes.Interface, *rest.Config, error) {
	cfg, err := RESTConfig(path)
	if err != nil {
		return nil, nil, err
	}
	cfg.QPS = DaemonQPS
	cfg.Burst = DaemonBurst
	if userAgent != "" {
		cfg.UserAgent = userAgent
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("kubeconfig: build client: %w", err)
	}
	return client, cfg, nil
}
