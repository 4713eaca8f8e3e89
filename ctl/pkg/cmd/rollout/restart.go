package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"navarch.dev/ctl/pkg/cli"
	"navarch.dev/ctl/pkg/factory"
	"navarch.dev/ctl/pkg/printers"
	"navarch.dev/ctl/pkg/resource"
)

// restartedAtAnnotation in a pod template makes its controller roll out
// new pods; its value is when the restart was asked for.
const restartedAtAnnotation = "kubectl.kubernetes.io/restartedAt"

// errUnchanged marks an object the change is already true of.
var errUnchanged = errors.New("unchanged")

// patcher computes the strategic merge patch a subcommand applies to an
// object, errUnchanged when there is nothing to do, or why it cannot.
type patcher func(tg target) ([]byte, error)

// patchCommand is the shape restart, pause and resume share: resolve the
// objects, patch each, and report "deployment.apps/x <verb>".
type patchCommand struct {
	use, short, long, example string
	verb                      string // printed after a change
	patch                     patcher
	unchangedErr              func(tg target) error // for errUnchanged
}

func (p patchCommand) build(f *factory.Factory) *cobra.Command {
	var (
		t            targetFlags
		output       string
		fieldManager string
	)
	cmd := &cobra.Command{
		Use:                   p.use,
		DisableFlagsInUseLine: true,
		Short:                 p.short,
		Long:                  p.long,
		Example:               p.example,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			targets, errs, err := t.resolve(ctx, f, args)
			if err != nil {
				return err
			}
			if len(targets) == 0 && len(errs) == 0 {
				noneFound(f)
				return nil
			}
			var failed []error
			for _, tg := range targets {
				if err := p.apply(ctx, f, tg, output, fieldManager); err != nil {
					failed = append(failed, err)
				}
			}
			return cli.Aggregate(append(failed, errs...))
		},
	}
	t.addFlags(cmd, "identifying the resource to get from a server.")
	cmd.Flags().StringVarP(&output, "output", "o", "", "Output format. One of: (json, yaml, name, go-template, go-template-file, template, templatefile, jsonpath, jsonpath-as-json, jsonpath-file).")
	cmd.Flags().StringVar(&fieldManager, "field-manager", "kubectl-rollout", "Name of the manager used to track field ownership.")
	return cmd
}

func (p patchCommand) apply(ctx context.Context, f *factory.Factory, tg target, output, fieldManager string) error {
	patch, err := p.patch(tg)
	if errors.Is(err, errUnchanged) {
		return p.unchangedErr(tg)
	}
	if err != nil {
		return fmt.Errorf("error: %s %q %v", tg.resourceString(), tg.name(), err)
	}
	dyn, err := f.Dynamic()
	if err != nil {
		return err
	}
	out, err := resource.Client(dyn, tg.mapping, tg.namespace()).Patch(ctx, tg.name(), types.StrategicMergePatchType, patch, metav1.PatchOptions{FieldManager: fieldManager})
	if err != nil {
		return fmt.Errorf("failed to patch: %v", err)
	}
	return operation(f, target{mapping: tg.mapping, obj: out}, p.verb, "", output)
}

// operation prints "deployment.apps/web <verb>" or the object in -o form.
func operation(f *factory.Factory, tg target, verb, dryRun, output string) error {
	return printers.Operation(f.IO.Out, tg.obj, verb, dryRun, output)
}

func paused(tg target) bool {
	v, _, _ := unstructured.NestedBool(tg.obj.Object, "spec", "paused")
	return v
}

func newRestartCommand(f *factory.Factory) *cobra.Command {
	return patchCommand{
		use:   "restart RESOURCE",
		short: "Restart a resource",
		long: `Restart a resource.

 Resource rollout will be restarted.`,
		example: `  # Restart all deployments in the test-namespace namespace
  navctl rollout restart deployment -n test-namespace

  # Restart a deployment
  navctl rollout restart deployment/nginx

  # Restart a daemon set
  navctl rollout restart daemonset/abc

  # Restart deployments with the app=nginx label
  navctl rollout restart deployment --selector=app=nginx`,
		verb: "restarted",
		patch: func(tg target) ([]byte, error) {
			switch tg.kind() {
			case "Deployment":
				if paused(tg) {
					return nil, errors.New("can't restart paused deployment (run rollout resume first)")
				}
			case "DaemonSet", "StatefulSet":
			default:
				return nil, errors.New("restarting is not supported")
			}
			now := time.Now().Format(time.RFC3339)
			cur, _, _ := unstructured.NestedString(tg.obj.Object, "spec", "template", "metadata", "annotations", restartedAtAnnotation)
			if cur == now {
				return nil, errUnchanged
			}
			return json.Marshal(map[string]any{"spec": map[string]any{"template": map[string]any{"metadata": map[string]any{
				"annotations": map[string]string{restartedAtAnnotation: now}}}}})
		},
		unchangedErr: func(tg target) error {
			return fmt.Errorf("failed to create patch for %v: if restart has already been triggered within the past second, please wait before attempting to trigger another", tg.name())
		},
	}.build(f)
}

func newPauseCommand(f *factory.Factory) *cobra.Command {
	return patchCommand{
		use:   "pause RESOURCE",
		short: "Mark the provided resource as paused",
		long: `Mark the provided resource as paused.

 Paused resources will not be reconciled by a controller. Use "navctl rollout resume" to resume a paused resource. Currently only deployments support being paused.`,
		example: `  # Mark the nginx deployment as paused
  # Any current state of the deployment will continue its function; new updates
  # to the deployment will not have an effect as long as the deployment is paused
  navctl rollout pause deployment/nginx`,
		verb: "paused",
		patch: func(tg target) ([]byte, error) {
			if tg.kind() != "Deployment" {
				return nil, errors.New("pausing is not supported")
			}
			if paused(tg) {
				return nil, errors.New("is already paused")
			}
			return []byte(`{"spec":{"paused":true}}`), nil
		},
	}.build(f)
}

func newResumeCommand(f *factory.Factory) *cobra.Command {
	return patchCommand{
		use:   "resume RESOURCE",
		short: "Resume a paused resource",
		long: `Resume a paused resource.

 Paused resources will not be reconciled by a controller. By resuming a resource, we allow it to be reconciled again. Currently only deployments support being resumed.`,
		example: `  # Resume an already paused deployment
  navctl rollout resume deployment/nginx`,
		verb: "resumed",
		patch: func(tg target) ([]byte, error) {
			if tg.kind() != "Deployment" {
				return nil, errors.New("resuming is not supported")
			}
			if !paused(tg) {
				return nil, errors.New("is not paused")
			}
			return []byte(`{"spec":{"paused":null}}`), nil
		},
	}.build(f)
}
