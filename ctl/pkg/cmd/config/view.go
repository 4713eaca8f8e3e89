package config

import (
	"errors"

	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/tools/clientcmd/api/latest"
	clientcmdv1 "k8s.io/client-go/tools/clientcmd/api/v1"

	"navarch.dev/ctl/pkg/cli"
	"navarch.dev/ctl/pkg/factory"
	"navarch.dev/ctl/pkg/printers"
)

const viewExample = `  # Show merged kubeconfig settings
  navctl config view

  # Show merged kubeconfig settings, raw certificate data, and exposed secrets
  navctl config view --raw

  # Get the password for the e2e user
  navctl config view -o jsonpath='{.users[?(@.name == "e2e")].user.password}'`

func newViewCommand(f *factory.Factory) *cobra.Command {
	var (
		output                string
		merge                 bool
		raw, flatten, minify  bool
		allowMissingTemplates bool
		showManaged           bool
	)
	cmd := &cobra.Command{
		Use:   "view",
		Short: "Display merged kubeconfig settings or a specified kubeconfig file",
		Long: `Display merged kubeconfig settings or a specified kubeconfig file.

You can use --output jsonpath={...} to extract specific values using a jsonpath expression.`,
		Example: viewExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 0 {
				return cli.CmdUsagef(cmd.CommandPath(), "unexpected arguments: %v", args)
			}
			rules := f.LoadingRules()
			// An explicit file is shown alone unless --merge says otherwise.
			if rules.IsExplicitFile() && !cmd.Flags().Changed("merge") {
				merge = false
			}
			if !merge && !rules.IsExplicitFile() {
				return errors.New("if merge==false a precise file must be specified")
			}
			var config *clientcmdapi.Config
			var err error
			if merge {
				config, err = rules.GetStartingConfig()
			} else {
				config, err = clientcmd.LoadFromFile(rules.GetExplicitFile())
			}
			if err != nil {
				return err
			}
			if minify {
				if f.Flags.Context != "" {
					config.CurrentContext = f.Flags.Context
				}
				if err := clientcmdapi.MinifyConfig(config); err != nil {
					return err
				}
			}
			if flatten {
				if err := clientcmdapi.FlattenConfig(config); err != nil {
					return err
				}
			} else if !raw {
				if err := clientcmdapi.RedactSecrets(config); err != nil {
					return err
				}
				clientcmdapi.ShortenConfig(config)
			}
			obj, err := latest.Scheme.ConvertToVersion(config, latest.ExternalVersion)
			if err != nil {
				return err
			}
			if v1, ok := obj.(*clientcmdv1.Config); ok {
				v1.Kind, v1.APIVersion = "Config", "v1"
			}
			p, err := printers.ForOutput(output)
			if err != nil {
				return err
			}
			return p.PrintObj(obj, f.IO.Out)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "yaml", "Output format. One of: (json, yaml, name, go-template, go-template-file, template, templatefile, jsonpath, jsonpath-as-json, jsonpath-file).")
	cmd.Flags().BoolVar(&merge, "merge", true, "Merge the full hierarchy of kubeconfig files")
	cmd.Flags().BoolVar(&raw, "raw", false, "Display raw byte data and sensitive data")
	cmd.Flags().BoolVar(&flatten, "flatten", false, "Flatten the resulting kubeconfig file into self-contained output (useful for creating portable kubeconfig files)")
	cmd.Flags().BoolVar(&minify, "minify", false, "Remove all information not used by current-context from the output")
	cmd.Flags().BoolVar(&allowMissingTemplates, "allow-missing-template-keys", true, "If true, ignore any errors in templates when a field or map key is missing in the template. Only applies to golang and jsonpath output formats.")
	cmd.Flags().BoolVar(&showManaged, "show-managed-fields", false, "If true, keep the managedFields when printing objects in JSON or YAML format.")
	return cmd
}
