// Package describe is navctl describe: a detailed, human-readable account of
// objects and the events about them, laid out as kubectl lays it out.
package describe

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"navarch.dev/ctl/pkg/cli"
	"navarch.dev/ctl/pkg/factory"
	"navarch.dev/ctl/pkg/resource"
)

const long = `Show details of a specific resource or group of resources.

 Print a detailed description of the selected resources, including related resources such as events or controllers. You may select a single object by name, all objects of that type, provide a name prefix, or label selector. For example:

        $ navctl describe TYPE NAME_PREFIX

 will first check for an exact match on TYPE and NAME_PREFIX. If no such resource exists, it will output details for every resource that has a name prefixed with NAME_PREFIX.

Use "navctl api-resources" for a complete list of supported resources.`

const example = `  # Describe a node
  navctl describe nodes kubernetes-node-emt8.c.myproject.internal

  # Describe a pod
  navctl describe pods/nginx

  # Describe a pod with the scheduler's last decision: every node's filter verdict and scores
  navctl describe pods/nginx --show-decision

  # Describe a pod identified by type and name in "pod.json"
  navctl describe -f pod.json

  # Describe all pods
  navctl describe pods

  # Describe pods by label name=myLabel
  navctl describe pods -l name=myLabel

  # Describe all pods managed by the 'frontend' replication controller
  # (rc-created pods get the name of the rc as a prefix in the pod name)
  navctl describe pods frontend`

type options struct {
	selector      string
	allNamespaces bool
	filenames     []string
	recursive     bool
	showEvents    bool
	chunkSize     int64
	// showDecision adds each pod's last scheduling decision, read from the
	// scheduler (found through its Lease, or at schedulerAddress).
	showDecision     bool
	schedulerAddress string
}

// NewCommand returns navctl describe.
func NewCommand(f *factory.Factory) *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:                   "describe (-f FILENAME | TYPE [NAME_PREFIX | -l label] | TYPE/NAME)",
		DisableFlagsInUseLine: true,
		Short:                 "Show details of a specific resource or group of resources",
		Long:                  long,
		Example:               example,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			return o.run(ctx, f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&o.selector, "selector", "l", "", "Selector (label query) to filter on, supports '=', '==', '!=', 'in', 'notin'.(e.g. -l key1=value1,key2=value2,key3 in (value3)). Matching objects must satisfy all of the specified label constraints.")
	fl.BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "If present, list the requested object(s) across all namespaces. Namespace in current context is ignored even if specified with --namespace.")
	fl.StringSliceVarP(&o.filenames, "filename", "f", nil, "Filename, directory, or URL to files containing the resource to describe")
	fl.BoolVarP(&o.recursive, "recursive", "R", false, "Process the directory used in -f, --filename recursively. Useful when you want to manage related manifests organized within the same directory.")
	fl.BoolVar(&o.showEvents, "show-events", true, "If true, display events related to the described object.")
	fl.BoolVar(&o.showDecision, "show-decision", false, "If true, for pods, also print the scheduler's last decision: every node's filter verdict with its reasons, each score plugin's weighted score, and the chosen node (Navarch-only). The scheduler is found through the annotation its leader writes on its Lease in kube-system, or at --scheduler-address.")
	fl.StringVar(&o.schedulerAddress, "scheduler-address", "", "Address (host:port or http://host:port) of the scheduler's HTTP port to read decisions from with --show-decision, instead of finding it through its Lease (Navarch-only).")
	fl.Int64Var(&o.chunkSize, "chunk-size", 500, "Return large lists in chunks rather than all at once. Pass 0 to disable. This flag is beta and may change in the future.")
	return cmd
}

// target is what to describe: one object, or a collection when name is "".
type target struct {
	mapping   *meta.RESTMapping
	namespace string
	name      string
}

