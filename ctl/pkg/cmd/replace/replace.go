// Package replace is `navctl replace -f`: replacing whole objects with the
// ones in manifests, or with --force deleting and re-creating them.
package replace

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"

	"navarch.dev/ctl/pkg/apply"
	"navarch.dev/ctl/pkg/cli"
	deletecmd "navarch.dev/ctl/pkg/cmd/delete"
	"navarch.dev/ctl/pkg/factory"
	"navarch.dev/ctl/pkg/printers"
	"navarch.dev/ctl/pkg/resource"
)

const replaceLong = `Replace a resource by file name or stdin.

 JSON and YAML formats are accepted. If replacing an existing resource, the complete resource spec must be provided. This can be obtained by

        $ navctl get TYPE NAME -o yaml`

const replaceExample = `  # Replace a pod using the data in pod.json
  navctl replace -f ./pod.json

  # Replace a pod based on the JSON passed into stdin
  cat pod.json | navctl replace -f -

  # Update a single-container pod's image version (tag) to v4
  navctl get pod mypod -o yaml | sed 's/\(image: myimage\):.*$/\1:v4/' | navctl replace -f -

  # Force replace, delete and then re-create the resource
  navctl replace --force -f ./pod.json`

type options struct {
	files       resource.FileFlags
	force       bool
	gracePeriod int
	cascade     string
	timeout     time.Duration
	wait        bool
	saveConfig  bool
	subresource string
	output      string
	dryRun      string
	validate    string
}

// NewCommand returns `navctl replace`.
func NewCommand(f *factory.Factory) *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:                   "replace -f FILENAME",
		DisableFlagsInUseLine: true,
		Short:                 "Replace a resource by file name or stdin",
		Long:                  replaceLong,
		Example:               replaceExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return cli.CmdUsagef(cmd.CommandPath(), "Unexpected args: %v", args)
			}
			return o.run(cmd.Context(), f)
		},
	}
	fs := cmd.Flags()
	o.files.AddFlags(fs, "The files that contain the configurations to replace.")
	fs.BoolVar(&o.force, "force", false, "If true, immediately remove resources from API and bypass graceful deletion. Note that immediate deletion of some resources may result in inconsistency or data loss and requires confirmation.")
	fs.IntVar(&o.gracePeriod, "grace-period", -1, "Period of time in seconds given to the resource to terminate gracefully. Ignored if negative. Set to 1 for immediate shutdown. Can only be set to 0 when --force is true (force deletion).")
	fs.StringVar(&o.cascade, "cascade", "background", `Must be "background", "orphan", or "foreground". Selects the deletion cascading strategy for the dependents (e.g. Pods created by a ReplicationController). Defaults to background.`)
	fs.DurationVar(&o.timeout, "timeout", 0, "The length of time to wait before giving up on a delete, zero means determine a timeout from the size of the object")
	fs.BoolVar(&o.wait, "wait", false, "If true, wait for resources to be gone before returning. This waits for finalizers.")
	fs.BoolVar(&o.saveConfig, "save-config", false, "If true, the configuration of current object will be saved in its annotation. Otherwise, the annotation will be unchanged. This flag is useful when you want to perform navctl apply on this object in the future.")
	fs.StringVar(&o.subresource, "subresource", "", "If specified, replace will operate on the subresource of the requested object.")
	fs.StringVarP(&o.output, "output", "o", "", "Output format. One of: (json, yaml, name, go-template, go-template-file, template, templatefile, jsonpath, jsonpath-as-json, jsonpath-file).")
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
	if o.force && dryRun != cli.DryRunNone {
		return fmt.Errorf("--dry-run can not be used when --force is set")
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
	for _, info := range infos {
		if o.saveConfig {
			err = apply.SetLastApplied(info.Object)
		} else {
			err = apply.UpdateLastApplied(info.Object)
		}
		if err != nil {
			return err
		}
	}
	var errs []error
	if o.force {
		errs = o.forceReplace(ctx, f, dyn, infos, validation)
	} else {
		errs = o.replace(ctx, f, dyn, infos, dryRun, validation)
	}
	return cli.Aggregate(append(errs, mapErrs...))
}

// replace PUTs each object; one without a resourceVersion replaces whatever
// version the server has.
func (o *options) replace(ctx context.Context, f *factory.Factory, dyn dynamic.Interface, infos []*resource.Info, dryRun, validation string) []error {
	var subresources []string
	if o.subresource != "" {
		subresources = []string{o.subresource}
	}
	var errs []error
	for _, info := range infos {
		obj := info.Object
		if dryRun != cli.DryRunClient {
			client := info.Client(dyn)
			if obj.GetResourceVersion() == "" {
				live, err := client.Get(ctx, info.Name, metav1.GetOptions{}, subresources...)
				if err != nil {
					errs = append(errs, resource.WithSource("replacing", info.Source, err))
					continue
				}
				obj.SetResourceVersion(live.GetResourceVersion())
			}
			opts := metav1.UpdateOptions{FieldValidation: validation}
			if dryRun == cli.DryRunServer {
				opts.DryRun = []string{metav1.DryRunAll}
			}
			replaced, err := client.Update(ctx, obj, opts, subresources...)
			if err != nil {
				errs = append(errs, resource.WithSource("replacing", info.Source, err))
				continue
			}
			obj = replaced
		}
		if err := printers.Operation(f.IO.Out, obj, "replaced", dryRun, o.output); err != nil {
			return append(errs, err)
		}
	}
	return errs
}

// forceReplace deletes the objects, waits until they are gone, and creates
// them again.
func (o *options) forceReplace(ctx context.Context, f *factory.Factory, dyn dynamic.Interface, infos []*resource.Info, validation string) []error {
	var propagation metav1.DeletionPropagation
	switch o.cascade {
	case "background", "true":
		propagation = metav1.DeletePropagationBackground
	case "foreground":
		propagation = metav1.DeletePropagationForeground
	case "orphan", "false":
		propagation = metav1.DeletePropagationOrphan
	default:
		return []error{fmt.Errorf(`invalid cascade value (%s). Must be "background", "foreground", or "orphan"`, o.cascade)}
	}
	opts := metav1.DeleteOptions{PropagationPolicy: &propagation}
	if o.gracePeriod >= 0 {
		gp := int64(o.gracePeriod)
		opts.GracePeriodSeconds = &gp
	}
	var errs []error
	var deleted []*resource.Info
	for _, info := range infos {
		err := info.Client(dyn).Delete(ctx, info.Name, opts)
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, resource.WithSource("deleting", info.Source, err))
			continue
		}
		if err == nil {
			fmt.Fprintln(f.IO.Out, deletecmd.DeletedMessage(info, o.gracePeriod == 0, cli.DryRunNone))
		}
		deleted = append(deleted, info)
	}
	if err := deletecmd.WaitGone(ctx, dyn, deleted, o.timeout); err != nil {
		return append(errs, err)
	}
	for _, info := range deleted {
		obj := info.Object.DeepCopy()
		obj.SetResourceVersion("")
		created, err := info.Client(dyn).Create(ctx, obj, metav1.CreateOptions{FieldValidation: validation})
		if err != nil {
			errs = append(errs, resource.WithSource("replacing", info.Source, err))
			continue
		}
		if err := printers.Operation(f.IO.Out, created, "replaced", cli.DryRunNone, o.output); err != nil {
			return append(errs, err)
		}
	}
	return errs
}
