package create

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"

	"navarch.dev/ctl/pkg/apply"
	"navarch.dev/ctl/pkg/cli"
	"navarch.dev/ctl/pkg/factory"
	"navarch.dev/ctl/pkg/printers"
	"navarch.dev/ctl/pkg/resource"
)

// oneName is the NAME argument every generator takes, with kubectl's error.
func oneName(cmd *cobra.Command, args []string) (string, error) {
	if len(args) != 1 {
		return "", cli.CmdUsagef(cmd.CommandPath(), "exactly one NAME is required, got %d", len(args))
	}
	return args[0], nil
}

// generated creates obj, a typed object with its TypeMeta set, built by a
// generator: in the namespace of the context (recorded in the object only
// when chosen with -n, as kubectl does), with the last-applied annotation
// under --save-config, and not at all with --dry-run=client. It prints the
// result as kubectl does. wrap words a failure of the create call ("failed
// to create deployment: ..."); nil keeps the server's error.
func (w *writeFlags) generated(ctx context.Context, f *factory.Factory, obj runtime.Object, wrap func(error) error) error {
	dryRun, validation, err := w.complete()
	if err != nil {
		return err
	}
	mapper, err := f.Mapper()
	if err != nil {
		return err
	}
	gvk := obj.GetObjectKind().GroupVersionKind()
	mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return err
	}
	ns, explicit, err := f.Namespace()
	if err != nil {
		return err
	}
	acc, err := metaAccessor(obj)
	if err != nil {
		return err
	}
	if explicit && resource.Namespaced(mapping) {
		acc.SetNamespace(ns)
	}
	if w.saveConfig {
		if err := apply.SetLastAppliedObject(obj); err != nil {
			return err
		}
	}
	if dryRun != cli.DryRunClient {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
		if err != nil {
			return err
		}
		dyn, err := f.Dynamic()
		if err != nil {
			return err
		}
		created, err := resource.Client(dyn, mapping, ns).Create(ctx, &unstructured.Unstructured{Object: m}, metav1.CreateOptions{DryRun: serverDryRun(dryRun), FieldValidation: validation})
		if err != nil {
			if wrap != nil {
				return wrap(err)
			}
			return err
		}
		if obj, err = typed(created); err != nil {
			return err
		}
	}
	return printers.Operation(f.IO.Out, obj, "created", dryRun, w.output)
}

// typed converts a server response back to its k8s.io/api type, so it prints
// in the field order kubectl prints.
func typed(u *unstructured.Unstructured) (runtime.Object, error) {
	gvk := u.GroupVersionKind()
	obj, err := scheme.Scheme.New(gvk)
	if err != nil {
		return u, nil
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, obj); err != nil {
		return nil, err
	}
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	return obj, nil
}

func metaAccessor(obj runtime.Object) (metav1.Object, error) {
	acc, ok := obj.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("%T has no object metadata", obj)
	}
	return acc, nil
}

// failedTo wraps a create failure as most kubectl generators do.
func failedTo(what string) func(error) error {
	return func(err error) error { return fmt.Errorf("failed to create %s: %v", what, err) }
}
