// Package taint is `navctl taint`: adding, changing and removing node taints
// (key=value:Effect, key:Effect-, key-) as kubectl does.
package taint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"

	"navarch.dev/ctl/pkg/cli"
	"navarch.dev/ctl/pkg/factory"
	"navarch.dev/ctl/pkg/printers"
	"navarch.dev/ctl/pkg/resource"
)

var taintLong = fmt.Sprintf(`Update the taints on one or more nodes.

  *  A taint consists of a key, value, and effect. As an argument here, it is expressed as key=value:effect.
  *  The key must begin with a letter or number, and may contain letters, numbers, hyphens, dots, and underscores, up to %d characters.
  *  Optionally, the key can begin with a DNS subdomain prefix and a single '/', like example.com/my-app.
  *  The value is optional. If given, it must begin with a letter or number, and may contain letters, numbers, hyphens, dots, and underscores, up to %d characters.
  *  The effect must be NoSchedule, PreferNoSchedule or NoExecute.
  *  Currently taint can only apply to node.`, validation.DNS1123SubdomainMaxLength, validation.LabelValueMaxLength)

const taintExample = `  # Update node 'foo' with a taint with key 'dedicated' and value 'special-user' and effect 'NoSchedule'
  # If a taint with that key and effect already exists, its value is replaced as specified
  navctl taint nodes foo dedicated=special-user:NoSchedule

  # Remove from node 'foo' the taint with key 'dedicated' and effect 'NoSchedule' if one exists
  navctl taint nodes foo dedicated:NoSchedule-

  # Remove from node 'foo' all the taints with key 'dedicated'
  navctl taint nodes foo dedicated-

  # Add a taint with key 'dedicated' on nodes having label myLabel=X
  navctl taint node -l myLabel=X  dedicated=foo:PreferNoSchedule

  # Add to node 'foo' a taint with key 'bar' and no value
  navctl taint nodes foo bar:NoSchedule`

type options struct {
	selector  string
	all       bool
	overwrite bool
	output    string
	dryRun    string

	resources []string
	add       []corev1.Taint
	remove    []corev1.Taint
}

// NewCommand returns `navctl taint`.
func NewCommand(f *factory.Factory) *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:                   "taint NODE NAME KEY_1=VAL_1:TAINT_EFFECT_1 ... KEY_N=VAL_N:TAINT_EFFECT_N",
		DisableFlagsInUseLine: true,
		Short:                 "Update the taints on one or more nodes",
		Long:                  taintLong,
		Example:               taintExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.complete(cmd, args); err != nil {
				return err
			}
			if err := o.validate(f); err != nil {
				return err
			}
			return o.run(cmd.Context(), f)
		},
	}
	cmd.Flags().StringVarP(&o.selector, "selector", "l", "", "Selector (label query) to filter on, supports '=', '==', '!=', 'in', 'notin'.(e.g. -l key1=value1,key2=value2,key3 in (value3)). Matching objects must satisfy all of the specified label constraints.")
	cmd.Flags().BoolVar(&o.overwrite, "overwrite", false, "If true, allow taints to be overwritten, otherwise reject taint updates that overwrite existing taints.")
	cmd.Flags().BoolVar(&o.all, "all", false, "Select all nodes in the cluster")
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "Output format. One of: (json, yaml, name, go-template, go-template-file, template, templatefile, jsonpath, jsonpath-as-json, jsonpath-file).")
	cli.AddDryRunFlag(cmd.Flags(), &o.dryRun)
	return cmd
}

// complete splits the arguments into resources (the type, then names) and
// taint changes, which must come last.
func (o *options) complete(cmd *cobra.Command, args []string) error {
	var err error
	if o.dryRun, err = cli.DryRunStrategy(o.dryRun); err != nil {
		return err
	}
	var specs []string
	for _, a := range args {
		isTaint := strings.Contains(a, "=") || strings.Contains(a, ":") || strings.HasSuffix(a, "-")
		switch {
		case isTaint:
			specs = append(specs, a)
		case len(specs) > 0:
			return fmt.Errorf("all resources must be specified before taint changes: %s", a)
		default:
			o.resources = append(o.resources, a)
		}
	}
	if len(o.resources) < 1 {
		return errors.New("one or more resources must be specified as <resource> <name>")
	}
	if len(specs) < 1 {
		return errors.New("at least one taint update is required")
	}
	if o.add, o.remove, err = parseTaints(specs); err != nil {
		return cli.CmdUsagef(cmd.CommandPath(), "%s", err.Error())
	}
	return nil
}

