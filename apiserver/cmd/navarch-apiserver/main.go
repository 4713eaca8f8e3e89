// Command navarch-apiserver serves the Kubernetes API over etcd.
package main

import (
	"fmt"
	"log/slog"
	"net"
	"os"

	"github.com/spf13/cobra"

	"navarch.dev/apiserver/pkg/server"
	"navarch.dev/shared/component"
)

func main() {
	opts := server.NewOptions()
	var logging component.LoggingOptions
	cmd := &cobra.Command{
		Use:          "navarch-apiserver",
		Short:        "Serve the Kubernetes API over etcd",
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := component.SetupLogging(logging); err != nil {
				return err
			}
			ctx := component.SignalContext()
			srv, err := server.New(ctx, opts)
			if err != nil {
				return err
			}
			defer srv.Close()
			addr := net.JoinHostPort(opts.BindAddress.String(), fmt.Sprint(opts.SecurePort))
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("listen on %s: %w", addr, err)
			}
			slog.Info("serving", "address", addr, "admin-kubeconfig", opts.AdminKubeconfig)
			return srv.Serve(ctx, ln)
		},
	}
	opts.AddFlags(cmd.Flags())
	cmd.AddCommand(newKubeconfigCommand())
	logging.AddFlags(cmd.Flags())
	if err := cmd.Execute(); err != nil {
		os.Exit(1)
	}
}
