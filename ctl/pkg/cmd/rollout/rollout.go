// Package rollout is `navctl rollout`: the status, history, undo, restart,
// pause and resume of Deployments, DaemonSets and StatefulSets, read from
// and written to the objects and the history the controllers keep
// (ReplicaSets with their deployment.kubernetes.io/revision annotation,
// ControllerRevisions).
package rollout

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"navarch.dev/ctl/pkg/cli"
	"navarch.dev/ctl/pkg/factory"
	"navarch.dev/ctl/pkg/resource"
)

const rolloutLong = `Manage the rollout of one or many resources.

 Valid resource types include:

  *  deployments
  *  daemonsets
  *  statefulsets`

const rolloutExample = `  # Rollback to the previous deployment
  navctl rollout undo deployment/abc

  # Check the rollout status of a daemonset
  navctl rollout status daemonset/foo

  # Restart a deployment
  navctl rollout restart deployment/abc

  # Restart deployments with the 'app=nginx' label
  navctl rollout restart deployment --selector=app=nginx`

// NewCommand returns `navctl rollout` with its subcommands.
func NewCommand(f *factory.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:                   "rollout SUBCOMMAND",
		DisableFlagsInUseLine: true,
		Short:                 "Manage the rollout of a resource",
		Long:                  rolloutLong,
		Example:               rolloutExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unknown command %q\nSee '%s -h' for help and examples", args[0], cmd.CommandPath())
			}
			// kubectl prints the help and fails.
			_ = cmd.Help()
			return &cli.ExitError{Code: 1}
		},
	}
	cmd.AddCommand(
		newHistoryCommand(f),
		newPauseCommand(f),
		newRestartCommand(f),
		newResumeCommand(f),
		newStatusCommand(f),
		newUndoCommand(f),
	)
	return cmd
}

// targetFlags choose the objects a rollout subcommand acts on, as kubectl's
// resource builder does: TYPE NAME..., TYPE/NAME..., TYPE with
// --selector, or -f manifests.
type targetFlags struct {
	filenames []string
	recursive bool
	selector  string
}

func (t *targetFlags) addFlags(cmd *cobra.Command, what string) {
	cmd.Flags().StringSliceVarP(&t.filenames, "filename", "f", nil, "Filename, directory, or URL to files "+what)
	cmd.Flags().BoolVarP(&t.recursive, "recursive", "R", false, "Process the directory used in -f, --filename recursively. Useful when you want to manage related manifests organized within the same directory.")
	cmd.Flags().StringVarP(&t.selector, "selector", "l", "", "Selector (label query) to filter on, supports '=', '==', '!=', 'in', 'notin'.(e.g. -l key1=value1,key2=value2,key3 in (value3)). Matching objects must satisfy all of the specified label constraints.")
}

// target is one object a subcommand acts on, as the server has it now.
type target struct {
	mapping *meta.RESTMapping
	obj     *unstructured.Unstructured
}

func (t target) name() string      { return t.obj.GetName() }
func (t target) namespace() string { return t.obj.GetNamespace() }
func (t target) kind() string      { return t.mapping.GroupVersionKind.Kind }

// resourceString is "deployments.apps", as kubectl names a resource in errors.
func (t target) resourceString() string {
	r := t.mapping.Resource
	if r.Group == "" {
		return r.Resource
	}
	return r.Resource + "." + r.Group
}

// resolve fetches the objects args and flags name. Objects that cannot be
// fetched are returned as errors beside the ones that could; err is for
// arguments that name nothing at all.
func (t *targetFlags) resolve(ctx context.Context, f *factory.Factory, args []string) (targets []target, errs []error, err error) {
	if len(args) == 0 && len(t.filenames) == 0 {
		return nil, nil, errors.New("required resource not specified")
	}
	ns, explicit, err := f.Namespace()
	if err != nil {
		return nil, nil, err
	}
	mapper, err := f.Mapper()
	if err != nil {
		return nil, nil, err
	}
	dyn, err := f.Dynamic()
	if err != nil {
		return nil, nil, err
	}
	get := func(m *meta.RESTMapping, namespace, name string) {
		obj, err := resource.Client(dyn, m, namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			errs = append(errs, err)
			return
		}
		targets = append(targets, target{mapping: m, obj: obj})
	}
	if len(t.filenames) > 0 {
		manifests, err := resource.ReadManifests(t.filenames, t.recursive, f.IO.In)
		if err != nil {
			return nil, nil, err
		}
		for _, mf := range manifests {
			m, err := resource.MappingForObject(mapper, mf.Object)
			if err != nil {
				return nil, nil, err
			}
			objNS := mf.Object.GetNamespace()
			if objNS == "" {
				objNS = ns
			} else if explicit && objNS != ns {
				return nil, nil, fmt.Errorf("the namespace from the provided object %q does not match the namespace %q. You must pass '--namespace=%s' to perform this operation.", objNS, ns, objNS)
			}
			get(m, objNS, mf.Object.GetName())
		}
		return targets, errs, nil
	}
	disc, err := f.Discovery()
	if err != nil {
		return nil, nil, err
	}
	refs, err := resource.Resolve(mapper, disc, args)
	if err != nil {
		return nil, nil, err
	}
	for _, ref := range refs {
		if ref.Name != "" {
			if t.selector != "" {
				return nil, nil, errors.New("name cannot be provided when a selector is specified")
			}
			get(ref.Mapping, ns, ref.Name)
			continue
		}
		list, err := resource.Client(dyn, ref.Mapping, ns).List(ctx, metav1.ListOptions{LabelSelector: t.selector})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for i := range list.Items {
			targets = append(targets, target{mapping: ref.Mapping, obj: &list.Items[i]})
		}
	}
	return targets, errs, nil
}

// noneFound is kubectl's note when a selector or type matched nothing.
func noneFound(f *factory.Factory) {
	ns, _, _ := f.Namespace()
	fmt.Fprintf(f.IO.ErrOut, "No resources found in %s namespace.\n", ns)
}

// typed converts a fetched object to its typed form.
func typed[T any](u *unstructured.Unstructured) (*T, error) {
	out := new(T)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.UnstructuredContent(), out); err != nil {
		return nil, fmt.Errorf("failed to convert %s %q: %v", u.GetKind(), u.GetName(), err)
	}
	return out, nil
}