func (o *options) validate(f *factory.Factory) error {
	mapper, err := f.Mapper()
	if err != nil {
		return err
	}
	typ := strings.ToLower(o.resources[0])
	m, err := resource.MappingFor(mapper, typ)
	if err != nil {
		return err
	}
	if m.GroupVersionKind.Kind != "Node" {
		return fmt.Errorf("invalid resource type %s, only node types are supported", typ)
	}
	var conflicts []string
	for _, a := range o.add {
		for _, r := range o.remove {
			if a.Key == r.Key && (r.Effect == "" || a.Effect == r.Effect) {
				conflicts = append(conflicts, fmt.Sprintf("%s=%s", r.Key, r.Effect))
			}
		}
	}
	if len(conflicts) > 0 {
		return fmt.Errorf("can not both modify and remove the following taint(s) in the same command: %s", strings.Join(conflicts, ", "))
	}
	if o.all && o.selector != "" {
		return errors.New("setting 'all' parameter with a non empty selector is prohibited")
	}
	if !o.all && o.selector == "" && len(o.resources) < 2 {
		return errors.New("at least one resource name must be specified since 'all' parameter is not set")
	}
	return nil
}

// run changes each selected node; a node that fails is reported at the end
// and the others are still changed.
func (o *options) run(ctx context.Context, f *factory.Factory) error {
	client, err := f.Clientset()
	if err != nil {
		return err
	}
	var nodes []corev1.Node
	if o.all || o.selector != "" {
		list, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: o.selector})
		if err != nil {
			return err
		}
		nodes = list.Items
	}
	var errs []error
	if !o.all && o.selector == "" {
		for _, name := range o.resources[1:] {
			n, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				errs = append(errs, err)
				continue
			}
			nodes = append(nodes, *n)
		}
	}
	for i := range nodes {
		if err := o.taintNode(ctx, client, f, &nodes[i]); err != nil {
			errs = append(errs, err)
		}
	}
	return cli.Aggregate(errs)
}

func (o *options) taintNode(ctx context.Context, client kubernetes.Interface, f *factory.Factory, node *corev1.Node) error {
	if !o.overwrite {
		if exists := existing(node.Spec.Taints, o.add); exists != "" {
			return fmt.Errorf("node %s already has %v taint(s) with same effect(s) and --overwrite is false", node.Name, exists)
		}
	}
	oldJSON, err := json.Marshal(node)
	if err != nil {
		return err
	}
	operation, taints, err := reorganize(node.Spec.Taints, o.overwrite, o.add, o.remove)
	if err != nil {
		return err
	}
	node.Spec.Taints = taints
	newJSON, err := json.Marshal(node)
	if err != nil {
		return err
	}
	out := node
	if o.dryRun != cli.DryRunClient {
		patch, err := strategicpatch.CreateTwoWayMergePatch(oldJSON, newJSON, &corev1.Node{})
		if err != nil {
			return err
		}
		opts := metav1.PatchOptions{FieldManager: "kubectl-taint"}
		if o.dryRun == cli.DryRunServer {
			opts.DryRun = []string{metav1.DryRunAll}
		}
		if out, err = client.CoreV1().Nodes().Patch(ctx, node.Name, types.StrategicMergePatchType, patch, opts); err != nil {
			return err
		}
	}
	out.Kind, out.APIVersion = "Node", "v1"
	return printers.Operation(f.IO.Out, out, operation, o.dryRun, o.output)
}

