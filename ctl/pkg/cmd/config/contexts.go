package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"navarch.dev/ctl/pkg/cli"
	"navarch.dev/ctl/pkg/factory"
)

func newCurrentContextCommand(f *factory.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "current-context",
		Short: "Display the current-context",
		Long:  "Display the current-context.",
		Example: `  # Display the current-context
  navctl config current-context`,
		RunE: func(cmd *cobra.Command, args []string) error {
			config, err := access(f).GetStartingConfig()
			if err != nil {
				return err
			}
			if config.CurrentContext == "" {
				return errors.New("current-context is not set")
			}
			fmt.Fprintln(f.IO.Out, config.CurrentContext)
			return nil
		},
	}
}

func newUseContextCommand(f *factory.Factory) *cobra.Command {
	return &cobra.Command{
		Use:                   "use-context CONTEXT_NAME",
		DisableFlagsInUseLine: true,
		Aliases:               []string{"use"},
		Short:                 "Set the current-context in a kubeconfig file",
		Long:                  "Set the current-context in a kubeconfig file.",
		Example: `  # Use the context for the minikube cluster
  navctl config use-context minikube`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return helpError(cmd, "Unexpected args: %v", args)
			}
			name := args[0]
			ca := access(f)
			config, err := ca.GetStartingConfig()
			if err != nil {
				return err
			}
			if name == "" {
				return errors.New("empty context names are not allowed")
			}
			if _, ok := config.Contexts[name]; !ok {
				return fmt.Errorf("no context exists with the name: %q", name)
			}
			config.CurrentContext = name
			if err := clientcmd.ModifyConfig(ca, *config, true); err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "Switched to context %q.\n", name)
			return nil
		},
	}
}

func newSetContextCommand(f *factory.Factory) *cobra.Command {
	var current bool
	var cluster, user, namespace string
	cmd := &cobra.Command{
		Use:                   "set-context [NAME | --current] [--cluster=cluster_nickname] [--user=user_nickname] [--namespace=namespace]",
		DisableFlagsInUseLine: true,
		Short:                 "Set a context entry in kubeconfig",
		Long: `Set a context entry in kubeconfig.

Specifying a name that already exists will merge new fields on top of existing values for those fields.`,
		Example: `  # Set the user field on the gce context entry without touching other values
  navctl config set-context gce --user=cluster-admin`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return helpError(cmd, "Unexpected args: %v", args)
			}
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			if name == "" && !current {
				return errors.New("you must specify a non-empty context name or --current")
			}
			if name != "" && current {
				return errors.New("you cannot specify both a context name and --current")
			}
			ca := access(f)
			config, err := ca.GetStartingConfig()
			if err != nil {
				return err
			}
			if current {
				if config.CurrentContext == "" {
					return errors.New("no current context is set")
				}
				name = config.CurrentContext
			}
			ctx, exists := config.Contexts[name]
			if !exists {
				ctx = clientcmdapi.NewContext()
			}
			changed := *ctx
			if cmd.Flags().Changed("cluster") {
				changed.Cluster = cluster
			}
			if cmd.Flags().Changed("user") {
				changed.AuthInfo = user
			}
			if cmd.Flags().Changed("namespace") {
				changed.Namespace = namespace
			}
			config.Contexts[name] = &changed
			if err := clientcmd.ModifyConfig(ca, *config, true); err != nil {
				return err
			}
			if exists {
				fmt.Fprintf(f.IO.Out, "Context %q modified.\n", name)
			} else {
				fmt.Fprintf(f.IO.Out, "Context %q created.\n", name)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&current, "current", false, "Modify the current context")
	cmd.Flags().StringVar(&cluster, "cluster", "", "cluster for the context entry in kubeconfig")
	cmd.Flags().StringVar(&user, "user", "", "user for the context entry in kubeconfig")
	cmd.Flags().StringVar(&namespace, "namespace", "", "namespace for the context entry in kubeconfig")
	return cmd
}

