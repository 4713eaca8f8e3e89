package apply

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	"navarch.dev/ctl/pkg/resource"
)

// Operation is what applying an object did.
type Operation string

const (
	Created    Operation = "created"
	Configured Operation = "configured"
	Unchanged  Operation = "unchanged"
)

// Options are the choices of one apply.
type Options struct {
	// DryRun is "none", "client" (compute, send nothing that writes) or
	// "server" (the server runs the write without storing it).
	DryRun string
	// FieldValidation is the server's fieldValidation: Strict, Warn, Ignore.
	FieldValidation string
	// Overwrite lets the patch replace values others changed since the last
	// apply (kubectl's --overwrite, true by default).
	Overwrite bool
}

// Result is the outcome of applying one object.
type Result struct {
	Operation Operation
	// Object is the object as stored (or as it would be, with a dry run).
	Object *unstructured.Unstructured
	// MissingAnnotation is set when the live object had no last-applied
	// annotation (it was not created by apply); the patch adds it.
	MissingAnnotation bool
}

// maxConflictRetries is how often a patch that lost a race is recomputed.
const maxConflictRetries = 5

// Apply applies info's object (its configuration, as read from a manifest)
// through dyn: it creates the object with its last-applied annotation when
// the server does not have it, and otherwise sends the three-way patch
// between the live object's last-applied annotation, the configuration and
// the live object. Errors name the manifest the way kubectl's do.
func Apply(ctx context.Context, dyn dynamic.Interface, info *resource.Info, o Options) (Result, error) {
	client := info.Client(dyn)
	dryRun := dryRunOpt(o.DryRun)
	modified, err := ModifiedConfiguration(info.Object, true)
	if err != nil {
		return Result{}, resource.WithSource(fmt.Sprintf("retrieving modified configuration from:\n%s\nfor:", info), info.Source, err)
	}
	live, err := client.Get(ctx, info.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		obj := info.Object.DeepCopy()
		if err := SetLastApplied(obj); err != nil {
			return Result{}, resource.WithSource("creating", info.Source, err)
		}
		if o.DryRun == "client" {
			return Result{Operation: Created, Object: obj}, nil
		}
		created, err := client.Create(ctx, obj, metav1.CreateOptions{DryRun: dryRun, FieldValidation: o.FieldValidation})
		if err != nil {
			return Result{}, resource.WithSource("creating", info.Source, err)
		}
		return Result{Operation: Created, Object: created}, nil
	}
	if err != nil {
		return Result{}, resource.WithSource(fmt.Sprintf("retrieving current configuration of:\n%s\nfrom server for:", info), info.Source, err)
	}
	if o.DryRun == "client" {
		obj := info.Object.DeepCopy()
		if err := SetLastApplied(obj); err != nil {
			return Result{}, err
		}
		return Result{Operation: Configured, Object: obj}, nil
	}
	res := Result{MissingAnnotation: OriginalConfiguration(live) == nil}
	for attempt := 0; ; attempt++ {
		current, err := encode(live)
		if err != nil {
			return Result{}, err
		}
		original := OriginalConfiguration(live)
		patch, patchType, err := ThreeWayPatch(original, modified, current, info.Mapping.GroupVersionKind, o.Overwrite)
		if err == ErrKeyChanged {
			return Result{}, err
		}
		if err != nil {
			return Result{}, resource.WithSource(fmt.Sprintf("creating patch with:\noriginal:\n%s\nmodified:\n%s\ncurrent:\n%s\nfor:", original, modified, current), info.Source, err)
		}
		if string(patch) == "{}" {
			res.Operation, res.Object = Unchanged, live
			return res, nil
		}
		patched, err := client.Patch(ctx, info.Name, patchType, patch, metav1.PatchOptions{DryRun: dryRun, FieldValidation: o.FieldValidation})
		if apierrors.IsConflict(err) && attempt < maxConflictRetries {
			if live, err = client.Get(ctx, info.Name, metav1.GetOptions{}); err != nil {
				return Result{}, resource.WithSource(fmt.Sprintf("retrieving current configuration of:\n%s\nfrom server for:", info), info.Source, err)
			}
			continue
		}
		if err != nil {
			err = resource.WithSource("patching", info.Source, err)
			return Result{}, resource.WithSource(fmt.Sprintf("applying patch:\n%s\nto:\n%s\nfor:", patch, info), info.Source, err)
		}
		res.Operation, res.Object = Configured, patched
		return res, nil
	}
}

func dryRunOpt(s string) []string {
	if s == "server" {
		return []string{metav1.DryRunAll}
	}
	return nil
}
