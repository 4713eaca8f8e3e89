package set

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes/scheme"

	"navarch.dev/ctl/pkg/apply"
	"navarch.dev/ctl/pkg/cli"
	"navarch.dev/ctl/pkg/factory"
	"navarch.dev/ctl/pkg/printers"
	"navarch.dev/ctl/pkg/resource"
)

const imageLong = `Update existing container image(s) of resources.

 Possible resources include (case insensitive):

        pod (po), replicationcontroller (rc), deployment (deploy), daemonset (ds), statefulset (sts), cronjob (cj), replicaset (rs)`

const imageExample = `  # Set a deployment's nginx container image to 'nginx:1.9.1', and its busybox container image to 'busybox'
  navctl set image deployment/nginx busybox=busybox nginx=nginx:1.9.1

  # Update all deployments' and rc's nginx container's image to 'nginx:1.9.1'
  navctl set image deployments,rc nginx=nginx:1.9.1 --all

  # Update image of all containers of daemonset abc to 'nginx:1.9.1'
  navctl set image daemonset abc *=nginx:1.9.1`

type imageOptions struct {
	sel    resource.Selection
	output string
	dryRun string

	resources []string
	images    map[string]string
	order     []string
}

func newImageCommand(f *factory.Factory) *cobra.Command {
	o := &imageOptions{}
	cmd := &cobra.Command{
		Use:                   "image (-f FILENAME | TYPE NAME) CONTAINER_NAME_1=CONTAINER_IMAGE_1 ... CONTAINER_NAME_N=CONTAINER_IMAGE_N",
		DisableFlagsInUseLine: true,
		Short:                 "Update the image of a pod template",
		Long:                  imageLong,
		Example:               imageExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.complete(args); err != nil {
				return err
			}
			return o.run(cmd.Context(), f)
		},
	}
	fs := cmd.Flags()
	o.sel.Files.AddFlags(fs, "Filename, directory, or URL to files identifying the resource to get from a server.")
	fs.StringVarP(&o.sel.LabelSelector, "selector", "l", "", "Selector (label query) to filter on, supports '=', '==', '!=', 'in', 'notin'.(e.g. -l key1=value1,key2=value2,key3 in (value3)). Matching objects must satisfy all of the specified label constraints.")
	fs.BoolVar(&o.sel.All, "all", false, "Select all resources, in the namespace of the specified resource types")
	fs.StringVarP(&o.output, "output", "o", "", "Output format. One of: (json, yaml, name, go-template, go-template-file, template, templatefile, jsonpath, jsonpath-as-json, jsonpath-file).")
	cli.AddDryRunFlag(fs, &o.dryRun)
	o.sel.Stdin = f.IO.In
	return cmd
}

// complete splits the arguments into resources and NAME=IMAGE updates.
func (o *imageOptions) complete(args []string) error {
	var err error
	if o.dryRun, err = cli.DryRunStrategy(o.dryRun); err != nil {
		return err
	}
	o.images = map[string]string{}
	for _, a := range args {
		name, image, ok := strings.Cut(a, "=")
		if !ok || name == "" {
			o.resources = append(o.resources, a)
			continue
		}
		if _, seen := o.images[name]; !seen {
			o.order = append(o.order, name)
		}
		o.images[name] = image
	}
	if len(o.images) == 0 && (len(o.resources) > 0 || len(o.sel.Files.Filenames) > 0) {
		return errors.New("at least one image update is required")
	}
	return nil
}

func (o *imageOptions) run(ctx context.Context, f *factory.Factory) error {
	if o.output != "" {
		if _, err := printers.ForOutput(o.output); err != nil {
			return err
		}
	}
	infos, errs, err := o.sel.Resolve(ctx, f, o.resources, true)
	if err != nil {
		return err
	}
	dyn, err := f.Dynamic()
	if err != nil {
		return err
	}
	var failures []error
	for _, info := range infos {
		after := info.Object.DeepCopy()
		missing, err := o.setImages(info, after)
		if err != nil {
			failures = append(failures, err)
			continue
		}
		if missing != nil {
			// kubectl still updates the containers it found.
			failures = append(failures, missing)
		}
		before, err := info.Object.MarshalJSON()
		if err != nil {
			return err
		}
		changed, err := after.MarshalJSON()
		if err != nil {
			return err
		}
		patch, patchType, err := apply.TwoWayPatch(before, changed, info.Mapping.GroupVersionKind)
		if err != nil {
			failures = append(failures, err)
			continue
		}
		if string(patch) == "{}" {
			// kubectl says nothing about an object that already runs the images.
			continue
		}
		if o.dryRun != cli.DryRunClient {
			opts := metav1.PatchOptions{}
			if o.dryRun == cli.DryRunServer {
				opts.DryRun = []string{metav1.DryRunAll}
			}
			if after, err = info.Client(dyn).Patch(ctx, info.Name, patchType, patch, opts); err != nil {
				failures = append(failures, err)
				continue
			}
		}
		if err := printers.Operation(f.IO.Out, after, "image updated", o.dryRun, o.output); err != nil {
			return err
		}
	}
	failures = append(errs, failures...)
	if len(failures) > 1 {
		// kubectl prints each of these failures as an error of its own.
		for _, err := range failures {
			fmt.Fprintln(f.IO.ErrOut, cli.Message(err))
		}
		return &cli.ExitError{Code: 1}
	}
	return cli.Aggregate(failures)
}

// podSpecPath is where a kind keeps its pod spec.
func podSpecPath(kind string) ([]string, bool) {
	switch kind {
	case "Pod":
		return []string{"spec"}, true
	case "Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "ReplicationController", "Job", "PodTemplate":
		if kind == "PodTemplate" {
			return []string{"template", "spec"}, true
		}
		return []string{"spec", "template", "spec"}, true
	case "CronJob":
		return []string{"spec", "jobTemplate", "spec", "template", "spec"}, true
	}
	return nil, false
}

// setImages sets the images of obj's containers (and init containers) by
// name, "*" meaning all of them. missing names the first container it did
// not find; err means obj has no pod template.
func (o *imageOptions) setImages(info *resource.Info, obj *unstructured.Unstructured) (missing, err error) {
	path, ok := podSpecPath(obj.GetKind())
	if !ok {
		typeName := "*unstructured.Unstructured"
		if t, err := scheme.Scheme.New(obj.GroupVersionKind()); err == nil {
			typeName = fmt.Sprintf("%T", t)
		}
		return nil, fmt.Errorf("%s the object is not a pod or does not have a pod template: %s", info.ObjectName(), typeName)
	}
	found := map[string]bool{}
	for _, field := range []string{"initContainers", "containers"} {
		list, ok, _ := unstructured.NestedSlice(obj.Object, append(path, field)...)
		if !ok {
			continue
		}
		for _, c := range list {
			c, ok := c.(map[string]any)
			if !ok {
				continue
			}
			name, _ := c["name"].(string)
			if image, ok := o.images[name]; ok {
				c["image"] = image
				found[name] = true
			} else if image, ok := o.images["*"]; ok {
				c["image"] = image
				found["*"] = true
			}
		}
		if err := unstructured.SetNestedSlice(obj.Object, list, append(path, field)...); err != nil {
			return nil, err
		}
	}
	for _, name := range o.order {
		if !found[name] {
			return fmt.Errorf("unable to find container named %q", name), nil
		}
	}
	return nil, nil
}
