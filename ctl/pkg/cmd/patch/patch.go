// Package patch is `navctl patch`: a strategic merge, JSON merge or JSON
// patch sent to the objects named on the command line or in manifests.
package patch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"navarch.dev/ctl/pkg/apply"
	"navarch.dev/ctl/pkg/cli"
	"navarch.dev/ctl/pkg/factory"
	"navarch.dev/ctl/pkg/printers"
	"navarch.dev/ctl/pkg/resource"
)

const patchLong = `Update fields of a resource using strategic merge patch, a JSON merge patch, or a JSON patch.

 JSON and YAML formats are accepted.

 Note: Strategic merge patch is not supported for custom resources.`

const patchExample = `  # Partially update a node using a strategic merge patch, specifying the patch as JSON
  navctl patch node k8s-node-1 -p '{"spec":{"unschedulable":true}}'

  # Partially update a node using a strategic merge patch, specifying the patch as YAML
  navctl patch node k8s-node-1 -p $'spec:\n unschedulable: true'

  # Partially update a node identified by the type and name specified in "node.json" using strategic merge patch
  navctl patch -f node.json -p '{"spec":{"unschedulable":true}}'

  # Update a container's image; spec.containers[*].name is required because it's a merge key
  navctl patch pod valid-pod -p '{"spec":{"containers":[{"name":"kubernetes-serve-hostname","image":"new image"}]}}'

  # Update a container's image using a JSON patch with positional arrays
  navctl patch pod valid-pod --type='json' -p='[{"op": "replace", "path": "/spec/containers/0/image", "value":"new image"}]'

  # Update a deployment's replicas through the 'scale' subresource using a merge patch
  navctl patch deployment nginx-deployment --subresource='scale' --type='merge' -p '{"spec":{"replicas":2}}'`

var patchTypes = map[string]types.PatchType{
	"json":      types.JSONPatchType,
	"merge":     types.MergePatchType,
	"strategic": types.StrategicMergePatchType,
}

type options struct {
	sel         resource.Selection
	patch       string
	patchFile   string
	typ         string
	subresource string
	output      string
	dryRun      string
}

// NewCommand returns `navctl patch`.
func NewCommand(f *factory.Factory) *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:                   "patch (-f FILENAME | TYPE NAME) [-p PATCH|--patch-file FILE]",
		DisableFlagsInUseLine: true,
		Short:                 "Update fields of a resource",
		Long:                  patchLong,
		Example:               patchExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), f, args)
		},
	}
	fs := cmd.Flags()
	o.sel.Files.AddFlags(fs, "Filename, directory, or URL to files identifying the resource to update")
	fs.StringVarP(&o.patch, "patch", "p", "", "The patch to be applied to the resource JSON file.")
	fs.StringVar(&o.patchFile, "patch-file", "", "A file containing a patch to be applied to the resource.")
	fs.StringVar(&o.typ, "type", "strategic", "The type of patch being provided; one of [json merge strategic]")
	fs.StringVar(&o.subresource, "subresource", "", "If specified, patch will operate on the subresource of the requested object.")
	fs.StringVarP(&o.output, "output", "o", "", "Output format. One of: (json, yaml, name, go-template, go-template-file, template, templatefile, jsonpath, jsonpath-as-json, jsonpath-file).")
	cli.AddDryRunFlag(fs, &o.dryRun)
	o.sel.Stdin = f.IO.In
	return cmd
}

// patchBytes is the patch as JSON, from -p or --patch-file (JSON or YAML).
func (o *options) patchBytes() ([]byte, error) {
	switch {
	case o.patch != "" && o.patchFile != "":
		return nil, errors.New("cannot specify --patch and --patch-file together")
	case o.patch == "" && o.patchFile == "":
		return nil, errors.New("must specify --patch or --patch-file containing the contents of the patch")
	}
	raw := []byte(o.patch)
	if o.patchFile != "" {
		var err error
		if raw, err = os.ReadFile(o.patchFile); err != nil {
			return nil, fmt.Errorf("unable to read patch file: %v", err)
		}
	}
	j, err := utilyaml.ToJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("unable to parse %q: %v", raw, err)
	}
	return j, nil
}

func (o *options) run(ctx context.Context, f *factory.Factory, args []string) error {
	dryRun, err := cli.DryRunStrategy(o.dryRun)
	if err != nil {
		return err
	}
	patchType, ok := patchTypes[o.typ]
	if !ok {
		return fmt.Errorf("--type must be one of [json merge strategic], not %q", o.typ)
	}
	patch, err := o.patchBytes()
	if err != nil {
		return err
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
	dyn, err := f.Dynamic()
	if err != nil {
		return err
	}
	var subresources []string
	if o.subresource != "" {
		subresources = []string{o.subresource}
	}
	var failures []error
	for _, info := range infos {
		client := info.Client(dyn)
		before := info.Object
		if o.subresource != "" {
			if before, err = client.Get(ctx, info.Name, metav1.GetOptions{}, subresources...); err != nil {
				failures = append(failures, err)
				continue
			}
		}
		var after *unstructured.Unstructured
		if dryRun == cli.DryRunClient {
			after, err = patchLocally(before, patch, patchType)
		} else {
			opts := metav1.PatchOptions{}
			if dryRun == cli.DryRunServer {
				opts.DryRun = []string{metav1.DryRunAll}
			}
			after, err = client.Patch(ctx, info.Name, patchType, patch, opts, subresources...)
		}
		if err != nil {
			failures = append(failures, err)
			continue
		}
		op := "patched"
		if reflect.DeepEqual(before.Object, after.Object) {
			op = "patched (no change)"
		}
		// kubectl marks no dry run in patch's messages.
		if err := printers.Operation(f.IO.Out, after, op, cli.DryRunNone, o.output); err != nil {
			return err
		}
	}
	return cli.Aggregate(append(errs, failures...))
}

// patchLocally is the object as the patch would leave it (--dry-run=client).
func patchLocally(obj *unstructured.Unstructured, patch []byte, patchType types.PatchType) (*unstructured.Unstructured, error) {
	original, err := obj.MarshalJSON()
	if err != nil {
		return nil, err
	}
	patched, err := apply.Patch(original, patch, patchType, obj.GroupVersionKind())
	if err != nil {
		return nil, err
	}
	out := &unstructured.Unstructured{}
	if err := out.UnmarshalJSON(patched); err != nil {
		return nil, err
	}
	return out, nil
}
