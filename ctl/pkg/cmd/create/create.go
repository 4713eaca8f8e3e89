// Package create is `navctl create`: objects from manifests (-f), and the
// generators kubectl has for common kinds (create deployment, namespace,
// configmap, secret generic, serviceaccount, job, service clusterip|nodeport),
// which build the objects exactly as kubectl builds them.
package create

import (
	"context"
	"errors"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"navarch.dev/ctl/pkg/apply"
	"navarch.dev/ctl/pkg/cli"
	"navarch.dev/ctl/pkg/factory"
	"navarch.dev/ctl/pkg/printers"
	"navarch.dev/ctl/pkg/resource"
)

const createLong = `Create a resource from a file or from stdin.

 JSON and YAML formats are accepted.`

const createExample = `  # Create a pod using the data in pod.json
  navctl create -f ./pod.json

  # Create a pod based on the JSON passed into stdin
  cat pod.json | navctl create -f -

  # Create every object in the manifests of a directory and its subdirectories
  navctl create -R -f manifests/`

const outputUsage = "Output format. One of: (json, yaml, name, go-template, go-template-file, template, templatefile, jsonpath, jsonpath-as-json, jsonpath-file)."

const saveConfigUsage = "If true, the configuration of current object will be saved in its annotation. Otherwise, the annotation will be unchanged. This flag is useful when you want to perform navctl apply on this object in the future."

// writeFlags are the flags every create command has.
type writeFlags struct {
	output     string
	dryRun     string
	validate   string
	saveConfig bool
}

func (w *writeFlags) add(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVarP(&w.output, "output", "o", "", outputUsage)
	fs.BoolVar(&w.saveConfig, "save-config", false, saveConfigUsage)
	cli.AddDryRunFlag(fs, &w.dryRun)
	cli.AddValidateFlag(fs, &w.validate)
}

// complete normalizes --dry-run and --validate and checks -o.
func (w *writeFlags) complete() (dryRun, validation string, err error) {
	if dryRun, err = cli.DryRunStrategy(w.dryRun); err != nil {
		return "", "", err
	}
	if validation, err = cli.FieldValidation(w.validate); err != nil {
		return "", "", err
	}
	if w.output != "" {
		if _, err := printers.ForOutput(w.output); err != nil {
			return "", "", err
		}
	}
	return dryRun, validation, nil
}

type fileOptions struct {
	writeFlags
	files    resource.FileFlags
	selector string
}

// NewCommand returns `navctl create` with its generators.
func NewCommand(f *factory.Factory) *cobra.Command {
	o := &fileOptions{}
	cmd := &cobra.Command{
		Use:                   "create -f FILENAME",
		DisableFlagsInUseLine: true,
		Short:                 "Create a resource from a file or from stdin",
		Long:                  createLong,
		Example:               createExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return cli.CmdUsagef(cmd.CommandPath(), "Unexpected args: %v", args)
			}
			return o.run(cmd.Context(), f)
		},
	}
	o.files.AddFlags(cmd.Flags(), "Filename, directory, or URL to files to use to create the resource")
	cmd.Flags().StringVarP(&o.selector, "selector", "l", "", "Selector (label query) to filter on, supports '=', '==', '!=', 'in', 'notin'.(e.g. -l key1=value1,key2=value2,key3 in (value3)). Matching objects must satisfy all of the specified label constraints.")
	o.writeFlags.add(cmd)
	for _, sub := range []func(*factory.Factory) *cobra.Command{
		newConfigMapCommand, newDeploymentCommand, newJobCommand, newNamespaceCommand,
		newSecretCommand, newServiceCommand, newServiceAccountCommand,
	} {
		cmd.AddCommand(sub(f))
	}
	return cmd
}

func (o *fileOptions) run(ctx context.Context, f *factory.Factory) error {
	dryRun, validation, err := o.complete()
	if err != nil {
		return err
	}
	var sel labels.Selector
	if o.selector != "" {
		if sel, err = labels.Parse(o.selector); err != nil {
			return err
		}
	}
	manifests, err := resource.ReadManifests(o.files.Filenames, o.files.Recursive, f.IO.In)
	if err != nil {
		return err
	}
	mapper, err := f.Mapper()
	if err != nil {
		return err
	}
	ns, explicit, err := f.Namespace()
	if err != nil {
		return err
	}
	dyn, err := f.Dynamic()
	if err != nil {
		return err
	}
	infos, mapErrs := resource.FromManifests(mapper, manifests, ns, explicit)
	var errs []error
	created := 0
	for _, info := range infos {
		if sel != nil && !sel.Matches(labels.Set(info.Object.GetLabels())) {
			continue
		}
		created++
		obj := info.Object
		if o.saveConfig {
			if err := apply.SetLastApplied(obj); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		if dryRun != cli.DryRunClient {
			created, err := info.Client(dyn).Create(ctx, obj, metav1.CreateOptions{DryRun: serverDryRun(dryRun), FieldValidation: validation})
			if err != nil {
				errs = append(errs, resource.WithSource("creating", info.Source, err))
				continue
			}
			obj = created
		}
		if err := printers.Operation(f.IO.Out, obj, "created", dryRun, o.output); err != nil {
			return err
		}
	}
	errs = append(errs, mapErrs...)
	if created == 0 && len(errs) == 0 {
		return errors.New("no objects passed to create")
	}
	return cli.Aggregate(errs)
}

func serverDryRun(dryRun string) []string {
	if dryRun == cli.DryRunServer {
		return []string{metav1.DryRunAll}
	}
	return nil
}
