// Package root assembles navctl: the global flags, and every command in one
// table, grouped as kubectl's help groups them.
package root

import (
	"fmt"

	"github.com/spf13/cobra"

	"navarch.dev/ctl/pkg/cli"
	annotatecmd "navarch.dev/ctl/pkg/cmd/annotate"
	apiresourcescmd "navarch.dev/ctl/pkg/cmd/apiresources"
	apiversionscmd "navarch.dev/ctl/pkg/cmd/apiversions"
	applycmd "navarch.dev/ctl/pkg/cmd/apply"
	attachcmd "navarch.dev/ctl/pkg/cmd/attach"
	clusterinfocmd "navarch.dev/ctl/pkg/cmd/clusterinfo"
	configcmd "navarch.dev/ctl/pkg/cmd/config"
	createcmd "navarch.dev/ctl/pkg/cmd/create"
	deletecmd "navarch.dev/ctl/pkg/cmd/delete"
	describecmd "navarch.dev/ctl/pkg/cmd/describe"
	draincmd "navarch.dev/ctl/pkg/cmd/drain"
	editcmd "navarch.dev/ctl/pkg/cmd/edit"
	execcmd "navarch.dev/ctl/pkg/cmd/exec"
	explaincmd "navarch.dev/ctl/pkg/cmd/explain"
	exposecmd "navarch.dev/ctl/pkg/cmd/expose"
	getcmd "navarch.dev/ctl/pkg/cmd/get"
	labelcmd "navarch.dev/ctl/pkg/cmd/label"
	logscmd "navarch.dev/ctl/pkg/cmd/logs"
	patchcmd "navarch.dev/ctl/pkg/cmd/patch"
	portforwardcmd "navarch.dev/ctl/pkg/cmd/portforward"
	replacecmd "navarch.dev/ctl/pkg/cmd/replace"
	rolloutcmd "navarch.dev/ctl/pkg/cmd/rollout"
	runcmd "navarch.dev/ctl/pkg/cmd/run"
	scalecmd "navarch.dev/ctl/pkg/cmd/scale"
	setcmd "navarch.dev/ctl/pkg/cmd/set"
	taintcmd "navarch.dev/ctl/pkg/cmd/taint"
	topcmd "navarch.dev/ctl/pkg/cmd/top"
	versioncmd "navarch.dev/ctl/pkg/cmd/version"
	waitcmd "navarch.dev/ctl/pkg/cmd/wait"
	"navarch.dev/ctl/pkg/factory"
)

// groups is navctl's command table: help group title and the commands in it.
var groups = []struct {
	title    string
	commands []func(*factory.Factory) *cobra.Command
}{
	{"Basic Commands (Beginner):", []func(*factory.Factory) *cobra.Command{createcmd.NewCommand, exposecmd.NewCommand, runcmd.NewCommand, setcmd.NewCommand}},
	{"Basic Commands (Intermediate):", []func(*factory.Factory) *cobra.Command{explaincmd.NewCommand, getcmd.NewCommand, editcmd.NewCommand, deletecmd.NewCommand}},
	{"Deploy Commands:", []func(*factory.Factory) *cobra.Command{rolloutcmd.NewCommand, scalecmd.NewCommand}},
	{"Cluster Management Commands:", []func(*factory.Factory) *cobra.Command{clusterinfocmd.NewCommand, topcmd.NewCommand, draincmd.NewCordonCommand, draincmd.NewUncordonCommand, draincmd.NewCommand, taintcmd.NewCommand}},
	{"Troubleshooting and Debugging Commands:", []func(*factory.Factory) *cobra.Command{describecmd.NewCommand, logscmd.NewCommand, attachcmd.NewCommand, execcmd.NewCommand, portforwardcmd.NewCommand}},
	{"Advanced Commands:", []func(*factory.Factory) *cobra.Command{applycmd.NewCommand, patchcmd.NewCommand, replacecmd.NewCommand, waitcmd.NewCommand}},
	{"Settings Commands:", []func(*factory.Factory) *cobra.Command{labelcmd.NewCommand, annotatecmd.NewCommand}},
	{"Other Commands:", []func(*factory.Factory) *cobra.Command{apiresourcescmd.NewCommand, apiversionscmd.NewCommand, configcmd.NewCommand, versioncmd.NewCommand}},
}

// NewCommand returns the navctl root command with every subcommand.
func NewCommand(io cli.IOStreams) *cobra.Command {
	flags := &factory.Flags{}
	f := factory.New(flags, io)
	root := &cobra.Command{
		Use:               "navctl",
		Short:             "navctl controls the Navarch (Kubernetes-compatible) cluster manager.",
		SilenceUsage:      true,
		SilenceErrors:     true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	root.SetIn(io.In)
	root.SetOut(io.Out)
	root.SetErr(io.ErrOut)
	flags.AddFlags(root.PersistentFlags())
	for i, g := range groups {
		id := fmt.Sprint("group", i)
		root.AddGroup(&cobra.Group{ID: id, Title: g.title})
		for _, build := range g.commands {
			c := build(f)
			c.GroupID = id
			root.AddCommand(c)
		}
	}
	root.AddCommand(completionCommand(root))
	return root
}

// completionCommand prints a shell completion script: navctl completion bash|zsh|fish.
func completionCommand(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:       "completion SHELL",
		Short:     "Output shell completion code for the specified shell (bash, zsh, fish, or powershell)",
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"bash", "zsh", "fish", "powershell"},
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(out, true)
			case "zsh":
				return root.GenZshCompletion(out)
			case "fish":
				return root.GenFishCompletion(out, true)
			case "powershell":
				return root.GenPowerShellCompletionWithDesc(out)
			}
			return cli.Usagef("Unsupported shell type %q.", args[0])
		},
	}
}
