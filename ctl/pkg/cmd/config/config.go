// Package config is `navctl config`: reading and editing kubeconfig files the
// way kubectl does. Reads go through the same loading rules as every other
// command (--kubeconfig, else the $KUBECONFIG list, else ~/.kube/config);
// writes go through clientcmd.ModifyConfig, which puts each changed stanza
// back into the file that defined it (new stanzas go to the first file that
// exists, or the last of the list if none does).
package config

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"

	"navarch.dev/ctl/pkg/cli"
	"navarch.dev/ctl/pkg/factory"
)

const configLong = `Modify kubeconfig files using subcommands like "navctl config set-context my-context --namespace=dev".

The loading order follows these rules:

  1. If the --kubeconfig flag is set, then only that file is loaded. The flag may only be set once and no merging takes place.
  2. If $KUBECONFIG environment variable is set, then it is used as a list of paths (normal path delimiting rules for your system). These paths are merged. When a value is modified, it is modified in the file that defines the stanza. When a value is created, it is created in the first file that exists. If no files in the chain exist, then it creates the last file in the list.
  3. Otherwise, ${HOME}/.kube/config is used and no merging takes place.`

// NewCommand returns `navctl config` with its subcommands.
func NewCommand(f *factory.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:                   "config SUBCOMMAND",
		DisableFlagsInUseLine: true,
		Short:                 "Modify kubeconfig files",
		Long:                  configLong,
		Args:                  noSubcommand,
		RunE: func(cmd *cobra.Command, args []string) error {
			// kubectl prints the help to stderr and fails.
			cmd.SetOut(f.IO.ErrOut)
			_ = cmd.Help()
			return &cli.ExitError{Code: 1}
		},
	}
	cmd.AddCommand(
		newViewCommand(f),
		newSetClusterCommand(f),
		newSetCredentialsCommand(f),
		newSetContextCommand(f),
		newCurrentContextCommand(f),
		newUseContextCommand(f),
		newGetContextsCommand(f),
		newGetClustersCommand(f),
		newGetUsersCommand(f),
		newDeleteClusterCommand(f),
		newDeleteContextCommand(f),
		newDeleteUserCommand(f),
		newRenameContextCommand(f),
	)
	return cmd
}

// noSubcommand rejects `navctl config bogus` as kubectl does.
func noSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("unknown command %q\nSee 'navctl %s -h' for help and examples", args[0], cmd.Name())
	}
	return nil
}

// helpError prints the command's help and returns msg as the error, the way
// kubectl's config subcommands answer a wrong number of arguments.
func helpError(cmd *cobra.Command, format string, args ...any) error {
	_ = cmd.Help()
	return fmt.Errorf(format, args...)
}

// access is the kubeconfig the command reads and writes.
func access(f *factory.Factory) clientcmd.ConfigAccess { return f.LoadingRules() }

// configFile names the file a change lands in, for messages.
func configFile(ca clientcmd.ConfigAccess) string {
	if ca.IsExplicitFile() {
		return ca.GetExplicitFile()
	}
	return ca.GetDefaultFilename()
}

// newTabWriter aligns columns as kubectl's tables do.
func newTabWriter(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 6, 4, 3, ' ', 0)
}