func newGetContextsCommand(f *factory.Factory) *cobra.Command {
	var output string
	var noHeaders bool
	cmd := &cobra.Command{
		Use:                   "get-contexts [(-o|--output=)name)]",
		DisableFlagsInUseLine: true,
		Short:                 "Describe one or many contexts",
		Long:                  "Display one or many contexts from the kubeconfig file.",
		Example: `  # List all the contexts in your kubeconfig file
  navctl config get-contexts

  # Describe one context in your kubeconfig file
  navctl config get-contexts my-context`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "" && output != "name" {
				return fmt.Errorf("--output %v is not available in navctl config get-contexts; resetting to default output format", output)
			}
			nameOnly := output == "name"
			config, err := access(f).GetStartingConfig()
			if err != nil {
				return err
			}
			// Unknown names are reported after the table, as kubectl does.
			var errs []error
			var names []string
			if len(args) == 0 {
				for name := range config.Contexts {
					names = append(names, name)
				}
			}
			for _, name := range args {
				if _, ok := config.Contexts[name]; ok {
					names = append(names, name)
				} else {
					errs = append(errs, fmt.Errorf("context %v not found", name))
				}
			}
			sort.Strings(names)
			w := newTabWriter(f.IO.Out)
			if !noHeaders && !nameOnly {
				fmt.Fprintln(w, strings.Join([]string{"CURRENT", "NAME", "CLUSTER", "AUTHINFO", "NAMESPACE"}, "\t"))
			}
			for _, name := range names {
				if nameOnly {
					fmt.Fprintln(w, name)
					continue
				}
				mark := " "
				if name == config.CurrentContext {
					mark = "*"
				}
				c := config.Contexts[name]
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", mark, name, c.Cluster, c.AuthInfo, c.Namespace)
			}
			if err := w.Flush(); err != nil {
				return err
			}
			return cli.Aggregate(errs)
		},
	}
	cmd.Flags().BoolVar(&noHeaders, "no-headers", false, "When using the default or custom-column output format, don't print headers (default print headers).")
	cmd.Flags().StringVarP(&output, "output", "o", "", "Output format. One of: (name).")
	return cmd
}

func newDeleteContextCommand(f *factory.Factory) *cobra.Command {
	return &cobra.Command{
		Use:                   "delete-context NAME",
		DisableFlagsInUseLine: true,
		Short:                 "Delete the specified context from the kubeconfig",
		Long:                  "Delete the specified context from the kubeconfig.",
		Example: `  # Delete the context for the minikube cluster
  navctl config delete-context minikube`,
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
			if _, ok := config.Contexts[name]; !ok {
				return fmt.Errorf("cannot delete context %s, not in %s", name, file)
			}
			if config.CurrentContext == name {
				fmt.Fprintln(f.IO.ErrOut, `warning: this removed your active context, use "navctl config use-context" to select a different one`)
			}
			delete(config.Contexts, name)
			if err := clientcmd.ModifyConfig(ca, *config, true); err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "deleted context %s from %s\n", name, file)
			return nil
		},
	}
}

func newRenameContextCommand(f *factory.Factory) *cobra.Command {
	return &cobra.Command{
		Use:                   "rename-context CONTEXT_NAME NEW_NAME",
		DisableFlagsInUseLine: true,
		Short:                 "Rename a context from the kubeconfig file",
		Long: `Renames a context from the kubeconfig file.

CONTEXT_NAME is the context name that you want to change.

NEW_NAME is the new name you want to set.

Note: If the context being renamed is the 'current-context', this field will also be updated.`,
		Example: `  # Rename the context 'old-name' to 'new-name' in your kubeconfig file
  navctl config rename-context old-name new-name`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return helpError(cmd, "Unexpected args: %v", args)
			}
			from, to := args[0], args[1]
			if to == "" {
				return errors.New("You must specify a new non-empty context name")
			}
			ca := access(f)
			config, err := ca.GetStartingConfig()
			if err != nil {
				return err
			}
			file := configFile(ca)
			ctx, ok := config.Contexts[from]
			if !ok {
				return fmt.Errorf("cannot rename the context %q, it's not in %s", from, file)
			}
			if _, ok := config.Contexts[to]; ok {
				return fmt.Errorf("cannot rename the context %q, the context %q already exists in %s", from, to, file)
			}
			config.Contexts[to] = ctx
			delete(config.Contexts, from)
			if config.CurrentContext == from {
				config.CurrentContext = to
			}
			if err := clientcmd.ModifyConfig(ca, *config, true); err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "Context %q renamed to %q.\n", from, to)
			return nil
		},
	}
}
