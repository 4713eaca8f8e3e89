package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"navarch.dev/ctl/pkg/cli"
	"navarch.dev/ctl/pkg/factory"
	"navarch.dev/ctl/pkg/resource"
)

const undoExample = `  # Roll back to the previous deployment
  navctl rollout undo deployment/abc

  # Roll back to daemonset revision 3
  navctl rollout undo daemonset/abc --to-revision=3

  # Roll back to the previous deployment with dry-run
  navctl rollout undo --dry-run=server deployment/abc`

// Annotations a rollback keeps from the Deployment instead of copying them
// from the ReplicaSet of the revision.
var keepAnnotations = map[string]bool{
	corev1.LastAppliedConfigAnnotation:          true,
	revisionAnnotation:                          true,
	"deployment.kubernetes.io/revision-history": true,
	"deployment.kubernetes.io/desired-replicas": true,
	"deployment.kubernetes.io/max-replicas":     true,
	appsv1.DeprecatedRollbackTo:                 true,
}

func newUndoCommand(f *factory.Factory) *cobra.Command {
	var (
		t          targetFlags
		toRevision int64
		dryRunFlag string
		output     string
	)
	cmd := &cobra.Command{
		Use:                   "undo (TYPE NAME | TYPE/NAME) [flags]",
		DisableFlagsInUseLine: true,
		Short:                 "Undo a previous rollout",
		Long:                  "Roll back to a previous rollout.",
		Example:               undoExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			dryRun, err := cli.DryRunStrategy(dryRunFlag)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			targets, errs, err := t.resolve(ctx, f, args)
			if err != nil {
				return err
			}
			client, err := f.Clientset()
			if err != nil {
				return err
			}
			for _, tg := range targets {
				result, err := rollback(ctx, f, client, tg, toRevision, dryRun)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				if err := operation(f, tg, result, dryRun, output); err != nil {
					errs = append(errs, err)
				}
			}
			return cli.Aggregate(errs)
		},
	}
	t.addFlags(cmd, "identifying the resource to get from a server.")
	cmd.Flags().Int64Var(&toRevision, "to-revision", 0, "The revision to rollback to. Default to 0 (last revision).")
	cmd.Flags().StringVarP(&output, "output", "o", "", "Output format. One of: (json, yaml, name, go-template, go-template-file, template, templatefile, jsonpath, jsonpath-as-json, jsonpath-file).")
	cli.AddDryRunFlag(cmd.Flags(), &dryRunFlag)
	return cmd
}

func revisionNotFound(r int64) error {
	return fmt.Errorf("unable to find specified revision %v in history", r)
}

// rollback puts the template of revision toRevision (0: the one before the
// latest) back into the object and returns what to report: "rolled back",
// "skipped rollback (...)", or for a client dry run the template.
func rollback(ctx context.Context, f *factory.Factory, c kubernetes.Interface, tg target, toRevision int64, dryRun string) (string, error) {
	if tg.kind() != "Deployment" && tg.kind() != "DaemonSet" && tg.kind() != "StatefulSet" {
		return "", fmt.Errorf("error retrieving rollbacker for %q, no visitor method exists for {%s %s}", tg.kind(), tg.mapping.GroupVersionKind.Group, tg.kind())
	}
	if toRevision < 0 {
		return "", revisionNotFound(toRevision)
	}
	h, err := history(ctx, c, tg)
	if err != nil {
		return "", err
	}
	rev := toRevision
	if rev == 0 {
		revs := sortedRevisions(h)
		if len(revs) < 2 {
			if tg.kind() == "Deployment" {
				return "", fmt.Errorf("no rollout history found for deployment %q", tg.name())
			}
			return "", revisionNotFound(toRevision)
		}
		rev = revs[len(revs)-2]
	}
	entry, ok := h[rev]
	if !ok {
		return "", revisionNotFound(rev)
	}
	if dryRun == cli.DryRunClient {
		return describeTemplate(entry.template), nil
	}

	var patchType types.PatchType
	var patch []byte
	switch tg.kind() {
	case "Deployment":
		d, err := typed[appsv1.Deployment](tg.obj)
		if err != nil {
			return "", err
		}
		if d.Spec.Paused {
			return "", errors.New("you cannot rollback a paused deployment; resume it first with 'navctl rollout resume' and try again")
		}
		if equalIgnoreHash(entry.template, &d.Spec.Template) {
			return fmt.Sprintf("skipped rollback (current template already matches revision %d)", toRevision), nil
		}
		tmpl := entry.template.DeepCopy()
		delete(tmpl.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
		// The Deployment keeps its own bookkeeping annotations and takes
		// the others (the change cause) from the revision.
		annotations := map[string]string{}
		for k, v := range d.Annotations {
			if keepAnnotations[k] {
				annotations[k] = v
			}
		}
		rs := entry.obj.(*appsv1.ReplicaSet)
		for k, v := range rs.Annotations {
			if !keepAnnotations[k] {
				annotations[k] = v
			}
		}
		patchType = types.JSONPatchType
		patch, err = json.Marshal([]map[string]any{
			{"op": "replace", "path": "/spec/template", "value": tmpl},
			{"op": "replace", "path": "/metadata/annotations", "value": annotations},
		})
		if err != nil {
			return "", err
		}
	default:
		cur, err := currentTemplate(tg)
		if err != nil {
			return "", err
		}
		if equalIgnoreHash(entry.template, cur) {
			return fmt.Sprintf("skipped rollback (current template already matches revision %d)", toRevision), nil
		}
		// A ControllerRevision's data is the patch that restores it.
		patchType = types.StrategicMergePatchType
		patch = entry.obj.(*appsv1.ControllerRevision).Data.Raw
	}
	dyn, err := f.Dynamic()
	if err != nil {
		return "", err
	}
	opts := metav1.PatchOptions{}
	if dryRun == cli.DryRunServer {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	if _, err := resource.Client(dyn, tg.mapping, tg.namespace()).Patch(ctx, tg.name(), patchType, patch, opts); err != nil {
		return "", fmt.Errorf("failed restoring revision %d: %v", rev, err)
	}
	return "rolled back", nil
}

// currentTemplate is the pod template of a DaemonSet or StatefulSet.
func currentTemplate(tg target) (*corev1.PodTemplateSpec, error) {
	if tg.kind() == "DaemonSet" {
		ds, err := typed[appsv1.DaemonSet](tg.obj)
		if err != nil {
			return nil, err
		}
		return &ds.Spec.Template, nil
	}
	sts, err := typed[appsv1.StatefulSet](tg.obj)
	if err != nil {
		return nil, err
	}
	return &sts.Spec.Template, nil
}