func (o *options) run(ctx context.Context, f *factory.Factory, args []string) error {
	if len(args) == 0 && len(o.filenames) == 0 {
		return errors.New(`You must specify the type of resource to describe. Use "navctl api-resources" for a complete list of supported resources.`)
	}
	targets, err := o.targets(f, args)
	if err != nil {
		return err
	}
	cs, err := f.Clientset()
	if err != nil {
		return err
	}
	dyn, err := f.Dynamic()
	if err != nil {
		return err
	}
	ns, _, err := f.Namespace()
	if err != nil {
		return err
	}
	if o.schedulerAddress != "" && !o.showDecision {
		return errors.New("--scheduler-address is only used with --show-decision")
	}
	d := &describer{ctx: ctx, cs: cs, dyn: dyn, showEvents: o.showEvents, chunkSize: o.chunkSize,
		showDecision: o.showDecision, schedulerAddress: o.schedulerAddress}
	out := f.IO.Out

	// "describe TYPE NAME_PREFIX": an exact name first, else every object
	// whose name starts with it, each followed by a blank line.
	prefixForm := len(o.filenames) == 0 && len(args) == 2 && !strings.Contains(args[0], "/") && len(targets) == 1
	var objs []found
	var errs []error
	for _, t := range targets {
		got, err := o.fetch(ctx, dyn, t)
		if err != nil && prefixForm && apierrors.IsNotFound(err) {
			all, lerr := o.fetch(ctx, dyn, target{mapping: t.mapping, namespace: t.namespace})
			var matched []*unstructured.Unstructured
			for _, u := range all {
				if strings.HasPrefix(u.GetName(), t.name) {
					matched = append(matched, u)
				}
			}
			if lerr == nil && len(matched) > 0 {
				for _, u := range matched {
					s, derr := d.describe(t.mapping, u)
					if derr != nil {
						return derr
					}
					fmt.Fprintf(out, "%s\n", s)
				}
				return reportProblems(f, d.problems)
			}
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, u := range got {
			objs = append(objs, found{t.mapping, u})
		}
	}
	first := true
	for _, obj := range objs {
		s, err := d.describe(obj.mapping, obj.u)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !first {
			fmt.Fprint(out, "\n\n")
		}
		first = false
		fmt.Fprint(out, s)
	}
	if len(objs) == 0 && len(errs) == 0 && !namedOnly(targets) {
		if o.allNamespaces || !anyNamespaced(targets) {
			fmt.Fprintln(f.IO.ErrOut, "No resources found")
		} else {
			fmt.Fprintf(f.IO.ErrOut, "No resources found in %s namespace.\n", ns)
		}
	}
	errs = append(errs, d.problems...)
	if len(errs) > 0 {
		for _, err := range errs {
			fmt.Fprintln(f.IO.ErrOut, cli.Message(err))
		}
		return &cli.ExitError{Code: 1}
	}
	return nil
}

// found is a fetched object and its mapping.
type found struct {
	mapping *meta.RESTMapping
	u       *unstructured.Unstructured
}

func namedOnly(targets []target) bool {
	for _, t := range targets {
		if t.name == "" {
			return false
		}
	}
	return len(targets) > 0
}

func anyNamespaced(targets []target) bool {
	for _, t := range targets {
		if resource.Namespaced(t.mapping) {
			return true
		}
	}
	return false
}

// targets reads what to describe from -f manifests or the arguments.
func (o *options) targets(f *factory.Factory, args []string) ([]target, error) {
	mapper, err := f.Mapper()
	if err != nil {
		return nil, err
	}
	ns, _, err := f.Namespace()
	if err != nil {
		return nil, err
	}
	if len(o.filenames) > 0 {
		ms, err := resource.ReadManifests(o.filenames, o.recursive, f.IO.In)
		if err != nil {
			return nil, err
		}
		var out []target
		for _, m := range ms {
			mapping, err := resource.MappingForObject(mapper, m.Object)
			if err != nil {
				return nil, err
			}
			t := target{mapping: mapping, name: m.Object.GetName()}
			if resource.Namespaced(mapping) {
				t.namespace = m.Object.GetNamespace()
				if t.namespace == "" {
					t.namespace = ns
				}
			}
			out = append(out, t)
		}
		return out, nil
	}
	disc, err := f.Discovery()
	if err != nil {
		return nil, err
	}
	refs, err := resource.Resolve(mapper, disc, args)
	if err != nil {
		return nil, err
	}
	var out []target
	for _, r := range refs {
		t := target{mapping: r.Mapping, name: r.Name}
		if resource.Namespaced(r.Mapping) && !o.allNamespaces {
			t.namespace = ns
		}
		out = append(out, t)
	}
	return out, nil
}

// fetch gets one object, or lists a collection (by -l, in chunks).
func (o *options) fetch(ctx context.Context, dyn dynamic.Interface, t target) ([]*unstructured.Unstructured, error) {
	c := resource.Client(dyn, t.mapping, t.namespace)
	if t.name != "" {
		u, err := c.Get(ctx, t.name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		return []*unstructured.Unstructured{u}, nil
	}
	var out []*unstructured.Unstructured
	opts := metav1.ListOptions{LabelSelector: o.selector, Limit: o.chunkSize}
	for {
		l, err := c.List(ctx, opts)
		if err != nil {
			return nil, err
		}
		for i := range l.Items {
			u := &l.Items[i]
			if u.GetKind() == "" {
				u.SetGroupVersionKind(t.mapping.GroupVersionKind)
			}
			out = append(out, u)
		}
		if l.GetContinue() == "" {
			return out, nil
		}
		opts.Continue = l.GetContinue()
	}
}

// describer holds the clients the kind describers read related objects with.
type describer struct {
	ctx        context.Context
	cs         kubernetes.Interface
	dyn        dynamic.Interface
	showEvents bool
	chunkSize  int64

	showDecision     bool
	schedulerAddress string
	schedulers       map[string]schedulerLookup
	// problems are failures that do not stop a description (the
	// scheduler was unreachable): reported after it, exit code 1.
	problems []error
}

// describeFunc describes one object of a kind into w.
type describeFunc func(d *describer, u *unstructured.Unstructured, w *writer) error

// describers are the kinds with their own layout; every other kind gets the
// generic one.
var describers = map[schema.GroupKind]describeFunc{
	{Group: "", Kind: "Pod"}:                   describePod,
	{Group: "", Kind: "Node"}:                  describeNode,
	{Group: "", Kind: "Service"}:               describeService,
	{Group: "", Kind: "Namespace"}:             describeNamespace,
	{Group: "", Kind: "ConfigMap"}:             describeConfigMap,
	{Group: "", Kind: "Secret"}:                describeSecret,
	{Group: "", Kind: "ServiceAccount"}:        describeServiceAccount,
	{Group: "", Kind: "PersistentVolumeClaim"}: describePVC,
	{Group: "", Kind: "PersistentVolume"}:      describePV,
	{Group: "", Kind: "ResourceQuota"}:         describeResourceQuota,
	{Group: "", Kind: "LimitRange"}:            describeLimitRange,
	{Group: "apps", Kind: "Deployment"}:        describeDeployment,
	{Group: "apps", Kind: "ReplicaSet"}:        describeReplicaSet,
	{Group: "apps", Kind: "StatefulSet"}:       describeStatefulSet,
	{Group: "apps", Kind: "DaemonSet"}:         describeDaemonSet,
	{Group: "batch", Kind: "Job"}:              describeJob,
}

// describe renders one object.
func (d *describer) describe(m *meta.RESTMapping, u *unstructured.Unstructured) (string, error) {
	var b strings.Builder
	w := newWriter(&b)
	fn, ok := describers[m.GroupVersionKind.GroupKind()]
	if !ok {
		fn = describeGeneric
	}
	if err := fn(d, u, w); err != nil {
		return "", err
	}
	if err := w.flush(); err != nil {
		return "", err
	}
	return b.String(), nil
}

// reportProblems prints problems and returns an exit error if any.
func reportProblems(f *factory.Factory, problems []error) error {
	if len(problems) == 0 {
		return nil
	}
	for _, err := range problems {
		fmt.Fprintln(f.IO.ErrOut, cli.Message(err))
	}
	return &cli.ExitError{Code: 1}
}
