// Package scale is `navctl scale`: setting the replicas of deployments,
// replica sets, stateful sets and replication controllers through their
// scale subresource.
package scale

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"navarch.dev/ctl/pkg/cli"
	"navarch.dev/ctl/pkg/factory"
	"navarch.dev/ctl/pkg/printers"
	"navarch.dev/ctl/pkg/resource"
)

const scaleLong = `Set a new size for a deployment, replica set, replication controller, or stateful set.

 Scale also allows users to specify one or more preconditions for the scale action.

 If --current-replicas or --resource-version is specified, it is validated before the scale is attempted, and it is guaranteed that the precondition holds true when the scale is sent to the server.`

const scaleExample = `  # Scale a replica set named 'foo' to 3
  navctl scale --replicas=3 rs/foo

  # Scale a resource identified by type and name specified in "foo.yaml" to 3
  navctl scale --replicas=3 -f foo.yaml

  # If the deployment named mysql's current size is 2, scale mysql to 3
  navctl scale --current-replicas=2 --replicas=3 deployment/mysql

  # Scale multiple replication controllers
  navctl scale --replicas=5 rc/example1 rc/example2 rc/example3

  # Scale stateful set named 'web' to 3
  navctl scale --replicas=3 statefulset/web`

type options struct {
	sel             resource.Selection
	replicas        int
	currentReplicas int
	resourceVersion string
	timeout         time.Duration
	output          string
	dryRun          string
}

// NewCommand returns `navctl scale`.
func NewCommand(f *factory.Factory) *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:                   "scale [--resource-version=version] [--current-replicas=count] --replicas=COUNT (-f FILENAME | TYPE NAME)",
		DisableFlagsInUseLine: true,
		Short:                 "Set a new size for a deployment, replica set, or replication controller",
		Long:                  scaleLong,
		Example:               scaleExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), f, args)
		},
	}
	fs := cmd.Flags()
	o.sel.Files.AddFlags(fs, "Filename, directory, or URL to files identifying the resource to set a new size")
	o.sel.AddSelectorFlags(fs, "Select all resources in the namespace of the specified resource types")
	fs.IntVar(&o.replicas, "replicas", 0, "The new desired number of replicas. Required.")
	_ = cmd.MarkFlagRequired("replicas")
	fs.IntVar(&o.currentReplicas, "current-replicas", -1, "Precondition for current size. Requires that the current size of the resource match this value in order to scale. -1 (default) for no condition.")
	fs.StringVar(&o.resourceVersion, "resource-version", "", "Precondition for resource version. Requires that the current resource version match this value in order to scale.")
	fs.DurationVar(&o.timeout, "timeout", 0, "The length of time to wait before giving up on a scale operation, zero means don't wait. Any other values should contain a corresponding time unit (e.g. 1s, 2m, 3h).")
	fs.StringVarP(&o.output, "output", "o", "", "Output format. One of: (json, yaml, name, go-template, go-template-file, template, templatefile, jsonpath, jsonpath-as-json, jsonpath-file).")
	cli.AddDryRunFlag(fs, &o.dryRun)
	o.sel.Stdin = f.IO.In
	return cmd
}

func (o *options) run(ctx context.Context, f *factory.Factory, args []string) error {
	var err error
	if o.dryRun, err = cli.DryRunStrategy(o.dryRun); err != nil {
		return err
	}
	if o.replicas < 0 {
		return errors.New("The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0")
	}
	if o.output != "" {
		if _, err := printers.ForOutput(o.output); err != nil {
			return err
		}
	}
	infos, errs, err := o.sel.Resolve(ctx, f, args, true)
	if err != nil {
		return err
	}
	if len(infos) == 0 {
		if len(errs) > 0 {
			return fmt.Errorf("no objects passed to scale %v", errs[0])
		}
		return errors.New("no objects passed to scale")
	}
	if o.resourceVersion != "" && len(infos) > 1 {
		return errors.New("cannot use --resource-version with multiple resources")
	}
	dyn, err := f.Dynamic()
	if err != nil {
		return err
	}
	for _, info := range infos {
		if err := o.scale(ctx, dyn, info); err != nil {
			errs = append(errs, err)
			continue
		}
		obj := info.Object
		if o.output != "" && o.dryRun == cli.DryRunNone {
			if obj, err = info.Client(dyn).Get(ctx, info.Name, metav1.GetOptions{}); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		if err := printers.Operation(f.IO.Out, obj, "scaled", o.dryRun, o.output); err != nil {
			return err
		}
	}
	return cli.Aggregate(errs)
}

// scale checks the preconditions against the scale subresource and sets
// spec.replicas there; with --timeout it then waits until status.replicas
// matches.
func (o *options) scale(ctx context.Context, dyn dynamic.Interface, info *resource.Info) error {
	client := info.Client(dyn)
	sc, err := client.Get(ctx, info.Name, metav1.GetOptions{}, "scale")
	if err != nil {
		return err
	}
	if o.currentReplicas >= 0 {
		cur, _, _ := unstructured.NestedInt64(sc.Object, "spec", "replicas")
		if cur != int64(o.currentReplicas) {
			return fmt.Errorf("Expected replicas to be %d, was %d", o.currentReplicas, cur)
		}
	}
	if o.resourceVersion != "" && sc.GetResourceVersion() != o.resourceVersion {
		return fmt.Errorf("Expected resource version to be %s, was %s", o.resourceVersion, sc.GetResourceVersion())
	}
	if o.dryRun == cli.DryRunClient {
		return nil
	}
	opts := metav1.PatchOptions{}
	if o.dryRun == cli.DryRunServer {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	patch := fmt.Sprintf(`{"spec":{"replicas":%d}}`, o.replicas)
	if o.currentReplicas >= 0 || o.resourceVersion != "" {
		// The precondition holds at the version checked, or the patch fails
		// with a conflict.
		patch = fmt.Sprintf(`{"metadata":{"resourceVersion":%q},"spec":{"replicas":%d}}`, sc.GetResourceVersion(), o.replicas)
	}
	if _, err := client.Patch(ctx, info.Name, types.MergePatchType, []byte(patch), opts, "scale"); err != nil {
		return err
	}
	if o.timeout == 0 || o.dryRun != cli.DryRunNone {
		return nil
	}
	return waitReplicas(ctx, client, info, int64(o.replicas), o.timeout)
}

// waitReplicas polls the scale subresource until status.replicas is want.
func waitReplicas(ctx context.Context, client dynamic.ResourceInterface, info *resource.Info, want int64, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		sc, err := client.Get(ctx, info.Name, metav1.GetOptions{}, "scale")
		if err == nil {
			if got, _, _ := unstructured.NestedInt64(sc.Object, "status", "replicas"); got == want {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out waiting for %q to be synced", info.Name)
		case <-time.After(500 * time.Millisecond):
		}
	}
}