// parseTaints reads "key=value:Effect" and "key:Effect" to add and
// "key:Effect-" and "key-" to remove.
func parseTaints(specs []string) (add, remove []corev1.Taint, err error) {
	seen := map[corev1.TaintEffect]map[string]bool{}
	for _, spec := range specs {
		if strings.HasSuffix(spec, "-") {
			t, err := parseTaint(strings.TrimSuffix(spec, "-"))
			if err != nil {
				return nil, nil, err
			}
			remove = append(remove, corev1.Taint{Key: t.Key, Effect: t.Effect})
			continue
		}
		t, err := parseTaint(spec)
		if err != nil {
			return nil, nil, err
		}
		if t.Effect == "" {
			return nil, nil, fmt.Errorf("invalid taint spec: %v", spec)
		}
		if seen[t.Effect][t.Key] {
			return nil, nil, fmt.Errorf("duplicated taints with the same key and effect: %v", t)
		}
		if seen[t.Effect] == nil {
			seen[t.Effect] = map[string]bool{}
		}
		seen[t.Effect][t.Key] = true
		add = append(add, t)
	}
	return add, remove, nil
}

// parseTaint reads "key=value:effect", "key:effect" or "key".
func parseTaint(spec string) (corev1.Taint, error) {
	var t corev1.Taint
	parts := strings.Split(spec, ":")
	switch len(parts) {
	case 1:
		t.Key = parts[0]
	case 2:
		t.Effect = corev1.TaintEffect(parts[1])
		switch t.Effect {
		case corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
		default:
			return t, fmt.Errorf("invalid taint effect: %v, unsupported taint effect", t.Effect)
		}
		kv := strings.Split(parts[0], "=")
		if len(kv) > 2 {
			return t, fmt.Errorf("invalid taint spec: %v", spec)
		}
		t.Key = kv[0]
		if len(kv) == 2 {
			t.Value = kv[1]
			if errs := validation.IsValidLabelValue(t.Value); len(errs) > 0 {
				return t, fmt.Errorf("invalid taint spec: %v, %s", spec, strings.Join(errs, "; "))
			}
		}
	default:
		return t, fmt.Errorf("invalid taint spec: %v", spec)
	}
	if errs := validation.IsQualifiedName(t.Key); len(errs) > 0 {
		return t, fmt.Errorf("invalid taint spec: %v, %s", spec, strings.Join(errs, "; "))
	}
	return t, nil
}

// existing names the taints to add whose key and effect the node already has.
func existing(current, add []corev1.Taint) string {
	var keys []string
	for _, t := range add {
		for _, c := range current {
			if t.Key == c.Key && t.Effect == c.Effect {
				keys = append(keys, t.Key)
			}
		}
	}
	return strings.Join(keys, ",")
}

// reorganize computes the node's new taints: the ones added (replacing any
// with the same key and effect), the old ones kept, less the ones removed.
// The operation is what kubectl reports: tainted, untainted or modified.
func reorganize(current []corev1.Taint, overwrite bool, add, remove []corev1.Taint) (string, []corev1.Taint, error) {
	taints := append([]corev1.Taint{}, add...)
	for _, old := range current {
		replaced := false
		for i := range taints {
			if taints[i].MatchTaint(&old) {
				replaced = true
				break
			}
		}
		if !replaced {
			taints = append(taints, old)
		}
	}
	added := len(current) != len(taints)

	var errs []error
	removed := false
	for _, r := range remove {
		kept := []corev1.Taint{}
		for _, t := range taints {
			if t.Key == r.Key && (r.Effect == "" || t.Effect == r.Effect) {
				continue
			}
			kept = append(kept, t)
		}
		removed = len(kept) != len(taints)
		taints = kept
		if !removed {
			errs = append(errs, fmt.Errorf("taint %q not found", r.ToString()))
		}
	}
	var err error
	if len(errs) == 1 {
		err = errs[0]
	} else if len(errs) > 1 {
		err = &cli.MultiError{Errs: errs}
	}
	switch {
	case (added && removed) || overwrite:
		return "modified", taints, err
	case added:
		return "tainted", taints, err
	}
	return "untainted", taints, err
}
