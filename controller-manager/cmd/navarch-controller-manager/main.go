// Command navarch-controller-manager runs Navarch's control loops, leader
// elected, against the apiserver.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"navarch.dev/controller-manager/pkg/app"
	"navarch.dev/shared/component"
)

func main() {
	if err := newCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func newCommand() *cobra.Command {
	o := app.NewOptions()
	cmd := &cobra.Command{
		Use:   "navarch-controller-manager",
		Short: "Run the control loops that drive the cluster to its desired state",
		Long: `navarch-controller-manager runs the cluster's control loops (ReplicaSet, Deployment,
Endpoints, Namespace, garbage collector, ...) against the apiserver. Of several replicas
one leads, elected on the Lease kube-system/kube-controller-manager.`,
		SilenceUsage: true,
		Args:         cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := component.SetupLogging(o.Logging); err != nil {
				return err
			}
			return app.Run(component.SignalContext(), o)
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}
