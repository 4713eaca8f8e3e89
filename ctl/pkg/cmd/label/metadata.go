package label

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"

	"navarch.dev/ctl/pkg/cli"
	"navarch.dev/ctl/pkg/factory"
	"navarch.dev/ctl/pkg/printers"
	"navarch.dev/ctl/pkg/resource"
)

// Map is a metadata map navctl edits from the command line (the labels or
// the annotations), with kubectl's wording for it.
type Map struct {
	// Noun is "label" or "annotation".
	Noun string
	// Labels selects the labels; otherwise the annotations.
	Labels bool
}

// Command is the text of a label-style command.
type Command struct {
	Use, Short, Long, Example string
	AllUsage                  string
}

type options struct {
	m               Map
	sel             resource.Selection
	overwrite       bool
	list            bool
	resourceVersion string
	output          string
	dryRun          string

	resources []string
	set       map[string]string
	setOrder  []string
	remove    []string
}

// NewMapCommand returns a command that sets (key=value) and removes (key-)
// entries of m on the objects its arguments name, as kubectl's label and
// annotate do.
func NewMapCommand(f *factory.Factory, m Map, c Command) *cobra.Command {
	o := &options{m: m}
	cmd := &cobra.Command{
		Use:                   c.Use,
		DisableFlagsInUseLine: true,
		Short:                 c.Short,
		Long:                  c.Long,
		Example:               c.Example,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.complete(args); err != nil {
				return err
			}
			return o.run(cmd.Context(), f)
		},
	}
	fs := cmd.Flags()
	o.sel.Files.AddFlags(fs, "Filename, directory, or URL to files identifying the resource to update the "+m.Noun)
	o.sel.AddSelectorFlags(fs, c.AllUsage)
	fs.BoolVar(&o.overwrite, "overwrite", false, fmt.Sprintf("If true, allow %[1]ss to be overwritten, otherwise reject %[1]s updates that overwrite existing %[1]ss.", m.Noun))
	fs.BoolVar(&o.list, "list", false, fmt.Sprintf("If true, display the %ss for a given resource.", m.Noun))
	fs.StringVar(&o.resourceVersion, "resource-version", "", fmt.Sprintf("If non-empty, the %s update will only succeed if this is the current resource-version for the object. Only valid when specifying a single resource.", m.Noun))
	fs.StringVarP(&o.output, "output", "o", "", "Output format. One of: (json, yaml, name, go-template, go-template-file, template, templatefile, jsonpath, jsonpath-as-json, jsonpath-file).")
	cli.AddDryRunFlag(fs, &o.dryRun)
	o.sel.Stdin = f.IO.In
	return cmd
}

// complete splits the arguments into resources and updates: an argument
// with "=" or ending in "-" is an update.
func (o *options) complete(args []string) error {
	var err error
	if o.dryRun, err = cli.DryRunStrategy(o.dryRun); err != nil {
		return err
	}
	if o.sel.All && o.sel.LabelSelector != "" {
		return errors.New("cannot set --all and --selector at the same time")
	}
	if o.list && o.output != "" {
		return errors.New("--list and --output may not be specified together")
	}
	var specs []string
	for _, a := range args {
		if strings.Contains(a, "=") || strings.HasSuffix(a, "-") {
			specs = append(specs, a)
		} else {
			o.resources = append(o.resources, a)
		}
	}
	if len(o.resources) == 0 && len(o.sel.Files.Filenames) == 0 {
		return errors.New("one or more resources must be specified as <resource> <name> or <resource>/<name>")
	}
	if len(specs) == 0 && !o.list {
		return fmt.Errorf("at least one %s update is required", o.m.Noun)
	}
	return o.parse(specs)
}

func (o *options) parse(specs []string) error {
	o.set = map[string]string{}
	for _, spec := range specs {
		switch {
		case strings.Contains(spec, "="):
			var key, value string
			if o.m.Labels {
				parts := strings.Split(spec, "=")
				if len(parts) != 2 {
					return fmt.Errorf("invalid label spec: %v", spec)
				}
				key, value = parts[0], parts[1]
				if errs := validation.IsValidLabelValue(value); len(errs) != 0 {
					return fmt.Errorf("invalid label value: %q: %s", spec, strings.Join(errs, ";"))
				}
			} else {
				key, value, _ = strings.Cut(spec, "=")
				if key == "" {
					return fmt.Errorf("invalid annotation spec: %v", spec)
				}
			}
			if _, seen := o.set[key]; !seen {
				o.setOrder = append(o.setOrder, key)
			}
			o.set[key] = value
		case strings.HasSuffix(spec, "-"):
			o.remove = append(o.remove, strings.TrimSuffix(spec, "-"))
		default:
			return fmt.Errorf("unknown %s spec: %v", o.m.Noun, spec)
		}
	}
	for _, key := range o.remove {
		if _, ok := o.set[key]; ok {
			return fmt.Errorf("can not both modify and remove %s in the same command", article(o.m.Noun))
		}
	}
	return nil
}

