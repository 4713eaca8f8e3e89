package portforward

import (
	"github.com/spf13/cobra"

	"navarch.dev/ctl/pkg/cli"
	"navarch.dev/ctl/pkg/factory"
)

// NewCommand returns the command (being written this session).
func NewCommand(f *factory.Factory) *cobra.Command {
	return &cobra.Command{Use: "portforward", RunE: func(*cobra.Command, []string) error { return cli.Usagef("portforward: not implemented") }}
}
