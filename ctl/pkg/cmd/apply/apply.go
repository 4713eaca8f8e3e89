// Package apply is `navctl apply -f`: client-side apply, as kubectl does it,
// of the objects in files, directories and stdin (see pkg/apply for the
// three-way merge).
package apply

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/labels"

	"navarch.dev/ctl/pkg/apply"
	"navarch.dev/ctl/pkg/cli"
	"navarch.dev/ctl/pkg/factory"
	"navarch.dev/ctl/pkg/printers"
	"navarch.dev/ctl/pkg/resource"
)

const applyLong = `Apply a configuration to a resource by file name or stdin. The resource name must be specified. This resource will be created if it doesn't exist yet. To use 'apply', always create the resource initially with either 'apply' or 'create --save-config'.

 JSON and YAML formats are accepted.`

const applyExample = `  # Apply the configuration in pod.json to a pod
  navctl apply -f ./pod.json

  # Apply the JSON passed into stdin to a pod
  cat pod.json | navctl apply -f -

  # Apply every manifest in a directory and its subdirectories
  navctl apply -R -f manifests/

  # Show what applying would change on the server, without storing it
  navctl apply --dry-run=server -f manifest.yaml`

type options struct {
	files     resource.FileFlags
	selector  string
	output    string
	dryRun    string
	validate  string
	overwrite bool
}

// NewCommand returns `navctl apply`.
func NewCommand(f *factory.Factory) *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:                   "apply (-f FILENAME | -k DIRECTORY)",
		DisableFlagsInUseLine: true,
		Short:                 "Apply a configuration to a resource by file name or stdin",
		Long:                  applyLong,
		Example:               applyExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return cli.CmdUsagef(cmd.CommandPath(), "Unexpected args: %v", args)
			}
			return o.run(cmd.Context(), f)
		},
	}
	fs := cmd.Flags()
	o.files.AddFlags(fs, "The files that contain the configurations to apply.")
	fs.StringVarP(&o.selector, "selector", "l", "", "Selector (label query) to filter on, supports '=', '==', '!=', 'in', 'notin'.(e.g. -l key1=value1,key2=value2,key3 in (value3)). Matching objects must satisfy all of the specified label constraints.")
	fs.StringVarP(&o.output, "output", "o", "", "Output format. One of: (json, yaml, name, go-template, go-template-file, template, templatefile, jsonpath, jsonpath-as-json, jsonpath-file).")
	fs.BoolVar(&o.overwrite, "overwrite", true, "Automatically resolve conflicts between the modified and live configuration by using values from the modified configuration")
	cli.AddDryRunFlag(fs, &o.dryRun)
	cli.AddValidateFlag(fs, &o.validate)
	return cmd
}

func (o *options) run(ctx context.Context, f *factory.Factory) error {
	dryRun, err := cli.DryRunStrategy(o.dryRun)
	if err != nil {
		return err
	}
	validation, err := cli.FieldValidation(o.validate)
	if err != nil {
		return err
	}
	if o.output != "" {
		if _, err := printers.ForOutput(o.output); err != nil {
			return err
		}
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
	opts := apply.Options{DryRun: dryRun, FieldValidation: validation, Overwrite: o.overwrite}
	var errs []error
	applied := 0
	for _, info := range infos {
		if sel != nil && !sel.Matches(labels.Set(info.Object.GetLabels())) {
			continue
		}
		applied++
		res, err := apply.Apply(ctx, dyn, info, opts)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if res.MissingAnnotation {
			fmt.Fprintf(f.IO.ErrOut, "Warning: resource %s is missing the %s annotation which is required by navctl apply. navctl apply should only be used on resources created declaratively by either navctl create --save-config or navctl apply. The missing annotation will be patched automatically.\n", info.ObjectName(), apply.LastAppliedAnnotation)
		}
		if err := printers.Operation(f.IO.Out, res.Object, string(res.Operation), dryRun, o.output); err != nil {
			return err
		}
	}
	errs = append(errs, mapErrs...)
	if applied == 0 && len(errs) == 0 {
		return errors.New("no objects passed to apply")
	}
	// kubectl reports the objects it could not map after the others.
	return cli.Aggregate(errs)
}