func article(noun string) string {
	if strings.IndexAny(noun[:1], "aeiou") == 0 {
		return "an " + noun
	}
	return "a " + noun
}

func (o *options) get(u *unstructured.Unstructured) map[string]string {
	if o.m.Labels {
		return u.GetLabels()
	}
	return u.GetAnnotations()
}

func (o *options) put(u *unstructured.Unstructured, m map[string]string) {
	if o.m.Labels {
		u.SetLabels(m)
	} else {
		u.SetAnnotations(m)
	}
}

func (o *options) run(ctx context.Context, f *factory.Factory) error {
	if o.output != "" {
		if _, err := printers.ForOutput(o.output); err != nil {
			return err
		}
	}
	infos, errs, err := o.sel.Resolve(ctx, f, o.resources, true)
	if err != nil {
		return err
	}
	if o.resourceVersion != "" && len(infos) > 1 {
		return fmt.Errorf("--resource-version may only be used with a single resource")
	}
	dyn, err := f.Dynamic()
	if err != nil {
		return err
	}
	var failures []error
	for _, info := range infos {
		before := info.Object
		after, err := o.update(f, before)
		if err != nil {
			failures = append(failures, err)
			continue
		}
		if o.list {
			o.printList(f, info, after, len(infos) > 1)
			continue
		}
		oldJSON, err := before.MarshalJSON()
		if err != nil {
			return err
		}
		newJSON, err := after.MarshalJSON()
		if err != nil {
			return err
		}
		op := o.operation(oldJSON, newJSON)
		if o.dryRun != cli.DryRunClient {
			patch, err := jsonpatch.CreateMergePatch(oldJSON, newJSON)
			if err != nil {
				return err
			}
			opts := metav1.PatchOptions{}
			if o.dryRun == cli.DryRunServer {
				opts.DryRun = []string{metav1.DryRunAll}
			}
			if after, err = info.Client(dyn).Patch(ctx, info.Name, types.MergePatchType, patch, opts); err != nil {
				failures = append(failures, err)
				continue
			}
		}
		if err := printers.Operation(f.IO.Out, after, op, o.dryRun, o.output); err != nil {
			return err
		}
	}
	return cli.Aggregate(append(errs, failures...))
}

// update returns obj with the updates made, or kubectl's refusal to change
// an existing value without --overwrite.
func (o *options) update(f *factory.Factory, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	current := o.get(obj)
	if !o.overwrite {
		var conflicts []string
		for _, key := range o.setOrder {
			if v, ok := current[key]; ok && v != o.set[key] {
				conflicts = append(conflicts, fmt.Sprintf("'%s' already has a value (%s)", key, v))
			}
		}
		if len(conflicts) > 0 {
			if o.m.Labels {
				errs := make([]error, len(conflicts))
				for i, c := range conflicts {
					errs[i] = fmt.Errorf("%s, and --overwrite is false", c)
				}
				return nil, cli.Aggregate(errs)
			}
			return nil, fmt.Errorf("--overwrite is false but found the following declared annotation(s): %s", strings.Join(conflicts, "; "))
		}
	}
	m := map[string]string{}
	for k, v := range current {
		m[k] = v
	}
	for _, key := range o.setOrder {
		m[key] = o.set[key]
	}
	for _, key := range o.remove {
		if _, ok := m[key]; !ok && o.m.Labels {
			fmt.Fprintf(f.IO.Out, "label %q not found.\n", key)
		}
		delete(m, key)
	}
	after := obj.DeepCopy()
	if len(m) == 0 && len(current) == 0 {
		m = nil
	}
	o.put(after, m)
	if o.resourceVersion != "" {
		after.SetResourceVersion(o.resourceVersion)
	}
	return after, nil
}

// operation is the verb kubectl prints: annotations are always
// "annotated"; labels are "not labeled" when nothing changed, "unlabeled"
// when only removed (without --overwrite), else "labeled".
func (o *options) operation(oldJSON, newJSON []byte) string {
	if !o.m.Labels {
		return "annotated"
	}
	switch {
	case reflect.DeepEqual(oldJSON, newJSON):
		return "not labeled"
	case !o.overwrite && len(newJSON) < len(oldJSON):
		return "unlabeled"
	}
	return "labeled"
}

// printList prints the map (--list): "key=value" lines, under a heading per
// object when there are several.
func (o *options) printList(f *factory.Factory, info *resource.Info, obj *unstructured.Unstructured, several bool) {
	m := o.get(obj)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	indent := ""
	if several {
		gvk := info.Mapping.GroupVersionKind
		fmt.Fprintf(f.IO.Out, "Listing %ss for %s.%s/%s:\n", o.m.Noun, gvk.Kind, gvk.Group, info.Name)
		indent = " "
	}
	for _, k := range keys {
		fmt.Fprintf(f.IO.Out, "%s%s=%s\n", indent, k, m[k])
	}
}
