// Command navarch-dns serves cluster DNS from the API, CoreDNS-style: a
// chain of plugins configured by a Corefile.
package main

import (
	"os"

	"github.com/spf13/cobra"

	"navarch.dev/dns/pkg/server"
	"navarch.dev/shared/component"
)

func main() {
	var (
		opts    server.Options
		conf    string
		logging component.LoggingOptions
	)
	cmd := &cobra.Command{
		Use:          "navarch-dns",
		Short:        "Serve cluster DNS from Services, EndpointSlices and Pods",
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := component.SetupLogging(logging); err != nil {
				return err
			}
			opts.Corefile = []byte(server.DefaultCorefile)
			if conf != "" {
				src, err := os.ReadFile(conf)
				if err != nil {
					return err
				}
				opts.Corefile, opts.CorefilePath = src, conf
			}
			return server.Run(component.SignalContext(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, ~/.kube/config, then in-cluster)")
	cmd.Flags().StringVar(&conf, "conf", "", "Corefile to load (default: the built-in cluster.local chain forwarding to /etc/resolv.conf)")
	cmd.Flags().StringVar(&opts.DNSPort, "dns-port", "53", "port of server blocks that name none")
	logging.AddFlags(cmd.Flags())
	if err := cmd.Execute(); err != nil {
		os.Exit(1)
	}
}
