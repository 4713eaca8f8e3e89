package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"navarch.dev/ctl/pkg/factory"
)

const setClusterExample = `  # Set only the server field on the e2e cluster entry without touching other values
  navctl config set-cluster e2e --server=https://1.2.3.4

  # Embed certificate authority data for the e2e cluster entry
  navctl config set-cluster e2e --embed-certs --certificate-authority=~/.kube/e2e/kubernetes.ca.crt

  # Disable cert checking for the e2e cluster entry
  navctl config set-cluster e2e --insecure-skip-tls-verify=true

  # Set the custom TLS server name to use for validation for the e2e cluster entry
  navctl config set-cluster e2e --tls-server-name=my-cluster-name

  # Set the proxy URL for the e2e cluster entry
  navctl config set-cluster e2e --proxy-url=https://1.2.3.4`

func newSetClusterCommand(f *factory.Factory) *cobra.Command {
	var server, tlsServerName, ca, proxyURL string
	var insecure, embed bool
	cmd := &cobra.Command{
		Use:                   "set-cluster NAME [--server=server] [--certificate-authority=path/to/certificate/authority] [--insecure-skip-tls-verify=true] [--tls-server-name=example.com]",
		DisableFlagsInUseLine: true,
		Short:                 "Set a cluster entry in kubeconfig",
		Long: `Set a cluster entry in kubeconfig.

Specifying a name that already exists will merge new fields on top of existing values for those fields.`,
		Example: setClusterExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return helpError(cmd, "Unexpected args: %v", args)
			}
			name := args[0]
			if name == "" {
				return errors.New("you must specify a non-empty cluster name")
			}
			if insecure && ca != "" {
				return errors.New("you cannot specify a certificate authority and insecure mode at the same time")
			}
			if embed {
				if ca == "" {
					return errors.New("you must specify a --certificate-authority to embed")
				}
				if _, err := os.Stat(ca); err != nil {
					return fmt.Errorf("could not stat certificate-authority file %s: %v", ca, err)
				}
			}
			access := access(f)
			config, err := access.GetStartingConfig()
			if err != nil {
				return err
			}
			cluster := clientcmdapi.NewCluster()
			if c, ok := config.Clusters[name]; ok {
				cluster = c
			}
			changed := *cluster
			if cmd.Flags().Changed("server") {
				changed.Server = server
				// A new server invalidates the TLS server name chosen for the old one.
				changed.TLSServerName = ""
			}
			if cmd.Flags().Changed("tls-server-name") {
				changed.TLSServerName = tlsServerName
			}
			// Like kubectl, the insecure flag always applies (it defaults to
			// false), and turning it on drops any certificate authority.
			changed.InsecureSkipTLSVerify = insecure
			if insecure {
				changed.CertificateAuthority = ""
				changed.CertificateAuthorityData = nil
			}
			if cmd.Flags().Changed("certificate-authority") {
				if embed {
					data, err := os.ReadFile(ca)
					if err != nil {
						return err
					}
					changed.CertificateAuthorityData = data
					changed.CertificateAuthority = ""
				} else if ca != "" {
					abs, err := filepath.Abs(ca)
					if err != nil {
						return err
					}
					changed.CertificateAuthority = abs
					changed.CertificateAuthorityData = nil
				} else {
					changed.CertificateAuthority = ""
				}
				if ca != "" {
					changed.InsecureSkipTLSVerify = false
				}
			}
			if cmd.Flags().Changed("proxy-url") {
				changed.ProxyURL = proxyURL
			}
			config.Clusters[name] = &changed
			if err := clientcmd.ModifyConfig(access, *config, true); err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "Cluster %q set.\n", name)
			return nil
		},
	}
	cmd.Flags().StringVar(&server, "server", "", "server for the cluster entry in kubeconfig")
	cmd.Flags().StringVar(&tlsServerName, "tls-server-name", "", "tls-server-name for the cluster entry in kubeconfig")
	cmd.Flags().BoolVar(&insecure, "insecure-skip-tls-verify", false, "insecure-skip-tls-verify for the cluster entry in kubeconfig")
	cmd.Flags().StringVar(&ca, "certificate-authority", "", "Path to certificate-authority file for the cluster entry in kubeconfig")
	cmd.Flags().BoolVar(&embed, "embed-certs", false, "embed-certs for the cluster entry in kubeconfig")
	cmd.Flags().StringVar(&proxyURL, "proxy-url", "", "proxy-url for the cluster entry in kubeconfig")
	return cmd
}

func newGetClustersCommand(f *factory.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "get-clusters",
		Short: "Display clusters defined in the kubeconfig",
		Long:  "Display clusters defined in the kubeconfig.",
		Example: `  # List the clusters that navctl knows about
  navctl config get-clusters`,
		RunE: func(cmd *cobra.Command, args []string) error {
			config, err := access(f).GetStartingConfig()
			if err != nil {
				return err
			}
			printNames(f, config.Clusters)
			return nil
		},
	}
}

func newDeleteClusterCommand(f *factory.Factory) *cobra.Command {
	return &cobra.Command{
		Use:                   "delete-cluster NAME",
		DisableFlagsInUseLine: true,
		Short:                 "Delete the specified cluster from the kubeconfig",
		Long:                  "Delete the specified cluster from the kubeconfig.",
		Example: `  # Delete the minikube cluster
  navctl config delete-cluster minikube`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ca := access(f)
			config, err := ca.GetStartingConfig()
			if err != nil {
				return err
			}
			if len(args) != 1 {
				return cmd.Help()
			}
			name, file := args[0], configFile(ca)
			if _, ok := config.Clusters[name]; !ok {
				return fmt.Errorf("cannot delete cluster %s, not in %s", name, file)
			}
			delete(config.Clusters, name)
			if err := clientcmd.ModifyConfig(ca, *config, true); err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "deleted cluster %s from %s\n", name, file)
			return nil
		},
	}
}

// printNames prints a NAME column of a kubeconfig section, sorted.
func printNames[T any](f *factory.Factory, section map[string]T) {
	names := make([]string, 0, len(section))
	for name := range section {
		names = append(names, name)
	}
	sort.Strings(names)
	fmt.Fprintln(f.IO.Out, "NAME")
	for _, n := range names {
		fmt.Fprintln(f.IO.Out, n)
	}
}
