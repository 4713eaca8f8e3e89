// Package set is `navctl set`: changing fields of existing objects by
// subcommand (set image).
package set

import (
	"github.com/spf13/cobra"

	"navarch.dev/ctl/pkg/factory"
)

// NewCommand returns `navctl set` and its subcommands.
func NewCommand(f *factory.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:                   "set SUBCOMMAND",
		DisableFlagsInUseLine: true,
		Short:                 "Set specific features on objects",
		Long: `Configure application resources.

 These commands help you make changes to existing application resources.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}
	cmd.AddCommand(newImageCommand(f))
	return cmd
}
